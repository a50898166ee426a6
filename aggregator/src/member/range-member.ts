// The member side of range batches (runs inside a committee node): for requests start..start+count-1 of
// an ordered stream, build the Merkle tree of this member's own reports, sign the root once and send a
// RangeCommit to the aggregators. Nothing per report crosses the network. The member keeps the reports
// and tree of recent ranges, stores the committee's RangeCertificate when it arrives (after checking the
// group signature — or, with deferCheck, on first use), and then serves any report of the range as a
// signed report with its proof.
import { rangeId, signingMessage, SigningPurpose, signPartial, type KeyShare } from '@destra/protocol';
import { flatProof, type FastHasher, type FlatTree } from '../core/fast-hash.ts';
import { equalBytes, hexKey } from '../core/hex.ts';
import { encodeWire, PROTOCOL_PARTIAL, type RangeCertificate } from '../wire.ts';
import { subscribeBatches, type MemberHost } from './batch-member.ts';
import { RangeCommitError } from '../errors.ts';

const MAX_EARLY_CERTIFICATES = 1024;
/** Unchecked certificates kept per range (deferCheck): distinct signatures, the first that verifies wins. */
const MAX_UNCHECKED_PER_RANGE = 4;

export interface RangeMemberOptions {
  host: MemberHost;
  share: KeyShare;
  epoch: number;
  /** libp2p peer ids of the aggregators to commit to. */
  aggregators: () => string[];
  batchesTopic: string;
  hasher: FastHasher;
  /** Checks a certificate's group signature over signingMessage(0x01, root) (the epoch's group key). */
  verifyGroup: (signature: Uint8Array, message: Uint8Array) => boolean;
  /** Reports kept to serve signed reports and proofs, counted in whole ranges, oldest dropped first
   *  (default 262,144: ~60 MiB of 230-byte reports plus ~16 MiB of tree). */
  keepReports?: number;
  /**
   * Where the per-stream commit position lives; a node passes its SQLite store (NodeStore has
   * rangeNext/reserveRange) so the guard survives restarts. Default: in memory.
   */
  guard?: RangeGuard;
  /** Called for certificates that were not stored, with the reason (logs, metrics). */
  onRejected?: (reason: string) => void;
  /** Called once per range of this member when the committee's certificate for it is stored (checked). */
  onCertified?: (range: CertifiedRange) => void;
  /**
   * True for a range (by id) whose certificate nobody needs checked now: it is kept unchecked (its root
   * must still be this member's) and its group signature is checked on first use — any lookup that
   * would serve the range (signedReport, certifiedRange, certifiedRangeAt, certified). A node's members
   * that did not take a batch job serve few of its results, so this saves a pairing check per range and
   * member; nothing is ever served from an unchecked certificate. Default: every certificate is checked
   * when it arrives.
   */
  deferCheck?: (id: Uint8Array) => boolean;
  /** Called once per range when its first unchecked certificate is kept (deferCheck): metrics. */
  onUnchecked?: (range: { id: Uint8Array; count: number }) => void;
  /**
   * false: the owner routes certificates in with receiveCertificate() (e.g. a node holding one member per
   * epoch, which dispatches by the certificate's epoch). Default true: subscribes to batchesTopic itself.
   */
  subscribe?: boolean;
}

/**
 * Per-stream commit position: `reserve` must persist before returning and throw below the position.
 * `durable: false` (commit({ durable: false })) may skip the fsync: the caller's range ids fix every
 * byte of the reports, so the position only refuses replays.
 */
export interface RangeGuard {
  rangeNext(stream: string): number;
  reserveRange(stream: string, start: number, end: number, durable?: boolean): void;
}

class MemoryRangeGuard implements RangeGuard {
  private readonly next = new Map<string, number>();
  rangeNext(stream: string): number {
    return this.next.get(stream) ?? 0;
  }
  reserveRange(stream: string, start: number, end: number): void {
    const next = this.rangeNext(stream);
    if (start < next) throw new RangeCommitError(`range ${start}..${end - 1}: this member already committed this stream up to ${next}; ranges are committed once, in order`);
    this.next.set(stream, end);
  }
}

/** One report of a certified range: verifiable on either chain like any batched report. */
export interface RangeSignedReport {
  report: Uint8Array;
  leaf: Uint8Array;
  proof: Uint8Array[];
  root: Uint8Array;
  signature: Uint8Array;
  signers: number[];
}

interface KeptRange {
  /** rangeId(stream, start, count). */
  id: Uint8Array;
  stream: Uint8Array;
  start: number;
  count: number;
  reports: Uint8Array;
  reportLength: number;
  tree: FlatTree;
  /** The signed RangeCommit as sent, for resend(). */
  frame: Uint8Array;
  certificate?: Certificate;
  /** Certificates with this member's root whose signature is not checked yet (deferCheck). */
  unchecked?: Certificate[];
}

interface Certificate {
  signature: Uint8Array;
  signers: number[];
}

/** A range of this member that the committee certified: everything needed to serve any of its reports. */
export interface CertifiedRange {
  id: Uint8Array;
  epoch: number;
  stream: Uint8Array;
  start: number;
  count: number;
  /** count reports of reportLength bytes, back to back, in sequence order. */
  reports: Uint8Array;
  reportLength: number;
  tree: FlatTree;
  root: Uint8Array;
  signature: Uint8Array;
  signers: number[];
}

/** Report `i` (0-based within the range) of a certified range, with its proof to the signed root. */
export function signedReportOf(range: CertifiedRange, i: number): RangeSignedReport {
  if (!Number.isInteger(i) || i < 0 || i >= range.count) throw new RangeCommitError(`leaf index ${i} is outside the range's 0..${range.count - 1}`);
  return {
    report: range.reports.slice(i * range.reportLength, (i + 1) * range.reportLength),
    leaf: range.tree.levels[0]!.slice(i * 32, i * 32 + 32),
    proof: flatProof(range.tree, i),
    root: range.tree.root,
    signature: range.signature,
    signers: range.signers,
  };
}

export class RangeMember {
  private readonly ranges = new Map<string, KeptRange>();
  /** stream → its kept ranges in commit order, to find the range holding a sequence number. */
  private readonly byStream = new Map<string, KeptRange[]>();
  private keptReports = 0;
  /** Certificates that arrived before this member's own commit, by range id. */
  private readonly early = new Map<string, RangeCertificate>();
  private readonly guard: RangeGuard;
  readonly stats = { committedRanges: 0, committedReports: 0, certifiedRanges: 0, certifiedReports: 0, rejectedCertificates: 0, uncheckedCertificates: 0 };

  constructor(private readonly opts: RangeMemberOptions) {
    this.guard = opts.guard ?? new MemoryRangeGuard();
    if (opts.subscribe === false) return;
    subscribeBatches(
      opts.host,
      opts.batchesTopic,
      (msg) => {
        if (msg.type === 'range-certificate') this.onCertificate(msg);
      },
      (reason) => this.rejected(`malformed frame on the batches topic: ${reason}`),
    );
  }

  /**
   * Commits to this member's reports for requests start..start+count-1 of `stream` (`reports`: count
   * reports of `reportLength` bytes back to back, in sequence order). Returns the signed root.
   */
  async commit(stream: Uint8Array, start: number, reports: Uint8Array, reportLength: number, opts: { durable?: boolean } = {}): Promise<Uint8Array> {
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeCommitError(`range start ${start} is not a non-negative integer`);
    const leaves = this.opts.hasher.leavesFlat(reports, reportLength);
    const tree = this.opts.hasher.flatTree(leaves);
    const count = tree.size;
    const id = rangeId(stream, start, count);
    const key = hexKey(id);
    // Ranges of a stream are committed once and in order, so no sequence number is ever signed under two
    // roots — even after its range was dropped from memory. A commit that did not get through is sent
    // again with resend(), never signed again.
    this.guard.reserveRange(hexKey(stream), start, start + count, opts.durable ?? true);
    const signature = signPartial(this.opts.share, signingMessage(SigningPurpose.ReportRoot, tree.root)).signature;
    const frame = encodeWire({ type: 'range-commit', v: 1, epoch: this.opts.epoch, index: this.opts.share.index, stream, start, count, root: tree.root, signature });
    const range: KeptRange = { id, stream, start, count, reports, reportLength, tree, frame };
    this.keep(key, range);
    const early = this.early.get(key);
    if (early) {
      this.early.delete(key);
      this.apply(range, early);
    }
    this.stats.committedRanges++;
    this.stats.committedReports += count;
    await this.send(frame);
    return tree.root;
  }

  /**
   * Sends this member's commit for a range again (the aggregators were unreachable, or a new one joined);
   * the same signed bytes, so it is safe any number of times. False when the range is no longer kept.
   */
  async resend(stream: Uint8Array, start: number, count: number): Promise<boolean> {
    const range = this.ranges.get(hexKey(rangeId(stream, start, count)));
    if (!range) return false;
    await this.send(range.frame);
    return true;
  }

  private async send(frame: Uint8Array): Promise<void> {
    await Promise.all(this.opts.aggregators().map((peer) => this.opts.host.sendDirect(peer, PROTOCOL_PARTIAL, frame)));
  }

  /** The signed report for sequence number `seq` of `stream`, once its range is certified. */
  signedReport(stream: Uint8Array, seq: number): RangeSignedReport | undefined {
    const range = this.rangeHolding(stream, seq);
    if (!range || !this.checked(range)) return undefined;
    return signedReportOf(this.certifiedView(range), seq - range.start);
  }

  /** A certified range this member still keeps, by range id (hex, no 0x). */
  certifiedRange(id: string): CertifiedRange | undefined {
    const range = this.ranges.get(id);
    return range && this.checked(range) ? this.certifiedView(range) : undefined;
  }

  /** The certified range holding sequence number `seq` of `stream`, while kept. */
  certifiedRangeAt(stream: Uint8Array, seq: number): CertifiedRange | undefined {
    const range = this.rangeHolding(stream, seq);
    return range && this.checked(range) ? this.certifiedView(range) : undefined;
  }

  private certifiedView(r: KeptRange): CertifiedRange {
    const c = r.certificate!;
    return { id: r.id, epoch: this.opts.epoch, stream: r.stream, start: r.start, count: r.count, reports: r.reports, reportLength: r.reportLength, tree: r.tree, root: r.tree.root, signature: c.signature, signers: c.signers };
  }

  /** A certificate from the batches topic, for a member created with `subscribe: false`. */
  receiveCertificate(c: RangeCertificate): void {
    this.onCertificate(c);
  }

  /** True once the committee's certificate for this member's range has been stored. */
  certified(stream: Uint8Array, start: number, count: number): boolean {
    const range = this.ranges.get(hexKey(rangeId(stream, start, count)));
    return range !== undefined && this.checked(range);
  }

  private onCertificate(c: RangeCertificate): void {
    if (c.epoch !== this.opts.epoch) return this.rejected(`certificate for epoch ${c.epoch}, ours is ${this.opts.epoch}`);
    const key = hexKey(rangeId(c.stream, c.start, c.count));
    const range = this.ranges.get(key);
    if (!range) {
      // t faster members can certify a range before this member commits to it: keep the certificate
      // until then (bounded; a range this member never commits to just ages out).
      if (this.early.size >= MAX_EARLY_CERTIFICATES) this.early.delete(this.early.keys().next().value!);
      this.early.set(key, c);
      return;
    }
    this.apply(range, c);
  }

  private apply(range: KeptRange, c: RangeCertificate): void {
    if (range.certificate) return;
    if (!equalBytes(range.tree.root, c.root)) return this.rejected(`certificate root for range ${c.start}+${c.count} differs from this member's reports`);
    const cert = { signature: c.signature, signers: c.signers };
    if (!this.opts.deferCheck?.(range.id)) return this.check(range, cert);
    const list = (range.unchecked ??= []);
    if (list.some((u) => equalBytes(u.signature, c.signature))) return; // the same certificate again (several aggregators)
    if (list.length >= MAX_UNCHECKED_PER_RANGE) return this.rejected(`more than ${MAX_UNCHECKED_PER_RANGE} distinct unchecked certificates for range ${c.start}+${c.count}`);
    list.push(cert);
    this.stats.uncheckedCertificates++;
    if (list.length === 1) this.opts.onUnchecked?.({ id: range.id, count: range.count });
  }

  /** Stores `c` when its group signature over this member's root verifies. */
  private check(range: KeptRange, c: Certificate): void {
    if (!this.groupSigned(c.signature, range.tree.root)) return this.rejected(`certificate for range ${range.start}+${range.count} does not carry a valid group signature`);
    range.certificate = c;
    this.stats.certifiedRanges++;
    this.stats.certifiedReports += range.count;
    this.opts.onCertified?.(this.certifiedView(range));
  }

  /** True when the range has a checked certificate; checks its unchecked ones first (deferCheck), in arrival order. */
  private checked(range: KeptRange): boolean {
    const list = range.unchecked;
    if (!range.certificate && list) {
      range.unchecked = undefined;
      this.stats.uncheckedCertificates -= list.length;
      for (const c of list) {
        if (range.certificate) break;
        this.check(range, c);
      }
    }
    return range.certificate !== undefined;
  }

  /** False for a wrong signature and for bytes that are not a G1 point (verify throws on those). */
  private groupSigned(signature: Uint8Array, root: Uint8Array): boolean {
    try {
      return this.opts.verifyGroup(signature, signingMessage(SigningPurpose.ReportRoot, root));
    } catch {
      return false;
    }
  }

  private rangeHolding(stream: Uint8Array, seq: number): KeptRange | undefined {
    const list = this.byStream.get(hexKey(stream)) ?? [];
    // Ranges are committed in stream order almost always: search from the newest.
    for (let j = list.length - 1; j >= 0; j--) {
      const r = list[j]!;
      if (seq >= r.start && seq < r.start + r.count) return r;
    }
    return undefined;
  }

  private keep(key: string, range: KeptRange): void {
    const max = this.opts.keepReports ?? 262_144;
    while (this.ranges.size > 0 && this.keptReports + range.count > max) {
      const [oldKey, old] = this.ranges.entries().next().value!;
      this.ranges.delete(oldKey);
      this.keptReports -= old.count;
      this.stats.uncheckedCertificates -= old.unchecked?.length ?? 0;
      const list = this.byStream.get(hexKey(old.stream))!;
      list.splice(list.indexOf(old), 1);
    }
    this.ranges.set(key, range);
    this.keptReports += range.count;
    const sk = hexKey(range.stream);
    const list = this.byStream.get(sk) ?? [];
    list.push(range);
    this.byStream.set(sk, list);
  }

  private rejected(reason: string): void {
    this.stats.rejectedCertificates++;
    this.opts.onRejected?.(reason);
  }
}
