use napi::bindgen_prelude::*;
use napi_derive::napi;
use sha3::{Digest, Keccak256};

use crate::keccak_lanes;

fn bad(what: &str) -> Error {
    Error::new(Status::InvalidArg, what.to_string())
}

/// Keccak-256 of `count` back-to-back messages of `len` bytes each, each preceded by `prefix` (empty
/// for plain hashes, [0x00] for report leaves): 32·count digest bytes. One call instead of `count`.
#[napi]
pub fn keccak_many(data: &[u8], len: u32, prefix: &[u8]) -> Result<Buffer> {
    let len = len as usize;
    if len == 0 || data.len() % len != 0 {
        return Err(bad("data length must be a multiple of a non-zero message length"));
    }
    let mut out = vec![0u8; data.len() / len * 32];
    hash_all(data, len, prefix, &mut out);
    Ok(out.into())
}

/// `prefix ‖ message` digests of the back-to-back `len`-byte messages in `data` into `out`: 8 at a time
/// where the CPU allows (keccak_lanes), the rest one by one with sha3.
fn hash_all(data: &[u8], len: usize, prefix: &[u8], out: &mut [u8]) {
    let done = keccak_lanes::hash_many(data, len, prefix, keccak_lanes::width(), out);
    for (msg, digest) in data[done * len..].chunks_exact(len).zip(out[done * 32..].chunks_exact_mut(32)) {
        let mut h = Keccak256::new();
        h.update(prefix);
        h.update(msg);
        digest.copy_from_slice(&h.finalize());
    }
}

/// One level up a sorted-pair Merkle tree: node = keccak(0x01 ‖ min(a,b) ‖ max(a,b)) for each pair; an
/// odd last node is carried up unchanged (protocol/src/report/merkle.ts).
#[napi]
pub fn merkle_level(level: &[u8]) -> Result<Buffer> {
    if level.len() % 32 != 0 || level.is_empty() {
        return Err(bad("a level is a non-empty sequence of 32-byte nodes"));
    }
    let nodes = level.len() / 32;
    let pairs = nodes / 2;
    // Sorted pairs back to back (64 bytes each), hashed like any batch with the 0x01 prefix.
    let mut sorted = Vec::with_capacity(pairs * 64);
    for p in level.chunks_exact(64) {
        let (a, b) = p.split_at(32);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        sorted.extend_from_slice(lo);
        sorted.extend_from_slice(hi);
    }
    let mut out = vec![0u8; (nodes + 1) / 2 * 32];
    hash_all(&sorted, 64, &[0x01], &mut out[..pairs * 32]);
    if nodes % 2 == 1 {
        out[pairs * 32..].copy_from_slice(&level[level.len() - 32..]);
    }
    Ok(out.into())
}

/// Messages hashed per step by the batch paths: 8 with AVX-512, 1 otherwise (or DESTRA_KECCAK_LANES=1).
#[napi]
pub fn keccak_width() -> u32 {
    keccak_lanes::width().max(1) as u32
}
