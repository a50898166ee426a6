export * from './polynomial.ts';
export * from './shares.ts';
export * from './partial.ts';
export * from './verifier.ts';
export { loadMcl, mclHashToG1, withNobleOnly } from './mcl-backend.ts';
