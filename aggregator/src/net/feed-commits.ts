// Feed batches at the aggregator: members' FeedCommits (direct protocol PROTOCOL_FEED_COMMIT) are admitted
// by the epoch's committee, their partials over a window's or a block's root collected per epoch (the
// core PartialCollector: batch verification, first t valid on one root, members on other roots named),
// and once t agree the certificate goes back to the members on the batches topic and the certified batch,
// with the reports the members carried, to the feed relay. Carried reports are kept only when their
// proofs lead to the root the member signed, so a hostile member cannot swap in other reports.
import { EventEmitter } from 'node:events';
import { FeedCommitCodec, PROTOCOL_FEED_COMMIT, RangeCertificateCodec, reportLeaf, rootFromProof, type FeedCommit } from '@destra/protocol';
import { PartialCollector } from '../core/collector.ts';
import type { EpochBook } from '../core/epochs.ts';
import { equalBytes, hexKey } from '../core/hex.ts';
import type { CoreEvent, Evidence } from '../core/types.ts';
import type { AggregatorHost, Log, PeerInfo } from './service.ts';

/** A feed batch the committee signed: what the feed relay lands on chain. */
export interface CertifiedFeedBatch {
  epoch: number;
  stream: Uint8Array;
  root: Uint8Array;
  signature: Uint8Array;
  signers: number[];
  /** Leaves in the tree. */
  count: number;
  /** The reports members carried (all of a window; the first of a block), each with its proof to root. */
  reports: Uint8Array[];
  proofs: Uint8Array[][];
}

export interface FeedCommitEvents {
  certified: [CertifiedFeedBatch];
  misbehaviour: [Evidence];
}

export interface FeedCommitServiceOptions {
  host: AggregatorHost;
  epochs: EpochBook;
  batchesTopic: string;
  log: Log;
  /** How long an uncertified root is kept (default 120 s). */
  ttlMs?: number;
  /** Carried report sets kept at most (default 4096; oldest first out). */
  maxKept?: number;
}

interface Kept {
  count: number;
  reports: Uint8Array[];
  proofs: Uint8Array[][];
  at: number;
}

export class FeedCommitService extends EventEmitter<FeedCommitEvents> {
  private readonly collectors = new Map<number, PartialCollector>();
  /** `${epoch}:${stream}:${root}` → carried reports. */
  private readonly kept = new Map<string, Kept>();
  private sweeper: NodeJS.Timeout | undefined;
  readonly stats = { commits: 0, rejected: 0, certified: 0 };

  constructor(private readonly o: FeedCommitServiceOptions) {
    super();
    o.epochs.on('retired', (epoch) => this.collectors.delete(epoch));
  }

  async start(): Promise<void> {
    await this.o.host.handleDirect(PROTOCOL_FEED_COMMIT, FeedCommitCodec.maxBytes, (data, from) => this.onFrame(data, from));
    this.sweeper = setInterval(() => this.sweep(Date.now()), 1000);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private reject(from: PeerInfo | { index: number }, reason: string): void {
    this.stats.rejected++;
    this.o.log.warn({ from, reason }, 'feed commit rejected');
  }

  onFrame(data: Uint8Array, from: PeerInfo): void {
    let msg: FeedCommit;
    try {
      msg = FeedCommitCodec.decode(data);
    } catch (err) {
      return this.reject(from, (err as Error).message);
    }
    const v = this.o.epochs.check(msg.epoch, from, msg.index);
    // an epoch this aggregator does not know yet (the handover is on its way): the member re-sends its commit
    if (v.status === 'pending') return this.o.log.debug({ from, epoch: msg.epoch, reason: v.reason }, 'feed commit of an epoch not usable yet (the member re-sends)');
    if (v.status !== 'ready') return this.reject(from, v.reason);
    // every carried report must be under the root the member signs (checked before anything is kept)
    for (let i = 0; i < msg.reports.length; i++) {
      if (!equalBytes(rootFromProof(reportLeaf(msg.reports[i]!), msg.proofs[i]!), msg.root)) return this.reject(from, `carried report ${i} is not under the committed root`);
    }
    this.stats.commits++;
    const key = `${msg.epoch}:${hexKey(msg.stream)}:${hexKey(msg.root)}`;
    if (!this.kept.has(key)) {
      this.kept.set(key, { count: msg.count, reports: msg.reports, proofs: msg.proofs, at: Date.now() });
      while (this.kept.size > (this.o.maxKept ?? 4096)) this.kept.delete(this.kept.keys().next().value!);
    }
    let collector = this.collectors.get(msg.epoch);
    if (!collector) {
      collector = new PartialCollector(v.entry.verifier, { ttlMs: this.o.ttlMs ?? 120_000 });
      this.collectors.set(msg.epoch, collector);
    }
    this.handle(msg.epoch, collector.add({ member: msg.index, requestId: msg.stream, round: 0, digest: msg.root, signature: msg.signature }));
  }

  private handle(epoch: number, events: CoreEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'misbehaviour') {
        this.o.log.warn({ member: ev.evidence.member, epoch, kind: ev.evidence.kind, stream: hexKey(ev.evidence.requestId) }, 'member misbehaviour on a feed batch');
        this.emit('misbehaviour', { ...ev.evidence, epoch });
      } else if (ev.type === 'rejected') this.reject({ index: ev.member }, ev.reason);
      else if (ev.type === 'expired') this.o.log.warn({ epoch, stream: hexKey(ev.requestId), roots: ev.digests, commits: ev.partials }, 'feed batch expired without t matching roots');
      else if (ev.type === 'combined') this.onCombined(epoch, ev.result.requestId, ev.result.digest, ev.result.signature, ev.result.signers);
    }
  }

  private onCombined(epoch: number, stream: Uint8Array, root: Uint8Array, signature: Uint8Array, signers: number[]): void {
    const kept = this.kept.get(`${epoch}:${hexKey(stream)}:${hexKey(root)}`);
    if (!kept) return this.o.log.warn({ epoch, stream: hexKey(stream) }, 'feed batch certified but its reports are no longer kept');
    this.stats.certified++;
    const cert = RangeCertificateCodec.encode({ type: 'range-certificate', v: 1, epoch, stream, start: 0, count: kept.count, root, signature, signers });
    this.o.host.publish(this.o.batchesTopic, cert).catch((err) => this.o.log.warn({ err: (err as Error).message }, 'feed certificate not published'));
    this.emit('certified', { epoch, stream, root, signature, signers, count: kept.count, reports: kept.reports, proofs: kept.proofs });
  }

  private sweep(now: number): void {
    for (const [epoch, c] of this.collectors) {
      this.handle(epoch, c.flushLate());
      this.handle(epoch, c.expire(now));
    }
    const ttl = 2 * (this.o.ttlMs ?? 120_000);
    for (const [k, v] of this.kept) {
      if (now - v.at < ttl) break;
      this.kept.delete(k);
    }
  }
}
