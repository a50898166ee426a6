export * from './announce.ts';
export * from './service.ts';
