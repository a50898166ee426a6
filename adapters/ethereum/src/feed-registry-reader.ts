// Read-only view of the on-chain feed definitions (FeedRegistry), the rounds FeedStore holds and the block
// roots BlockScores holds. Nodes in chain-control mode follow the registry through this reader; every
// definition is checked here, so a broken or hostile registry yields a typed error, never a half-read feed.
import { hexToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { blockScoresAbi, feedRegistryAbi, feedStoreAbi, modelRegistryAbi } from '@destra/contracts';
import { classifyError } from './classify.ts';
import { MalformedChainDataError } from './errors.ts';

export type FeedSourceKind = 'fixed' | 'block-transactions';

interface FeedCommon {
  /** keccak256(name): the report id of the feed's rounds. */
  id: Hex;
  name: string;
  /** ModelRegistry node of the model. */
  model: Hex;
  /** 1 when added, +1 per change: a node restarts a feed whose revision moved. */
  revision: number;
  /** Block of the add (block feeds score the blocks after it). */
  sinceBlock: bigint;
}

export interface FixedFeed extends FeedCommon {
  source: 'fixed';
  /** Canonical input row (int64 big-endian values). */
  input: Uint8Array;
  heartbeatSec: number;
  deviationBps: number;
  destinations: { ethereum: boolean; solana: boolean };
}

export interface BlockFeed extends FeedCommon {
  source: 'block-transactions';
  /** Blocks are scored this deep below the head. */
  confirmations: number;
}

export type OnChainFeed = FixedFeed | BlockFeed;

export interface FeedRegistrySnapshot {
  /** Block the snapshot was read at. */
  blockNumber: bigint;
  /** Seconds per evaluation window of fixed feeds. */
  window: number;
  feedStore: Address;
  blockScores: Address;
  feeds: OnChainFeed[];
}

export interface StoredFeedRound {
  values: bigint[];
  round: bigint;
  timestamp: bigint;
  epoch: bigint;
}

export interface StoredBlockRoot {
  root: Hex;
  epoch: bigint;
  timestamp: bigint;
}

/** A FeedRegistry event: what a node following the registry reacts to. */
export interface FeedRegistryEvent {
  kind: 'added' | 'changed' | 'removed' | 'window';
  feedId?: Hex;
  blockNumber: bigint;
}

/** FeedRegistry.MAX_FEEDS: more ids than this is a broken registry, not a reason to loop. */
const MAX_FEEDS = 256;
const EVENT_NAMES = { FeedAdded: 'added', FeedChanged: 'changed', FeedRemoved: 'removed', WindowSet: 'window' } as const;

interface RawFeed {
  model: Hex;
  source: number;
  destinations: number;
  deviationBps: number;
  heartbeat: number;
  revision: number;
  sinceBlock: bigint;
  params: Hex;
  name: string;
}

export class FeedRegistryReader {
  constructor(
    private readonly client: PublicClient,
    readonly address: Address,
  ) {}

  /** Every feed defined now (or at `blockNumber`), with the window and where rounds and roots are stored. */
  async snapshot(blockNumber?: bigint): Promise<FeedRegistrySnapshot> {
    const at = blockNumber ?? (await this.client.getBlockNumber({ cacheTime: 0 }));
    const [window, feedStore, blockScores, ids] = await Promise.all([
      this.read('window', [], at) as Promise<number>,
      this.read('feedStore', [], at) as Promise<Address>,
      this.read('blockScores', [], at) as Promise<Address>,
      this.read('feedIds', [], at) as Promise<readonly Hex[]>,
    ]);
    if (ids.length > MAX_FEEDS) throw new MalformedChainDataError(`feed registry ${this.address} lists ${ids.length} feeds, more than its limit of ${MAX_FEEDS}`);
    const feeds = await Promise.all(ids.map(async (id) => parseFeed(this.address, id, (await this.read('feed', [id], at)) as RawFeed)));
    return { blockNumber: at, window, feedStore, blockScores, feeds };
  }

  /** One feed's definition, or null when it is not (or no longer) defined. */
  async feed(id: Hex, blockNumber?: bigint): Promise<OnChainFeed | null> {
    try {
      return parseFeed(this.address, id, (await this.read('feed', [id], blockNumber)) as RawFeed);
    } catch (e) {
      if (classifyError(e).kind === 'revert' && /UnknownFeed/.test((e as Error).message)) return null;
      throw e;
    }
  }

  /** Add / change / remove / window events in blocks from..to (inclusive), in chain order. */
  async events(fromBlock: bigint, toBlock: bigint): Promise<FeedRegistryEvent[]> {
    if (toBlock < fromBlock) return [];
    const logs = await this.client.getContractEvents({ address: this.address, abi: feedRegistryAbi, fromBlock, toBlock, strict: true });
    const out: FeedRegistryEvent[] = [];
    for (const log of logs) {
      const kind = EVENT_NAMES[log.eventName as keyof typeof EVENT_NAMES];
      if (!kind) continue;
      const args = log.args as { feedId?: Hex };
      out.push({ kind, ...(args.feedId ? { feedId: args.feedId } : {}), blockNumber: log.blockNumber });
    }
    return out;
  }

  /** The round FeedStore holds for a feed (null: none yet), at `blockNumber` or the latest block. */
  async latestRound(feedStore: Address, feedId: Hex, blockNumber?: bigint): Promise<StoredFeedRound | null> {
    try {
      const [values, round, timestamp, epoch] = (await this.client.readContract({
        address: feedStore, abi: feedStoreAbi, functionName: 'latestRound', args: [feedId], ...(blockNumber !== undefined ? { blockNumber } : {}),
      })) as readonly [readonly bigint[], bigint, bigint, bigint];
      return { values: [...values], round, timestamp, epoch };
    } catch (e) {
      const c = classifyError(e);
      if (c.kind === 'revert' && c.errorName === 'UnknownFeed') return null;
      throw e;
    }
  }

  /** The root BlockScores holds for a block of a block feed (null: none yet). */
  async blockRoot(blockScores: Address, feedId: Hex, block: bigint): Promise<StoredBlockRoot | null> {
    try {
      const [root, epoch, timestamp] = (await this.client.readContract({ address: blockScores, abi: blockScoresAbi, functionName: 'rootOf', args: [feedId, block] })) as readonly [Hex, bigint, bigint];
      return { root, epoch, timestamp };
    } catch (e) {
      const c = classifyError(e);
      if (c.kind === 'revert' && c.errorName === 'UnknownBlock') return null;
      throw e;
    }
  }

  /** The model a feed names: its registered name and ONNX hash (ModelRegistry of this feed registry). */
  async model(node: Hex): Promise<{ name: string; modelHash: Hex }> {
    const models = (await this.read('models', [])) as Address;
    const [name, modelHash] = await Promise.all([
      this.client.readContract({ address: models, abi: modelRegistryAbi, functionName: 'nameOf', args: [node] }) as Promise<string>,
      this.client.readContract({ address: models, abi: modelRegistryAbi, functionName: 'modelHashOf', args: [node] }) as Promise<Hex>,
    ]);
    return { name, modelHash };
  }

  private read(functionName: string, args: readonly unknown[], blockNumber?: bigint): Promise<unknown> {
    return this.client.readContract({ address: this.address, abi: feedRegistryAbi, functionName, args, ...(blockNumber !== undefined ? { blockNumber } : {}) } as never);
  }
}

/** Checks one definition as the registry returned it (the registry validates too; this reader trusts nothing). */
export function parseFeed(registry: Address, id: Hex, f: RawFeed): OnChainFeed {
  const bad = (what: string) => new MalformedChainDataError(`feed registry ${registry} returned feed ${id} with ${what}`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(id)) throw bad('a malformed id');
  if (typeof f.name !== 'string' || f.name.length === 0 || Buffer.byteLength(f.name) > 64) throw bad('a name outside 1..64 bytes');
  const params = hexToBytes(f.params);
  const common = { id, name: f.name, model: f.model, revision: Number(f.revision), sinceBlock: f.sinceBlock };
  if (f.source === 0) {
    if (params.length === 0 || params.length > 4096 || params.length % 8 !== 0) throw bad(`a fixed input of ${params.length} bytes (expected whole int64 values)`);
    if (!(f.heartbeat > 0)) throw bad('no heartbeat');
    if (f.deviationBps > 10_000) throw bad(`deviationBps ${f.deviationBps}`);
    if (f.destinations < 1 || f.destinations > 3) throw bad(`destinations ${f.destinations}`);
    return { ...common, source: 'fixed', input: params, heartbeatSec: Number(f.heartbeat), deviationBps: Number(f.deviationBps), destinations: { ethereum: (f.destinations & 1) !== 0, solana: (f.destinations & 2) !== 0 } };
  }
  if (f.source === 1) {
    if (params.length !== 2) throw bad(`block feed params of ${params.length} bytes (expected a uint16 confirmation depth)`);
    return { ...common, source: 'block-transactions', confirmations: (params[0]! << 8) | params[1]! };
  }
  throw bad(`unknown source ${f.source}`);
}
