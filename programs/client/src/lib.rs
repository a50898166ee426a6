//! Client crate for programs that consume the Destra oracle on Solana.
//!
//! - [`layout`]: byte offsets of the oracle's accounts (Anchor: 8-byte discriminator, then Borsh fields),
//!   the same as programs/oracle/src/state.rs (its tests compare them).
//! - [`read_result`] / [`read_feed`]: decode a `ReportResult` account after checking its owner, its
//!   discriminator, its length, its status and its age; every failure is a typed [`ReadError`].
//! - [`RequestInference`]: the `request_inference` instruction data and account order for a CPI.
//!
//! No dependency on a Solana SDK: accounts come in as (owner, data) slices, so the crate works with
//! destra_sbf, pinocchio or solana-program alike. `std` adds Vec-returning helpers for off-chain use.
#![cfg_attr(not(any(feature = "std", test)), no_std)]

mod constants;
mod cpi;
pub mod layout;
mod result;
#[cfg(test)]
mod tests;

pub use constants::*;
pub use cpi::{request_seeds, AccountRole, CpiError, RequestInference, MAX_INPUT, REQUEST_INFERENCE_ACCOUNTS, REQUEST_INFERENCE_MAX_DATA};
pub use result::{read_feed, read_result, result_seeds, Freshness, ReadError, ReportResult, KIND_FEED, KIND_REQUEST, MAX_OUTPUTS, STATUS_OK};

/// A 32-byte Solana address.
pub type Pubkey = [u8; 32];
