export * from './relayer.ts';
export * from './ethereum.ts';
export * from './solana.ts';
export * from './evidence.ts';
