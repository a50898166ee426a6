use napi::bindgen_prelude::*;
use napi_derive::napi;
use sha3::{Digest, Keccak256};

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
    for (msg, digest) in data.chunks_exact(len).zip(out.chunks_exact_mut(32)) {
        let mut h = Keccak256::new();
        h.update(prefix);
        h.update(msg);
        digest.copy_from_slice(&h.finalize());
    }
    Ok(out.into())
}

/// One level up a sorted-pair Merkle tree: node = keccak(0x01 ‖ min(a,b) ‖ max(a,b)) for each pair; an
/// odd last node is carried up unchanged (protocol/src/report/merkle.ts).
#[napi]
pub fn merkle_level(level: &[u8]) -> Result<Buffer> {
    if level.len() % 32 != 0 || level.is_empty() {
        return Err(bad("a level is a non-empty sequence of 32-byte nodes"));
    }
    let nodes: Vec<&[u8]> = level.chunks_exact(32).collect();
    let mut out = Vec::with_capacity((nodes.len() + 1) / 2 * 32);
    for pair in nodes.chunks(2) {
        if pair.len() == 1 {
            out.extend_from_slice(pair[0]);
            continue;
        }
        let (lo, hi) = if pair[0] <= pair[1] { (pair[0], pair[1]) } else { (pair[1], pair[0]) };
        let mut h = Keccak256::new();
        h.update([0x01u8]);
        h.update(lo);
        h.update(hi);
        out.extend_from_slice(&h.finalize());
    }
    Ok(out.into())
}
