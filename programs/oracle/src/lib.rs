//! Destra oracle program: verifies committee BLS12-381 threshold signatures (min-sig) with the SIMD-0388
//! syscalls and stores verified reports in result accounts. See docs/solana.md.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod bls;
pub mod constants;
pub mod error;
pub mod field;
pub mod h2c;
pub mod loader;
pub mod merkle;
pub mod payout;
mod mont;
pub mod processor;
pub mod report;
pub mod state;
pub use destra_sbf::{entry, syscalls};

#[cfg(test)]
mod tests;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    syscalls::log("destra_oracle: panic");
    destra_sbf::abort()
}

/// # Safety
/// Called by the loader with its serialized input region.
#[cfg(target_arch = "bpf")]
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    match entry::parse_input(input).map_err(error::OracleError::from).and_then(|i| processor::process(&i)) {
        Ok(()) => 0,
        Err(e) => e as u32 as u64,
    }
}
