// @destra/adapter-ethereum: watch router requests, relay signed reports, read the committee, and the
// requester SDK.
export * from './errors.ts';
export * from './signature.ts';
export * from './block-ranges.ts';
export * from './checkpoint.ts';
export * from './dedupe.ts';
export * from './request-event.ts';
export * from './watcher.ts';
export * from './classify.ts';
export * from './nonce.ts';
export * from './tx-sender.ts';
export * from './submitter.ts';
export * from './evidence.ts';
export * from './handover.ts';
export * from './committee-reader.ts';
export * from './node-api.ts';
export * from './batch-client.ts';
export * from './verify.ts';
export * from './client.ts';
export * from './ws-transport.ts';
export * from './relay-sink.ts';
export * from './staking.ts';
export * from './signer.ts';
export * from './feed-registry-reader.ts';
export * from './block-scores.ts';
export * from './range-submitter.ts';
