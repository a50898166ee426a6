//! The Solana fee payout table of docs/report-format.md §4: `payee (32) ‖ weight (u64 big-endian)` per
//! committee member, in committee order; its keccak256 is the handover's `payoutsRoot`. `distribute_fees`
//! receives the table as Borsh `Vec<PayoutEntry>` (weights little-endian) and re-encodes it to hash.

/// Entries a `distribute_fees` call accepts. A transaction (1,232 bytes, at most 16 accounts in this
/// program's input parser) carries far fewer non-zero payees anyway; see docs/solana.md.
pub const MAX_PAYOUTS: usize = 32;
/// Borsh size of one `PayoutEntry { payee: Pubkey, weight: u64 }`, and of one hashed entry.
pub const ENTRY_LEN: usize = 40;

/// The payee of entry `i` of a Borsh-encoded entry list.
pub fn payee(raw: &[u8], i: usize) -> &[u8; 32] {
    raw[ENTRY_LEN * i..ENTRY_LEN * i + 32].try_into().unwrap()
}

/// The weight of entry `i` of a Borsh-encoded entry list (little-endian there).
pub fn weight(raw: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(raw[ENTRY_LEN * i + 32..ENTRY_LEN * (i + 1)].try_into().unwrap())
}

/// keccak256 of the table's signed encoding (weights big-endian) from the Borsh entry list.
#[inline(never)]
pub fn table_root(raw: &[u8], n: usize) -> [u8; 32] {
    let mut buf = [0u8; ENTRY_LEN * MAX_PAYOUTS];
    for i in 0..n {
        buf[ENTRY_LEN * i..ENTRY_LEN * i + 32].copy_from_slice(payee(raw, i));
        buf[ENTRY_LEN * i + 32..ENTRY_LEN * (i + 1)].copy_from_slice(&weight(raw, i).to_be_bytes());
    }
    crate::syscalls::keccak256(&[&buf[..ENTRY_LEN * n]])
}

/// floor(a · b / c) for b ≤ c, c > 0, without 128-bit arithmetic (the SBF build has no i128 helpers):
/// the 128-bit product from 32-bit halves, then shift-and-subtract division.
pub fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    debug_assert!(c > 0 && b <= c);
    const M: u64 = 0xffff_ffff;
    let (a1, a0, b1, b0) = (a >> 32, a & M, b >> 32, b & M);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 32) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 32);
    let hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    // hi < c because a·b ≤ a·c < 2^64·c, so the quotient fits in 64 bits
    let mut rem = hi;
    let mut q = 0u64;
    let mut i = 64;
    while i > 0 {
        i -= 1;
        let carry = rem >> 63;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry == 1 || rem >= c {
            rem = rem.wrapping_sub(c);
            q |= 1;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_matches_128_bit_arithmetic() {
        let cases = [
            (0u64, 0u64, 1u64),
            (1, 1, 1),
            (u64::MAX, u64::MAX, u64::MAX),
            (u64::MAX, 1, u64::MAX),
            (u64::MAX, u64::MAX - 1, u64::MAX),
            (1_000_000_000_000_000_000, 1_000_000_000, 3_000_000_001),
            (7_777_777_777, 12_345, 99_999),
            (u64::MAX / 3, (1 << 63) + 5, u64::MAX),
        ];
        for (a, b, c) in cases {
            assert_eq!(mul_div(a, b, c) as u128, (a as u128 * b as u128) / c as u128, "{a} {b} {c}");
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = x;
            let c = (x.rotate_left(21) | 1) >> (x % 60);
            let b = x.rotate_left(40) % c.saturating_add(1);
            assert_eq!(mul_div(a, b, c.max(1)) as u128, (a as u128 * b as u128) / c.max(1) as u128);
        }
    }
}
