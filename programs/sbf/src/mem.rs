//! memcpy & co. for the SBF build, routed to the runtime's mem syscalls. Defining them here keeps the
//! linker from pulling in compiler_builtins, whose i128 helpers the upstream BPF backend cannot lower.
extern "C" {
    fn sol_memcpy_(dst: *mut u8, src: *const u8, n: u64);
    fn sol_memmove_(dst: *mut u8, src: *const u8, n: u64);
    fn sol_memset_(dst: *mut u8, c: u8, n: u64);
    fn sol_memcmp_(a: *const u8, b: *const u8, n: u64, result: *mut i32);
}

/// # Safety
/// C memcpy contract.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    sol_memcpy_(dst, src, n as u64);
    dst
}

/// # Safety
/// C memmove contract.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    sol_memmove_(dst, src, n as u64);
    dst
}

/// # Safety
/// C memset contract.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    sol_memset_(dst, c as u8, n as u64);
    dst
}

/// # Safety
/// C memcmp contract.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut r = 0i32;
    sol_memcmp_(a, b, n as u64, &mut r);
    r
}

/// # Safety
/// C bcmp contract.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}
