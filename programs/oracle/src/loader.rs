//! The BPF upgradeable loader's ProgramData account, read to find who may initialise the program: its
//! upgrade authority (the deployer), not whoever calls `initialize` first.
use crate::constants::BPF_LOADER_UPGRADEABLE_ID;
use crate::entry::Pubkey;
use crate::error::OracleError;

/// bincode tag of `UpgradeableLoaderState::ProgramData`
const PROGRAM_DATA_TAG: u32 = 3;
/// tag (4) + deployment slot (8) + `Option<Pubkey>` (1 + 32), then the ELF
pub const PROGRAM_DATA_HEADER: usize = 45;

/// The upgrade authority recorded in a ProgramData account's bytes: `Ok(None)` for an immutable program,
/// `Err(WrongAccount)` for bytes that are not a ProgramData account.
pub fn upgrade_authority(data: &[u8]) -> Result<Option<&Pubkey>, OracleError> {
    if data.len() < PROGRAM_DATA_HEADER || data[..4] != PROGRAM_DATA_TAG.to_le_bytes() {
        return Err(OracleError::WrongAccount);
    }
    match data[12] {
        0 => Ok(None),
        1 => Ok(Some(data[13..45].try_into().unwrap())),
        _ => Err(OracleError::WrongAccount),
    }
}

/// The loader that owns ProgramData accounts (checked, so the bytes cannot come from an account we forged).
pub const LOADER_ID: &Pubkey = &BPF_LOADER_UPGRADEABLE_ID;
