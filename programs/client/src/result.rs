//! Reading `ReportResult` accounts: the checks every consumer needs before it trusts a number.
use crate::constants::ORACLE_DISC_ACC_REPORT_RESULT;
use crate::layout::{arr32, result, u64_at, SEED_RESULT};
use crate::Pubkey;

/// `kind` of a result written by an on-demand request's report.
pub const KIND_REQUEST: u8 = 1;
/// `kind` of a result written by a feed report (id = the feed id).
pub const KIND_FEED: u8 = 2;
/// Report status of an answer (anything else is a failure report without outputs).
pub const STATUS_OK: u8 = 0;
pub const MAX_OUTPUTS: usize = 64;

/// Why an account is not a usable result. Programs map these into their own error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// the account is not owned by the oracle program the caller trusts (a look-alike account)
    WrongOwner,
    /// wrong length or discriminator: not a ReportResult
    NotAResult,
    /// a request result where a feed was expected, or the reverse
    WrongKind,
    /// the result is for another feed / request id
    WrongId,
    /// a failure report (status ≠ 0): the request was closed without outputs
    Failed,
    /// status ok but no outputs (never written by the oracle; refused anyway)
    NoOutputs,
    /// older than the caller's freshness bound
    Stale,
}

impl ReadError {
    /// A short reason for program logs.
    pub fn message(self) -> &'static str {
        match self {
            ReadError::WrongOwner => "result account is not owned by the oracle program",
            ReadError::NotAResult => "account is not a ReportResult",
            ReadError::WrongKind => "result is of the wrong kind (feed vs request)",
            ReadError::WrongId => "result is for another id",
            ReadError::Failed => "result is a failure report",
            ReadError::NoOutputs => "result has no outputs",
            ReadError::Stale => "result is older than the freshness bound",
        }
    }
}

/// How old a result may be. Slots measure when the oracle stored it (posted_slot); seconds measure
/// the report's own timestamp (when the committee produced it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Any,
    /// `now_slot - posted_slot <= max_age_slots`
    Slots { now_slot: u64, max_age_slots: u64 },
    /// `now_unix - timestamp <= max_age_secs` (a timestamp ahead of `now_unix` counts as age 0)
    Seconds { now_unix: u64, max_age_secs: u64 },
}

/// A checked view of a `ReportResult` account's data (no copy of the outputs).
#[derive(Debug, Clone, Copy)]
pub struct ReportResult<'a> {
    data: &'a [u8],
}

impl<'a> ReportResult<'a> {
    pub fn id(&self) -> [u8; 32] {
        arr32(self.data, result::ID)
    }
    pub fn kind(&self) -> u8 {
        self.data[result::KIND]
    }
    pub fn epoch(&self) -> u64 {
        u64_at(self.data, result::EPOCH)
    }
    pub fn model_hash(&self) -> [u8; 32] {
        arr32(self.data, result::MODEL_HASH)
    }
    pub fn input_hash(&self) -> [u8; 32] {
        arr32(self.data, result::INPUT_HASH)
    }
    pub fn timestamp(&self) -> u64 {
        u64_at(self.data, result::TIMESTAMP)
    }
    pub fn round(&self) -> u64 {
        u64_at(self.data, result::ROUND)
    }
    pub fn posted_slot(&self) -> u64 {
        u64_at(self.data, result::POSTED_SLOT)
    }
    pub fn report_leaf(&self) -> [u8; 32] {
        arr32(self.data, result::REPORT_LEAF)
    }
    pub fn status(&self) -> u8 {
        self.data[result::STATUS]
    }
    pub fn output_count(&self) -> usize {
        (u16::from_le_bytes([self.data[result::OUTPUT_COUNT], self.data[result::OUTPUT_COUNT + 1]]) as usize).min(MAX_OUTPUTS)
    }
    /// Output `i` (fixed-point as the model's manifest scales it), None past output_count.
    pub fn output(&self, i: usize) -> Option<i64> {
        (i < self.output_count()).then(|| u64_at(self.data, result::OUTPUTS + 8 * i) as i64)
    }
    pub fn outputs(&self) -> impl Iterator<Item = i64> + 'a {
        let d = self.data;
        (0..ReportResult { data: d }.output_count()).map(move |i| u64_at(d, result::OUTPUTS + 8 * i) as i64)
    }
}

/// Checks owner, discriminator, length, status (an answer with ≥ 1 output) and freshness; any kind.
pub fn read_result<'a>(owner: &Pubkey, data: &'a [u8], oracle_program: &Pubkey, fresh: Freshness) -> Result<ReportResult<'a>, ReadError> {
    if owner != oracle_program {
        return Err(ReadError::WrongOwner);
    }
    if data.len() != result::LEN || data[..8] != ORACLE_DISC_ACC_REPORT_RESULT {
        return Err(ReadError::NotAResult);
    }
    let r = ReportResult { data };
    if r.status() != STATUS_OK {
        return Err(ReadError::Failed);
    }
    if r.output_count() == 0 {
        return Err(ReadError::NoOutputs);
    }
    let stale = match fresh {
        Freshness::Any => false,
        Freshness::Slots { now_slot, max_age_slots } => now_slot.saturating_sub(r.posted_slot()) > max_age_slots,
        Freshness::Seconds { now_unix, max_age_secs } => now_unix.saturating_sub(r.timestamp()) > max_age_secs,
    };
    if stale {
        return Err(ReadError::Stale);
    }
    Ok(r)
}

/// [`read_result`] plus: the result is a feed report for `feed_id`.
pub fn read_feed<'a>(owner: &Pubkey, data: &'a [u8], oracle_program: &Pubkey, feed_id: &[u8; 32], fresh: Freshness) -> Result<ReportResult<'a>, ReadError> {
    // kind and id first: a failure or stale report of another feed should say "wrong feed"
    if owner == oracle_program && data.len() == result::LEN && data[..8] == ORACLE_DISC_ACC_REPORT_RESULT {
        if data[result::KIND] != KIND_FEED {
            return Err(ReadError::WrongKind);
        }
        if &data[result::ID..result::ID + 32] != feed_id {
            return Err(ReadError::WrongId);
        }
    }
    read_result(owner, data, oracle_program, fresh)
}

/// Seeds of the result PDA for `id` (derive with the oracle program id).
pub fn result_seeds(id: &[u8; 32]) -> [&[u8]; 2] {
    [SEED_RESULT, id]
}
