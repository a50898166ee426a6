//! The runtime services the program uses. On the SBF target these are the Solana syscalls; on the host
//! (unit tests) hashing falls back to the same algorithms in Rust and the curve syscalls report failure,
//! so host code can never "verify" a signature (hence the host-only lint allowances).
#![cfg_attr(not(target_arch = "bpf"), allow(unused_mut, unused_variables))]

#[repr(C)]
pub struct SolBytes {
    pub addr: *const u8,
    pub len: u64,
}

#[cfg(target_arch = "bpf")]
extern "C" {
    fn sol_log_(msg: *const u8, len: u64);
    #[cfg(feature = "cu-trace")]
    fn sol_log_compute_units_();
    fn sol_sha256(vals: *const SolBytes, count: u64, out: *mut u8) -> u64;
    fn sol_keccak256(vals: *const SolBytes, count: u64, out: *mut u8) -> u64;
    fn sol_curve_group_op(curve: u64, op: u64, l: *const u8, r: *const u8, out: *mut u8) -> u64;
    fn sol_curve_decompress(curve: u64, point: *const u8, out: *mut u8) -> u64;
    fn sol_curve_validate_point(curve: u64, point: *const u8, out: *mut u8) -> u64;
    fn sol_curve_pairing_map(curve: u64, n: u64, g1: *const u8, g2: *const u8, out: *mut u8) -> u64;
    fn sol_create_program_address(seeds: *const SolBytes, n: u64, program_id: *const u8, out: *mut u8) -> u64;
    fn sol_try_find_program_address(seeds: *const SolBytes, n: u64, program_id: *const u8, out: *mut u8, bump: *mut u8) -> u64;
    fn sol_get_clock_sysvar(out: *mut u8) -> u64;
    fn sol_get_rent_sysvar(out: *mut u8) -> u64;
    pub fn sol_invoke_signed_c(
        ix: *const u8,
        infos: *const u8,
        n_infos: u64,
        seeds: *const u8,
        n_seeds: u64,
    ) -> u64;
}

/// SIMD-0388 curve ids (big-endian ZCash encodings).
pub const BLS12_381_BE: u64 = 4 | 0x80;
pub const BLS12_381_G1_BE: u64 = 5 | 0x80;
pub const BLS12_381_G2_BE: u64 = 6 | 0x80;
pub const GROUP_OP_ADD: u64 = 0;

pub fn log(msg: &str) {
    #[cfg(target_arch = "bpf")]
    unsafe {
        sol_log_(msg.as_ptr(), msg.len() as u64)
    }
    #[cfg(not(target_arch = "bpf"))]
    let _ = msg;
}

/// Logs the remaining compute units (profiling builds only).
pub fn log_cu(tag: &str) {
    #[cfg(all(target_arch = "bpf", feature = "cu-trace"))]
    unsafe {
        sol_log_(tag.as_ptr(), tag.len() as u64);
        sol_log_compute_units_();
    }
    let _ = tag;
}

fn to_sol_bytes<const N: usize>(parts: &[&[u8]; N]) -> [SolBytes; N] {
    core::array::from_fn(|i| SolBytes { addr: parts[i].as_ptr(), len: parts[i].len() as u64 })
}

pub fn sha256<const N: usize>(parts: &[&[u8]; N]) -> [u8; 32] {
    let mut out = [0u8; 32];
    #[cfg(target_arch = "bpf")]
    unsafe {
        let v = to_sol_bytes(parts);
        sol_sha256(v.as_ptr(), N as u64, out.as_mut_ptr());
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        use sha2::Digest;
        let _ = to_sol_bytes(parts);
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p);
        }
        out.copy_from_slice(&h.finalize());
    }
    out
}

pub fn keccak256<const N: usize>(parts: &[&[u8]; N]) -> [u8; 32] {
    let mut out = [0u8; 32];
    #[cfg(target_arch = "bpf")]
    unsafe {
        let v = to_sol_bytes(parts);
        sol_keccak256(v.as_ptr(), N as u64, out.as_mut_ptr());
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        use sha3::Digest;
        let _ = to_sol_bytes(parts);
        let mut h = sha3::Keccak256::new();
        for p in parts {
            h.update(p);
        }
        out.copy_from_slice(&h.finalize());
    }
    out
}

/// P + Q in G1 (affine, uncompressed BE). The syscall checks both points are on the curve but not that
/// they are in the subgroup, which is what lets cofactor clearing run through it.
pub fn g1_add(a: &[u8; 96], b: &[u8; 96]) -> Option<[u8; 96]> {
    let mut out = [0u8; 96];
    #[cfg(target_arch = "bpf")]
    let rc = unsafe { sol_curve_group_op(BLS12_381_G1_BE, GROUP_OP_ADD, a.as_ptr(), b.as_ptr(), out.as_mut_ptr()) };
    #[cfg(not(target_arch = "bpf"))]
    let rc = {
        let _ = (a, b);
        1u64
    };
    (rc == 0).then_some(out)
}

/// out = a + b in G1 through raw pointers, so callers can ping-pong buffers without copies. The
/// runtime reads both inputs before writing the output.
///
/// # Safety
/// Each pointer must address 96 readable (out: writable) bytes.
pub unsafe fn g1_add_raw(a: *const u8, b: *const u8, out: *mut u8) -> bool {
    #[cfg(target_arch = "bpf")]
    let rc = sol_curve_group_op(BLS12_381_G1_BE, GROUP_OP_ADD, a, b, out);
    #[cfg(not(target_arch = "bpf"))]
    let rc = {
        let _ = (a, b, out);
        1u64
    };
    rc == 0
}

/// Decompresses a 48-byte G1 point with full validation (canonical, on curve, in subgroup).
pub fn g1_decompress(p: &[u8; 48]) -> Option<[u8; 96]> {
    let mut out = [0u8; 96];
    #[cfg(target_arch = "bpf")]
    let rc = unsafe { sol_curve_decompress(BLS12_381_G1_BE, p.as_ptr(), out.as_mut_ptr()) };
    #[cfg(not(target_arch = "bpf"))]
    let rc = {
        let _ = p;
        1u64
    };
    (rc == 0).then_some(out)
}

/// Validates an uncompressed G2 point (on curve, in subgroup).
pub fn g2_validate(p: &[u8; 192]) -> bool {
    #[cfg(target_arch = "bpf")]
    let rc = unsafe { sol_curve_validate_point(BLS12_381_G2_BE, p.as_ptr(), core::ptr::null_mut()) };
    #[cfg(not(target_arch = "bpf"))]
    let rc = {
        let _ = p;
        1u64
    };
    rc == 0
}

/// Product of pairings e(g1[0], g2[0])·…; the 576-byte GT element.
pub fn pairing2(g1: &[u8; 192], g2: &[u8; 384]) -> Option<[u8; 576]> {
    let mut out = [0u8; 576];
    #[cfg(target_arch = "bpf")]
    let rc = unsafe { sol_curve_pairing_map(BLS12_381_BE, 2, g1.as_ptr(), g2.as_ptr(), out.as_mut_ptr()) };
    #[cfg(not(target_arch = "bpf"))]
    let rc = {
        let _ = (g1, g2);
        1u64
    };
    (rc == 0).then_some(out)
}

/// create_program_address; None when the seeds land on the curve.
pub fn create_program_address(seeds: &[&[u8]], program_id: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    #[cfg(target_arch = "bpf")]
    {
        let mut v: [SolBytes; 8] = core::array::from_fn(|_| SolBytes { addr: core::ptr::null(), len: 0 });
        if seeds.len() > 8 {
            return None;
        }
        for (i, s) in seeds.iter().enumerate() {
            v[i] = SolBytes { addr: s.as_ptr(), len: s.len() as u64 };
        }
        let rc = unsafe { sol_create_program_address(v.as_ptr(), seeds.len() as u64, program_id.as_ptr(), out.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        let _ = (seeds, program_id);
        return None;
    }
    #[allow(unreachable_code)]
    Some(out)
}

/// find_program_address: the canonical (highest-bump) PDA for `seeds`.
pub fn find_program_address(seeds: &[&[u8]], program_id: &[u8; 32]) -> Option<([u8; 32], u8)> {
    let mut out = [0u8; 32];
    let mut bump = 0u8;
    if seeds.len() > 8 {
        return None;
    }
    #[cfg(target_arch = "bpf")]
    {
        let mut v: [SolBytes; 8] = core::array::from_fn(|_| SolBytes { addr: core::ptr::null(), len: 0 });
        for (i, s) in seeds.iter().enumerate() {
            v[i] = SolBytes { addr: s.as_ptr(), len: s.len() as u64 };
        }
        let rc = unsafe {
            sol_try_find_program_address(v.as_ptr(), seeds.len() as u64, program_id.as_ptr(), out.as_mut_ptr(), &mut bump)
        };
        if rc != 0 {
            return None;
        }
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        let _ = (program_id, &mut out, &mut bump);
        return None;
    }
    #[allow(unreachable_code)]
    Some((out, bump))
}

/// (slot, unix_timestamp) from the Clock sysvar.
pub fn clock() -> (u64, i64) {
    let mut buf = [0u8; 40];
    #[cfg(target_arch = "bpf")]
    unsafe {
        sol_get_clock_sysvar(buf.as_mut_ptr());
    }
    let slot = u64::from_le_bytes(buf[0..8].try_into().unwrap());
    let ts = i64::from_le_bytes(buf[32..40].try_into().unwrap());
    (slot, ts)
}

/// Rent-exempt minimum for `len` bytes of data, from the Rent sysvar.
pub fn rent_exempt_minimum(len: usize) -> u64 {
    let mut buf = [0u8; 24];
    #[cfg(target_arch = "bpf")]
    unsafe {
        sol_get_rent_sysvar(buf.as_mut_ptr());
    }
    let per_byte_year = u64::from_le_bytes(buf[0..8].try_into().unwrap());
    let threshold_bits = u64::from_le_bytes(buf[8..16].try_into().unwrap());
    // exemption_threshold is an f64 (2.0 historically, 1.0 after SIMD-0194); integer math, no soft-float
    let factor = if threshold_bits == 1.0f64.to_bits() { 1 } else { 2 };
    (128 + len as u64) * per_byte_year * factor
}
