//! Node-API addon: BLS12-381 min-sig (signatures in G1, keys in G2) and batched Keccak-256.
//! Byte formats are the protocol's (ZCash compressed points, 32-byte big-endian scalars); every function
//! is checked against the TypeScript (noble) implementation by protocol/test/native.test.ts.
mod bls;
mod keccak;
mod keccak_lanes;
