// Watches the router for InferenceRequested events and hands each request to the application exactly
// once per checkpoint position. eth_getLogs over bounded block ranges is the source of truth (it is what
// makes restarts resumable); a WebSocket subscription, when given, only wakes the watcher up at once, and
// polling covers for it when the socket fails or no socket is configured.
import { formatLog, getAbiItem, numberToHex, toEventSelector, type Address, type Hex, type Log, type PublicClient, type RpcLog } from 'viem';
import { oracleRouterAbi } from '@destra/contracts';
import { blockRanges } from './block-ranges.ts';
import { MemoryCheckpointStore, isProcessed, type Checkpoint, type CheckpointStore } from './checkpoint.ts';
import { RecentIds } from './dedupe.ts';
import { AdapterConfigError, EthereumAdapterError, MalformedChainDataError } from './errors.ts';
import { parseRequestLog, type OracleRequest } from './request-event.ts';
import { ensureWebSocketGlobal } from './ws-transport.ts';

export interface RequestWatcherOptions {
  /** Client used for getLogs / getBlock (any transport; usually http). */
  client: PublicClient;
  /** Optional webSocket-transport client: its log and head subscriptions trigger an immediate sync. */
  wsClient?: PublicClient;
  router: Address;
  /** Expected chain id; checked against the RPC at start. Default: whatever the RPC reports. */
  chainId?: number;
  /** Blocks a request must be buried under before it is emitted (reorg safety). Default 0. */
  confirmations?: number;
  /** Largest eth_getLogs range. Default 1000. */
  maxBlockRange?: bigint;
  /** Poll period without a socket (with one, a safety poll runs every 5x this). Default 1000 ms. */
  pollIntervalMs?: number;
  /** First block to scan when no checkpoint exists (the router's deploy block). Default: the next block (new requests only). */
  startBlock?: bigint;
  checkpointStore?: CheckpointStore;
  /** Key under which the checkpoint is stored. Default `${chainId}:${router}`. */
  checkpointKey?: string;
  /** How many request ids to remember for deduplication. Default 10,000. */
  dedupeCapacity?: number;
  /** Blocks to rescan when the checkpointed block was reorged away. Default max(confirmations, 1) * 4. */
  reorgRewind?: bigint;
  /** Called once per request, in chain order; the checkpoint advances only after it resolves. */
  onRequest: (request: OracleRequest) => void | Promise<void>;
  /**
   * Called when every request of every block up to `blockNumber` has been handed to onRequest (after the
   * checkpoint moved past it): a block is complete, so a consumer cutting the request stream by block
   * (the nodes' range signing) may close it. Awaited; a throw is reported (the next call covers the block).
   */
  onSynced?: (blockNumber: bigint) => void | Promise<void>;
  /** Non-fatal problems (RPC errors, socket loss, handler failures, deep reorgs). */
  onError?: (error: Error) => void;
}

/** The checkpointed block is no longer canonical: a reorg deeper than `confirmations`. */
export class DeepReorgError extends EthereumAdapterError {
  constructor(blockNumber: bigint, stored: Hex, canonical: Hex | undefined) {
    super(
      'ETH_DEEP_REORG',
      `block ${blockNumber} was ${stored} when checkpointed but is now ${canonical ?? 'missing'}: reorg deeper than the confirmations setting; rescanning (raise confirmations to avoid this)`,
    );
    this.name = 'DeepReorgError';
  }
}

const requestedEvent = getAbiItem({ abi: oracleRouterAbi, name: 'InferenceRequested' });
const requestedTopic = toEventSelector(requestedEvent);

export type WatcherMode = 'stopped' | 'websocket' | 'polling';

export class RequestWatcher {
  private readonly o: Required<Omit<RequestWatcherOptions, 'wsClient' | 'chainId' | 'startBlock' | 'checkpointKey' | 'onError' | 'reorgRewind' | 'onSynced'>> & RequestWatcherOptions;
  private readonly seen: RecentIds;
  private checkpoint: Checkpoint | undefined;
  private nextBlock = 0n;
  /** First block of this session: reorg rewinds stop here, since earlier emissions are not in `seen`. */
  private floor = 0n;
  private chainId = 0;
  private key = '';
  private modeValue: WatcherMode = 'stopped';
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void)[] = [];
  private running: Promise<number> | undefined;
  private rerun = false;
  private emittedCount = 0;

  constructor(options: RequestWatcherOptions) {
    const confirmations = options.confirmations ?? 0;
    if (!Number.isSafeInteger(confirmations) || confirmations < 0) throw new AdapterConfigError(`confirmations must be a non-negative integer, got ${confirmations}`);
    const maxBlockRange = options.maxBlockRange ?? 1000n;
    if (maxBlockRange < 1n) throw new AdapterConfigError(`maxBlockRange must be at least 1, got ${maxBlockRange}`);
    this.o = {
      ...options,
      confirmations,
      maxBlockRange,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      checkpointStore: options.checkpointStore ?? new MemoryCheckpointStore(),
      dedupeCapacity: options.dedupeCapacity ?? 10_000,
    };
    this.seen = new RecentIds(this.o.dedupeCapacity);
    if (options.wsClient) ensureWebSocketGlobal();
  }

  get mode(): WatcherMode {
    return this.modeValue;
  }
  /** Requests handed to onRequest since construction. */
  get emitted(): number {
    return this.emittedCount;
  }
  get lastCheckpoint(): Checkpoint | undefined {
    return this.checkpoint && { ...this.checkpoint };
  }

  /** Loads the checkpoint, catches up, then follows the chain until stop(). */
  async start(): Promise<void> {
    if (this.modeValue !== 'stopped') throw new AdapterConfigError('watcher already started; call stop() first');
    const rpcChainId = await this.o.client.getChainId();
    if (this.o.chainId !== undefined && this.o.chainId !== rpcChainId) {
      throw new AdapterConfigError(`RPC is on chain ${rpcChainId} but the watcher was configured for chain ${this.o.chainId}: fix the RPC URL or chainId`);
    }
    this.chainId = rpcChainId;
    this.key = this.o.checkpointKey ?? `${rpcChainId}:${this.o.router.toLowerCase()}`;
    this.checkpoint = await this.o.checkpointStore.load(this.key);
    if (this.checkpoint) this.nextBlock = this.checkpoint.logIndex === null ? this.checkpoint.blockNumber + 1n : this.checkpoint.blockNumber;
    else if (this.o.startBlock !== undefined) this.nextBlock = this.o.startBlock;
    else this.nextBlock = (await this.o.client.getBlockNumber({ cacheTime: 0 })) + 1n; // only requests from now on
    this.floor = this.nextBlock;
    this.modeValue = this.o.wsClient ? 'websocket' : 'polling';
    if (this.o.wsClient) {
      this.subscribe(this.o.wsClient);
      // A request on the same socket after eth_subscribe returns only once the subscription is in place;
      // the sync below then covers everything before it, so nothing falls between backfill and socket.
      await this.o.wsClient.getBlockNumber({ cacheTime: 0 }).catch((e: Error) => this.socketFailed(e));
    }
    // Failures of the first catch-up (RPC hiccup, handler error) are reported and retried by the timer.
    await this.sync().catch((e: Error) => this.report(e));
    this.schedule();
  }

  async stop(): Promise<void> {
    this.modeValue = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const u of this.unwatch.splice(0)) u();
    await this.running?.catch(() => undefined);
  }

  /**
   * Processes every confirmed block not yet processed; returns how many requests were emitted. Calls
   * are coalesced: a call during a running sync makes that sync run once more instead of overlapping.
   */
  sync(): Promise<number> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const run = (async () => {
      let total = 0;
      do {
        this.rerun = false;
        total += await this.syncOnce();
      } while (this.rerun && this.modeValue !== 'stopped');
      return total;
    })();
    this.running = run.finally(() => (this.running = undefined));
    return this.running;
  }

  private subscribe(ws: PublicClient): void {
    const onError = (e: Error) => this.socketFailed(e);
    const wake = () => void this.sync().catch((e) => this.report(e as Error));
    this.unwatch.push(ws.watchContractEvent({ address: this.o.router, abi: oracleRouterAbi, eventName: 'InferenceRequested', onLogs: wake, onError }));
    // New heads matter too: they are what buries earlier requests under enough confirmations.
    if (this.o.confirmations > 0) this.unwatch.push(ws.watchBlockNumber({ onBlockNumber: wake, onError, emitOnBegin: false }));
  }

  private socketFailed(e: Error): void {
    this.report(new EthereumAdapterError('ETH_WS_FAILED', `WebSocket subscription failed (${e.message}); falling back to polling every ${this.o.pollIntervalMs} ms`, { cause: e }));
    if (this.modeValue === 'websocket') {
      this.modeValue = 'polling';
      for (const u of this.unwatch.splice(0)) u();
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.modeValue === 'stopped') return;
    if (this.timer) clearTimeout(this.timer);
    const period = this.modeValue === 'websocket' ? this.o.pollIntervalMs * 5 : this.o.pollIntervalMs;
    this.timer = setTimeout(() => {
      this.sync()
        .catch((e) => this.report(e as Error))
        .finally(() => this.schedule());
    }, period);
    this.timer.unref?.();
  }

  private report(e: Error): void {
    if (this.o.onError) this.o.onError(e);
  }

  /** Number and hash of the latest block, read raw (no block formatting: only two fields are used). */
  private async latestBlock(): Promise<{ number: bigint; hash: Hex }> {
    const b = (await this.o.client.request({ method: 'eth_getBlockByNumber', params: ['latest', false] })) as { number?: unknown; hash?: unknown } | null;
    if (!b || typeof b.number !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(b.number) || typeof b.hash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(b.hash)) {
      throw new MalformedChainDataError(`the RPC returned no usable latest block (${JSON.stringify(b)?.slice(0, 120)}); check the RPC endpoint`);
    }
    return { number: BigInt(b.number), hash: b.hash as Hex };
  }

  private async syncOnce(): Promise<number> {
    // One request when caught up: the latest block's number is the head, and when the checkpoint is that
    // block its hash is the reorg check (an idle poll was eth_getBlockByNumber + eth_blockNumber).
    const latest = await this.latestBlock();
    await this.checkReorg(latest);
    const safe = latest.number - BigInt(this.o.confirmations);
    if (safe < this.nextBlock) return 0;
    let emitted = 0;
    const timestamps = new Map<bigint, bigint>();
    for (const range of blockRanges(this.nextBlock, safe, this.o.maxBlockRange)) {
      if (this.modeValue === 'stopped') break;
      // Raw logs, decoded once by parseRequestLog (getLogs with `event` would decode each one as well).
      const raw = (await this.o.client.request({
        method: 'eth_getLogs',
        params: [{ address: this.o.router, topics: [requestedTopic], fromBlock: numberToHex(range.fromBlock), toBlock: numberToHex(range.toBlock) }],
      })) as RpcLog[];
      const logs = raw.map((l) => formatLog(l)) as Log[];
      logs.sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : a.blockNumber! < b.blockNumber! ? -1 : 1));
      for (const log of logs) {
        if (log.removed || log.blockNumber === null || log.logIndex === null || log.blockHash === null) continue;
        if (isProcessed(this.checkpoint, log.blockNumber, log.logIndex)) continue;
        let ts = timestamps.get(log.blockNumber);
        if (ts === undefined) {
          ts = (await this.o.client.getBlock({ blockNumber: log.blockNumber })).timestamp;
          timestamps.set(log.blockNumber, ts);
        }
        let request: OracleRequest | undefined;
        try {
          request = parseRequestLog(log, { chainId: this.chainId, router: this.o.router, blockTimestamp: ts });
        } catch (e) {
          this.report(e as Error); // not decodable: skip it rather than stall the watcher forever
        }
        // Keyed by id and tx: a rescan skips the same request, but a reorg that reuses the id (the router's
        // nonce rolls back too) for a different transaction is a new request and is emitted.
        const key = request && `${request.requestId}:${request.transactionHash}`;
        if (request && key && !this.seen.has(key)) {
          try {
            await this.o.onRequest(request);
          } catch (err) {
            // The checkpoint stays before this log (retried next sync), and is stored as far as it got.
            await this.persist();
            throw err;
          }
          this.seen.add(key);
          this.emittedCount++;
          emitted++;
        }
        // In memory per log; stored once per block range below (a burst of thousands of requests is
        // thousands of store writes otherwise). A crash mid-range re-emits that range's requests after the
        // restart: consumers take requests at least once (range signing by stream position, rounds by
        // the signing guard).
        this.move({ blockNumber: log.blockNumber, blockHash: log.blockHash, logIndex: log.logIndex });
      }
      const end = await this.o.client.getBlock({ blockNumber: range.toBlock });
      await this.advance({ blockNumber: range.toBlock, blockHash: end.hash, logIndex: null });
      await this.o.onSynced?.(range.toBlock);
    }
    return emitted;
  }

  private async advance(cp: Checkpoint): Promise<void> {
    this.move(cp);
    await this.persist();
  }

  private move(cp: Checkpoint): void {
    this.checkpoint = cp;
    this.nextBlock = cp.logIndex === null ? cp.blockNumber + 1n : cp.blockNumber;
  }

  private async persist(): Promise<void> {
    if (this.checkpoint) await this.o.checkpointStore.save(this.key, this.checkpoint);
  }

  /** A checkpointed block that is no longer canonical means a reorg deeper than `confirmations`. */
  private async checkReorg(latest: { number: bigint; hash: Hex }): Promise<void> {
    const cp = this.checkpoint;
    if (!cp) return;
    const hash = cp.blockNumber === latest.number ? latest.hash : (await this.o.client.getBlock({ blockNumber: cp.blockNumber }).catch(() => undefined))?.hash;
    if (hash !== undefined && hash !== null && hash.toLowerCase() === cp.blockHash.toLowerCase()) return;
    this.report(new DeepReorgError(cp.blockNumber, cp.blockHash, hash ?? undefined));
    const rewind = this.o.reorgRewind ?? BigInt(Math.max(this.o.confirmations, 1) * 4);
    this.checkpoint = undefined; // rescan; already-emitted requests are filtered by `seen`
    const back = cp.blockNumber > rewind ? cp.blockNumber - rewind : 0n;
    this.nextBlock = back > this.floor ? back : this.floor;
  }
}
