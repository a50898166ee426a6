// The round engine's public types (re-exported by engine.ts).
import type { Destination } from '@destra/protocol';
import type { Logger } from 'pino';
import type { NodeMetrics } from '../metrics.ts';
import type { DestraHost, PeerInfo } from '../p2p/host.ts';
import type { NodeStore } from '../store/store.ts';
import type { Topics } from '../wire.ts';
import type { Inferencer } from './inference.ts';
import type { ActiveKey } from './keys.ts';

export interface ChainRequest {
  /** e.g. `ethereum:31337` or `solana:localnet`; also the cursor name. */
  source: string;
  requestId: Uint8Array;
  model: string;
  /**
   * The model hash the chain request names (what the chain's commitment binds). A request that fails
   * validation is answered with a failure report carrying it; without it such a request only fails here.
   */
  modelHash?: Uint8Array;
  input: Uint8Array;
  /** Request block timestamp / slot time (unix seconds): the report timestamp. */
  timestamp: number;
  destination: Destination;
  /** Block number / slot processed; persisted so a restart resumes after it. */
  cursor?: bigint;
}

export interface FeedConfig {
  name: string;
  model: string;
  input: Uint8Array;
  intervalMs: number;
}

export interface RoundEngineOptions {
  domain: Uint8Array;
  /**
   * This node's registration index (Hello index). Messages name the member index of the key they are
   * signed with (ActiveKey.index); this is only the fallback for an epoch this node holds no key of.
   */
  index: number;
  store: NodeStore;
  host: DestraHost;
  topics: Topics;
  inference: Inferencer;
  metrics: NodeMetrics;
  /** The key share of the active epoch (what new work is signed with). */
  activeKey: () => ActiveKey | undefined;
  /**
   * The key share this node holds for `epoch` (the active one, and the previous one during the grace
   * after a handover): Combined results and batch proposals are checked / signed with the key of the
   * epoch they name. Default: activeKey() when its epoch is `epoch`.
   */
  keyForEpoch?: (epoch: number) => ActiveKey | undefined;
  /**
   * The member index in `epoch`'s committee of the admitted peer `from` (matched by operator key in
   * chain mode), or undefined when it is not a member of that committee. Default: `from.index` for
   * members (a fixed committee, where registration index = member index).
   */
  memberIndexOf?: (epoch: number, from: PeerInfo) => number | undefined;
  maxSkewSeconds: number;
  timeoutMs: number;
  /** 'partial': one partial signature per report; 'announce': announce leaves, sign batch roots. */
  mode?: 'partial' | 'announce';
  log: Logger;
}

export interface RoundRecord {
  requestId: string;
  round: number;
  kind: number;
  model: string;
  status: string;
  latencyMs: number | null;
  signers: number[];
  invalid: number[];
  conflicting: number[];
  receivedAt: number;
}
