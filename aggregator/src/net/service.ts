// The aggregator's I/O shell: receives partials / batch partials / report announcements from admitted
// members over libp2p, feeds the pure core, broadcasts Combined results and BatchProposals on gossip,
// and hands signed reports to the relayer. All protocol decisions live in core/.
//
// Epochs: every message names its epoch; the EpochBook (core/epochs.ts) says which member index the
// sender holds in that epoch (by operator key; a fixed committee: by Hello index) and gives that epoch's
// verifier. Each usable epoch has its own lane (collectors, leaf quorum, batch planner), so results of
// the previous epoch still combine after a handover. Input of an epoch whose sharing is not known yet is
// held (bounded, for holdMs) and replayed when it becomes known.
import { EventEmitter } from 'node:events';
import { buildMerkleTree, rangeId, reportLeaf } from '@destra/protocol';
import { BatchProposalCodec, CombinedCodec, MAX_WIRE_BATCH, PROTOCOL_PARTIAL, RangeCertificateCodec, decodeWire, topics as wireTopics, type Combined, type RangeCertificate, type RangeCommit } from '../wire.ts';
import { BatchPlanner, BatchRound, batchedReport, type BatchSignature } from '../core/batch.ts';
import { DEFAULT_BATCH_POLICY, checkBatchPolicy, msUntilCut, type BatchPolicy } from '../core/batch-policy.ts';
import { PartialCollector } from '../core/collector.ts';
import { EpochBook, type EpochEntry } from '../core/epochs.ts';
import { equalBytes, hexKey } from '../core/hex.ts';
import { LeafQuorum } from '../core/leaf-quorum.ts';
import { loadFastHasher, type FastHasher } from '../core/fast-hash.ts';
import type { CombinedResult, CoreEvent, Evidence, ShareVerifier } from '../core/types.ts';
import type { ChainName, Relayer, RelayOutcome, SignedReport } from '../relay/relayer.ts';
import { PROTOCOL_ANNOUNCE, ReportAnnouncementCodec } from './announce.ts';
import { AggregatorConfigError } from '../errors.ts';

/** The parts of the node engineer's DestraHost (oracle-node/src/p2p/host.ts) the aggregator uses. */
export interface AggregatorHost {
  handleDirect(protocol: string, maxBytes: number, handler: (data: Uint8Array, from: PeerInfo) => void | Promise<void>): Promise<void>;
  publish(topic: string, data: Uint8Array): Promise<number>;
}
export interface PeerInfo {
  peerId: string;
  role: 'member' | 'aggregator';
  /** Hello index: member index of a fixed committee, or the operator's registry position (chain). */
  index: number;
  /** Compressed G2 operator key (0x-hex): the peer's identity across epochs. */
  operatorKey?: string;
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
  /** A fixed committee: its epoch and verifier (members named by Hello index). Ignored with `epochs`. */
  epoch?: number;
  verifier?: ShareVerifier;
  /** Per-epoch committees and sharings (e.g. chain-driven); replaces epoch / verifier. */
  epochs?: EpochBook;
  /** Input of an epoch whose sharing is not known yet: at most this many frames are held (default 4096), oldest dropped first. */
  maxHeld?: number;
  /** ...each for at most this long (default 30 s), then dropped with a warning. */
  holdMs?: number;
  /** Called when input is held for an epoch that is not usable yet (e.g. to read the registry again soon). */
  onPending?: (epoch: number) => void;
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

/** One epoch's aggregation state. */
interface Lane {
  epoch: number;
  verifier: ShareVerifier;
  collector: PartialCollector;
  /** Range commits: a range id is a "request", its root the digest (same verification and evidence rules). */
  rangeCollector: PartialCollector;
  quorum: LeafQuorum;
  planner: BatchPlanner;
  rounds: Map<number, BatchRound>;
}

/** A frame waiting for its epoch's sharing. */
interface HeldFrame {
  kind: 'partial' | 'announce';
  epoch: number;
  data: Uint8Array;
  from: PeerInfo;
  at: number;
}

/** Batch ids of successive lanes start this far apart, so no two epochs' proposals share an id. */
const LANE_BATCH_ID_STRIDE = 2n ** 32n;

export interface AggregatorEvents {
  result: [ResultEvent];
  batch: [{ batchId: number; size: number; signers: number[]; latencyMs: number }];
  range: [RangeEvent];
  'range-expired': [{ stream: Uint8Array; start: number; count: number; roots: number; commits: number }];
  misbehaviour: [Evidence];
  relayed: [{ requestId: Uint8Array; outcomes: RelayOutcome[] }];
}


export class AggregatorService extends EventEmitter<AggregatorEvents> {
  /** Epoch → member index mapping and sharings (fixed committee: one epoch). */
  readonly epochs: EpochBook;
  private readonly lanes = new Map<number, Lane>();
  private lanesCreated = 0;
  private readonly leafOf: (r: Uint8Array) => Uint8Array;
  private readonly buildTree: typeof buildMerkleTree;
  private held: HeldFrame[] = [];
  /** epoch → frames dropped since the last warning (bounded buffer, expiry). */
  private readonly heldDropped = new Map<number, number>();
  private readonly rangeInfo = new Map<string, RangeInfo>();
  private readonly firstSeen = new Map<string, number>();
  /** Recently combined single-report results, so late evidence can be added and re-broadcast. */
  private readonly finished = new Map<string, Combined>();
  private readonly topics: ReturnType<typeof wireTopics>;
  private readonly policy: BatchPolicy;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;
  private lateTimer: NodeJS.Timeout | undefined;
  /** Counters for the dashboard / bench (held: frames waiting for their epoch's sharing now; heldDropped: never processed). */
  readonly stats = { partials: 0, rejected: 0, combined: 0, batches: 0, batchedReports: 0, ranges: 0, rangeReports: 0, misbehaviour: 0, held: 0, heldDropped: 0 };

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
    this.leafOf = hasher ? (r: Uint8Array) => hasher.reportLeaf(r) : reportLeaf;
    this.buildTree = hasher ? (l) => hasher.merkleTree(l) : buildMerkleTree;
    this.topics = wireTopics(opts.network);
    // BatchProposal frames carry at most MAX_WIRE_BATCH leaves.
    const p = opts.batchPolicy ?? DEFAULT_BATCH_POLICY;
    this.policy = checkBatchPolicy({ ...p, maxSize: Math.min(p.maxSize, MAX_WIRE_BATCH) });
    if (opts.epochs) this.epochs = opts.epochs;
    else if (opts.verifier && opts.epoch !== undefined) this.epochs = EpochBook.fixed({ epoch: opts.epoch, verifier: opts.verifier });
    else throw new AggregatorConfigError('AggregatorService needs `epochs` (an EpochBook) or a fixed committee (`epoch` and `verifier`)');
    for (const e of this.epochs.readyEpochs) this.laneFor(this.epochs.entry(e)!);
    this.epochs.on('ready', this.onEpochReady);
    this.epochs.on('retired', this.onEpochRetired);
  }

  /** The current epoch's collector (fixed committee: the only one); see resultOf for any usable epoch. */
  get collector(): PartialCollector {
    return this.currentLane().collector;
  }

  /** The current epoch's range collector. */
  get rangeCollector(): PartialCollector {
    return this.currentLane().rangeCollector;
  }

  /** Epochs the service aggregates for now (their sharing is known), ascending. */
  get activeEpochs(): number[] {
    return [...this.lanes.keys()].sort((a, b) => a - b);
  }

  /** A combined single-report result of any usable epoch (newest epoch first). */
  resultOf(requestId: Uint8Array, round = 0): CombinedResult | undefined {
    for (const e of this.activeEpochs.reverse()) {
      const r = this.lanes.get(e)!.collector.resultOf(requestId, round);
      if (r) return r;
    }
    return undefined;
  }

  private currentLane(): Lane {
    const cur = this.epochs.current;
    const lane = (cur !== undefined ? this.lanes.get(cur) : undefined) ?? this.lanes.get(Math.max(...this.lanes.keys()));
    if (!lane) throw new AggregatorConfigError(`no epoch's sharing is known yet (the registry is at epoch ${cur ?? '?'}): the aggregator learns it from the committee's dkg-result messages`);
    return lane;
  }

  private laneFor(entry: EpochEntry): Lane {
    let lane = this.lanes.get(entry.epoch);
    if (lane) return lane;
    const { verifier } = entry;
    const firstBatchId = 1n + BigInt(this.lanesCreated++) * LANE_BATCH_ID_STRIDE;
    lane = {
      epoch: entry.epoch,
      verifier,
      collector: new PartialCollector(verifier),
      rangeCollector: new PartialCollector(verifier, { ttlMs: this.opts.rangeTimeoutMs ?? 60_000 }),
      quorum: new LeafQuorum(verifier.threshold, verifier.sharing.size, 30_000, 1_000_000, (r, leaf) => equalBytes(this.leafOf(r), leaf)),
      planner: new BatchPlanner(this.policy, BigInt(entry.epoch), firstBatchId, this.buildTree),
      rounds: new Map(),
    };
    this.lanes.set(entry.epoch, lane);
    return lane;
  }

  private readonly onEpochReady = (entry: EpochEntry): void => {
    if (this.stopped) return;
    this.laneFor(entry);
    const mine = this.held.filter((h) => h.epoch === entry.epoch);
    if (mine.length === 0) return;
    this.held = this.held.filter((h) => h.epoch !== entry.epoch);
    this.stats.held = this.held.length;
    this.opts.log.info({ epoch: entry.epoch, frames: mine.length }, 'epoch sharing known: processing the input held for it');
    for (const h of mine) {
      if (h.kind === 'partial') this.onPartialFrame(h.data, h.from);
      else this.onAnnouncement(h.data, h.from);
    }
  };

  private readonly onEpochRetired = (epoch: number): void => {
    const lane = this.lanes.get(epoch);
    this.lanes.delete(epoch);
    const before = this.held.length;
    this.held = this.held.filter((h) => h.epoch !== epoch);
    this.stats.held = this.held.length;
    if (lane || before !== this.held.length) this.opts.log.info({ epoch, droppedHeld: before - this.held.length }, 'epoch retired: its aggregation state is dropped');
    for (const k of [...this.rangeInfo.keys()]) if (k.startsWith(`${epoch}:`)) this.rangeInfo.delete(k);
  };

  /** Keeps a frame of an epoch that may become usable (bounded: the oldest frame goes first). */
  private hold(kind: HeldFrame['kind'], epoch: number, data: Uint8Array, from: PeerInfo, reason: string): void {
    const max = this.opts.maxHeld ?? 4096;
    if (max <= 0) {
      this.countDropped(epoch);
      return this.opts.log.warn({ from, epoch, reason }, 'input dropped: its epoch is not usable yet');
    }
    if (!this.held.some((h) => h.epoch === epoch)) {
      this.opts.log.info({ epoch, reason }, 'holding input until the epoch is usable');
      this.opts.onPending?.(epoch);
    }
    // one peer may take at most a quarter of the buffer (its own oldest frame goes first), so a member
    // flooding an epoch the registry does not have yet cannot push out everyone else's input
    const perPeer = Math.max(1, Math.ceil(max / 4));
    let mine = 0;
    for (const h of this.held) if (h.from.peerId === from.peerId) mine++;
    if (mine >= perPeer) {
      const i = this.held.findIndex((h) => h.from.peerId === from.peerId);
      this.countDropped(this.held.splice(i, 1)[0]!.epoch);
    }
    this.held.push({ kind, epoch, data, from, at: performance.now() });
    while (this.held.length > max) this.countDropped(this.held.shift()!.epoch);
    this.stats.held = this.held.length;
  }

  private countDropped(epoch: number): void {
    this.stats.heldDropped++;
    this.heldDropped.set(epoch, (this.heldDropped.get(epoch) ?? 0) + 1);
  }

  /** Drops held frames older than holdMs and reports every drop (buffer full or expired) once per sweep. */
  private sweepHeld(now: number): void {
    const ttl = this.opts.holdMs ?? 30_000;
    const keep = this.held.filter((h) => now - h.at < ttl);
    for (const h of this.held) if (now - h.at >= ttl) this.countDropped(h.epoch);
    this.held = keep;
    this.stats.held = keep.length;
    for (const [epoch, frames] of this.heldDropped) {
      const look = this.epochs.lookup(epoch);
      this.opts.log.warn(
        { epoch, frames, current: this.epochs.current, status: look.status, ...('reason' in look ? { reason: look.reason } : {}) },
        "input dropped: its epoch's sharing did not become known in time (no dkg-result matching the registry) or the hold buffer was full",
      );
    }
    this.heldDropped.clear();
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
    this.epochs.off('ready', this.onEpochReady);
    this.epochs.off('retired', this.onEpochRetired);
    if (this.timer) clearTimeout(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.lateTimer) clearTimeout(this.lateTimer);
  }

  private reject(from: PeerInfo, reason: string): void {
    this.stats.rejected++;
    this.opts.log.warn({ from, reason }, 'aggregator input rejected');
  }

  /** Only the member a connection was admitted as may speak for that member index. */
  senderMismatch(from: PeerInfo, index: number, epoch: number): string | undefined {
    const v = this.epochs.check(epoch, from, index);
    return v.status === 'refused' ? v.reason : undefined;
  }

  /**
   * The lane for a frame whose sender claims member `index` in `epoch`: rejected when the sender is not
   * that member (by operator key in that epoch's committee) or the epoch is not usable; held when the
   * epoch may still become usable.
   */
  private admit(kind: HeldFrame['kind'], data: Uint8Array, from: PeerInfo, index: number, epoch: number): Lane | undefined {
    const v = this.epochs.check(epoch, from, index);
    if (v.status === 'refused') {
      this.reject(from, v.reason);
      return undefined;
    }
    if (v.status === 'pending') {
      this.hold(kind, epoch, data, from, v.reason);
      return undefined;
    }
    return this.laneFor(v.entry);
  }

  private onPartialFrame(data: Uint8Array, from: PeerInfo): void {
    let msg;
    try {
      msg = decodeWire(data, ['partial', 'batch-partial', 'range-commit']);
    } catch (err) {
      return this.reject(from, (err as Error).message);
    }
    const lane = this.admit('partial', data, from, msg.index, msg.epoch);
    if (!lane) return;
    this.stats.partials++;
    if (msg.type === 'partial') {
      const now = performance.now();
      const key = `${lane.epoch}:${hexKey(msg.requestId)}:${msg.round}`;
      if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
      this.handleCore(lane, lane.collector.add({ member: msg.index, requestId: msg.requestId, round: msg.round, digest: msg.digest, signature: msg.signature, report: msg.report }));
      this.scheduleLateChecks();
      return;
    }
    if (msg.type === 'range-commit') return this.onRangeCommit(lane, msg);
    const round = lane.rounds.get(msg.batchId);
    if (!round) return this.opts.log.debug({ from, epoch: lane.epoch, batchId: msg.batchId }, 'batch partial for an unknown or finished batch');
    if (!equalBytes(round.batch.root, msg.root)) return this.reject(from, `batch ${msg.batchId} root does not match the proposal`);
    for (const ev of round.add(msg.index, msg.signature)) {
      if (ev.type === 'misbehaviour') this.onEvidence(lane, ev.evidence);
      else this.onBatchSigned(lane, ev.result);
    }
  }

  private onRangeCommit(lane: Lane, msg: RangeCommit): void {
    const id = rangeId(msg.stream, msg.start, msg.count);
    const key = `${lane.epoch}:${hexKey(id)}`;
    if (!this.rangeInfo.has(key)) this.rangeInfo.set(key, { stream: msg.stream, start: msg.start, count: msg.count, firstSeen: performance.now() });
    this.handleRangeEvents(lane, lane.rangeCollector.add({ member: msg.index, requestId: id, digest: msg.root, signature: msg.signature }));
    this.scheduleLateChecks();
  }

  private handleRangeEvents(lane: Lane, events: CoreEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'misbehaviour') this.onEvidence(lane, ev.evidence);
      else if (ev.type === 'rejected') this.reject({ peerId: '?', role: 'member', index: ev.member }, ev.reason);
      else if (ev.type === 'expired') {
        const info = this.rangeInfo.get(`${lane.epoch}:${hexKey(ev.requestId)}`);
        if (!info) continue;
        this.opts.log.warn({ start: info.start, count: info.count, roots: ev.digests, commits: ev.partials }, 'range expired without t matching roots');
        this.emit('range-expired', { stream: info.stream, start: info.start, count: info.count, roots: ev.digests, commits: ev.partials });
      } else {
        const r = ev.result;
        const info = this.rangeInfo.get(`${lane.epoch}:${hexKey(r.requestId)}`)!;
        this.stats.ranges++;
        this.stats.rangeReports += info.count;
        const cert = RangeCertificateCodec.encode({ type: 'range-certificate', v: 1, epoch: lane.epoch, stream: info.stream, start: info.start, count: info.count, root: r.digest, signature: r.signature, signers: r.signers });
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
    const lane = this.admit('announce', data, from, msg.index, msg.epoch);
    if (!lane) return;
    const now = performance.now();
    for (let i = 0; i < msg.leaves.length; i++) {
      const out = lane.quorum.announce(msg.index, msg.requestIds[i]!, msg.leaves[i]!, now, msg.reports[i]);
      if (out.badReport) this.reject(from, `announced report ${i} does not hash to its leaf`);
      if (out.ready) lane.planner.push(out.ready);
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
      for (const lane of this.lanes.values()) {
        this.handleCore(lane, lane.collector.flushLate());
        this.handleRangeEvents(lane, lane.rangeCollector.flushLate());
      }
    }, LATE_CHECK_MS);
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = performance.now();
    let wait: number | undefined;
    for (const lane of this.lanes.values()) {
      const w = msUntilCut(lane.planner.pending, lane.planner.oldestAge(now), this.policy);
      if (w !== undefined && (wait === undefined || w < wait)) wait = w;
    }
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
    for (const lane of this.lanes.values()) {
      for (let batch = lane.planner.take(now); batch; batch = lane.planner.take(now)) {
        const id = Number(batch.batchId);
        lane.rounds.set(id, new BatchRound(batch, lane.verifier));
        const frame = BatchProposalCodec.encode({ type: 'batch-proposal', v: 1, epoch: lane.epoch, batchId: id, requestIds: batch.requestIds, leaves: batch.leaves });
        this.opts.host.publish(this.topics.batches, frame).catch((err) => this.opts.log.warn({ batchId: id, err: (err as Error).message }, 'batch proposal not published'));
      }
    }
    this.schedule();
  }

  private handleCore(lane: Lane, events: CoreEvent[]): void {
    const changed = new Set<Combined>();
    for (const ev of events) {
      if (ev.type === 'combined') changed.add(this.onCombined(lane, ev.result));
      else if (ev.type === 'rejected') this.reject({ peerId: '?', role: 'member', index: ev.member }, ev.reason);
      else if (ev.type === 'expired') this.opts.log.warn({ requestId: hexKey(ev.requestId), digests: ev.digests, partials: ev.partials }, 'request expired without t matching partials');
    }
    // Evidence is applied after combination so the broadcast names the members; evidence that arrives
    // later (a slow faulty member) updates the record and the result is broadcast again.
    for (const ev of events) {
      if (ev.type !== 'misbehaviour') continue;
      this.onEvidence(lane, ev.evidence);
      const rec = this.finished.get(`${lane.epoch}:${hexKey(ev.evidence.requestId)}`);
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

  private onEvidence(lane: Lane, e: Evidence): void {
    this.stats.misbehaviour++;
    this.opts.log.warn({ member: e.member, epoch: lane.epoch, kind: e.kind, requestId: hexKey(e.requestId) }, 'member misbehaviour');
    this.emit('misbehaviour', { ...e, epoch: lane.epoch });
  }

  private onCombined(lane: Lane, r: CombinedResult): Combined {
    this.stats.combined++;
    const key = `${lane.epoch}:${hexKey(r.requestId)}:${r.round}`;
    const started = this.firstSeen.get(key) ?? performance.now();
    this.firstSeen.delete(key);
    const report = r.report!; // PartialSignature frames always carry the report
    const signed: SignedReport = { requestId: r.requestId, report, root: r.digest, proof: [], signature: r.signature };
    const combined: Combined = {
      type: 'combined',
      v: 1,
      epoch: lane.epoch,
      root: r.digest,
      signature: r.signature,
      entries: [{ requestId: r.requestId, report }],
      signers: r.signers,
      invalid: [],
      conflicting: [],
    };
    this.finished.set(`${lane.epoch}:${hexKey(r.requestId)}`, combined);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.keys().next().value!);
    this.emit('result', { signed, signers: r.signers, latencyMs: performance.now() - started });
    this.relay(signed);
    return combined;
  }

  private onBatchSigned(lane: Lane, s: BatchSignature): void {
    const b = s.batch;
    const id = Number(b.batchId);
    lane.rounds.delete(id);
    this.stats.batches++;
    this.stats.batchedReports += b.leaves.length;
    const latencyMs = performance.now() - b.createdAt;
    this.emit('batch', { batchId: id, size: b.leaves.length, signers: s.signers, latencyMs });
    const entries = b.reports.flatMap((report, i) => (report ? [{ requestId: b.requestIds[i]!, report }] : []));
    if (entries.length === b.leaves.length) {
      this.broadcast({ type: 'combined', v: 1, epoch: lane.epoch, root: b.root, signature: s.signature, entries, signers: s.signers, invalid: [], conflicting: [] });
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
    for (const lane of this.lanes.values()) {
      this.handleCore(lane, lane.collector.expire(Date.now()));
      this.handleRangeEvents(lane, lane.rangeCollector.expire(Date.now()));
    }
    for (const [k, info] of this.rangeInfo) {
      if (now - info.firstSeen < 2 * (this.opts.rangeTimeoutMs ?? 60_000)) break; // outlives the collector's entry, so expiry above still finds it
      this.rangeInfo.delete(k);
    }
    const timeout = this.opts.batchTimeoutMs ?? 10_000;
    for (const lane of this.lanes.values()) {
      lane.quorum.expire(now);
      for (const [id, round] of lane.rounds) {
        if (now - round.batch.createdAt > timeout || round.hopeless()) {
          lane.rounds.delete(id);
          this.opts.log.warn({ epoch: lane.epoch, batchId: id, size: round.batch.leaves.length }, 'batch dropped: t root signatures did not arrive');
        }
      }
    }
    this.sweepHeld(now);
    for (const [k, t] of this.firstSeen) {
      if (now - t < 60_000) break;
      this.firstSeen.delete(k);
    }
  }
}

