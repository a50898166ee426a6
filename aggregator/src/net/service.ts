// The aggregator's I/O shell: receives partials / batch partials / report announcements from admitted
// members over libp2p, feeds the pure core, broadcasts Combined results and BatchProposals on gossip,
// and hands signed reports to the relayer. All protocol decisions live in core/.
import { EventEmitter } from 'node:events';
import { buildMerkleTree, rangeId, reportLeaf } from '@destra/protocol';
import { BatchProposalCodec, CombinedCodec, MAX_WIRE_BATCH, PROTOCOL_PARTIAL, RangeCertificateCodec, decodeWire, topics as wireTopics, type Combined, type RangeCertificate, type RangeCommit } from '../wire.ts';
import { BatchPlanner, BatchRound, batchedReport, type BatchSignature } from '../core/batch.ts';
import { DEFAULT_BATCH_POLICY, checkBatchPolicy, msUntilCut, type BatchPolicy } from '../core/batch-policy.ts';
import { PartialCollector } from '../core/collector.ts';
import { equalBytes, hexKey } from '../core/hex.ts';
import { LeafQuorum } from '../core/leaf-quorum.ts';
import { loadFastHasher, type FastHasher } from '../core/fast-hash.ts';
import type { CombinedResult, CoreEvent, Evidence, ShareVerifier } from '../core/types.ts';
import type { ChainName, Relayer, RelayOutcome, SignedReport } from '../relay/relayer.ts';
import { PROTOCOL_ANNOUNCE, ReportAnnouncementCodec } from './announce.ts';

/** The parts of the node engineer's DestraHost (oracle-node/src/p2p/host.ts) the aggregator uses. */
export interface AggregatorHost {
  handleDirect(protocol: string, maxBytes: number, handler: (data: Uint8Array, from: PeerInfo) => void | Promise<void>): Promise<void>;
  publish(topic: string, data: Uint8Array): Promise<number>;
}
export interface PeerInfo {
  peerId: string;
  role: 'member' | 'aggregator';
  index: number;
}

export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Delay before partials that arrived after their round's result are verified (evidence only). */
const LATE_CHECK_MS = 100;

export interface AggregatorServiceOptions {
  host: AggregatorHost;
  network: string;
  epoch: number;
  verifier: ShareVerifier;
  relayer?: Relayer;
  /** Where chain-agnostic (on-demand) reports go; default: nowhere (returned to the caller only). */
  onDemandTargets?: (requestId: Uint8Array) => readonly ChainName[];
  batchPolicy?: BatchPolicy;
  /** Drop a batch round that has not reached t signatures after this long. */
  batchTimeoutMs?: number;
  /** Report a range (RangeCommit) that has not reached t matching roots after this long (default 60 s). */
  rangeTimeoutMs?: number;
  log: Log;
}

export interface ResultEvent {
  signed: SignedReport;
  signers: number[];
  /** Milliseconds from the first partial/announcement seen for the request to the combined signature. */
  latencyMs: number;
  batchId?: number;
}

/** A range batch the committee signed (see RangeCommit): `count` reports under one root signature. */
export type RangeEvent = Omit<RangeCertificate, 'type' | 'v' | 'epoch'> & {
  /** Milliseconds from the first commit seen for the range to the combined signature. */
  latencyMs: number;
};

interface RangeInfo {
  stream: Uint8Array;
  start: number;
  count: number;
  firstSeen: number;
}

export interface AggregatorEvents {
  result: [ResultEvent];
  batch: [{ batchId: number; size: number; signers: number[]; latencyMs: number }];
  range: [RangeEvent];
  'range-expired': [{ stream: Uint8Array; start: number; count: number; roots: number; commits: number }];
  misbehaviour: [Evidence];
  relayed: [{ requestId: Uint8Array; outcomes: RelayOutcome[] }];
}


export class AggregatorService extends EventEmitter<AggregatorEvents> {
  readonly collector: PartialCollector;
  /** Range commits: a range id is a "request", its root the digest (same verification and evidence rules). */
  readonly rangeCollector: PartialCollector;
  private readonly rangeInfo = new Map<string, RangeInfo>();
  private readonly quorum: LeafQuorum;
  private readonly planner: BatchPlanner;
  private readonly rounds = new Map<number, BatchRound>();
  private readonly firstSeen = new Map<string, number>();
  /** Recently combined single-report results, so late evidence can be added and re-broadcast. */
  private readonly finished = new Map<string, Combined>();
  private readonly topics: ReturnType<typeof wireTopics>;
  private readonly policy: BatchPolicy;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;
  private lateTimer: NodeJS.Timeout | undefined;
  /** Counters for the dashboard / bench. */
  readonly stats = { partials: 0, rejected: 0, combined: 0, batches: 0, batchedReports: 0, ranges: 0, rangeReports: 0, misbehaviour: 0 };

  /** Loads the fast Keccak backend first (falls back to the protocol's hashing if it cannot load). */
  static async create(opts: AggregatorServiceOptions): Promise<AggregatorService> {
    const hasher = await loadFastHasher().catch(() => undefined);
    return new AggregatorService(opts, hasher);
  }

  constructor(
    private readonly opts: AggregatorServiceOptions,
    hasher?: FastHasher,
  ) {
    super();
    const leafOf = hasher ? (r: Uint8Array) => hasher.reportLeaf(r) : reportLeaf;
    const { verifier } = opts;
    this.topics = wireTopics(opts.network);
    // BatchProposal frames carry at most MAX_WIRE_BATCH leaves.
    const p = opts.batchPolicy ?? DEFAULT_BATCH_POLICY;
    this.policy = checkBatchPolicy({ ...p, maxSize: Math.min(p.maxSize, MAX_WIRE_BATCH) });
    this.collector = new PartialCollector(verifier);
    this.rangeCollector = new PartialCollector(verifier, { ttlMs: opts.rangeTimeoutMs ?? 60_000 });
    this.quorum = new LeafQuorum(verifier.threshold, verifier.sharing.size, 30_000, 1_000_000, (r, leaf) => equalBytes(leafOf(r), leaf));
    this.planner = new BatchPlanner(this.policy, BigInt(opts.epoch), 1n, hasher ? (l) => hasher.merkleTree(l) : buildMerkleTree);
  }

  async start(): Promise<void> {
    const { host } = this.opts;
    await host.handleDirect(PROTOCOL_PARTIAL, 4096, (data, from) => this.onPartialFrame(data, from));
    await host.handleDirect(PROTOCOL_ANNOUNCE, ReportAnnouncementCodec.maxBytes, (data, from) => this.onAnnouncement(data, from));
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.lateTimer) clearTimeout(this.lateTimer);
  }

  private reject(from: PeerInfo, reason: string): void {
    this.stats.rejected++;
    this.opts.log.warn({ from, reason }, 'aggregator input rejected');
  }

  /** Only the member a connection was admitted as may speak for that member index. */
  private senderMismatch(from: PeerInfo, index: number, epoch: number): string | undefined {
    if (from.role !== 'member') return `peer ${from.peerId} is not a committee member`;
    if (from.index !== index) return `member ${from.index} sent a message claiming index ${index}`;
    if (epoch !== this.opts.epoch) return `epoch ${epoch} is not the current epoch ${this.opts.epoch}`;
    return undefined;
  }

  private onPartialFrame(data: Uint8Array, from: PeerInfo): void {
    let msg;
    try {
      msg = decodeWire(data, ['partial', 'batch-partial', 'range-commit']);
    } catch (err) {
      return this.reject(from, (err as Error).message);
    }
    const bad = this.senderMismatch(from, msg.index, msg.epoch);
    if (bad) return this.reject(from, bad);
    this.stats.partials++;
    if (msg.type === 'partial') {
      const now = performance.now();
      const key = `${hexKey(msg.requestId)}:${msg.round}`;
      if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
      this.handleCore(this.collector.add({ member: msg.index, requestId: msg.requestId, round: msg.round, digest: msg.digest, signature: msg.signature, report: msg.report }));
      this.scheduleLateChecks();
      return;
    }
    if (msg.type === 'range-commit') return this.onRangeCommit(msg);
    const round = this.rounds.get(msg.batchId);
    if (!round) return this.opts.log.debug({ from, batchId: msg.batchId }, 'batch partial for an unknown or finished batch');
    if (!equalBytes(round.batch.root, msg.root)) return this.reject(from, `batch ${msg.batchId} root does not match the proposal`);
    for (const ev of round.add(msg.index, msg.signature)) {
      if (ev.type === 'misbehaviour') this.onEvidence(ev.evidence);
      else this.onBatchSigned(ev.result);
    }
  }

  private onRangeCommit(msg: RangeCommit): void {
    const id = rangeId(msg.stream, msg.start, msg.count);
    const key = hexKey(id);
    if (!this.rangeInfo.has(key)) this.rangeInfo.set(key, { stream: msg.stream, start: msg.start, count: msg.count, firstSeen: performance.now() });
    this.handleRangeEvents(this.rangeCollector.add({ member: msg.index, requestId: id, digest: msg.root, signature: msg.signature }));
    this.scheduleLateChecks();
  }

  private handleRangeEvents(events: CoreEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'misbehaviour') this.onEvidence(ev.evidence);
      else if (ev.type === 'rejected') this.reject({ peerId: '?', role: 'member', index: ev.member }, ev.reason);
      else if (ev.type === 'expired') {
        const info = this.rangeInfo.get(hexKey(ev.requestId));
        if (!info) continue;
        this.opts.log.warn({ start: info.start, count: info.count, roots: ev.digests, commits: ev.partials }, 'range expired without t matching roots');
        this.emit('range-expired', { stream: info.stream, start: info.start, count: info.count, roots: ev.digests, commits: ev.partials });
      } else {
        const r = ev.result;
        const info = this.rangeInfo.get(hexKey(r.requestId))!;
        this.stats.ranges++;
        this.stats.rangeReports += info.count;
        const cert = RangeCertificateCodec.encode({ type: 'range-certificate', v: 1, epoch: this.opts.epoch, stream: info.stream, start: info.start, count: info.count, root: r.digest, signature: r.signature, signers: r.signers });
        this.opts.host.publish(this.topics.batches, cert).catch((err) => this.opts.log.warn({ start: info.start, err: (err as Error).message }, 'range certificate not published'));
        this.emit('range', { stream: info.stream, start: info.start, count: info.count, root: r.digest, signature: r.signature, signers: r.signers, latencyMs: performance.now() - info.firstSeen });
      }
    }
  }

  private onAnnouncement(data: Uint8Array, from: PeerInfo): void {
    let msg;
    try {
      msg = ReportAnnouncementCodec.decode(data);
    } catch (err) {
      return this.reject(from, (err as Error).message);
    }
    const bad = this.senderMismatch(from, msg.index, msg.epoch);
    if (bad) return this.reject(from, bad);
    const now = performance.now();
    for (let i = 0; i < msg.leaves.length; i++) {
      const out = this.quorum.announce(msg.index, msg.requestIds[i]!, msg.leaves[i]!, now, msg.reports[i]);
      if (out.badReport) this.reject(from, `announced report ${i} does not hash to its leaf`);
      if (out.ready) this.planner.push(out.ready);
      for (const c of out.conflicts) this.opts.log.warn({ member: c.member, requestId: hexKey(c.requestId) }, 'member announced a report different from the quorum');
    }
    this.schedule();
  }

  /**
   * Verifies partials the fast path skipped (to name bad members) a little after the result is out,
   * so the check never competes with a round in progress, and in one multi-message batch for every
   * round that finished meanwhile.
   */
  private scheduleLateChecks(): void {
    if (this.lateTimer || this.stopped) return;
    this.lateTimer = setTimeout(() => {
      this.lateTimer = undefined;
      this.handleCore(this.collector.flushLate());
      this.handleRangeEvents(this.rangeCollector.flushLate());
    }, LATE_CHECK_MS);
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = performance.now();
    const wait = msUntilCut(this.planner.pending, this.planner.oldestAge(now), this.policy);
    if (wait === undefined) return;
    if (wait === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.cutBatches();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.cutBatches();
    }, wait);
  }

  private cutBatches(): void {
    const now = performance.now();
    for (let batch = this.planner.take(now); batch; batch = this.planner.take(now)) {
      const id = Number(batch.batchId);
      this.rounds.set(id, new BatchRound(batch, this.opts.verifier));
      const frame = BatchProposalCodec.encode({ type: 'batch-proposal', v: 1, epoch: this.opts.epoch, batchId: id, requestIds: batch.requestIds, leaves: batch.leaves });
      this.opts.host.publish(this.topics.batches, frame).catch((err) => this.opts.log.warn({ batchId: id, err: (err as Error).message }, 'batch proposal not published'));
    }
    this.schedule();
  }

  private handleCore(events: CoreEvent[]): void {
    const changed = new Set<Combined>();
    for (const ev of events) {
      if (ev.type === 'combined') changed.add(this.onCombined(ev.result));
      else if (ev.type === 'rejected') this.reject({ peerId: '?', role: 'member', index: ev.member }, ev.reason);
      else if (ev.type === 'expired') this.opts.log.warn({ requestId: hexKey(ev.requestId), digests: ev.digests, partials: ev.partials }, 'request expired without t matching partials');
    }
    // Evidence is applied after combination so the broadcast names the members; evidence that arrives
    // later (a slow faulty member) updates the record and the result is broadcast again.
    for (const ev of events) {
      if (ev.type !== 'misbehaviour') continue;
      this.onEvidence(ev.evidence);
      const rec = this.finished.get(hexKey(ev.evidence.requestId));
      if (!rec) continue;
      const list = ev.evidence.kind === 'invalid-partial' ? rec.invalid : rec.conflicting;
      if (!list.includes(ev.evidence.member)) {
        list.push(ev.evidence.member);
        list.sort((a, b) => a - b);
        changed.add(rec);
      }
    }
    for (const rec of changed) this.broadcast(rec);
  }

  private onEvidence(e: Evidence): void {
    this.stats.misbehaviour++;
    this.opts.log.warn({ member: e.member, kind: e.kind, requestId: hexKey(e.requestId) }, 'member misbehaviour');
    this.emit('misbehaviour', e);
  }

  private onCombined(r: CombinedResult): Combined {
    this.stats.combined++;
    const key = `${hexKey(r.requestId)}:${r.round}`;
    const started = this.firstSeen.get(key) ?? performance.now();
    this.firstSeen.delete(key);
    const report = r.report!; // PartialSignature frames always carry the report
    const signed: SignedReport = { requestId: r.requestId, report, root: r.digest, proof: [], signature: r.signature };
    const combined: Combined = {
      type: 'combined',
      v: 1,
      epoch: this.opts.epoch,
      root: r.digest,
      signature: r.signature,
      entries: [{ requestId: r.requestId, report }],
      signers: r.signers,
      invalid: [],
      conflicting: [],
    };
    this.finished.set(hexKey(r.requestId), combined);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.keys().next().value!);
    this.emit('result', { signed, signers: r.signers, latencyMs: performance.now() - started });
    this.relay(signed);
    return combined;
  }

  private onBatchSigned(s: BatchSignature): void {
    const b = s.batch;
    const id = Number(b.batchId);
    this.rounds.delete(id);
    this.stats.batches++;
    this.stats.batchedReports += b.leaves.length;
    const latencyMs = performance.now() - b.createdAt;
    this.emit('batch', { batchId: id, size: b.leaves.length, signers: s.signers, latencyMs });
    const entries = b.reports.flatMap((report, i) => (report ? [{ requestId: b.requestIds[i]!, report }] : []));
    if (entries.length === b.leaves.length) {
      this.broadcast({ type: 'combined', v: 1, epoch: this.opts.epoch, root: b.root, signature: s.signature, entries, signers: s.signers, invalid: [], conflicting: [] });
    }
    if (this.listenerCount('result') === 0 && !this.opts.relayer) return; // throughput mode: nothing to hand out
    for (let i = 0; i < b.leaves.length; i++) {
      const report = b.reports[i];
      if (!report) continue;
      const br = batchedReport(s, i);
      const signed: SignedReport = { requestId: br.requestId, report, root: br.root, proof: br.proof, signature: br.signature };
      this.emit('result', { signed, signers: s.signers, latencyMs, batchId: id });
      this.relay(signed);
    }
  }

  private broadcast(msg: Combined): void {
    let frame: Uint8Array;
    try {
      frame = CombinedCodec.encode(msg);
    } catch (err) {
      return this.opts.log.warn({ err: (err as Error).message }, 'combined result not broadcast');
    }
    this.opts.host.publish(this.topics.combined, frame).catch((err) => this.opts.log.debug({ err: (err as Error).message }, 'combined publish failed'));
  }

  private relay(signed: SignedReport): void {
    const relayer = this.opts.relayer;
    if (!relayer) return;
    const targets = this.opts.onDemandTargets?.(signed.requestId) ?? [];
    relayer
      .relay(signed, targets)
      .then((outcomes) => {
        for (const o of outcomes) {
          if (o.status === 'failed') this.opts.log.warn({ requestId: hexKey(signed.requestId), chain: o.chain, err: o.error.message }, 'relay failed');
        }
        this.emit('relayed', { requestId: signed.requestId, outcomes });
      })
      .catch((err) => this.opts.log.warn({ requestId: hexKey(signed.requestId), err: (err as Error).message }, 'relay refused'));
  }

  private sweep(): void {
    const now = performance.now();
    this.handleCore(this.collector.expire(Date.now()));
    this.handleRangeEvents(this.rangeCollector.expire(Date.now()));
    for (const [k, info] of this.rangeInfo) {
      if (now - info.firstSeen < 2 * (this.opts.rangeTimeoutMs ?? 60_000)) break; // outlives the collector's entry, so expiry above still finds it
      this.rangeInfo.delete(k);
    }
    this.quorum.expire(now);
    const timeout = this.opts.batchTimeoutMs ?? 10_000;
    for (const [id, round] of this.rounds) {
      if (now - round.batch.createdAt > timeout || round.hopeless()) {
        this.rounds.delete(id);
        this.opts.log.warn({ batchId: id, size: round.batch.leaves.length }, 'batch dropped: t root signatures did not arrive');
      }
    }
    for (const [k, t] of this.firstSeen) {
      if (now - t < 60_000) break;
      this.firstSeen.delete(k);
    }
  }
}

