export * from './config.ts';
export * from './run.ts';
export * from './sharing.ts';
export * from './chains.ts';
export * from './status.ts';
export * from './chain-epochs.ts';
export * from './epoch-gossip.ts';
export * from './epoch-store.ts';
