//! Arithmetic in the BLS12-381 base field Fp: Montgomery form, 14 unsaturated limbs of 29 bits in u64.
//! SBF has a 64-bit multiply but no 64×64→128 one, so every partial product must fit a u64: with 29-bit
//! limbs a product is < 2^58 and a whole Montgomery column (≤ 28 products) still fits one register, so the
//! inner loops are load–multiply–add with no carry handling. Values are kept lazily reduced (< 16p);
//! comparisons and encodings reduce fully.
//! mont_mul: for inputs a, b < 8p the output (ab + mp)/R < (64p² + Rp)/R < 2p since 64p < R.
use crate::constants::{P, P2, P4, P8, R2, R3};

pub const LIMBS: usize = 14;
pub const W: u32 = 29;
pub const MASK: u64 = (1 << W) - 1;

/// An element of Fp in Montgomery form (x·R mod p, R = 2^406), possibly not fully reduced: always < 8p.
#[derive(Clone, Copy, Debug)]
pub struct Fp(pub [u64; LIMBS]);

pub use crate::mont::mont_mul;
use crate::mont::{mont_sqr, mul_wide_acc, redc};

/// Carry-propagates signed limbs into 29-bit limbs (the value must be non-negative and < 2^406).
#[inline(always)]
fn normalize(t: &mut [i64; LIMBS]) -> [u64; LIMBS] {
    let mut out = [0u64; LIMBS];
    let mut c: i64 = 0;
    for i in 0..LIMBS {
        let v = t[i] + c;
        out[i] = (v as u64) & MASK;
        c = v >> W;
    }
    out
}

fn geq(a: &[u64; LIMBS], b: &[u64; LIMBS]) -> bool {
    let mut i = LIMBS;
    while i > 0 {
        i -= 1;
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

fn sub_limbs(a: &[u64; LIMBS], b: &[u64; LIMBS]) -> [u64; LIMBS] {
    let mut t = [0i64; LIMBS];
    for i in 0..LIMBS {
        t[i] = a[i] as i64 - b[i] as i64;
    }
    normalize(&mut t)
}

/// Fully reduced (< p) limbs of a value below 8p.
fn canonical(a: &[u64; LIMBS]) -> [u64; LIMBS] {
    let mut v = *a;
    for m in [&P4, &P2, &P] {
        if geq(&v, m) {
            v = sub_limbs(&v, m);
        }
    }
    v
}

/// Keeps the invariant that every value is below 8p (inputs here are below 16p).
#[inline(always)]
fn below_8p(v: [u64; LIMBS]) -> [u64; LIMBS] {
    if geq(&v, &P8) {
        sub_limbs(&v, &P8)
    } else {
        v
    }
}

/// 29-bit limbs of a big-endian byte string (at most 406 bits).
fn limbs_from_be(bytes: &[u8]) -> [u64; LIMBS] {
    let mut out = [0u64; LIMBS];
    let n = bytes.len();
    for (k, b) in bytes.iter().enumerate() {
        let bit = (n - 1 - k) as u32 * 8;
        let (limb, off) = ((bit / W) as usize, bit % W);
        out[limb] |= ((*b as u64) << off) & MASK;
        if off > W - 8 {
            out[limb + 1] |= (*b as u64) >> (W - off);
        }
    }
    out
}

impl Fp {
    pub const ZERO: Fp = Fp([0; LIMBS]);

    pub fn mul(&self, o: &Fp) -> Fp {
        Fp(mont_mul(&self.0, &o.0))
    }
    pub fn square(&self) -> Fp {
        Fp(mont_sqr(&self.0))
    }
    pub fn add(&self, o: &Fp) -> Fp {
        let mut t = [0i64; LIMBS];
        for i in 0..LIMBS {
            t[i] = (self.0[i] + o.0[i]) as i64;
        }
        Fp(below_8p(normalize(&mut t)))
    }
    /// self − o + 8p, brought back under 8p.
    pub fn sub(&self, o: &Fp) -> Fp {
        let mut t = [0i64; LIMBS];
        for i in 0..LIMBS {
            t[i] = self.0[i] as i64 + P8[i] as i64 - o.0[i] as i64;
        }
        Fp(below_8p(normalize(&mut t)))
    }
    pub fn neg(&self) -> Fp {
        Fp::ZERO.sub(self)
    }
    /// The fully reduced (< p) representative.
    pub fn reduce(&self) -> Fp {
        Fp(canonical(&self.0))
    }
    pub fn is_zero(&self) -> bool {
        canonical(&self.0).iter().all(|l| *l == 0)
    }

    /// Parses a canonical 48-byte big-endian element; None when ≥ p.
    pub fn from_be_bytes(bytes: &[u8; 48]) -> Option<Fp> {
        let plain = limbs_from_be(bytes);
        if geq(&plain, &P) {
            return None;
        }
        Some(Fp(mont_mul(&plain, &R2)))
    }

    /// OS2IP(bytes) mod p for a 64-byte big-endian string (RFC 9380 hash_to_field, L = 64): one
    /// Montgomery reduction of the 512-bit value (t·R⁻¹, valid as t < R·p) then ×R³ gives t·R.
    pub fn from_be_bytes_wide(bytes: &[u8; 64]) -> Fp {
        let mut t = [0u64; 2 * LIMBS];
        for (k, b) in bytes.iter().enumerate() {
            let bit = (63 - k) as u32 * 8;
            let (limb, off) = ((bit / W) as usize, bit % W);
            t[limb] |= ((*b as u64) << off) & MASK;
            if off > W - 8 {
                t[limb + 1] |= (*b as u64) >> (W - off);
            }
        }
        Fp(mont_mul(&redc(&t), &R3))
    }

    /// Parses a canonical 48-byte big-endian Montgomery representative (x·R mod p) as supplied in
    /// hints, with no conversion; None when ≥ p.
    pub fn from_mont_be_bytes(bytes: &[u8; 48]) -> Option<Fp> {
        let limbs = limbs_from_be(bytes);
        if geq(&limbs, &P) {
            return None;
        }
        Some(Fp(limbs))
    }

    /// 11·self by additions (cheaper than a multiplication).
    pub fn mul11(&self) -> Fp {
        let x2 = self.add(self);
        let x8 = x2.add(&x2).add(&x2.add(&x2));
        x8.add(&x2).add(self)
    }

    /// The canonical integer value (out of Montgomery form, < p), as 29-bit limbs.
    pub fn to_plain(&self) -> [u64; LIMBS] {
        // x̃·R⁻¹: a Montgomery reduction of x̃ alone
        let mut t = [0u64; 2 * LIMBS];
        t[..LIMBS].copy_from_slice(&self.0);
        canonical(&redc(&t))
    }

    pub fn to_be_bytes(&self) -> [u8; 48] {
        let plain = self.to_plain();
        let mut out = [0u8; 48];
        for (k, byte) in out.iter_mut().enumerate() {
            let bit = (47 - k) as u32 * 8;
            let (limb, off) = ((bit / W) as usize, bit % W);
            let mut v = plain[limb] >> off;
            if off > W - 8 && limb + 1 < LIMBS {
                v |= plain[limb + 1] << (W - off);
            }
            *byte = v as u8;
        }
        out
    }

    /// sgn0 (RFC 9380 §4.1): parity of the canonical value.
    pub fn sgn0(&self) -> u64 {
        self.to_plain()[0] & 1
    }
}

impl PartialEq for Fp {
    fn eq(&self, o: &Fp) -> bool {
        canonical(&self.0) == canonical(&o.0)
    }
}
impl Eq for Fp {}

/// Σ coeffs[i]·x^i given powers[i] = x^i (i ≥ 1), with a single Montgomery reduction: the products of
/// Montgomery representatives (c̃·x̃ⁱ = c·xⁱ·R²) are summed unreduced and reduced once. Coefficients must
/// be canonical (< p) and at most 16; the sum stays below 32p² < R·p, so the result is below 2p.
pub fn poly_eval(coeffs: &[Fp], powers: &[Fp]) -> Fp {
    let mut t = [0u64; 2 * LIMBS];
    for i in 1..coeffs.len() {
        if coeffs[i].0 == crate::constants::ONE.0 {
            // 1̃·x̃ⁱ = x̃ⁱ·R: the representative shifted up by exactly LIMBS limbs, no multiplication
            for j in 0..LIMBS {
                t[LIMBS + j] += powers[i].0[j];
            }
        } else {
            mul_wide_acc(&mut t, &coeffs[i].0, &powers[i].0);
        }
        // a column gains < 14·2^58 per product: normalize every 4 products to stay below 2^64
        if i % 4 == 0 || i == coeffs.len() - 1 {
            let mut c = 0u64;
            for limb in t.iter_mut() {
                let v = *limb + c;
                *limb = v & MASK;
                c = v >> W;
            }
        }
    }
    Fp(redc(&t)).add(&coeffs[0])
}
