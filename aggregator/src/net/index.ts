export * from './announce.ts';
export * from './service.ts';
export * from './feed-commits.ts';
