//! Program errors, returned as custom error codes (Anchor numbering, from 6000) so clients can name them.
use crate::bls::BlsError;
use crate::h2c::H2cError;
use crate::report::FormatError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum OracleError {
    InvalidInstruction = 6000,
    MissingAccount = 6001,
    TooManyAccounts = 6002,
    MissingSignature = 6003,
    NotWritable = 6004,
    WrongAccount = 6005,
    WrongOwner = 6006,
    AlreadyInitialized = 6007,
    NotInitialized = 6008,
    Unauthorized = 6009,
    MalformedReport = 6010,
    WrongDomain = 6011,
    WrongEpoch = 6012,
    WrongChainType = 6013,
    WrongCluster = 6014,
    WrongProgram = 6015,
    Replay = 6016,
    StaleRound = 6017,
    RequestMismatch = 6018,
    InputHashMismatch = 6019,
    RequestNotPending = 6020,
    BadProof = 6021,
    BadSignatureEncoding = 6022,
    BadHints = 6023,
    InvalidSignature = 6024,
    InvalidGroupKey = 6025,
    MalformedHandover = 6026,
    InvalidInput = 6027,
    InsufficientFunds = 6028,
    CpiFailed = 6029,
    RootNotVerified = 6030,
    /// `initialize` signed by a key other than the program's upgrade authority (or the program is immutable)
    NotUpgradeAuthority = 6031,
    /// `refund` before the request's deadline slot
    RequestNotExpired = 6032,
    /// `set_failure_fee` above 10,000 basis points
    InvalidFee = 6033,
    /// `distribute_fees`: the payout list does not hash to the current epoch's payoutsRoot
    PayoutsMismatch = 6034,
    /// `distribute_fees`: the vault holds nothing above its rent-exempt minimum, or the table's weights sum to 0
    NothingToDistribute = 6035,
}

impl From<destra_sbf::SbfError> for OracleError {
    fn from(e: destra_sbf::SbfError) -> Self {
        match e {
            destra_sbf::SbfError::TooManyAccounts => OracleError::TooManyAccounts,
            destra_sbf::SbfError::MissingAccount => OracleError::MissingAccount,
            destra_sbf::SbfError::CpiFailed => OracleError::CpiFailed,
        }
    }
}

impl From<FormatError> for OracleError {
    fn from(_: FormatError) -> Self {
        OracleError::MalformedReport
    }
}

impl From<H2cError> for OracleError {
    fn from(_: H2cError) -> Self {
        OracleError::BadHints
    }
}

impl From<BlsError> for OracleError {
    fn from(e: BlsError) -> Self {
        match e {
            BlsError::BadSignatureEncoding => OracleError::BadSignatureEncoding,
            BlsError::Hints(_) => OracleError::BadHints,
            BlsError::InvalidSignature => OracleError::InvalidSignature,
        }
    }
}
