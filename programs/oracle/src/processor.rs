//! Instruction handlers. Each checks its accounts (signer, writable, owner, PDA address), then the
//! signed bytes, then writes state. Signature verification is the last check before any write.
use crate::bls;
use crate::constants::*;
use crate::entry::{create_pda, system_transfer, Account, Input, NewPda, Pubkey, SYSTEM_PROGRAM_ID};
use crate::error::OracleError;
use crate::h2c::HINT_LEN;
use crate::loader;
use crate::merkle::{leaf, root_from_proof, signing_message, MAX_PROOF_DEPTH};
use crate::payout;
use crate::report::{decode_handover, decode_report, Report, CHAIN_ANY, CHAIN_SVM, KIND_FEED, KIND_REQUEST};
use crate::state::*;
use crate::syscalls::{clock, find_program_address, keccak256, rent_exempt_minimum};

type R<T> = Result<T, OracleError>;

/// Borsh argument reader over instruction data.
struct Args<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Args<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(OracleError::InvalidInstruction)?;
        if end > self.b.len() {
            return Err(OracleError::InvalidInstruction);
        }
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> R<&'a [u8; N]> {
        Ok(self.take(N)?.try_into().unwrap())
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(*self.arr()?))
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(*self.arr()?))
    }
    fn u16(&mut self) -> R<u16> {
        Ok(u16::from_le_bytes(*self.arr()?))
    }
    fn bytes(&mut self, max: usize) -> R<&'a [u8]> {
        let n = u32::from_le_bytes(*self.arr()?) as usize;
        if n > max {
            return Err(OracleError::InvalidInstruction);
        }
        self.take(n)
    }
    /// Vec<[u8; 32]>
    fn hashes(&mut self, max: usize) -> R<&'a [[u8; 32]]> {
        let n = u32::from_le_bytes(*self.arr()?) as usize;
        if n > max {
            return Err(OracleError::BadProof);
        }
        let raw = self.take(n * 32)?;
        // [u8; 32] has alignment 1, so the cast is sound
        Ok(unsafe { core::slice::from_raw_parts(raw.as_ptr() as *const [u8; 32], n) })
    }
    fn finish(&self) -> R<()> {
        if self.at != self.b.len() {
            return Err(OracleError::InvalidInstruction);
        }
        Ok(())
    }
}

pub fn process(input: &Input) -> R<()> {
    if input.data.len() < 8 {
        return Err(OracleError::InvalidInstruction);
    }
    let disc: [u8; 8] = input.data[..8].try_into().unwrap();
    let mut args = Args { b: input.data, at: 8 };
    match disc {
        DISC_IX_INITIALIZE => initialize(input, &mut args),
        DISC_IX_HANDOVER => handover(input, &mut args),
        DISC_IX_POST_REPORT => post_report(input, &mut args),
        DISC_IX_VERIFY_ROOT => verify_root(input, &mut args),
        DISC_IX_POST_BATCHED_REPORT => post_batched_report(input, &mut args),
        DISC_IX_REQUEST_INFERENCE => request_inference(input, &mut args),
        DISC_IX_DISTRIBUTE_FEES => distribute_fees(input, &mut args),
        DISC_IX_VERIFY_SIGNATURE => verify_signature(input, &mut args),
        DISC_IX_REFUND => refund(input, &mut args),
        DISC_IX_SET_FAILURE_FEE => set_failure_fee(input, &mut args),
        _ => Err(OracleError::InvalidInstruction),
    }
}

fn signer(a: &Account) -> R<()> {
    if !a.is_signer() {
        return Err(OracleError::MissingSignature);
    }
    Ok(())
}
fn writable(a: &Account) -> R<()> {
    if !a.is_writable() {
        return Err(OracleError::NotWritable);
    }
    Ok(())
}
fn system_program(a: &Account) -> R<()> {
    if a.key() != &SYSTEM_PROGRAM_ID {
        return Err(OracleError::WrongAccount);
    }
    Ok(())
}

/// Checks `a` is the canonical PDA for `seeds` and returns its bump.
fn expect_pda(a: &Account, seeds: &[&[u8]], program_id: &Pubkey) -> R<u8> {
    let (addr, bump) = find_program_address(seeds, program_id).ok_or(OracleError::WrongAccount)?;
    if &addr != a.key() {
        return Err(OracleError::WrongAccount);
    }
    Ok(bump)
}

/// An initialised program account of the given kind.
fn load<'a>(a: &'a Account, disc: &[u8; 8], len: usize, program_id: &Pubkey) -> R<&'a mut [u8]> {
    if a.owner() != program_id {
        return Err(OracleError::WrongOwner);
    }
    let d = a.data_mut();
    if d.len() != len || &d[..8] != disc {
        return Err(OracleError::NotInitialized);
    }
    Ok(d)
}

fn load_config<'a>(input: &Input, a: &'a Account) -> R<&'a mut [u8]> {
    let d = load(a, &config::DISC, config::LEN, input.program_id)?;
    let bump = [d[config::BUMP]];
    let addr = crate::syscalls::create_program_address(&[SEED_CONFIG, &bump], input.program_id);
    if addr.as_ref() != Some(a.key()) {
        return Err(OracleError::WrongAccount);
    }
    Ok(d)
}

/// The fee vault named by the config's vault bump.
fn load_vault<'a>(input: &Input, cfg: &[u8], a: &'a Account) -> R<&'a mut [u8]> {
    let pid = input.program_id;
    let v = load(a, &vault::DISC, vault::LEN, pid)?;
    let addr = crate::syscalls::create_program_address(&[SEED_VAULT, &[cfg[config::VAULT_BUMP]]], pid);
    if addr.as_ref() != Some(a.key()) {
        return Err(OracleError::WrongAccount);
    }
    Ok(v)
}

/// Moves lamports out of an account this program owns (the runtime lets the owner debit it directly).
fn move_lamports(from: &Account, to: &Account, amount: u64) -> R<()> {
    let left = from.lamports().checked_sub(amount).ok_or(OracleError::InsufficientFunds)?;
    let credited = to.lamports().checked_add(amount).ok_or(OracleError::InvalidInput)?;
    from.set_lamports(left);
    to.set_lamports(credited);
    Ok(())
}

/// Only the program's upgrade authority (its deployer) may initialise it: otherwise whoever calls first
/// after deployment becomes admin and sets the committee key. `program_data` must be the loader's
/// ProgramData account of this program (address derived from the program id, owned by the loader).
fn upgrade_authority_signed(input: &Input, admin: &Account, program_data: &Account) -> R<()> {
    expect_pda(program_data, &[input.program_id], loader::LOADER_ID)?;
    if program_data.owner() != loader::LOADER_ID {
        return Err(OracleError::WrongOwner);
    }
    match loader::upgrade_authority(program_data.data())? {
        Some(authority) if authority == admin.key() => Ok(()),
        _ => Err(OracleError::NotUpgradeAuthority),
    }
}

fn initialize(input: &Input, args: &mut Args) -> R<()> {
    let admin = input.account(0)?;
    let cfg = input.account(1)?;
    let vault_acc = input.account(2)?;
    system_program(&input.account(3)?)?;
    let program_data = input.account(4)?;
    signer(&admin)?;
    writable(&cfg)?;
    writable(&vault_acc)?;
    upgrade_authority_signed(input, &admin, &program_data)?;
    let domain = args.arr::<32>()?;
    let cluster_id = args.arr::<32>()?;
    let epoch = args.u64()?;
    let threshold = args.u16()?;
    let committee_size = args.u16()?;
    let group_key = args.arr::<192>()?;
    let request_fee = args.u64()?;
    let request_timeout_slots = args.u64()?;
    let payouts_root = args.arr::<32>()?;
    args.finish()?;
    if threshold == 0 || threshold > committee_size || committee_size > 256 || request_timeout_slots == 0 {
        return Err(OracleError::InvalidInput);
    }
    if !cfg.is_empty_system() || !vault_acc.is_empty_system() {
        return Err(OracleError::AlreadyInitialized);
    }
    if !bls::valid_group_key(group_key) {
        return Err(OracleError::InvalidGroupKey);
    }
    let pid = input.program_id;
    let bump = expect_pda(&cfg, &[SEED_CONFIG], pid)?;
    let vbump = expect_pda(&vault_acc, &[SEED_VAULT], pid)?;
    create_pda(&NewPda { payer: admin, account: cfg, space: config::LEN, owner: pid, seeds: &[SEED_CONFIG, &[bump]] })?;
    create_pda(&NewPda { payer: admin, account: vault_acc, space: vault::LEN, owner: pid, seeds: &[SEED_VAULT, &[vbump]] })?;

    let d = cfg.data_mut();
    put(d, 0, &config::DISC);
    put(d, config::ADMIN, admin.key());
    put(d, config::DOMAIN, domain);
    put(d, config::CLUSTER_ID, cluster_id);
    put_u64(d, config::EPOCH, epoch);
    put_u16(d, config::THRESHOLD, threshold);
    put_u16(d, config::COMMITTEE_SIZE, committee_size);
    put(d, config::GROUP_KEY, group_key);
    put_u64(d, config::REQUEST_FEE, request_fee);
    put_u64(d, config::REQUEST_TIMEOUT_SLOTS, request_timeout_slots);
    put_u16(d, config::FAILURE_FEE_BPS, config::DEFAULT_FAILURE_FEE_BPS);
    put(d, config::PAYOUTS_ROOT, payouts_root);
    d[config::BUMP] = bump;
    d[config::VAULT_BUMP] = vbump;
    let v = vault_acc.data_mut();
    put(v, 0, &vault::DISC);
    v[vault::BUMP] = vbump;
    Ok(())
}

fn group_key(cfg: &[u8]) -> [u8; 192] {
    get(cfg, config::GROUP_KEY)
}

fn handover(input: &Input, args: &mut Args) -> R<()> {
    let cfg_acc = input.account(0)?;
    writable(&cfg_acc)?;
    let bytes = args.bytes(crate::report::HANDOVER_LEN)?;
    let sig = args.arr::<48>()?;
    let hints = args.arr::<HINT_LEN>()?;
    args.finish()?;
    let cfg = load_config(input, &cfg_acc)?;
    let h = decode_handover(bytes).map_err(|_| OracleError::MalformedHandover)?;
    if h.domain != get::<32>(cfg, config::DOMAIN) {
        return Err(OracleError::WrongDomain);
    }
    if h.old_epoch != get_u64(cfg, config::EPOCH) {
        return Err(OracleError::WrongEpoch);
    }
    if !bls::valid_group_key(&h.group_key) {
        return Err(OracleError::InvalidGroupKey);
    }
    let msg = signing_message(0x02, &keccak256(&[bytes]));
    bls::verify(&group_key(cfg), &msg, sig, hints)?;
    put_u64(cfg, config::EPOCH, h.new_epoch);
    put_u16(cfg, config::THRESHOLD, h.threshold);
    put_u16(cfg, config::COMMITTEE_SIZE, h.committee_size);
    put(cfg, config::GROUP_KEY, &h.group_key);
    put(cfg, config::SHARES_ROOT, &h.shares_root);
    put(cfg, config::MEMBERS_ROOT, &h.members_root);
    put(cfg, config::PAYOUTS_ROOT, &h.payouts_root);
    Ok(())
}

/// Checks a decoded report is addressed to this deployment (domain, epoch, chain, cluster, program).
fn check_destination(input: &Input, cfg: &[u8], r: &Report) -> R<()> {
    if r.domain != get::<32>(cfg, config::DOMAIN) {
        return Err(OracleError::WrongDomain);
    }
    if r.epoch != get_u64(cfg, config::EPOCH) {
        return Err(OracleError::WrongEpoch);
    }
    match r.dest_chain_type {
        CHAIN_ANY => {}
        CHAIN_SVM => {
            if r.dest_chain_id != get::<32>(cfg, config::CLUSTER_ID) {
                return Err(OracleError::WrongCluster);
            }
            if &r.dest_contract != input.program_id {
                return Err(OracleError::WrongProgram);
            }
        }
        _ => return Err(OracleError::WrongChainType),
    }
    Ok(())
}

/// Stores a report whose root is already authenticated: replay/round checks, request matching, result PDA.
/// What storing a report needs (bundled: SBF calls take at most five register arguments).
struct Store<'a, 'b> {
    input: &'a Input<'b>,
    report_leaf: [u8; 32],
    payer: Account,
    result: Account,
    request: Option<Account>,
    vault: Option<Account>,
}

fn store_report(s: Store, cfg: &mut [u8], r: &Report) -> R<()> {
    let Store { input, report_leaf, payer, result: result_acc, request: request_acc, vault: vault_acc } = s;
    let report_leaf = &report_leaf;
    let pid = input.program_id;
    writable(&result_acc)?;
    let bump = expect_pda(&result_acc, &[SEED_RESULT, &r.id], pid)?;
    let exists = !result_acc.is_empty_system();
    if exists {
        let d = load(&result_acc, &result::DISC, result::LEN, pid)?;
        if r.kind != KIND_FEED || d[result::KIND] != KIND_FEED {
            return Err(OracleError::Replay);
        }
        if r.round <= get_u64(d, result::ROUND) {
            return Err(OracleError::StaleRound);
        }
    }
    if r.kind == KIND_REQUEST {
        let req = request_acc.ok_or(OracleError::MissingAccount)?;
        let vault_acc = vault_acc.ok_or(OracleError::MissingAccount)?;
        fulfil_request(Fulfil { input, req, vault: vault_acc }, cfg, r)?;
    }
    if !exists {
        create_pda(&NewPda { payer, account: result_acc, space: result::LEN, owner: pid, seeds: &[SEED_RESULT, &r.id, &[bump]] })?;
    }
    let d = result_acc.data_mut();
    put(d, 0, &result::DISC);
    put(d, result::ID, &r.id);
    d[result::KIND] = r.kind;
    put_u64(d, result::EPOCH, r.epoch);
    put(d, result::MODEL_HASH, &r.model_hash);
    put(d, result::INPUT_HASH, &r.input_hash);
    put_u64(d, result::TIMESTAMP, r.timestamp);
    put_u64(d, result::ROUND, r.round);
    put_u16(d, result::OUTPUT_COUNT, r.output_count);
    for i in 0..crate::report::MAX_OUTPUTS {
        let v = if i < r.output_count as usize { r.output_at(i) } else { 0 };
        put_u64(d, result::OUTPUTS + 8 * i, v as u64);
    }
    put_u64(d, result::POSTED_SLOT, clock().0);
    put(d, result::REPORT_LEAF, report_leaf);
    d[result::BUMP] = bump;
    d[result::STATUS] = r.status;
    let n = get_u64(cfg, config::REPORTS_POSTED);
    put_u64(cfg, config::REPORTS_POSTED, n.wrapping_add(1));
    Ok(())
}

/// A request answered by a report: the request and the vault that earns its fee.
struct Fulfil<'a, 'b> {
    input: &'a Input<'b>,
    req: Account,
    vault: Account,
}

/// Matches a request answer to its pending request, marks it fulfilled and moves the fee it escrowed to
/// the vault (only now is it earned; `distribute_fees` pays it to the committee). A failure report marks
/// it failed instead: the vault earns only the processing fee (config FAILURE_FEE_BPS of the fee), the
/// rest stays in the request for its requester to take back at once with `refund`.
fn fulfil_request(f: Fulfil, cfg: &[u8], r: &Report) -> R<()> {
    let Fulfil { input, req, vault: vault_acc } = f;
    writable(&req)?;
    writable(&vault_acc)?;
    if req.key() != &r.id {
        return Err(OracleError::RequestMismatch);
    }
    let q = load(&req, &request::DISC, request::LEN, input.program_id)?;
    if q[request::STATUS] != request::STATUS_PENDING {
        return Err(OracleError::RequestNotPending);
    }
    if get::<32>(q, request::MODEL_HASH) != r.model_hash {
        return Err(OracleError::RequestMismatch);
    }
    if get::<32>(q, request::INPUT_HASH) != r.input_hash {
        return Err(OracleError::InputHashMismatch);
    }
    let v = load_vault(input, cfg, &vault_acc)?;
    let fee = get_u64(q, request::FEE);
    let mut earned = fee;
    if r.status == crate::report::STATUS_OK {
        q[request::STATUS] = request::STATUS_FULFILLED;
    } else {
        // fee · bps / 10,000 without u128 (SBF has no 128-bit division): exact, since fee = q·10⁴ + r
        let bps = get_u16(cfg, config::FAILURE_FEE_BPS) as u64;
        earned = (fee / 10_000) * bps + (fee % 10_000) * bps / 10_000;
        q[request::STATUS] = request::STATUS_FAILED;
        put_u64(q, request::FEE, fee - earned);
    }
    move_lamports(&req, &vault_acc, earned)?;
    put_u64(v, vault::TOTAL_COLLECTED, get_u64(v, vault::TOTAL_COLLECTED).wrapping_add(earned));
    Ok(())
}

fn post_report(input: &Input, args: &mut Args) -> R<()> {
    let payer = input.account(0)?;
    let cfg_acc = input.account(1)?;
    let result_acc = input.account(2)?;
    system_program(&input.account(3)?)?;
    let request_acc = input.account(4).ok();
    let vault_acc = input.account(5).ok();
    signer(&payer)?;
    writable(&cfg_acc)?;
    let bytes = args.bytes(crate::report::MAX_REPORT_LEN)?;
    let sig = args.arr::<48>()?;
    let hints = args.arr::<HINT_LEN>()?;
    let proof = args.hashes(MAX_PROOF_DEPTH)?;
    args.finish()?;
    let cfg = load_config(input, &cfg_acc)?;
    let r = decode_report(bytes)?;
    check_destination(input, cfg, &r)?;
    let l = leaf(bytes);
    let root = root_from_proof(&l, proof).ok_or(OracleError::BadProof)?;
    bls::verify(&group_key(cfg), &signing_message(0x01, &root), sig, hints)?;
    store_report(Store { input, report_leaf: l, payer, result: result_acc, request: request_acc, vault: vault_acc }, cfg, &r)
}

fn verify_root(input: &Input, args: &mut Args) -> R<()> {
    let payer = input.account(0)?;
    let cfg_acc = input.account(1)?;
    let root_acc = input.account(2)?;
    system_program(&input.account(3)?)?;
    signer(&payer)?;
    writable(&root_acc)?;
    let root = args.arr::<32>()?;
    let epoch = args.u64()?;
    let sig = args.arr::<48>()?;
    let hints = args.arr::<HINT_LEN>()?;
    args.finish()?;
    let cfg = load_config(input, &cfg_acc)?;
    if epoch != get_u64(cfg, config::EPOCH) {
        return Err(OracleError::WrongEpoch);
    }
    let bump = expect_pda(&root_acc, &[SEED_ROOT, root, &epoch.to_le_bytes()], input.program_id)?;
    if !root_acc.is_empty_system() {
        return Err(OracleError::Replay);
    }
    bls::verify(&group_key(cfg), &signing_message(0x01, root), sig, hints)?;
    let seeds: &[&[u8]] = &[SEED_ROOT, root, &epoch.to_le_bytes(), &[bump]];
    create_pda(&NewPda { payer, account: root_acc, space: root::LEN, owner: input.program_id, seeds })?;
    let d = root_acc.data_mut();
    put(d, 0, &root::DISC);
    put(d, root::ROOT, root);
    put_u64(d, root::EPOCH, epoch);
    put_u64(d, root::VERIFIED_SLOT, clock().0);
    d[root::BUMP] = bump;
    Ok(())
}

fn post_batched_report(input: &Input, args: &mut Args) -> R<()> {
    let payer = input.account(0)?;
    let cfg_acc = input.account(1)?;
    let root_acc = input.account(2)?;
    let result_acc = input.account(3)?;
    system_program(&input.account(4)?)?;
    let request_acc = input.account(5).ok();
    let vault_acc = input.account(6).ok();
    signer(&payer)?;
    writable(&cfg_acc)?;
    let bytes = args.bytes(crate::report::MAX_REPORT_LEN)?;
    let proof = args.hashes(MAX_PROOF_DEPTH)?;
    args.finish()?;
    let cfg = load_config(input, &cfg_acc)?;
    let r = decode_report(bytes)?;
    check_destination(input, cfg, &r)?;
    let l = leaf(bytes);
    let root = root_from_proof(&l, proof).ok_or(OracleError::BadProof)?;
    let rd = load(&root_acc, &root::DISC, root::LEN, input.program_id).map_err(|_| OracleError::RootNotVerified)?;
    if get::<32>(rd, root::ROOT) != root {
        return Err(OracleError::BadProof);
    }
    if get_u64(rd, root::EPOCH) != r.epoch {
        return Err(OracleError::WrongEpoch);
    }
    store_report(Store { input, report_leaf: l, payer, result: result_acc, request: request_acc, vault: vault_acc }, cfg, &r)
}

fn request_inference(input: &Input, args: &mut Args) -> R<()> {
    let requester = input.account(0)?;
    let cfg_acc = input.account(1)?;
    let req = input.account(2)?;
    let vault_acc = input.account(3)?;
    system_program(&input.account(4)?)?;
    signer(&requester)?;
    writable(&cfg_acc)?; // the request stream's counter
    writable(&req)?;
    writable(&vault_acc)?;
    let nonce = args.u64()?;
    let model_hash = args.arr::<32>()?;
    let data = args.bytes(request::MAX_INPUT)?;
    args.finish()?;
    if data.is_empty() || data.len() % 8 != 0 {
        return Err(OracleError::InvalidInput);
    }
    let cfg = load_config(input, &cfg_acc)?;
    let pid = input.program_id;
    // checked but not paid: the fee waits in the request account until the request is answered (then it
    // moves to this vault) or refunded; kept in the account list so CPI callers need no change
    load_vault(input, cfg, &vault_acc)?;
    let nonce_le = nonce.to_le_bytes();
    let bump = expect_pda(&req, &[SEED_REQUEST, requester.key(), &nonce_le], pid)?;
    if !req.is_empty_system() {
        return Err(OracleError::Replay);
    }
    let fee = get_u64(cfg, config::REQUEST_FEE);
    let seeds: &[&[u8]] = &[SEED_REQUEST, requester.key(), &nonce_le, &[bump]];
    create_pda(&NewPda { payer: requester, account: req, space: request::LEN, owner: pid, seeds })?;
    if fee > 0 {
        if requester.lamports() < fee {
            return Err(OracleError::InsufficientFunds);
        }
        // escrowed on top of the request's rent, after creation so it cannot be mistaken for pre-funding
        system_transfer(requester, req, fee)?;
    }
    let slot = clock().0;
    let seq = get_u64(cfg, config::REQUEST_SEQ);
    put_u64(cfg, config::REQUEST_SEQ, seq + 1);
    let q = req.data_mut();
    put(q, 0, &request::DISC);
    put(q, request::REQUESTER, requester.key());
    put_u64(q, request::NONCE, nonce);
    put(q, request::MODEL_HASH, model_hash);
    put(q, request::INPUT_HASH, &keccak256(&[data]));
    put_u64(q, request::FEE, fee);
    q[request::STATUS] = request::STATUS_PENDING;
    put_u64(q, request::CREATED_SLOT, slot);
    put_u64(q, request::DEADLINE_SLOT, slot.saturating_add(get_u64(cfg, config::REQUEST_TIMEOUT_SLOTS)));
    put_u16(q, request::INPUT_LEN, data.len() as u16);
    q[request::INPUT..request::INPUT + data.len()].copy_from_slice(data);
    q[request::BUMP] = bump;
    put_u64(q, request::SEQ, seq);
    Ok(())
}

/// Verifies the current committee's signature over a 33-byte signing message; writes nothing. Lets other
/// programs (via CPI) and relayers check a signature, and measures the bare verification cost.
fn verify_signature(input: &Input, args: &mut Args) -> R<()> {
    let cfg_acc = input.account(0)?;
    let msg = args.arr::<33>()?;
    let sig = args.arr::<48>()?;
    let hints = args.arr::<HINT_LEN>()?;
    args.finish()?;
    let cfg = load_config(input, &cfg_acc)?;
    if msg[0] != 0x01 && msg[0] != 0x02 {
        return Err(OracleError::InvalidInput);
    }
    bls::verify(&group_key(cfg), msg, sig, hints)?;
    Ok(())
}

/// The Sysvar program: owner of the sysvar accounts, which a transaction can never write.
const SYSVAR_OWNER: Pubkey = [
    6, 167, 213, 23, 24, 117, 247, 41, 199, 61, 147, 64, 143, 33, 97, 32, 6, 126, 216, 140, 118, 224, 140, 40, 127, 193, 148, 96, 0, 0,
    0, 0,
];

/// Pays the vault's fees (lamports above its rent-exempt minimum) to the current committee's payees pro
/// rata to weight. Anyone may call: the list must hash to the payoutsRoot the current epoch's handover (or
/// `initialize`) stored, so the caller chooses nothing but the moment. Remaining accounts: the payee of
/// every entry with a non-zero payee, in table order, writable. A zero payee (no address registered)
/// and an account no transaction can credit (executable, a sysvar, the vault itself) are skipped, as is a
/// share that would leave its payee below rent exemption: those shares stay in the vault, like the
/// rounding dust, and are paid out in a later call.
fn distribute_fees(input: &Input, args: &mut Args) -> R<()> {
    let cfg_acc = input.account(0)?;
    let vault_acc = input.account(1)?;
    writable(&vault_acc)?;
    let epoch = args.u64()?;
    let n = args.u32()? as usize;
    if n == 0 || n > payout::MAX_PAYOUTS {
        return Err(OracleError::InvalidInput);
    }
    let raw = args.take(n * payout::ENTRY_LEN)?;
    args.finish()?;
    let cfg = load_config(input, &cfg_acc)?;
    if epoch != get_u64(cfg, config::EPOCH) {
        return Err(OracleError::WrongEpoch);
    }
    if payout::table_root(raw, n) != get::<32>(cfg, config::PAYOUTS_ROOT) {
        return Err(OracleError::PayoutsMismatch);
    }
    let v = load_vault(input, cfg, &vault_acc)?;
    let mut total = 0u64;
    for i in 0..n {
        total = total.checked_add(payout::weight(raw, i)).ok_or(OracleError::InvalidInput)?;
    }
    let pot = vault_acc.lamports().saturating_sub(rent_exempt_minimum(vault::LEN));
    if pot == 0 || total == 0 {
        return Err(OracleError::NothingToDistribute);
    }
    let mut next = 2;
    let mut paid = 0u64;
    for i in 0..n {
        let payee = payout::payee(raw, i);
        if payee == &[0u8; 32] {
            continue;
        }
        let acc = input.account(next)?;
        next += 1;
        if acc.key() != payee {
            return Err(OracleError::WrongAccount);
        }
        if acc.is_executable() || acc.owner() == &SYSVAR_OWNER || acc.key() == vault_acc.key() {
            continue;
        }
        writable(&acc)?;
        let share = payout::mul_div(pot, payout::weight(raw, i), total);
        if share == 0 || acc.lamports().saturating_add(share) < rent_exempt_minimum(acc.data_len()) {
            continue;
        }
        move_lamports(&vault_acc, &acc, share)?;
        paid += share;
    }
    if next != input.n_accounts {
        return Err(OracleError::TooManyAccounts);
    }
    put_u64(v, vault::TOTAL_DISTRIBUTED, get_u64(v, vault::TOTAL_DISTRIBUTED).wrapping_add(paid));
    Ok(())
}

/// Gives an unanswered request's fee back to its requester once the deadline slot has passed, and marks
/// the request refunded so it can no longer be answered (nor refunded twice); a request closed by a
/// failure report is refunded at once (its fee less the processing fee) and stays failed, its fee zeroed.
/// Only the requester, signing, can refund, and the fee goes only to the requester's own account.
fn refund(input: &Input, args: &mut Args) -> R<()> {
    let requester = input.account(0)?;
    let req = input.account(1)?;
    signer(&requester)?;
    writable(&requester)?;
    writable(&req)?;
    args.finish()?;
    let q = load(&req, &request::DISC, request::LEN, input.program_id)?;
    if requester.key() != &get::<32>(q, request::REQUESTER) {
        return Err(OracleError::Unauthorized);
    }
    let amount = get_u64(q, request::FEE);
    if q[request::STATUS] == request::STATUS_FAILED && amount > 0 {
        put_u64(q, request::FEE, 0);
        return move_lamports(&req, &requester, amount);
    }
    if q[request::STATUS] != request::STATUS_PENDING {
        return Err(OracleError::RequestNotPending);
    }
    if clock().0 < get_u64(q, request::DEADLINE_SLOT) {
        return Err(OracleError::RequestNotExpired);
    }
    q[request::STATUS] = request::STATUS_REFUNDED;
    move_lamports(&req, &requester, amount)
}

/// Sets the processing fee kept from a failed request's fee, in basis points (admin only).
fn set_failure_fee(input: &Input, args: &mut Args) -> R<()> {
    let admin = input.account(0)?;
    let cfg_acc = input.account(1)?;
    signer(&admin)?;
    writable(&cfg_acc)?;
    let bps = args.u16()?;
    args.finish()?;
    if bps > 10_000 {
        return Err(OracleError::InvalidFee);
    }
    let cfg = load_config(input, &cfg_acc)?;
    if admin.key() != &get::<32>(cfg, config::ADMIN) {
        return Err(OracleError::Unauthorized);
    }
    put_u16(cfg, config::FAILURE_FEE_BPS, bps);
    Ok(())
}
