// @destra/adapter-solana: relays committee reports to the destra_oracle program (SIMD-0388 BLS verification)
// over a real cluster or the in-process LiteSVM.
export * from './errors.ts';
export * from './transport.ts';
export * from './idl.ts';
export * from './client.ts';
export * from './watcher.ts';
export * from './local.ts';
export * from './h2c/hints.ts';
export * as h2cConstants from './h2c/constants.ts';
