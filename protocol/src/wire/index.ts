// Wire schemas of the destra libp2p network (CBOR + strict validation, size limits before decoding).
export * from './errors.ts';
export * from './codec.ts';
export * from './messages.ts';
export * from './admission.ts';
export * from './topics.ts';
export { MAX_MEMBERS } from './fields.ts';
export * from './dkg-result.ts';
export * from './batch-body.ts';
export * from './feed-commit.ts';
