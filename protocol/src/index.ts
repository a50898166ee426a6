// @destra/protocol: the one copy of the protocol every component imports.
export * from './errors.ts';
export * from './report/index.ts';
export * from './bls/index.ts';
export * from './threshold/index.ts';
export * from './dkg/index.ts';
export * from './keystore/index.ts';
export * from './wire/index.ts';
export { nativeBackend, nativeLoadError, withoutNative, type NativeBackend } from './native/index.ts';
