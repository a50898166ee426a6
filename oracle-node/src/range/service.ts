// The node's range protocol core: one RangeMember (aggregator/src/member/range-member.ts) per epoch this
// node holds a key share of, fed with the committee's RangeCertificates. Callers hand it the reports of a
// range of an ordered stream (a batch job's stream, or a chain's request stream); it commits them under
// the epoch's key (the guard in SQLite: each stream's ranges once, in order), stores the certificate
// when the aggregators send it, and serves any report of a certified range with its proof.
//
//   commitRange(stream, start, reports, reportLength[, epoch]) → the signed root
//   onCertified(rangeId, cb) / on('certified', cb)             → when the committee's certificate is stored
//   signedResult(stream, seq) / result(rangeId, i)              → a report with proof, root signature, epoch
import { EventEmitter } from 'node:events';
import { rangeId, toHex } from '@destra/protocol';
import { RangeMember, signedReportOf, type CertifiedRange, type RangeGuard, type RangeSignedReport } from '@destra/aggregator/member';
import type { FastHasher } from '@destra/aggregator/fast-hash';
import type { Logger } from 'pino';
import { RoundError } from '../errors.ts';
import type { PeerInfo } from '../p2p/host.ts';
import { verifyGroupSignature, type ActiveKey } from '../round/keys.ts';
import { decodeWire, type RangeCertificate } from '../wire.ts';

export type { CertifiedRange, RangeSignedReport } from '@destra/aggregator/member';

/** The parts of DestraHost the range protocol uses. */
export interface RangeHost {
  sendDirect(peerId: string, protocol: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: PeerInfo) => void): void;
  peersWithRole(role: 'member' | 'aggregator'): PeerInfo[];
}

export interface RangeServiceOptions {
  host: RangeHost;
  /** The committee's batches topic (range certificates arrive there). */
  batchesTopic: string;
  /**
   * Where each stream's commit position lives (the node's SQLite store), kept per epoch: a range of a
   * stream is signed once per epoch (as a chain request still open at a handover is signed again by the
   * next committee); positions of old epochs are pruned with the epoch's other guard rows.
   */
  guard: RangeGuard;
  /** The key this node holds for `epoch`, if any. */
  keyFor(epoch: number): ActiveKey | undefined;
  /** The key new ranges are signed with. */
  activeKey(): ActiveKey | undefined;
  hasher: FastHasher;
  /** Reports kept per epoch to serve results (whole ranges, oldest dropped first). */
  keepReports: number;
  log: Logger;
  onRejected?: (reason: string) => void;
  /**
   * true (default): a certificate for a range nobody waits on (onCertified) — a batch range on a member
   * that did not take the job — is kept unchecked and its group signature checked on first lookup
   * (RangeMemberOptions.deferCheck); false: every certificate is checked when it arrives.
   */
  deferChecks?: boolean;
  /** Rows of a range whose certificate is kept unchecked (once per range; checked later only on lookup). */
  onUnchecked?: (rows: number) => void;
}

export interface SignedResult extends RangeSignedReport {
  epoch: number;
  rangeId: Uint8Array;
  /** Leaf index within the range. */
  index: number;
  seq: number;
}

/** Epochs kept besides the newest (a range committed just before a handover still certifies). */
const EPOCHS_KEPT = 2;

export interface RangeServiceEvents {
  certified: [CertifiedRange];
}

export class RangeService extends EventEmitter<RangeServiceEvents> {
  private readonly members = new Map<number, RangeMember>();
  private readonly waiting = new Map<string, Set<(r: CertifiedRange) => void>>();
  private started = false;

  constructor(private readonly o: RangeServiceOptions) {
    super();
    this.setMaxListeners(0);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.o.host.subscribe(this.o.batchesTopic, (data, from) => {
      if (from.role !== 'aggregator') return;
      let msg;
      try {
        msg = decodeWire(data, ['batch-proposal', 'range-certificate']);
      } catch {
        return; // the round engine's batch handler reports malformed frames on this topic
      }
      if (msg.type === 'range-certificate') this.onCertificate(msg);
    });
  }

  /**
   * Commits this node's reports for `start..start+count-1` of `stream` (count = reports.length /
   * reportLength) under `epoch`'s key (default: the active key's epoch). Throws DoubleSignError /
   * RangeCommitError when the stream was already committed at or beyond `start` (nothing is signed), and
   * RoundError NO_KEY_SHARE when this node holds no key of that epoch. `durable: false` skips the fsync
   * of the position (only for streams whose range id fixes every byte of the reports: batch-job ranges).
   */
  async commitRange(stream: Uint8Array, start: number, reports: Uint8Array, reportLength: number, epoch?: number, opts: { durable?: boolean } = {}): Promise<Uint8Array> {
    const member = this.memberFor(epoch ?? this.o.activeKey()?.epoch);
    return member.commit(stream, start, reports, reportLength, opts);
  }

  /** Sends a committed range's signed commit again (aggregators were away); false when it is no longer kept. */
  resend(stream: Uint8Array, start: number, count: number, epoch: number): Promise<boolean> {
    return this.members.get(epoch)?.resend(stream, start, count) ?? Promise.resolve(false);
  }

  /**
   * Calls `cb` once when the range `id` (rangeId bytes or its hex) is certified here; at once when it
   * already is. Returns a function that cancels the wait.
   */
  onCertified(id: Uint8Array | string, cb: (r: CertifiedRange) => void): () => void {
    const key = typeof id === 'string' ? id.replace(/^0x/, '').toLowerCase() : toHex(id).slice(2);
    const done = this.certifiedRange(key);
    if (done) {
      cb(done);
      return () => undefined;
    }
    const set = this.waiting.get(key) ?? new Set();
    set.add(cb);
    this.waiting.set(key, set);
    return () => {
      set.delete(cb);
      if (set.size === 0 && this.waiting.get(key) === set) this.waiting.delete(key);
    };
  }

  /** The signed report for sequence number `seq` of `stream`, when a kept range holding it is certified. */
  signedResult(stream: Uint8Array, seq: number): SignedResult | undefined {
    for (const m of this.newestFirst()) {
      const r = m.certifiedRangeAt(stream, seq);
      if (r) return resultOf(r, seq - r.start);
    }
    return undefined;
  }

  /** A certified range this node keeps, by range id (bytes or hex). */
  certifiedRange(id: Uint8Array | string): CertifiedRange | undefined {
    const key = typeof id === 'string' ? id.replace(/^0x/, '').toLowerCase() : toHex(id).slice(2);
    for (const m of this.newestFirst()) {
      const r = m.certifiedRange(key);
      if (r) return r;
    }
    return undefined;
  }

  /**
   * Commit position of `stream`: the first sequence number not yet committed here under `epoch`'s key;
   * without `epoch`, the furthest position under the active epoch and its neighbours (older epochs'
   * ranges are never signed again).
   */
  nextSeq(stream: Uint8Array, epoch?: number): number {
    const hex = toHex(stream).slice(2);
    if (epoch !== undefined) return this.o.guard.rangeNext(guardKey(hex, epoch));
    const active = this.o.activeKey()?.epoch;
    const epochs = new Set([...this.members.keys(), ...(active === undefined ? [] : [active - 1, active, active + 1])]);
    let next = this.o.guard.rangeNext(hex); // a position kept before guards were per epoch
    for (const e of epochs) next = Math.max(next, this.o.guard.rangeNext(guardKey(hex, e)));
    return next;
  }

  get stats(): { epoch: number; committedRanges: number; committedReports: number; certifiedRanges: number; certifiedReports: number; rejectedCertificates: number; uncheckedCertificates: number }[] {
    return [...this.members.entries()].map(([epoch, m]) => ({ epoch, ...m.stats }));
  }

  private newestFirst(): RangeMember[] {
    return [...this.members.entries()].sort((a, b) => b[0] - a[0]).map(([, m]) => m);
  }

  private memberFor(epoch: number | undefined): RangeMember {
    const key = epoch === undefined ? undefined : this.o.keyFor(epoch);
    if (epoch === undefined || !key) throw new RoundError('NO_KEY_SHARE', `this node holds no key share${epoch === undefined ? '' : ` of epoch ${epoch}`} to sign ranges with (DKG not finished, or not a member); retry shortly`, 503);
    let m = this.members.get(epoch);
    if (m) return m;
    m = new RangeMember({
      host: this.o.host,
      share: key.share,
      epoch,
      aggregators: () => this.o.host.peersWithRole('aggregator').map((p) => p.peerId),
      batchesTopic: this.o.batchesTopic,
      hasher: this.o.hasher,
      verifyGroup: (signature, message) => verifyGroupSignature(key, message, signature),
      keepReports: this.o.keepReports,
      guard: epochGuard(this.o.guard, epoch),
      subscribe: false,
      onRejected: (reason) => this.o.onRejected?.(reason),
      onCertified: (r) => this.certified(r),
      // A waiter (the job's proposer, the chain stream) needs the range now; anyone else asks through a
      // lookup, which checks first.
      ...(this.o.deferChecks === false ? {} : { deferCheck: (id: Uint8Array) => !this.waiting.has(toHex(id).slice(2)), onUnchecked: (r: { count: number }) => this.o.onUnchecked?.(r.count) }),
    });
    this.members.set(epoch, m);
    // Older epochs' members go (their reports with them) once newer ones exist.
    const epochs = [...this.members.keys()].sort((a, b) => b - a);
    for (const old of epochs.slice(EPOCHS_KEPT)) this.members.delete(old);
    this.o.log.info({ epoch, index: key.index }, 'range member for the epoch');
    return m;
  }

  private onCertificate(c: RangeCertificate): void {
    const m = this.members.get(c.epoch);
    if (m) m.receiveCertificate(c);
    else if (this.o.keyFor(c.epoch)) this.memberFor(c.epoch).receiveCertificate(c); // kept as early until this node commits
  }

  private certified(r: CertifiedRange): void {
    const key = toHex(r.id).slice(2);
    const cbs = this.waiting.get(key);
    this.waiting.delete(key);
    for (const cb of cbs ?? []) {
      try {
        cb(r);
      } catch (err) {
        this.o.log.warn({ rangeId: key, err: (err as Error).message }, 'range certification callback failed');
      }
    }
    this.emit('certified', r);
  }
}

/** The guard key of a stream in an epoch: `<stream hex>@<epoch>` (NodeStore prunes old epochs' keys). */
export const guardKey = (streamHex: string, epoch: number): string => `${streamHex}@${epoch}`;

function epochGuard(guard: RangeGuard, epoch: number): RangeGuard {
  return {
    rangeNext: (stream) => guard.rangeNext(guardKey(stream, epoch)),
    reserveRange: (stream, start, end, durable) => guard.reserveRange(guardKey(stream, epoch), start, end, durable),
  };
}

/** Report `i` of a certified range as a SignedResult. */
export function resultOf(r: CertifiedRange, i: number): SignedResult {
  return { ...signedReportOf(r, i), epoch: r.epoch, rangeId: r.id, index: i, seq: r.start + i };
}

/** rangeId as the API names it. */
export const rangeIdHex = (stream: Uint8Array, start: number, count: number): string => toHex(rangeId(stream, start, count));
