//! Account layouts (Anchor-compatible: 8-byte discriminator, then Borsh little-endian fields) and PDA
//! seeds. Offsets are fixed so clients and the consumer program can read fields directly.
use crate::constants::{DISC_ACC_FEE_VAULT, DISC_ACC_INFERENCE_REQUEST, DISC_ACC_ORACLE_CONFIG, DISC_ACC_REPORT_RESULT, DISC_ACC_VERIFIED_ROOT};

pub const SEED_CONFIG: &[u8] = b"config";
pub const SEED_VAULT: &[u8] = b"vault";
pub const SEED_RESULT: &[u8] = b"result";
pub const SEED_REQUEST: &[u8] = b"request";
pub const SEED_ROOT: &[u8] = b"root";

pub mod config {
    pub const DISC: [u8; 8] = super::DISC_ACC_ORACLE_CONFIG;
    pub const ADMIN: usize = 8;
    pub const DOMAIN: usize = 40;
    pub const CLUSTER_ID: usize = 72;
    pub const EPOCH: usize = 104;
    pub const THRESHOLD: usize = 112;
    pub const COMMITTEE_SIZE: usize = 114;
    pub const GROUP_KEY: usize = 116;
    pub const REQUEST_FEE: usize = 308;
    pub const BUMP: usize = 316;
    pub const VAULT_BUMP: usize = 317;
    pub const REPORTS_POSTED: usize = 318;
    pub const SHARES_ROOT: usize = 326;
    pub const MEMBERS_ROOT: usize = 358;
    /// slots after which an unanswered request may be refunded (copied into each request as its deadline)
    pub const REQUEST_TIMEOUT_SLOTS: usize = 390;
    /// share of a failed request's fee the vault keeps as the processing fee (basis points, u16)
    pub const FAILURE_FEE_BPS: usize = 398;
    pub const DEFAULT_FAILURE_FEE_BPS: u16 = 1_000;
    /// keccak256 of the current epoch's fee payout table (docs/report-format.md §4), set by `initialize`
    /// and by every `handover`; `distribute_fees` pays only a table that hashes to it
    pub const PAYOUTS_ROOT: usize = 400;
    /// sequence number the next request gets (u64): requests are numbered consecutively from 0 in the
    /// order they execute, the program's request stream that nodes sign in ranges (docs/solana.md)
    pub const REQUEST_SEQ: usize = 432;
    pub const LEN: usize = 440;
}

pub mod vault {
    pub const DISC: [u8; 8] = super::DISC_ACC_FEE_VAULT;
    pub const TOTAL_COLLECTED: usize = 8;
    /// lamports paid out to committee payees by `distribute_fees`, all epochs together
    pub const TOTAL_DISTRIBUTED: usize = 16;
    pub const BUMP: usize = 24;
    pub const LEN: usize = 25;
}

pub mod result {
    pub const DISC: [u8; 8] = super::DISC_ACC_REPORT_RESULT;
    pub const ID: usize = 8;
    pub const KIND: usize = 40;
    pub const EPOCH: usize = 41;
    pub const MODEL_HASH: usize = 49;
    pub const INPUT_HASH: usize = 81;
    pub const TIMESTAMP: usize = 113;
    pub const ROUND: usize = 121;
    pub const OUTPUT_COUNT: usize = 129;
    pub const OUTPUTS: usize = 131;
    pub const POSTED_SLOT: usize = 643;
    pub const REPORT_LEAF: usize = 651;
    pub const BUMP: usize = 683;
    /// report status: 0 ok, else the failure status (no outputs); docs/report-format.md §1.1
    pub const STATUS: usize = 684;
    pub const LEN: usize = 685;
}

pub mod request {
    pub const DISC: [u8; 8] = super::DISC_ACC_INFERENCE_REQUEST;
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
    /// first slot at which the requester may take the fee back if the request is still pending
    pub const DEADLINE_SLOT: usize = 644;
    /// the request's position in the request stream (config::REQUEST_SEQ when it was made)
    pub const SEQ: usize = 652;
    pub const LEN: usize = 660;
    pub const STATUS_PENDING: u8 = 0;
    pub const STATUS_FULFILLED: u8 = 1;
    pub const STATUS_REFUNDED: u8 = 2;
    /// closed by a failure report; FEE then holds what the requester may still take back (refund)
    pub const STATUS_FAILED: u8 = 3;
}

pub mod root {
    pub const DISC: [u8; 8] = super::DISC_ACC_VERIFIED_ROOT;
    pub const ROOT: usize = 8;
    pub const EPOCH: usize = 40;
    pub const VERIFIED_SLOT: usize = 48;
    pub const BUMP: usize = 56;
    pub const LEN: usize = 57;
}

pub fn put<const N: usize>(d: &mut [u8], at: usize, v: &[u8; N]) {
    d[at..at + N].copy_from_slice(v);
}
pub fn get<const N: usize>(d: &[u8], at: usize) -> [u8; N] {
    d[at..at + N].try_into().unwrap()
}
pub fn get_u64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(get(d, at))
}
pub fn put_u64(d: &mut [u8], at: usize, v: u64) {
    put(d, at, &v.to_le_bytes())
}
pub fn get_u16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(get(d, at))
}
pub fn put_u16(d: &mut [u8], at: usize, v: u16) {
    put(d, at, &v.to_le_bytes())
}
