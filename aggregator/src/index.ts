// @destra/aggregator: pure aggregation core (core/), chain relaying (relay/), libp2p shell (net/).
export * from './errors.ts';
export * from './core/index.ts';
export * from './relay/index.ts';
export * from './net/index.ts';
export * from './app/index.ts';
export * from './member/index.ts';
export { register as registerAggregatorCommands } from './cli.ts';
