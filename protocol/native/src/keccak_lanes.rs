//! Keccak-256 of many equal-length messages, 8 at a time with AVX-512 (detected at run time): one
//! Keccak-f[1600] over 8 independent states held lane-wise in zmm registers. Same digests as
//! sha3::Keccak256 (protocol/test/native.test.ts checks both paths); without AVX-512, or with
//! DESTRA_KECCAK_LANES=1, everything goes through sha3 one message at a time.

const RC: [u64; 24] = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
    0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
];
/// rho rotation amounts and pi lane order (the compact "rho-pi walk" formulation).
const ROTC: [u32; 24] = [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44];
const PILN: [usize; 24] = [10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1];

/// Bytes absorbed per block for Keccak-256 (1600 − 2·256 bits).
pub const RATE: usize = 136;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{PILN, RATE, RC, ROTC};
    use std::arch::x86_64::*;

    /// Keccak-f[1600] on 8 states at once: lane i of state k is element k of st[i]. Three-way XORs
    /// and chi are single vpternlogq instructions, rotations vprolvq.
    #[target_feature(enable = "avx512f")]
    unsafe fn permute(st: &mut [__m512i; 25]) {
        for rc in RC {
            let mut bc = [_mm512_setzero_si512(); 5];
            for i in 0..5 {
                let x = _mm512_ternarylogic_epi64::<0x96>(st[i], st[i + 5], st[i + 10]);
                bc[i] = _mm512_ternarylogic_epi64::<0x96>(x, st[i + 15], st[i + 20]);
            }
            for i in 0..5 {
                let t = _mm512_xor_si512(bc[(i + 4) % 5], _mm512_rol_epi64::<1>(bc[(i + 1) % 5]));
                for j in (0..25).step_by(5) {
                    st[j + i] = _mm512_xor_si512(st[j + i], t);
                }
            }
            let mut t = st[1];
            for i in 0..24 {
                let j = PILN[i];
                let next = st[j];
                st[j] = _mm512_rolv_epi64(t, _mm512_set1_epi64(ROTC[i] as i64));
                t = next;
            }
            for j in (0..25).step_by(5) {
                let row = [st[j], st[j + 1], st[j + 2], st[j + 3], st[j + 4]];
                for i in 0..5 {
                    // row[i] ^ (!row[i+1] & row[i+2])
                    st[j + i] = _mm512_ternarylogic_epi64::<0xD2>(row[i], row[(i + 1) % 5], row[(i + 2) % 5]);
                }
            }
            st[0] = _mm512_xor_si512(st[0], _mm512_set1_epi64(rc as i64));
        }
    }

    /// Hashes 8 padded messages of `blocks` blocks each; writes 8 digests (32 bytes each) to `out`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn absorb_squeeze(padded: &[&[u8]; 8], blocks: usize, out: &mut [u8]) {
        let mut st = [_mm512_setzero_si512(); 25];
        let mut lane = [0u64; 8];
        for b in 0..blocks {
            for l in 0..RATE / 8 {
                let at = b * RATE + l * 8;
                for k in 0..8 {
                    lane[k] = u64::from_le_bytes(padded[k][at..at + 8].try_into().unwrap());
                }
                st[l] = _mm512_xor_si512(st[l], _mm512_loadu_si512(lane.as_ptr() as *const _));
            }
            permute(&mut st);
        }
        for l in 0..4 {
            _mm512_storeu_si512(lane.as_mut_ptr() as *mut _, st[l]);
            for k in 0..8 {
                out[k * 32 + l * 8..k * 32 + l * 8 + 8].copy_from_slice(&lane[k].to_le_bytes());
            }
        }
    }
}

/// How many messages one call of the widest available variant hashes (0: none, use sha3).
pub fn width() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var_os("DESTRA_KECCAK_LANES").is_some_and(|v| v == "1") {
            return 0;
        }
        if is_x86_feature_detected!("avx512f") {
            return 8;
        }
    }
    0
}

/// Keccak-256 of `count` messages `prefix ‖ data[i·len..(i+1)·len]` into `out` (32·count bytes), `w`
/// at a time (w = width()); returns how many were hashed (a multiple of w; the caller does the rest).
pub fn hash_many(data: &[u8], len: usize, prefix: &[u8], w: usize, out: &mut [u8]) -> usize {
    if w == 0 {
        return 0;
    }
    let count = data.len() / len;
    let total = prefix.len() + len;
    let blocks = total / RATE + 1; // padding always fits: at least one 0x01/0x80 byte
    let mut scratch = vec![0u8; w * blocks * RATE];
    let mut done = 0;
    while done + w <= count {
        for k in 0..w {
            let buf = &mut scratch[k * blocks * RATE..(k + 1) * blocks * RATE];
            buf.fill(0);
            buf[..prefix.len()].copy_from_slice(prefix);
            buf[prefix.len()..total].copy_from_slice(&data[(done + k) * len..(done + k + 1) * len]);
            buf[total] ^= 0x01;
            buf[blocks * RATE - 1] ^= 0x80;
        }
        let chunk = blocks * RATE;
        let dst = &mut out[done * 32..(done + w) * 32];
        #[cfg(target_arch = "x86_64")]
        {
            let p: [&[u8]; 8] = std::array::from_fn(|k| &scratch[k * chunk..(k + 1) * chunk]);
            // SAFETY: width() returned 8 only after detecting AVX-512F on this CPU.
            unsafe { avx512::absorb_squeeze(&p, blocks, dst) };
        }
        done += w;
    }
    done
}
