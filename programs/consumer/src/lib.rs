//! Example consumer of the Destra oracle: a lending pool whose collateral factor follows a risk-score feed.
//! `apply_result` reads a ReportResult account with destra_client::read_feed (owner must be the configured
//! oracle program, id must be the pool's feed, report not older than max_age) and checks the round
//! advances; `request_risk` asks the oracle for an on-demand inference through CPI (destra_client's
//! RequestInference), paying its fee.
#![cfg_attr(target_arch = "bpf", no_std)]
// on the host only the pure helpers are exercised (unit tests); the entrypoint is SBF-only
#![cfg_attr(not(target_arch = "bpf"), allow(dead_code, unused_imports))]

mod constants;

use constants::*;
use destra_client::{read_feed, Freshness, ReadError, RequestInference, REQUEST_INFERENCE_MAX_DATA};
use destra_sbf::entry::{create_pda, invoke, parse_input, Account, Cpi, CpiAccount, Input, NewPda, Pubkey, SYSTEM_PROGRAM_ID};
use destra_sbf::syscalls::{clock, find_program_address};
use destra_sbf::SbfError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ConsumerError {
    InvalidInstruction = 6000,
    MissingAccount = 6001,
    MissingSignature = 6002,
    WrongAccount = 6003,
    AlreadyInitialized = 6004,
    NotInitialized = 6005,
    Unauthorized = 6006,
    WrongOracle = 6007,
    NotAReport = 6008,
    WrongFeed = 6009,
    StaleRound = 6010,
    TooOld = 6011,
    CpiFailed = 6012,
}

impl From<SbfError> for ConsumerError {
    fn from(e: SbfError) -> Self {
        match e {
            SbfError::CpiFailed => ConsumerError::CpiFailed,
            _ => ConsumerError::MissingAccount,
        }
    }
}

impl From<ReadError> for ConsumerError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::WrongOwner => ConsumerError::WrongOracle,
            ReadError::WrongId => ConsumerError::WrongFeed,
            ReadError::Stale => ConsumerError::TooOld,
            ReadError::NotAResult | ReadError::WrongKind | ReadError::Failed | ReadError::NoOutputs => ConsumerError::NotAReport,
        }
    }
}

type R<T> = Result<T, ConsumerError>;

/// LendingPool layout (Anchor: discriminator + Borsh fields).
mod pool {
    pub const ADMIN: usize = 8;
    pub const ORACLE: usize = 40;
    pub const FEED_ID: usize = 72;
    pub const MAX_AGE: usize = 104;
    pub const CF_BPS: usize = 112;
    pub const LAST_ROUND: usize = 114;
    pub const LAST_TS: usize = 122;
    pub const RISK: usize = 130;
    pub const BUMP: usize = 138;
    pub const LEN: usize = 139;
}

/// Risk scores are fixed-point with 6 decimals in [0, 1]: 0 → 90% collateral factor, 1 → 10%.
const RISK_SCALE: i64 = 1_000_000;
const SEED_POOL: &[u8] = b"pool";

fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

fn cf_from_risk(risk: i64) -> u16 {
    let r = risk.clamp(0, RISK_SCALE);
    (9000 - r * 8000 / RISK_SCALE) as u16
}

fn load_pool<'a>(a: &'a Account, program_id: &Pubkey) -> R<&'a mut [u8]> {
    if a.owner() != program_id {
        return Err(ConsumerError::WrongAccount);
    }
    let d = a.data_mut();
    if d.len() != pool::LEN || d[..8] != DISC_ACC_LENDING_POOL {
        return Err(ConsumerError::NotInitialized);
    }
    Ok(d)
}

fn init_pool(input: &Input, args: &[u8]) -> R<()> {
    let admin = input.account(0)?;
    let pool_acc = input.account(1)?;
    if input.account(2)?.key() != &SYSTEM_PROGRAM_ID {
        return Err(ConsumerError::WrongAccount);
    }
    if !admin.is_signer() {
        return Err(ConsumerError::MissingSignature);
    }
    if args.len() != 32 + 32 + 8 {
        return Err(ConsumerError::InvalidInstruction);
    }
    let (addr, bump) = find_program_address(&[SEED_POOL, admin.key()], input.program_id).ok_or(ConsumerError::WrongAccount)?;
    if &addr != pool_acc.key() {
        return Err(ConsumerError::WrongAccount);
    }
    if !pool_acc.is_empty_system() {
        return Err(ConsumerError::AlreadyInitialized);
    }
    let seeds: &[&[u8]] = &[SEED_POOL, admin.key(), &[bump]];
    create_pda(&NewPda { payer: admin, account: pool_acc, space: pool::LEN, owner: input.program_id, seeds })?;
    let d = pool_acc.data_mut();
    d[..8].copy_from_slice(&DISC_ACC_LENDING_POOL);
    d[pool::ADMIN..pool::ADMIN + 32].copy_from_slice(admin.key());
    d[pool::ORACLE..pool::ORACLE + 32].copy_from_slice(&args[..32]);
    d[pool::FEED_ID..pool::FEED_ID + 32].copy_from_slice(&args[32..64]);
    d[pool::MAX_AGE..pool::MAX_AGE + 8].copy_from_slice(&args[64..72]);
    d[pool::CF_BPS..pool::CF_BPS + 2].copy_from_slice(&5000u16.to_le_bytes());
    d[pool::BUMP] = bump;
    Ok(())
}

/// Forwards a risk request to the oracle's request_inference (the admin pays the fee and signs).
fn request_risk(input: &Input, args: &[u8]) -> R<()> {
    let admin = input.account(0)?;
    let pool_acc = input.account(1)?;
    let oracle = input.account(2)?;
    let config = input.account(3)?;
    let request = input.account(4)?;
    let vault = input.account(5)?;
    let system = input.account(6)?;
    if !admin.is_signer() {
        return Err(ConsumerError::MissingSignature);
    }
    let d = load_pool(&pool_acc, input.program_id)?;
    if &d[pool::ADMIN..pool::ADMIN + 32] != admin.key() {
        return Err(ConsumerError::Unauthorized);
    }
    if &d[pool::ORACLE..pool::ORACLE + 32] != oracle.key() {
        return Err(ConsumerError::WrongOracle);
    }
    // args are the oracle's request_inference args (nonce, model_hash, input): checked, then re-encoded
    let req = RequestInference::decode_args(args).map_err(|_| ConsumerError::InvalidInstruction)?;
    let mut buf = [0u8; REQUEST_INFERENCE_MAX_DATA];
    let data = req.encode(&mut buf).map_err(|_| ConsumerError::InvalidInstruction)?;
    invoke(&Cpi {
        program_id: oracle.key(),
        accounts: &[
            CpiAccount { account: admin, signer: true, writable: true },
            CpiAccount { account: config, signer: false, writable: true }, // the oracle's request counter
            CpiAccount { account: request, signer: false, writable: true },
            CpiAccount { account: vault, signer: false, writable: true },
            CpiAccount { account: system, signer: false, writable: false },
        ],
        data,
        seeds: &[],
    })?;
    Ok(())
}

fn apply_result(input: &Input) -> R<()> {
    let pool_acc = input.account(0)?;
    let res = input.account(1)?;
    let d = load_pool(&pool_acc, input.program_id)?;
    let oracle: [u8; 32] = d[pool::ORACLE..pool::ORACLE + 32].try_into().unwrap();
    let feed: [u8; 32] = d[pool::FEED_ID..pool::FEED_ID + 32].try_into().unwrap();
    let max_age = u64_at(d, pool::MAX_AGE);
    let fresh = if max_age == 0 { Freshness::Any } else { Freshness::Seconds { now_unix: clock().1.max(0) as u64, max_age_secs: max_age } };
    let r = read_feed(res.owner(), res.data(), &oracle, &feed, fresh)?;
    let round = r.round();
    if round <= u64_at(d, pool::LAST_ROUND) {
        return Err(ConsumerError::StaleRound);
    }
    let ts = r.timestamp();
    let risk = r.output(0).ok_or(ConsumerError::NotAReport)?;
    d[pool::CF_BPS..pool::CF_BPS + 2].copy_from_slice(&cf_from_risk(risk).to_le_bytes());
    d[pool::LAST_ROUND..pool::LAST_ROUND + 8].copy_from_slice(&round.to_le_bytes());
    d[pool::LAST_TS..pool::LAST_TS + 8].copy_from_slice(&ts.to_le_bytes());
    d[pool::RISK..pool::RISK + 8].copy_from_slice(&risk.to_le_bytes());
    Ok(())
}

fn process(input: &Input) -> R<()> {
    if input.data.len() < 8 {
        return Err(ConsumerError::InvalidInstruction);
    }
    let disc: [u8; 8] = input.data[..8].try_into().unwrap();
    let args = &input.data[8..];
    match disc {
        DISC_IX_INIT_POOL => init_pool(input, args),
        DISC_IX_REQUEST_RISK => request_risk(input, args),
        DISC_IX_APPLY_RESULT => apply_result(input),
        _ => Err(ConsumerError::InvalidInstruction),
    }
}

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    destra_sbf::abort()
}

/// # Safety
/// Called by the loader with its serialized input region.
#[cfg(target_arch = "bpf")]
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    match parse_input(input).map_err(ConsumerError::from).and_then(|i| process(&i)) {
        Ok(()) => 0,
        Err(e) => e as u32 as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::cf_from_risk;

    #[test]
    fn collateral_factor_follows_risk() {
        assert_eq!(cf_from_risk(0), 9000);
        assert_eq!(cf_from_risk(1_000_000), 1000);
        assert_eq!(cf_from_risk(500_000), 5000);
        assert_eq!(cf_from_risk(-5), 9000);
        assert_eq!(cf_from_risk(7_000_000), 1000);
    }
}
