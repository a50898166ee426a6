// Certified ranges of chain request streams → the chains. The service certifies a range from the members'
// RangeCommits (roots only); the report bytes come separately (range-reports.ts) from the members that
// carry them. When a range of a stream this aggregator relays is certified, the frame whose reports hash
// to the certified root is handed to the RangeRelayer (fulfillBatch / verify_root + post_batched_report).
// Frames and certificates wait for each other for a bounded time; a frame from a peer that is not the
// member it claims to be, for a stream not relayed here, or that does not match, is never used.
import { EventEmitter } from 'node:events';
import { buildMerkleTree, decodeReport, rangeId, reportLeaf, toHex } from '@destra/protocol';
import type { RangeEvent } from '../net/service.ts';
import { decodeRangeReports, PROTOCOL_RANGE_REPORTS, RANGE_REPORTS_MAX_BYTES, type RangeReports } from './range-reports.ts';
import { rangeKey, RangeRelayer, type RangeJournal, type RangeOutcome, type RangeSink, type SignedRange } from './range-relayer.ts';
import type { RelayObserver } from './observer.ts';

interface Peer {
  peerId: string;
  role: 'member' | 'aggregator';
  index: number;
  operatorKey?: string;
}

export interface RangeRelayHost {
  handleDirect(protocol: string, maxBytes: number, handler: (data: Uint8Array, from: Peer) => void | Promise<void>): Promise<void>;
}

/** The parts of AggregatorService the relay uses. */
export interface RangeSource {
  on(event: 'range', listener: (ev: RangeEvent) => void): unknown;
  off(event: 'range', listener: (ev: RangeEvent) => void): unknown;
  /** Why `from` may not speak for member `index` of `epoch` (undefined: it may). */
  senderMismatch(from: Peer, index: number, epoch: number): string | undefined;
}

interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ChainRangeRelayOptions {
  host: RangeRelayHost;
  service: RangeSource;
  relayer: RangeRelayer;
  /** Request streams this aggregator relays (requestStream of each chain it has a range sink for). */
  streams: readonly Uint8Array[];
  /** Merkle root of reports in order (default: the protocol's tree; pass the fast hasher's). */
  rootOf?: (reports: readonly Uint8Array[]) => Uint8Array;
  /** How long a frame waits for its certificate and a certificate for its frame (default 120 s). */
  holdMs?: number;
  /** Frames kept at most, all members together (default 4096); per member a quarter of it. */
  maxFrames?: number;
  log: Log;
}

interface HeldFrame {
  key: string;
  root: string;
  member: string;
  range: Omit<SignedRange, 'root' | 'signature'>;
  at: number;
}

export interface ChainRangeRelayEvents {
  relayed: [{ range: SignedRange; outcome: RangeOutcome }];
}

export class ChainRangeRelay extends EventEmitter<ChainRangeRelayEvents> {
  private readonly streams: Set<string>;
  /** rangeId hex → root hex → frame. */
  private readonly frames = new Map<string, Map<string, HeldFrame>>();
  private framesHeld = 0;
  private readonly perMember = new Map<string, number>();
  /** rangeId hex → certificate waiting for its reports. */
  private readonly certified = new Map<string, { ev: RangeEvent; at: number }>();
  /** rangeId hex of ranges handed to the relayer (a second certificate or frame does nothing). */
  private readonly handed = new Set<string>();
  private readonly rootOf: (reports: readonly Uint8Array[]) => Uint8Array;
  private sweeper: NodeJS.Timeout | undefined;
  readonly stats = { frames: 0, framesRejected: 0, rangesRelayed: 0, reportsRelayed: 0, rangesFailed: 0, certificatesWithoutReports: 0 };

  constructor(private readonly o: ChainRangeRelayOptions) {
    super();
    this.streams = new Set(o.streams.map((s) => toHex(s)));
    this.rootOf = o.rootOf ?? ((reports) => buildMerkleTree(reports.map(reportLeaf)).root);
  }

  async start(): Promise<void> {
    await this.o.host.handleDirect(PROTOCOL_RANGE_REPORTS, RANGE_REPORTS_MAX_BYTES, (data, from) => this.onFrame(data, from));
    this.o.service.on('range', this.onRange);
    this.sweeper = setInterval(() => this.sweep(), 5_000);
    this.sweeper.unref();
  }

  stop(): void {
    this.o.service.off('range', this.onRange);
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** A member's report bytes for one of its committed ranges. */
  onFrame(data: Uint8Array, from: Peer): void {
    let m: RangeReports;
    try {
      m = decodeRangeReports(data);
    } catch (err) {
      return this.rejectFrame(from, (err as Error).message);
    }
    if (!this.streams.has(toHex(m.stream))) return this.rejectFrame(from, `stream ${toHex(m.stream)} is not a request stream relayed here`);
    const mismatch = this.o.service.senderMismatch(from, m.index, m.epoch);
    if (mismatch) return this.rejectFrame(from, mismatch);
    const id = toHex(rangeId(m.stream, m.start, m.reports.length));
    if (this.handed.has(id)) return;
    const root = toHex(this.rootOf(m.reports));
    const byRoot = this.frames.get(id) ?? new Map<string, HeldFrame>();
    if (!byRoot.has(root)) {
      const mine = this.perMember.get(from.peerId) ?? 0;
      const cap = Math.max(1, Math.ceil((this.o.maxFrames ?? 4096) / 4));
      if (mine >= cap) return this.rejectFrame(from, `holds ${mine} range frames waiting for certificates already (at most ${cap} per member)`);
      byRoot.set(root, { key: id, root, member: from.peerId, range: { epoch: m.epoch, stream: m.stream, start: m.start, reports: m.reports }, at: performance.now() });
      this.frames.set(id, byRoot);
      this.perMember.set(from.peerId, mine + 1);
      this.framesHeld++;
      this.stats.frames++;
      this.trim();
    }
    const waiting = this.certified.get(id);
    if (waiting && toHex(waiting.ev.root) === root) this.hand(id, waiting.ev);
  }

  private readonly onRange = (ev: RangeEvent): void => {
    if (!this.streams.has(toHex(ev.stream))) return; // a batch job's stream: served by the nodes, not relayed
    const id = toHex(rangeId(ev.stream, ev.start, ev.count));
    if (this.handed.has(id)) return;
    if (this.frames.get(id)?.has(toHex(ev.root))) return this.hand(id, ev);
    this.certified.set(id, { ev, at: performance.now() });
  };

  private hand(id: string, ev: RangeEvent): void {
    const frame = this.frames.get(id)!.get(toHex(ev.root))!;
    this.drop(id);
    this.certified.delete(id);
    this.handed.add(id);
    if (this.handed.size > 65_536) this.handed.delete(this.handed.values().next().value!);
    const range: SignedRange = { ...frame.range, root: ev.root, signature: ev.signature };
    let relaying: Promise<RangeOutcome>;
    try {
      // The epoch the reports name is the one the group signature is of (a frame's claim is not trusted).
      range.epoch = Number(decodeReport(range.reports[0]!).epoch);
      relaying = this.o.relayer.relay(range);
    } catch (err) {
      this.stats.rangesFailed++;
      return this.o.log.warn({ range: rangeKey(range), err: (err as Error).message }, 'certified range not relayed');
    }
    relaying
      .then((outcome) => {
        if (outcome.status === 'failed') {
          this.stats.rangesFailed++;
          this.o.log.warn({ range: rangeKey(range), chain: outcome.chain, err: outcome.error.message }, 'range relay failed');
        } else {
          this.stats.rangesRelayed++;
          this.stats.reportsRelayed += range.reports.length;
          this.o.log.debug({ range: rangeKey(range), chain: outcome.chain, status: outcome.status }, 'range relayed');
        }
        this.emit('relayed', { range, outcome });
      })
      .catch((err: Error) => this.o.log.warn({ range: rangeKey(range), err: err.message }, 'range relay refused'));
  }

  private drop(id: string): void {
    const byRoot = this.frames.get(id);
    if (!byRoot) return;
    for (const f of byRoot.values()) {
      this.framesHeld--;
      const n = (this.perMember.get(f.member) ?? 1) - 1;
      if (n <= 0) this.perMember.delete(f.member);
      else this.perMember.set(f.member, n);
    }
    this.frames.delete(id);
  }

  /** Oldest ranges' frames go first when the total bound is exceeded. */
  private trim(): void {
    const max = this.o.maxFrames ?? 4096;
    while (this.framesHeld > max) this.drop(this.frames.keys().next().value!);
  }

  private sweep(): void {
    const now = performance.now();
    const hold = this.o.holdMs ?? 120_000;
    for (const [id, byRoot] of this.frames) {
      if ([...byRoot.values()].every((f) => now - f.at > hold)) this.drop(id);
    }
    for (const [id, c] of this.certified) {
      if (now - c.at <= hold) continue;
      this.certified.delete(id);
      this.stats.certificatesWithoutReports++;
      this.o.log.warn({ stream: toHex(c.ev.stream), start: c.ev.start, count: c.ev.count }, 'certified range dropped: no member sent reports matching its root in time');
    }
  }

  private rejectFrame(from: Peer, reason: string): void {
    this.stats.framesRejected++;
    this.o.log.warn({ from: { peerId: from.peerId, index: from.index }, reason }, 'range reports frame rejected');
  }
}

export interface RangeRelayStart {
  host: RangeRelayHost;
  service: RangeSource;
  sinks: readonly RangeSink[];
  journal?: RangeJournal;
  /** This aggregator's rank among aggregators (0 = first) and the stagger per rank. */
  rank?: number;
  staggerMs?: number;
  rootOf?: (reports: readonly Uint8Array[]) => Uint8Array;
  /** Told when each range relay starts, fails an attempt and ends (the status endpoint's relay log). */
  observer?: RelayObserver;
  log: Log;
}

/** Relays certified ranges of every stream a sink serves; resumes what the journal holds. */
export async function startRangeRelay(o: RangeRelayStart): Promise<{ relay: ChainRangeRelay; relayer: RangeRelayer; stop(): void }> {
  const relayer = new RangeRelayer(o.sinks, { ...(o.journal ? { journal: o.journal } : {}), ...(o.observer ? { observer: o.observer } : {}), rank: o.rank ?? 0, ...(o.staggerMs !== undefined ? { staggerMs: o.staggerMs } : {}) });
  const relay = new ChainRangeRelay({ host: o.host, service: o.service, relayer, streams: o.sinks.map((s) => s.stream), ...(o.rootOf ? { rootOf: o.rootOf } : {}), log: o.log });
  await relay.start();
  void relayer.resume().then(
    (outs) => outs.length > 0 && o.log.info({ ranges: outs.length, failed: outs.filter((x) => x.status === 'failed').length }, 'resumed range relays from the journal'),
    (err: Error) => o.log.warn({ err: err.message }, 'resuming range relays failed'),
  );
  o.log.info({ chains: o.sinks.map((s) => s.chain) }, 'relaying certified request-stream ranges');
  return { relay, relayer, stop: () => relay.stop() };
}
