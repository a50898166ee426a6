//! Runtime glue for Destra's SBF programs, built for the upstream `bpfel-unknown-none` target (so no
//! solana-program / pinocchio, whose syscall bindings key on `target_os = "solana"`).
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod entry;
#[cfg(target_arch = "bpf")]
mod mem;
pub mod syscalls;

/// Errors of the glue layer; programs map them into their own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbfError {
    TooManyAccounts,
    MissingAccount,
    CpiFailed,
}

/// Aborts the program (the runtime reports the failure).
#[cfg(target_arch = "bpf")]
pub fn abort() -> ! {
    extern "C" {
        fn abort() -> !;
    }
    unsafe { abort() }
}
