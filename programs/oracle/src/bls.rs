//! BLS12-381 min-sig verification: e(sig, −G2)·e(H(msg), pk) = 1 with the SIMD-0388 pairing syscall.
use crate::constants::{DESTRA_DST, NEG_G2_GENERATOR};
use crate::h2c::{hash_to_g1, H2cError, HINT_LEN};
use crate::syscalls::{g1_decompress, g2_validate, pairing2};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlsError {
    /// signature bytes are not a valid compressed G1 subgroup point, or are the identity
    BadSignatureEncoding,
    /// the hash-to-curve hints did not check out
    Hints(H2cError),
    /// the pairing equation does not hold
    InvalidSignature,
}

/// ZCash flag bits in the first byte of an encoded point.
const FLAG_COMPRESSED: u8 = 0x80;
const FLAG_INFINITY: u8 = 0x40;

/// A usable group public key: uncompressed, not the identity, on the curve and in G2.
pub fn valid_group_key(pk: &[u8; 192]) -> bool {
    pk[0] & (FLAG_COMPRESSED | FLAG_INFINITY) == 0 && g2_validate(pk)
}

pub fn verify(pk: &[u8; 192], msg: &[u8], sig: &[u8; 48], hints: &[u8; HINT_LEN]) -> Result<(), BlsError> {
    if sig[0] & FLAG_COMPRESSED == 0 || sig[0] & FLAG_INFINITY != 0 {
        return Err(BlsError::BadSignatureEncoding);
    }
    let sig_point = g1_decompress(sig).ok_or(BlsError::BadSignatureEncoding)?;
    let h = hash_to_g1(msg, DESTRA_DST, hints).map_err(BlsError::Hints)?;
    let mut g1 = [0u8; 192];
    g1[..96].copy_from_slice(&sig_point);
    g1[96..].copy_from_slice(&h);
    let mut g2 = [0u8; 384];
    g2[..192].copy_from_slice(&NEG_G2_GENERATOR);
    g2[192..].copy_from_slice(pk);
    let gt = pairing2(&g1, &g2).ok_or(BlsError::InvalidSignature)?;
    crate::syscalls::log_cu("bls:pairing");
    // GT identity in the big-endian encoding: every byte zero except a final 0x01
    let is_one = gt[575] == 1 && gt[..575].iter().all(|b| *b == 0);
    if is_one {
        Ok(())
    } else {
        Err(BlsError::InvalidSignature)
    }
}
