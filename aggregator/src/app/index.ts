export * from './config.ts';
export * from './run.ts';
export * from './sharing.ts';
