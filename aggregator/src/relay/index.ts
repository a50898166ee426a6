export * from './relayer.ts';
export * from './solana.ts';
export * from './evidence.ts';
export * from './journal.ts';
export * from './handover.ts';
export * from './range-relayer.ts';
export * from './range-reports.ts';
export * from './range-relay.ts';
