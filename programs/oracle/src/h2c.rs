//! RFC 9380 hash_to_curve for G1 (BLS12381G1_XMD:SHA-256_SSWU_RO_) evaluated on-chain with relayer hints.
//! No inversions or square roots run here: each claimed inverse is checked by one multiplication and each
//! claimed square root by one squaring, and the SSWU branch is forced (y² = g(x1) proves g(x1) square,
//! y² = g(x2) = Z³u⁶·g(x1) proves it is not), so a hint can only make verification fail.
//! The two SSWU points are added on E' before one isogeny evaluation (the isogeny is a homomorphism).
use crate::constants::*;
use crate::field::{poly_eval, Fp};
use crate::syscalls::{g1_add_raw, log_cu, sha256};

pub const HINT_LEN: usize = 7 * 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H2cError {
    /// a hint element is not a canonical field element
    HintEncoding,
    /// a claimed inverse does not invert
    BadInverse,
    /// a claimed square root is wrong or has the wrong sign
    BadSqrt,
    /// the claimed isogeny image does not match
    BadIsogeny,
    /// an exceptional case an honest relayer cannot hint (probability ~2^-380)
    Exceptional,
    /// the G1 add syscall refused a point
    Syscall,
}

/// expand_message_xmd(msg, dst, 128) with SHA-256 (RFC 9380 §5.3.1). dst.len() <= 255.
pub fn expand_message_xmd_128(msg: &[u8], dst: &[u8]) -> [u8; 128] {
    let z_pad = [0u8; 64];
    let dst_len = [dst.len() as u8];
    let b0 = sha256(&[&z_pad, msg, &[0, 128, 0], dst, &dst_len]);
    let mut out = [0u8; 128];
    let mut prev = sha256(&[&b0, &[1], dst, &dst_len]);
    out[..32].copy_from_slice(&prev);
    for i in 1..4usize {
        let mut x = [0u8; 32];
        for k in 0..32 {
            x[k] = b0[k] ^ prev[k];
        }
        prev = sha256(&[&x, &[(i + 1) as u8], dst, &dst_len]);
        out[32 * i..32 * i + 32].copy_from_slice(&prev);
    }
    out
}

/// hash_to_field(msg, 2) over Fp with L = 64.
#[inline(never)]
pub fn hash_to_field(msg: &[u8], dst: &[u8]) -> (Fp, Fp) {
    let u = expand_message_xmd_128(msg, dst);
    let u0 = Fp::from_be_bytes_wide(u[..64].try_into().unwrap());
    let u1 = Fp::from_be_bytes_wide(u[64..].try_into().unwrap());
    (u0, u1)
}

/// Hint element `i` (inv0, y0, inv1, y1, invDx, X, Y), which must be canonical. The inverses (0, 2, 4)
/// come in Montgomery form (x·2^406 mod p) since they only feed multiplications; y and (X, Y) are plain
/// (their parity and bytes matter).
fn hint(b: &[u8; HINT_LEN], i: usize) -> Result<Fp, H2cError> {
    let bytes: &[u8; 48] = b[48 * i..48 * i + 48].try_into().unwrap();
    let v = if i == 0 || i == 2 || i == 4 { Fp::from_mont_be_bytes(bytes) } else { Fp::from_be_bytes(bytes) };
    v.ok_or(H2cError::HintEncoding)
}

fn curve_rhs(x: &Fp) -> Fp {
    x.square().add(&SSWU_A).mul(x).add(&SSWU_B)
}

/// Simplified SWU onto E' with the hinted inverse and square root checked. `y_sgn0` is the parity of
/// the hinted y, read from its canonical big-endian bytes.
#[inline(never)]
fn sswu_checked(u: &Fp, inv: &Fp, y: &Fp, y_sgn0: u64) -> Result<(Fp, Fp), H2cError> {
    let zu2 = u.square().mul11(); // Z = 11
    let den = zu2.square().add(&zu2);
    let x1 = if den.is_zero() {
        if !inv.is_zero() {
            return Err(H2cError::BadInverse);
        }
        SSWU_B_OVER_ZA
    } else {
        if inv.mul(&den) != ONE {
            return Err(H2cError::BadInverse);
        }
        SSWU_MINUS_B_OVER_A.mul(&ONE.add(inv))
    };
    let y2 = y.square();
    let x = if y2 == curve_rhs(&x1) {
        x1
    } else {
        let x2 = zu2.mul(&x1);
        if y2 != curve_rhs(&x2) {
            return Err(H2cError::BadSqrt);
        }
        x2
    };
    if y_sgn0 != u.sgn0() {
        return Err(H2cError::BadSqrt);
    }
    Ok((x, *y))
}

/// Checks the hints against `msg` and returns the point Q = iso(SSWU(u0) + SSWU(u1)) on E as
/// uncompressed big-endian bytes (not yet in G1: the cofactor is cleared by `clear_cofactor`).
#[inline(never)]
pub fn map_to_curve_checked(msg: &[u8], dst: &[u8], h: &[u8; HINT_LEN]) -> Result<[u8; 96], H2cError> {
    log_cu("h2c:start");
    let (u0, u1) = hash_to_field(msg, dst);
    log_cu("h2c:hash_to_field");
    let (x0, y0) = sswu_checked(&u0, &hint(h, 0)?, &hint(h, 1)?, (h[48 + 47] & 1) as u64)?;
    let (x1, y1) = sswu_checked(&u1, &hint(h, 2)?, &hint(h, 3)?, (h[3 * 48 + 47] & 1) as u64)?;
    log_cu("h2c:sswu x2");
    let dx = x1.sub(&x0);
    if dx.is_zero() {
        return Err(H2cError::Exceptional);
    }
    let inv_dx = hint(h, 4)?;
    if inv_dx.mul(&dx) != ONE {
        return Err(H2cError::BadInverse);
    }
    let lambda = y1.sub(&y0).mul(&inv_dx);
    let x3 = lambda.square().sub(&x0).sub(&x1);
    let y3 = lambda.mul(&x0.sub(&x3)).sub(&y0);

    log_cu("h2c:add");
    iso_check(&x3, &y3, h)?;
    log_cu("h2c:iso");
    let mut q = [0u8; 96];
    q.copy_from_slice(&h[240..336]);
    Ok(q)
}

/// Checks the hinted (X, Y) = iso_map(x3, y3): X·x_den(x3) = x_num(x3) and Y·y_den(x3) = y3·y_num(x3).
#[inline(never)]
fn iso_check(x3: &Fp, y3: &Fp, h: &[u8; HINT_LEN]) -> Result<(), H2cError> {
    let mut pow = [Fp::ZERO; 16];
    pow[1] = *x3;
    for i in 2..16 {
        pow[i] = if i % 2 == 0 { pow[i / 2].square() } else { pow[i - 1].mul(x3) };
    }
    let x_den = poly_eval(&ISO_X_DEN, &pow);
    let y_den = poly_eval(&ISO_Y_DEN, &pow);
    if x_den.is_zero() || y_den.is_zero() {
        return Err(H2cError::Exceptional);
    }
    if hint(h, 5)?.mul(&x_den) != poly_eval(&ISO_X_NUM, &pow) {
        return Err(H2cError::BadIsogeny);
    }
    if hint(h, 6)?.mul(&y_den) != y3.mul(&poly_eval(&ISO_Y_NUM, &pow)) {
        return Err(H2cError::BadIsogeny);
    }
    Ok(())
}

/// h_eff·Q by double-and-add over the G1 add syscall (128 CU each; the mul syscall would insist on a
/// subgroup point, which Q is not).
#[inline(never)]
pub fn clear_cofactor(q: &[u8; 96]) -> Result<[u8; 96], H2cError> {
    // two buffers used alternately: each syscall writes the one it does not read
    let mut bufs = [*q, [0u8; 96]];
    let base = bufs.as_mut_ptr() as *mut u8;
    let mut cur = 0usize;
    let mut bit = 62i32;
    while bit >= 0 {
        let (src, dst) = unsafe { (base.add(96 * cur), base.add(96 * (1 - cur))) };
        if !unsafe { g1_add_raw(src, src, dst) } {
            return Err(H2cError::Syscall);
        }
        cur = 1 - cur;
        if (H_EFF >> bit) & 1 == 1 {
            let (src, dst) = unsafe { (base.add(96 * cur), base.add(96 * (1 - cur))) };
            if !unsafe { g1_add_raw(src, q.as_ptr(), dst) } {
                return Err(H2cError::Syscall);
            }
            cur = 1 - cur;
        }
        bit -= 1;
    }
    Ok(bufs[cur])
}

/// hash_to_curve(msg) in G1, uncompressed big-endian.
#[inline(never)]
pub fn hash_to_g1(msg: &[u8], dst: &[u8], hints: &[u8; HINT_LEN]) -> Result<[u8; 96], H2cError> {
    let q = map_to_curve_checked(msg, dst, hints)?;
    let r = clear_cofactor(&q);
    log_cu("h2c:cofactor");
    r
}
