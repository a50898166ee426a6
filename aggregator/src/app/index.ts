export * from './config.ts';
export * from './run.ts';
export * from './sharing.ts';
export * from './chains.ts';
export * from './status.ts';
