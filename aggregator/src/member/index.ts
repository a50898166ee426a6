export * from './batch-member.ts';
export * from './range-member.ts';
