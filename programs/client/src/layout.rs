//! Byte offsets of the oracle's accounts. Anchor layout: 8-byte discriminator, then Borsh little-endian
//! fields; the offsets are fixed (outputs and inputs are fixed-size arrays), so a field is read in place.

/// `ReportResult`: one per report id (feed id or request id), PDA ["result", id].
pub mod result {
    pub const ID: usize = 8;
    /// 1 request, 2 feed
    pub const KIND: usize = 40;
    pub const EPOCH: usize = 41;
    pub const MODEL_HASH: usize = 49;
    pub const INPUT_HASH: usize = 81;
    /// report timestamp (unix seconds)
    pub const TIMESTAMP: usize = 113;
    pub const ROUND: usize = 121;
    pub const OUTPUT_COUNT: usize = 129;
    /// 64 × i64 fixed-point outputs; the first OUTPUT_COUNT are meaningful
    pub const OUTPUTS: usize = 131;
    /// slot of the transaction that wrote the report
    pub const POSTED_SLOT: usize = 643;
    pub const REPORT_LEAF: usize = 651;
    pub const BUMP: usize = 683;
    /// 0 ok, else the failure status (no outputs); docs/report-format.md §1.1
    pub const STATUS: usize = 684;
    pub const LEN: usize = 685;
}

/// `InferenceRequest`: PDA ["request", requester, nonce (u64 LE)].
pub mod request {
    pub const REQUESTER: usize = 8;
    pub const NONCE: usize = 40;
    pub const MODEL_HASH: usize = 48;
    pub const INPUT_HASH: usize = 80;
    pub const FEE: usize = 112;
    pub const STATUS: usize = 120;
    pub const CREATED_SLOT: usize = 121;
    pub const INPUT_LEN: usize = 129;
    pub const INPUT: usize = 131;
    pub const MAX_INPUT: usize = 512;
    pub const BUMP: usize = 643;
    pub const DEADLINE_SLOT: usize = 644;
    pub const SEQ: usize = 652;
    pub const LEN: usize = 660;
}

/// `OracleConfig`: PDA ["config"]; the fields a consumer may want (fee, epoch).
pub mod config {
    pub const EPOCH: usize = 104;
    pub const REQUEST_FEE: usize = 308;
    pub const REQUEST_SEQ: usize = 432;
    pub const LEN: usize = 440;
}

pub const SEED_CONFIG: &[u8] = b"config";
pub const SEED_VAULT: &[u8] = b"vault";
pub const SEED_RESULT: &[u8] = b"result";
pub const SEED_REQUEST: &[u8] = b"request";

pub(crate) fn u64_at(d: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[at..at + 8]);
    u64::from_le_bytes(b)
}

pub(crate) fn arr32(d: &[u8], at: usize) -> [u8; 32] {
    let mut b = [0u8; 32];
    b.copy_from_slice(&d[at..at + 32]);
    b
}
