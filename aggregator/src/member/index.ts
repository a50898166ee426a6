export * from './batch-member.ts';
