//! Minimal deserializer for the loader's aligned input (accounts, instruction data, program id) and a
//! C-ABI CPI helper. Pinocchio-style: accounts are views onto the input buffer, no copies.
use crate::SbfError;

pub type Pubkey = [u8; 32];
pub const MAX_ACCOUNTS: usize = 16;
const NON_DUP: u8 = 0xff;
const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;

/// A view of one serialized account. `hdr` points at its dup/flags byte in the input region.
#[derive(Clone, Copy)]
pub struct Account {
    hdr: *mut u8,
}

impl Account {
    pub fn is_signer(&self) -> bool {
        unsafe { *self.hdr.add(1) != 0 }
    }
    pub fn is_writable(&self) -> bool {
        unsafe { *self.hdr.add(2) != 0 }
    }
    pub fn is_executable(&self) -> bool {
        unsafe { *self.hdr.add(3) != 0 }
    }
    pub fn key(&self) -> &Pubkey {
        unsafe { &*(self.hdr.add(8) as *const Pubkey) }
    }
    pub fn owner(&self) -> &Pubkey {
        unsafe { &*(self.hdr.add(40) as *const Pubkey) }
    }
    pub fn lamports_ptr(&self) -> *mut u64 {
        unsafe { self.hdr.add(72) as *mut u64 }
    }
    pub fn lamports(&self) -> u64 {
        unsafe { *self.lamports_ptr() }
    }
    pub fn set_lamports(&self, v: u64) {
        unsafe { *self.lamports_ptr() = v }
    }
    pub fn data_len(&self) -> usize {
        unsafe { *(self.hdr.add(80) as *const u64) as usize }
    }
    fn data_ptr(&self) -> *mut u8 {
        unsafe { self.hdr.add(88) }
    }
    pub fn data(&self) -> &[u8] {
        unsafe { core::slice::from_raw_parts(self.data_ptr(), self.data_len()) }
    }
    #[allow(clippy::mut_from_ref)]
    pub fn data_mut(&self) -> &mut [u8] {
        unsafe { core::slice::from_raw_parts_mut(self.data_ptr(), self.data_len()) }
    }
    pub fn is_empty_system(&self) -> bool {
        self.data_len() == 0 && self.owner() == &SYSTEM_PROGRAM_ID
    }
    pub(crate) fn raw(&self) -> *mut u8 {
        self.hdr
    }
}

pub const SYSTEM_PROGRAM_ID: Pubkey = [0u8; 32];

pub struct Input<'a> {
    pub accounts: [Option<Account>; MAX_ACCOUNTS],
    pub n_accounts: usize,
    pub data: &'a [u8],
    pub program_id: &'a Pubkey,
}

/// Parses the serialized input. Duplicate account entries resolve to the first occurrence.
///
/// # Safety
/// `input` must be the loader's input region.
pub unsafe fn parse_input<'a>(input: *mut u8) -> Result<Input<'a>, SbfError> {
    let n = *(input as *const u64) as usize;
    if n > MAX_ACCOUNTS {
        return Err(SbfError::TooManyAccounts);
    }
    let mut accounts: [Option<Account>; MAX_ACCOUNTS] = [None; MAX_ACCOUNTS];
    let mut off = 8usize;
    for i in 0..n {
        let dup = *input.add(off);
        if dup == NON_DUP {
            let acc = Account { hdr: input.add(off) };
            let len = acc.data_len();
            off += 88 + len + MAX_PERMITTED_DATA_INCREASE;
            off = (off + 7) & !7;
            off += 8; // rent_epoch
            accounts[i] = Some(acc);
        } else {
            accounts[i] = accounts[dup as usize];
            off += 8;
        }
    }
    let data_len = *(input.add(off) as *const u64) as usize;
    off += 8;
    let data = core::slice::from_raw_parts(input.add(off), data_len);
    off += data_len;
    let program_id = &*(input.add(off) as *const Pubkey);
    Ok(Input { accounts, n_accounts: n, data, program_id })
}

impl Input<'_> {
    pub fn account(&self, i: usize) -> Result<Account, SbfError> {
        if i >= self.n_accounts {
            return Err(SbfError::MissingAccount);
        }
        self.accounts[i].ok_or(SbfError::MissingAccount)
    }
}

// ---- CPI (sol_invoke_signed_c ABI) ----

#[repr(C)]
struct SolAccountMeta {
    pubkey: *const Pubkey,
    is_writable: bool,
    is_signer: bool,
}

#[repr(C)]
struct SolInstruction {
    program_id: *const Pubkey,
    accounts: *const SolAccountMeta,
    account_len: u64,
    data: *const u8,
    data_len: u64,
}

#[repr(C)]
struct SolAccountInfo {
    key: *const Pubkey,
    lamports: *mut u64,
    data_len: u64,
    data: *mut u8,
    owner: *const Pubkey,
    rent_epoch: u64,
    is_signer: bool,
    is_writable: bool,
    executable: bool,
}

#[repr(C)]
struct SolSignerSeed {
    addr: *const u8,
    len: u64,
}

#[repr(C)]
struct SolSignerSeeds {
    addr: *const SolSignerSeed,
    len: u64,
}

/// One CPI account: the account, and whether the callee sees it as signer (a PDA we sign for, or a
/// signer of ours) and writable.
pub struct CpiAccount {
    pub account: Account,
    pub signer: bool,
    pub writable: bool,
}

/// A cross-program call: `program_id` with `accounts` and `data`, signing with at most one PDA (`seeds`).
pub struct Cpi<'a> {
    pub program_id: &'a Pubkey,
    pub accounts: &'a [CpiAccount],
    pub data: &'a [u8],
    pub seeds: &'a [&'a [u8]],
}

/// Invokes a CPI (one struct argument: SBF calls take at most five register arguments).
pub fn invoke(cpi: &Cpi) -> Result<(), SbfError> {
    let Cpi { program_id, accounts: metas, data, seeds } = *cpi;
    const MAX: usize = 8;
    if metas.len() > MAX || seeds.len() > MAX {
        return Err(SbfError::TooManyAccounts);
    }
    let mut m: [SolAccountMeta; MAX] =
        core::array::from_fn(|_| SolAccountMeta { pubkey: core::ptr::null(), is_writable: false, is_signer: false });
    let mut infos: [SolAccountInfo; MAX] = core::array::from_fn(|_| SolAccountInfo {
        key: core::ptr::null(),
        lamports: core::ptr::null_mut(),
        data_len: 0,
        data: core::ptr::null_mut(),
        owner: core::ptr::null(),
        rent_epoch: 0,
        is_signer: false,
        is_writable: false,
        executable: false,
    });
    for (i, c) in metas.iter().enumerate() {
        let a = &c.account;
        m[i] = SolAccountMeta { pubkey: a.key(), is_writable: c.writable, is_signer: c.signer };
        infos[i] = SolAccountInfo {
            key: a.key(),
            lamports: a.lamports_ptr(),
            data_len: a.data_len() as u64,
            data: unsafe { a.raw().add(88) },
            owner: a.owner(),
            rent_epoch: 0,
            is_signer: a.is_signer() || c.signer,
            is_writable: a.is_writable(),
            executable: unsafe { *a.raw().add(3) != 0 },
        };
    }
    let ix = SolInstruction {
        program_id,
        accounts: m.as_ptr(),
        account_len: metas.len() as u64,
        data: data.as_ptr(),
        data_len: data.len() as u64,
    };
    let seed_parts: [SolSignerSeed; MAX] = core::array::from_fn(|i| {
        if i < seeds.len() {
            SolSignerSeed { addr: seeds[i].as_ptr(), len: seeds[i].len() as u64 }
        } else {
            SolSignerSeed { addr: core::ptr::null(), len: 0 }
        }
    });
    let signer = SolSignerSeeds { addr: seed_parts.as_ptr(), len: seeds.len() as u64 };
    #[cfg(target_arch = "bpf")]
    let rc = unsafe {
        crate::syscalls::sol_invoke_signed_c(
            &ix as *const SolInstruction as *const u8,
            infos.as_ptr() as *const u8,
            metas.len() as u64,
            &signer as *const SolSignerSeeds as *const u8,
            if seeds.is_empty() { 0 } else { 1 },
        )
    };
    #[cfg(not(target_arch = "bpf"))]
    let rc = {
        let _ = (&ix, &infos, &signer);
        1u64
    };
    if rc != 0 {
        return Err(SbfError::CpiFailed);
    }
    Ok(())
}

/// A PDA to create (bundled: SBF calls take at most five register arguments, a slice takes two).
pub struct NewPda<'a> {
    /// signer of the outer transaction paying the rent
    pub payer: Account,
    pub account: Account,
    pub space: usize,
    pub owner: &'a Pubkey,
    /// the PDA's signer seeds, bump included
    pub seeds: &'a [&'a [u8]],
}

/// Creates `p.account` with `p.space` bytes owned by `p.owner`, rent-exempt, paid by `p.payer`.
///
/// CreateAccount refuses an address that already holds lamports, and anyone can send lamports to any
/// address: a plain CreateAccount would let a stranger block a PDA forever by pre-funding it. A pre-funded
/// (still system-owned, empty) PDA is therefore topped up to the rent-exempt minimum and then allocated
/// and assigned, which the system program allows for an account that signs, as only this program can.
pub fn create_pda(p: &NewPda) -> Result<(), SbfError> {
    let rent = crate::syscalls::rent_exempt_minimum(p.space);
    let have = p.account.lamports();
    if have == 0 {
        return system_create_account(p, rent);
    }
    if have < rent {
        system_transfer(p.payer, p.account, rent - have)?;
    }
    system_allocate(p.account, p.space, p.seeds)?;
    system_assign(p.account, p.owner, p.seeds)
}

/// System program CreateAccount via CPI, the new account signing with its PDA seeds.
fn system_create_account(p: &NewPda, lamports: u64) -> Result<(), SbfError> {
    let mut data = [0u8; 52];
    data[0..4].copy_from_slice(&0u32.to_le_bytes());
    data[4..12].copy_from_slice(&lamports.to_le_bytes());
    data[12..20].copy_from_slice(&(p.space as u64).to_le_bytes());
    data[20..52].copy_from_slice(p.owner);
    invoke(&Cpi {
        program_id: &SYSTEM_PROGRAM_ID,
        accounts: &[
            CpiAccount { account: p.payer, signer: true, writable: true },
            CpiAccount { account: p.account, signer: true, writable: true },
        ],
        data: &data,
        seeds: p.seeds,
    })
}

/// System program Allocate via CPI (instruction 8), the account signing with its PDA seeds.
fn system_allocate(account: Account, space: usize, seeds: &[&[u8]]) -> Result<(), SbfError> {
    let mut data = [0u8; 12];
    data[0..4].copy_from_slice(&8u32.to_le_bytes());
    data[4..12].copy_from_slice(&(space as u64).to_le_bytes());
    invoke(&Cpi {
        program_id: &SYSTEM_PROGRAM_ID,
        accounts: &[CpiAccount { account, signer: true, writable: true }],
        data: &data,
        seeds,
    })
}

/// System program Assign via CPI (instruction 1), the account signing with its PDA seeds.
fn system_assign(account: Account, owner: &Pubkey, seeds: &[&[u8]]) -> Result<(), SbfError> {
    let mut data = [0u8; 36];
    data[0..4].copy_from_slice(&1u32.to_le_bytes());
    data[4..36].copy_from_slice(owner);
    invoke(&Cpi {
        program_id: &SYSTEM_PROGRAM_ID,
        accounts: &[CpiAccount { account, signer: true, writable: true }],
        data: &data,
        seeds,
    })
}

/// System program Transfer via CPI (the sender signed the outer transaction).
pub fn system_transfer(from: Account, to: Account, lamports: u64) -> Result<(), SbfError> {
    let mut data = [0u8; 12];
    data[0..4].copy_from_slice(&2u32.to_le_bytes());
    data[4..12].copy_from_slice(&lamports.to_le_bytes());
    invoke(&Cpi {
        program_id: &SYSTEM_PROGRAM_ID,
        accounts: &[
            CpiAccount { account: from, signer: true, writable: true },
            CpiAccount { account: to, signer: false, writable: true },
        ],
        data: &data,
        seeds: &[],
    })
}
