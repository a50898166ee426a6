// The feed service of a node in chain-control mode: follows FeedRegistry live (its events, re-read on any
// change, so feeds start, change and stop without a restart), evaluates the timed feeds once per window
// and scores the confirmed blocks of block feeds, and commits each window's and block's report tree
// (committer.ts). I/O around the pure FeedScheduler; keeps recent block trees for the HTTP API.
import { decodeReport, evmDestination, feedId as feedIdOf, toHex, type Destination } from '@destra/protocol';
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { RequestSource } from '../chains/source.ts';
import type { Inferencer } from '../round/inference.ts';
import type { NodeStore } from '../store/store.ts';
import { blockBatch, timedWindowBatch, type FeedBatch, type ScoredBlock, type TimedEntry } from './batches.ts';
import { ScoredBlocks, type TxScoreProof } from './scored-blocks.ts';
import type { FeedChain, FeedRegistrySnapshot } from './chain.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { Certificate, FeedCommitter } from './committer.ts';
import { FeedInputError, FeedUnavailableError } from './errors.ts';
import { ConfigError } from '../errors.ts';
import { FeedScheduler, type FeedDef, type PublishedRound, type SchedulerEvent } from './scheduler.ts';
import { rowBytes, txFeatureRows } from './tx-features.ts';

export interface FeedServiceOptions {
  chain: FeedChain;
  inference: Inferencer;
  committer: FeedCommitter;
  store: Pick<NodeStore, 'getMeta' | 'setMeta'>;
  domain: Uint8Array;
  activeKey: () => ActiveKey | undefined;
  log: Logger;
  /** How often the registry and the head are read (default 1000 ms). */
  pollIntervalMs?: number;
  /** Scored blocks kept for the HTTP API (default 256). */
  keepBlocks?: number;
  scheduler?: FeedScheduler;
  now?: () => number;
}

export type { TxScoreProof } from './scored-blocks.ts';

export class FeedService implements RequestSource {
  readonly name = 'feeds';
  readonly scheduler: FeedScheduler;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private busy = false;
  private lastBlock = -1n;
  private lastSnapshotAt = 0;
  private snapshot: FeedRegistrySnapshot | undefined;
  private blockDestination: Destination | undefined;
  private readonly models = new Map<string, { model: string; modelHash: Uint8Array } | FeedUnavailableError>();
  private readonly blocks: ScoredBlocks;
  private epoch: number | undefined;
  private lastErrorLogAt = 0;
  readonly stats = { windows: 0, timedRounds: 0, blocksScored: 0, blocksEmpty: 0, errors: 0 };

  constructor(private readonly o: FeedServiceOptions) {
    this.scheduler = o.scheduler ?? new FeedScheduler();
    this.blocks = new ScoredBlocks(o.keepBlocks ?? 256);
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  async start(): Promise<void> {
    let chainId: bigint;
    try {
      chainId = await this.o.chain.chainId();
      await this.reload();
    } catch (err) {
      throw new ConfigError(`cannot read FeedRegistry: ${(err as Error).message.split('\n')[0]}; check the address and the RPC endpoint`, 'control.feedRegistry');
    }
    const bs = this.snapshot!.blockScores;
    this.blockDestination = evmDestination(chainId, new Uint8Array(Buffer.from(bs.slice(2), 'hex')));
    this.o.committer.start();
    this.timer = setInterval(() => void this.tick(), Math.min(250, this.o.pollIntervalMs ?? 1000));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.o.committer.stop();
  }

  /** Reads every definition again and hands it to the scheduler (starts, changes, stops). */
  async reload(): Promise<SchedulerEvent[]> {
    const snap = await this.o.chain.snapshot();
    this.snapshot = snap;
    this.models.clear(); // a model's registered version may have moved: resolved again below
    this.lastSnapshotAt = this.now;
    if (this.lastBlock < snap.blockNumber) this.lastBlock = snap.blockNumber;
    const defs: FeedDef[] = [];
    for (const f of snap.feeds) {
      const m = await this.resolveModel(f.model);
      if (m instanceof FeedUnavailableError) {
        this.o.log.warn({ feed: f.name, err: m.message }, 'feed defined on chain cannot run here');
        continue;
      }
      const common = { id: f.id.toLowerCase(), name: f.name, model: m.model, revision: f.revision };
      defs.push(f.source === 'fixed'
        ? { ...common, kind: 'timed', input: f.input, heartbeatSec: f.heartbeatSec, deviationBps: f.deviationBps, destinations: f.destinations }
        : { ...common, kind: 'block', confirmations: f.confirmations, sinceBlock: f.sinceBlock });
    }
    const events = this.scheduler.setDefinitions(snap.window, defs);
    for (const e of events) {
      if (e.type === 'stopped') this.o.log.info({ feed: e.name }, 'feed removed on chain: stopped');
      else {
        this.o.log.info({ feed: e.feed.name, kind: e.feed.kind, revision: e.feed.revision, ...(e.type === 'changed' ? { fromRevision: e.fromRevision } : {}) }, e.type === 'started' ? 'feed defined on chain: started' : 'feed changed on chain: restarted');
        if (e.feed.kind === 'block') {
          const saved = this.o.store.getMeta(`feed-block-next:${e.feed.id}`);
          if (saved) this.scheduler.resumeBlocks(e.feed.id, BigInt(saved));
        }
      }
    }
    return events;
  }

  /** The model a feed names, served here under its registered name with the same ONNX hash. */
  private async resolveModel(node: Hex): Promise<{ model: string; modelHash: Uint8Array } | FeedUnavailableError> {
    const cached = this.models.get(node);
    if (cached) return cached;
    const { name, modelHash } = await this.o.chain.model(node);
    let out: { model: string; modelHash: Uint8Array } | FeedUnavailableError;
    try {
      const local = this.o.inference.modelHash(name);
      out = toHex(local).toLowerCase() === modelHash.toLowerCase()
        ? { model: name, modelHash: local }
        : new FeedUnavailableError(`model '${name}' is served here with hash ${toHex(local)}, the registry names ${modelHash}; load the registered version`);
    } catch (err) {
      out = new FeedUnavailableError(`model '${name}' (${modelHash}) is not served here: ${(err as Error).message}`);
    }
    this.models.set(node, out);
    return out;
  }

  /** One step: follow the registry, evaluate a new window, score due blocks. Never overlaps itself. */
  async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const head = await this.o.chain.head();
      await this.follow(head);
      const k = this.o.activeKey();
      if (k && this.epoch !== undefined && k.epoch > this.epoch) await this.resignStale(k.epoch);
      if (k) this.epoch = k.epoch;
      const w = this.scheduler.nextWindow(this.now / 1000);
      if (w !== undefined && k) await this.runWindow(w, k);
      if (k) for (const f of this.scheduler.blockFeeds()) for (const b of this.scheduler.blocksDue(f.id, head)) await this.scoreBlockOrSkip(f, b, k);
    } catch (err) {
      this.stats.errors++;
      // an unreachable chain fails every tick: say so once per 10 s, not four times a second
      if (this.now - this.lastErrorLogAt >= 10_000) {
        this.lastErrorLogAt = this.now;
        this.o.log.warn({ err: (err as Error).message.split('\n')[0], failedSteps: this.stats.errors }, 'feed step failed (retried on the next tick)');
      }
    } finally {
      this.busy = false;
    }
  }

  /** Registry events since the last block seen reload the definitions; a full re-read every 30 s anyway. */
  private async follow(head: bigint): Promise<void> {
    if (head > this.lastBlock) {
      const events = await this.o.chain.events(this.lastBlock + 1n, head);
      this.lastBlock = head;
      if (events.length > 0) {
        await this.reload();
        return;
      }
    }
    if (this.now - this.lastSnapshotAt > 30_000) await this.reload();
  }

  private async runWindow(windowStart: bigint, k: ActiveKey): Promise<void> {
    const feeds = this.scheduler.timedFeeds();
    if (feeds.length === 0) return;
    this.stats.windows++;
    const entries: TimedEntry[] = [];
    const store = this.snapshot!.feedStore as Address;
    for (const f of feeds) {
      const inf = await this.o.inference.infer(f.model, f.input);
      const stored = await this.o.chain.latestRound(store, f.id as Hex);
      const trigger = this.scheduler.decide(f.id, windowStart, inf.output, stored);
      if (!trigger) continue;
      this.o.log.debug({ feed: f.name, window: windowStart.toString(), trigger }, 'feed due');
      entries.push({ id: feedIdOf(f.name), modelHash: inf.modelHash, input: f.input, output: inf.output });
    }
    if (entries.length === 0) return;
    const batch = timedWindowBatch({ domain: this.o.domain, epoch: k.epoch }, windowStart, entries);
    const outcome = await this.o.committer.commit(batch, batch.reports.map((_, i) => i));
    if (outcome === 'sent') this.stats.timedRounds += entries.length;
  }

  /** A block whose data can never be scored (too many transactions, malformed) is skipped, not retried forever. */
  private async scoreBlockOrSkip(f: Extract<FeedDef, { kind: 'block' }>, n: bigint, k: ActiveKey): Promise<void> {
    try {
      await this.scoreBlock(f, n, k);
    } catch (err) {
      if (!(err instanceof FeedInputError)) throw err;
      this.o.log.warn({ feed: f.name, block: n.toString(), err: err.message }, 'block cannot be scored: skipped');
      this.blockDone(f.id, n);
    }
  }

  private async scoreBlock(f: Extract<FeedDef, { kind: 'block' }>, n: bigint, k: ActiveKey): Promise<void> {
    const block = await this.o.chain.block(n);
    if (block.txs.length === 0) {
      this.stats.blocksEmpty++;
      return this.blockDone(f.id, n);
    }
    const rows = txFeatureRows(block.txs).map(rowBytes);
    const results = await Promise.all(rows.map((r) => this.o.inference.infer(f.model, r)));
    const scored: ScoredBlock = { number: n, hash: block.hash, timestamp: block.timestamp, txHashes: block.txs.map((t) => t.hash), rows, outputs: results.map((r) => r.output) };
    const modelHash = results[0]!.modelHash;
    const batch = blockBatch({ domain: this.o.domain, epoch: k.epoch }, feedIdOf(f.name), modelHash, this.blockDestination!, scored);
    this.blocks.add({ id: f.id, name: f.name }, scored, batch);
    await this.o.committer.commit(batch, [0]);
    this.stats.blocksScored++;
    this.blockDone(f.id, n);
  }

  private blockDone(id: string, n: bigint): void {
    this.scheduler.onBlockDone(id, n);
    this.o.store.setMeta(`feed-block-next:${id}`, (n + 1n).toString());
  }

  /** A handover came before these blocks were certified: their trees are signed again under the new key. */
  private async resignStale(epoch: number): Promise<void> {
    for (const old of this.o.committer.takeStale(epoch)) {
      const kept = this.blocks.uncertified(old);
      if (!kept) continue; // a timed window: the next window decides again
      const batch = blockBatch({ domain: this.o.domain, epoch }, feedIdOf(kept.feed.name), decodeReport(old.reports[0]!).modelHash, this.blockDestination!, kept.block);
      kept.batch = batch;
      await this.o.committer.commit(batch, [0]);
    }
  }

  /** The committer's callback: a window's or a block's root is certified by the committee. */
  onCertified(batch: FeedBatch, cert: Certificate): void {
    if (this.blocks.certify(batch, cert)) return;
    for (const r of batch.reports) {
      const d = decodeReport(r);
      const round: PublishedRound = { round: d.round, timestamp: d.timestamp, values: d.output };
      this.scheduler.onCertified(toHex(d.id).toLowerCase(), round);
    }
  }

  /**
   * A scored transaction with its proof and the committee's signature once certified; when the block was
   * certified under two epochs, the tree whose root BlockScores holds.
   */
  async txScore(block: bigint, txHash: string, feed?: string): Promise<TxScoreProof | undefined> {
    const hit = this.blocks.find(block, txHash, feed);
    if (!hit) return undefined;
    let chainRoot: string | undefined;
    if (hit.kept.certified.size > 1 && this.snapshot) {
      chainRoot = (await this.o.chain.blockRoot(this.snapshot.blockScores, hit.kept.feed.id as Hex, block).catch(() => null))?.root;
    }
    return this.blocks.proof(hit.kept, hit.index, chainRoot);
  }

  /** GET /v1/feeds: the feeds this node follows and where they stand. */
  view(): object {
    return {
      registryBlock: this.snapshot?.blockNumber.toString() ?? null,
      window: this.scheduler.window,
      feeds: [
        ...this.scheduler.timedFeeds().map((f) => ({ id: f.id, name: f.name, kind: 'timed', model: f.model, heartbeatSec: f.heartbeatSec, deviationBps: f.deviationBps, destinations: f.destinations, revision: f.revision })),
        ...this.scheduler.blockFeeds().map((f) => ({ id: f.id, name: f.name, kind: 'block', model: f.model, confirmations: f.confirmations, nextBlock: this.scheduler.nextBlock(f.id)?.toString() ?? null, revision: f.revision })),
      ],
      committed: { ...this.stats, waiting: this.o.committer.waiting, certified: this.o.committer.stats.certified },
    };
  }
}
