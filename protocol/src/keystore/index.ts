export * from './eip2335.ts';
