// Range proposals in: a committee member's batch-job rows (RangeProposal on PROTOCOL_RANGE_PROPOSAL), and
// this node's own when it is the proposer. Every proposal from a peer is checked before any work: the
// sender holds the proposer index in the proposal's epoch, that epoch is this node's active one (or the
// one before / after while this node holds its share), the timestamp is close to local time, the model is served here with that row length, the range is within
// the size limit, it does not go back on the stream (replay) and the backlog has room. Then the whole
// range runs in one inference call, its reports are encoded into one buffer and committed (RangeService:
// guard in SQLite, one root signature). Ranges of one stream are computed in parallel but committed in
// order (the guard refuses a range below the stream's position).
import { ReportBatchEncoder, ReportKind, anyDestination, fromHex, jobStream, toHex } from '@destra/protocol';
import type { FastHasher } from '@destra/aggregator/fast-hash';
import type { Logger } from 'pino';
import type { PeerInfo } from '../p2p/host.ts';
import type { ActiveKey } from '../round/keys.ts';
import { PROTOCOL_RANGE_PROPOSAL, RangeProposalCodec, type RangeProposal } from '../wire.ts';
import type { RangeInferencer } from './inference.ts';
import type { RangeMetrics } from './metrics.ts';
import type { RangeHost, RangeService } from './service.ts';
import { rangeStreamOf } from './streams.ts';

export interface RangeIntakeOptions {
  service: RangeService;
  host: RangeHost & { handleDirect(protocol: string, maxBytes: number, handler: (data: Uint8Array, from: PeerInfo) => void): Promise<void> };
  domain: Uint8Array;
  inference: RangeInferencer;
  hasher: FastHasher;
  activeKey(): ActiveKey | undefined;
  /** The key this node holds for `epoch` (the previous one in its grace, the next one after its DKG). */
  keyFor(epoch: number): ActiveKey | undefined;
  /** The member index of `from` in `epoch`'s committee, or undefined when it is not a member. */
  memberIndexOf(epoch: number, from: PeerInfo): number | undefined;
  maxSkewSeconds: number;
  /** Most rows in one range. */
  maxRangeRows: number;
  /** Rows of peers' proposals waiting here at most; more are refused as busy. */
  maxQueuedRows: number;
  metrics: RangeMetrics;
  log: Logger;
}

/** A proposal refused before any work: `reason` is the metric label, `detail` says what was wrong. */
export class ProposalRefused extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`range proposal refused (${reason}): ${detail}`);
    this.name = 'ProposalRefused';
  }
}

interface StreamState {
  /** Commits of this stream, chained in proposal order. */
  tail: Promise<unknown>;
  /** End of the last range accepted for this stream (exclusive). */
  end: number;
  inFlight: number;
}

const TWO32 = 2 ** 32;

export class RangeIntake {
  private readonly streams = new Map<string, StreamState>();
  private queuedRows = 0;
  /** Rows waiting here per proposing peer: one member may hold at most a quarter of the backlog. */
  private readonly queuedBy = new Map<string, number>();

  constructor(private readonly o: RangeIntakeOptions) {}

  async start(): Promise<void> {
    await this.o.host.handleDirect(PROTOCOL_RANGE_PROPOSAL, RangeProposalCodec.maxBytes, (data, from) => this.onFrame(data, from));
  }

  /** A peer's proposal frame: checked, then computed and committed; refusals are counted and logged. */
  onFrame(data: Uint8Array, from: PeerInfo): void {
    let p: RangeProposal;
    try {
      p = RangeProposalCodec.decode(data);
    } catch (err) {
      return this.refused(from, new ProposalRefused('malformed', (err as Error).message));
    }
    try {
      const stream = this.check(p, from);
      const count = p.rows.length / p.rowLength;
      if (this.queuedRows + count > this.o.maxQueuedRows) throw new ProposalRefused('busy', `${this.queuedRows} rows are waiting here already (max ${this.o.maxQueuedRows})`);
      const mine = this.queuedBy.get(from.peerId) ?? 0;
      const share = Math.ceil(this.o.maxQueuedRows / 4);
      if (mine + count > share) throw new ProposalRefused('busy', `this proposer has ${mine} rows waiting here already (at most ${share}, a quarter of the backlog)`);
      this.queuedRows += count;
      this.queuedBy.set(from.peerId, mine + count);
      this.accept(p, stream)
        .then(() => this.o.metrics.proposals.inc({ outcome: 'committed' }))
        .catch((err: Error) => this.failed(p, err))
        .finally(() => {
          this.queuedRows -= count;
          const left = (this.queuedBy.get(from.peerId) ?? count) - count;
          if (left > 0) this.queuedBy.set(from.peerId, left);
          else this.queuedBy.delete(from.peerId);
        });
    } catch (err) {
      if (err instanceof ProposalRefused) return this.refused(from, err);
      throw err;
    }
  }

  /**
   * This node's own range as proposer (already checked when the job was made): computed and committed
   * on the same path as a peer's. Resolves to the signed root.
   */
  proposeLocal(p: RangeProposal, stream: Uint8Array): Promise<Uint8Array> {
    return this.accept(p, stream);
  }

  /** The proposal's stream when every check passes; throws ProposalRefused naming the first that fails. */
  check(p: RangeProposal, from: PeerInfo): Uint8Array {
    const sender = from.role === 'member' ? this.o.memberIndexOf(p.epoch, from) : undefined;
    if (sender === undefined) throw new ProposalRefused('not-member', `${from.role} ${from.index} is not a member of epoch ${p.epoch}'s committee`);
    if (sender !== p.proposer) throw new ProposalRefused('impersonation', `proposal names proposer ${p.proposer} of epoch ${p.epoch} but came from member ${sender}`);
    if (!from.operatorKey) throw new ProposalRefused('impersonation', 'the connection carries no operator key');
    // Nodes switch epochs a chain poll apart: a proposer still on the previous epoch, or already on the
    // next, is followed while this node holds that epoch's share (the range is signed under it).
    const k = this.o.activeKey();
    const near = k !== undefined && Math.abs(p.epoch - k.epoch) <= 1 && this.o.keyFor(p.epoch) !== undefined;
    if (!near) throw new ProposalRefused('epoch', `proposal for epoch ${p.epoch}, active epoch here ${k?.epoch ?? 'none'}, no key share of that epoch here`);
    const skew = Math.abs(Math.floor(Date.now() / 1000) - p.timestamp);
    if (skew > this.o.maxSkewSeconds) throw new ProposalRefused('skew', `timestamp is ${skew}s away from local time (max ${this.o.maxSkewSeconds}s)`);
    let rowLength: number | undefined;
    try {
      rowLength = this.o.inference.describe(p.model).rowLength;
    } catch (err) {
      throw new ProposalRefused('unknown-model', (err as Error).message);
    }
    if (rowLength !== undefined && rowLength !== p.rowLength) throw new ProposalRefused('row-length', `model '${p.model}' takes ${rowLength}-byte rows, the proposal has ${p.rowLength}`);
    const count = p.rows.length / p.rowLength;
    if (count > this.o.maxRangeRows) throw new ProposalRefused('oversized', `range of ${count} rows, limit ${this.o.maxRangeRows}`);
    // The range's own stream: the sender's job stream and everything the reports hold (a proposer cannot
    // put two contents under one range id, nor propose on another member's streams).
    return rangeStreamOf(jobStream(this.o.domain, fromHex(from.operatorKey), p.job), p, this.o.hasher);
  }

  /** Replay check, then inference at once and the commit in stream order. */
  private accept(p: RangeProposal, stream: Uint8Array): Promise<Uint8Array> {
    const key = toHex(stream);
    let s = this.streams.get(key);
    // A replay is refused also when the range was committed under a neighbouring epoch (proposals of
    // other epochs are refused outright, see check()).
    const svc = this.o.service;
    const next = Math.max(s?.end ?? 0, svc.nextSeq(stream, p.epoch - 1), svc.nextSeq(stream, p.epoch), svc.nextSeq(stream, p.epoch + 1));
    if (p.start < next) {
      return Promise.reject(new ProposalRefused('replay', `range ${p.start}..${p.start + p.rows.length / p.rowLength - 1} of stream ${key} goes back on it (this node is at ${next}); ranges are committed once, in order`));
    }
    if (!s) this.streams.set(key, (s = { tail: Promise.resolve(), end: 0, inFlight: 0 }));
    const state = s;
    state.end = p.start + p.rows.length / p.rowLength;
    state.inFlight++;
    const computed = this.compute(p, stream);
    computed.catch(() => undefined); // handled through `committed`
    const committed = state.tail.then(async () => {
      const { reports, length } = await computed;
      // A job range's id fixes every byte of its reports (jobRangeStream): committing it again could only
      // sign the same root, so its position needs no fsync (it refuses replays).
      const root = await this.o.service.commitRange(stream, p.start, reports, length, p.epoch, { durable: false });
      this.o.metrics.rows.inc({ stage: 'committed' }, reports.length / length);
      return root;
    });
    state.tail = committed.catch(() => undefined);
    void state.tail.then(() => {
      if (--state.inFlight === 0 && this.streams.get(key) === state) this.streams.delete(key); // the SQLite guard holds the position from here
    });
    return committed;
  }

  /** Inference for the whole range and its reports, back to back in sequence order. */
  private async compute(p: RangeProposal, stream: Uint8Array): Promise<{ reports: Uint8Array; length: number }> {
    const { hasher } = this.o;
    const count = p.rows.length / p.rowLength;
    const { modelHash } = this.o.inference.describe(p.model);
    const ids = hasher.keccakFlat(seqMessages(stream, p.start, count), 40);
    const inputHashes = hasher.keccakFlat(p.rows, p.rowLength);
    const { outputs, k } = await this.o.inference.run(p.model, p.rows, p.rowLength);
    const encoder = new ReportBatchEncoder({ kind: ReportKind.OnDemand, domain: this.o.domain, epoch: BigInt(p.epoch), destination: anyDestination(), modelHash, timestamp: BigInt(p.timestamp), round: 0n, outputCount: k });
    return { reports: encoder.encode(ids, inputHashes, outputs), length: encoder.length };
  }

  private refused(from: PeerInfo, err: ProposalRefused): void {
    this.o.metrics.proposals.inc({ outcome: err.reason });
    this.o.log.warn({ from, reason: err.reason, detail: err.detail }, 'range proposal refused');
  }

  private failed(p: RangeProposal, err: Error): void {
    const reason = err instanceof ProposalRefused ? err.reason : 'failed';
    this.o.metrics.proposals.inc({ outcome: reason });
    this.o.log.warn({ epoch: p.epoch, proposer: p.proposer, start: p.start, rows: p.rows.length / p.rowLength, reason, err: err.message }, 'range not committed');
  }
}

/** stream ‖ uint64 seq for seq = start..start+count-1, 40 bytes each (hashed into the report ids). */
export function seqMessages(stream: Uint8Array, start: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 40);
  const view = new DataView(out.buffer);
  out.set(stream, 0);
  for (let filled = 40; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  for (let i = 0, at = 32; i < count; i++, at += 40) {
    const seq = start + i;
    view.setUint32(at, Math.floor(seq / TWO32));
    view.setUint32(at + 4, seq >>> 0);
  }
  return out;
}
