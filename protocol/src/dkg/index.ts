export * from './messages.ts';
export * from './encryption.ts';
export * from './participant.ts';
export * from './simulate.ts';
