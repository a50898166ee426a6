//! Report batches (docs/report-format.md §2): keccak leaves with 0x00, sorted-pair inner nodes with 0x01.
use crate::syscalls::keccak256;

pub const MAX_PROOF_DEPTH: usize = 16;

pub fn leaf(report: &[u8]) -> [u8; 32] {
    keccak256(&[&[0u8], report])
}

pub fn hash_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    keccak256(&[&[1u8], lo, hi])
}

/// Root from a leaf and its sibling path; None when the proof is deeper than the format allows.
pub fn root_from_proof(leaf: &[u8; 32], proof: &[[u8; 32]]) -> Option<[u8; 32]> {
    if proof.len() > MAX_PROOF_DEPTH {
        return None;
    }
    let mut node = *leaf;
    for sib in proof {
        node = hash_pair(&node, sib);
    }
    Some(node)
}

/// The 33-byte BLS message for a report root (purpose 0x01) or a handover digest (purpose 0x02).
pub fn signing_message(purpose: u8, digest: &[u8; 32]) -> [u8; 33] {
    let mut m = [0u8; 33];
    m[0] = purpose;
    m[1..].copy_from_slice(digest);
    m
}
