export * from './errors.ts';
export * from './bytes.ts';
export * from './report.ts';
export * from './merkle.ts';
export * from './signing.ts';
export * from './handover.ts';
export * from './batch-encoder.ts';
export * from './range.ts';
