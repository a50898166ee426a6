// Feeds defined on chain (FeedRegistry), run by the node in chain-control mode: assembly of the chain
// reader, the committer and the service; the HTTP routes are in api.ts.
import type { Logger } from 'pino';
import type { Address } from 'viem';
import type { DestraHost } from '../p2p/host.ts';
import type { Inferencer } from '../round/inference.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { NodeStore } from '../store/store.ts';
import { rpcFeedChain, type FeedChain } from './chain.ts';
import { FeedCommitter } from './committer.ts';
import { FeedService } from './service.ts';

export { FeedService } from './service.ts';
export { ScoredBlocks, type TxScoreProof } from './scored-blocks.ts';
export { FeedScheduler, deviates, type FeedDef, type PublishedRound, type SchedulerEvent, type Trigger } from './scheduler.ts';
export { FeedCommitter, type Certificate } from './committer.ts';
export { txFeatureRows, rowBytes, log2q, TX_FEATURES, type BlockTx } from './tx-features.ts';
export { timedWindowBatch, blockBatch, withProof, type FeedBatch } from './batches.ts';
export { rpcFeedChain, type FeedChain, type ChainBlock } from './chain.ts';

export interface FeedServiceDeps {
  rpcUrl: string;
  feedRegistry: Address;
  host: DestraHost;
  store: NodeStore;
  batchesTopic: string;
  inference: Inferencer;
  domain: Uint8Array;
  activeKey: () => ActiveKey | undefined;
  keyFor: (epoch: number) => ActiveKey | undefined;
  log: Logger;
  pollIntervalMs?: number;
  /** Another chain reader (tests); default JSON-RPC at rpcUrl. */
  chain?: FeedChain;
}

/** Builds the feed service (not started: the node starts it with its other sources). */
export async function createFeedService(d: FeedServiceDeps): Promise<FeedService> {
  const chain = d.chain ?? (await rpcFeedChain(d.rpcUrl, d.feedRegistry));
  let service: FeedService | undefined;
  const committer = new FeedCommitter({
    host: d.host,
    store: d.store,
    batchesTopic: d.batchesTopic,
    activeKey: d.activeKey,
    keyFor: d.keyFor,
    onCertified: (batch, cert) => service?.onCertified(batch, cert),
    log: d.log,
  });
  service = new FeedService({
    chain, inference: d.inference, committer, store: d.store, domain: d.domain, activeKey: d.activeKey, log: d.log,
    ...(d.pollIntervalMs !== undefined ? { pollIntervalMs: d.pollIntervalMs } : {}),
  });
  return service;
}
