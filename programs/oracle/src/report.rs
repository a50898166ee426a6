//! Decoders for the signed bytes of docs/report-format.md: report (§1) and committee handover (§4).
//! All integers big-endian. Every length and enum is checked; nothing is trusted.

pub const HEADER_LEN: usize = 222;
/// Offset of the status byte (0 ok; 1..=MAX_STATUS a failure report), followed by the u16 output count.
pub const STATUS_OFFSET: usize = 219;
pub const STATUS_OK: u8 = 0;
pub const MAX_STATUS: u8 = 4;
pub const REPORT_VERSION: u8 = 2;
pub const MAX_OUTPUTS: usize = 64;
pub const MAX_REPORT_LEN: usize = HEADER_LEN + 8 * MAX_OUTPUTS;
pub const HANDOVER_LEN: usize = 341;
pub const HANDOVER_VERSION: u8 = 2;

pub const KIND_REQUEST: u8 = 1;
pub const KIND_FEED: u8 = 2;
pub const KIND_ON_DEMAND: u8 = 3;
pub const CHAIN_ANY: u8 = 0;
pub const CHAIN_EVM: u8 = 1;
pub const CHAIN_SVM: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    Length,
    Version,
    Kind,
    ChainType,
    /// unknown status, or a failure status on a report that is not a request answer
    Status,
    OutputCount,
    /// destChainId/destContract non-zero with destChainType = 0
    NonZeroAnyChainDestination,
    /// a request answer must name its chain
    RequestWithoutChain,
    Epoch,
    Committee,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<'a> {
    pub kind: u8,
    pub domain: [u8; 32],
    pub epoch: u64,
    pub dest_chain_type: u8,
    pub dest_chain_id: [u8; 32],
    pub dest_contract: [u8; 32],
    pub id: [u8; 32],
    pub model_hash: [u8; 32],
    pub input_hash: [u8; 32],
    pub timestamp: u64,
    pub round: u64,
    /// 0 ok; otherwise a failure report (docs/report-format.md §1.1) with no outputs
    pub status: u8,
    pub output_count: u16,
    /// raw big-endian int64 values
    pub output: &'a [u8],
}

impl Report<'_> {
    pub fn output_at(&self, i: usize) -> i64 {
        i64::from_be_bytes(self.output[8 * i..8 * i + 8].try_into().unwrap())
    }
}

fn b32(b: &[u8], at: usize) -> [u8; 32] {
    b[at..at + 32].try_into().unwrap()
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

pub fn decode_report(b: &[u8]) -> Result<Report<'_>, FormatError> {
    if b.len() < HEADER_LEN || b.len() > MAX_REPORT_LEN {
        return Err(FormatError::Length);
    }
    if b[0] != REPORT_VERSION {
        return Err(FormatError::Version);
    }
    let kind = b[1];
    if !(KIND_REQUEST..=KIND_ON_DEMAND).contains(&kind) {
        return Err(FormatError::Kind);
    }
    let dest_chain_type = b[42];
    if dest_chain_type > CHAIN_SVM {
        return Err(FormatError::ChainType);
    }
    let status = b[STATUS_OFFSET];
    if status > MAX_STATUS || (status != STATUS_OK && kind != KIND_REQUEST) {
        return Err(FormatError::Status);
    }
    let k = u16_at(b, STATUS_OFFSET + 1);
    let count_ok = if status == STATUS_OK { k != 0 && k as usize <= MAX_OUTPUTS } else { k == 0 };
    if !count_ok {
        return Err(FormatError::OutputCount);
    }
    if b.len() != HEADER_LEN + 8 * k as usize {
        return Err(FormatError::Length);
    }
    let dest_chain_id = b32(b, 43);
    let dest_contract = b32(b, 75);
    if dest_chain_type == CHAIN_ANY {
        if dest_chain_id.iter().any(|x| *x != 0) || dest_contract.iter().any(|x| *x != 0) {
            return Err(FormatError::NonZeroAnyChainDestination);
        }
        if kind == KIND_REQUEST {
            return Err(FormatError::RequestWithoutChain);
        }
    }
    Ok(Report {
        kind,
        domain: b32(b, 2),
        epoch: u64_at(b, 34),
        dest_chain_type,
        dest_chain_id,
        dest_contract,
        id: b32(b, 107),
        model_hash: b32(b, 139),
        input_hash: b32(b, 171),
        timestamp: u64_at(b, 203),
        round: u64_at(b, 211),
        status,
        output_count: k,
        output: &b[HEADER_LEN..],
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub domain: [u8; 32],
    pub old_epoch: u64,
    pub new_epoch: u64,
    pub threshold: u16,
    pub committee_size: u16,
    pub group_key: [u8; 192],
    pub shares_root: [u8; 32],
    pub members_root: [u8; 32],
    /// keccak256 of the Solana fee payout table (payee ‖ weight u64 BE per member), §4
    pub payouts_root: [u8; 32],
}

pub fn decode_handover(b: &[u8]) -> Result<Handover, FormatError> {
    if b.len() != HANDOVER_LEN {
        return Err(FormatError::Length);
    }
    if b[0] != HANDOVER_VERSION {
        return Err(FormatError::Version);
    }
    let old_epoch = u64_at(b, 33);
    let new_epoch = u64_at(b, 41);
    if old_epoch.checked_add(1) != Some(new_epoch) {
        return Err(FormatError::Epoch);
    }
    let threshold = u16_at(b, 49);
    let committee_size = u16_at(b, 51);
    if threshold == 0 || threshold > committee_size || committee_size > 256 {
        return Err(FormatError::Committee);
    }
    Ok(Handover {
        domain: b32(b, 1),
        old_epoch,
        new_epoch,
        threshold,
        committee_size,
        group_key: b[53..245].try_into().unwrap(),
        shares_root: b32(b, 245),
        members_root: b32(b, 277),
        payouts_root: b32(b, 309),
    })
}
