export * from './errors.ts';
export * from './constants.ts';
export * from './curve.ts';
export * from './encoding.ts';
export * from './hash.ts';
export * from './signature.ts';
export * from './pop.ts';
