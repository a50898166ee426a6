// Signs feed batch roots and gets them certified: one partial signature per root (guarded in SQLite, so a
// window or a block is signed once per epoch, also across restarts), a FeedCommit to every aggregator,
// re-sent with backoff until the committee's certificate (a RangeCertificate on the batches topic)
// arrives and verifies under the group key.
import { rootSigningMessage, signPartial, toHex } from '@destra/protocol';
import type { Logger } from 'pino';
import { DoubleSignError } from '../errors.ts';
import type { DestraHost, PeerInfo } from '../p2p/host.ts';
import type { ActiveKey } from '../round/keys.ts';
import { verifyGroupSignature } from '../round/keys.ts';
import type { NodeStore } from '../store/store.ts';
import { FeedCommitCodec, PROTOCOL_FEED_COMMIT, decodeWire, type RangeCertificate } from '../wire.ts';
import { withEpoch, withProof, type FeedBatch } from './batches.ts';

export interface Certificate {
  epoch: number;
  signature: Uint8Array;
  signers: number[];
}

export interface FeedCommitterOptions {
  host: Pick<DestraHost, 'peersWithRole' | 'sendDirect' | 'subscribe'>;
  store: Pick<NodeStore, 'reserveRange'>;
  batchesTopic: string;
  activeKey: () => ActiveKey | undefined;
  keyFor: (epoch: number) => ActiveKey | undefined;
  onCertified: (batch: FeedBatch, cert: Certificate) => void;
  log: Logger;
  /** First re-send delay (doubles up to 30 s); a commit is given up after `giveUpMs`. */
  resendMs?: number;
  giveUpMs?: number;
}

interface Pending {
  batch: FeedBatch;
  frame: Uint8Array;
  firstAt: number;
  lastAt: number;
  attempts: number;
}

export type CommitOutcome = 'sent' | 'already-signed' | 'no-key';

export class FeedCommitter {
  private readonly pending = new Map<string, Pending>();
  /** Batches signed again under a newer epoch, by stream: their old epoch's certificate is still good. */
  private readonly superseded = new Map<string, Pending>();
  /** Certificates that arrived before this node's own commit (t faster members), bounded. */
  private readonly early = new Map<string, RangeCertificate>();
  private timer: NodeJS.Timeout | undefined;
  readonly stats = { committed: 0, certified: 0, expired: 0, rejectedCertificates: 0 };

  constructor(private readonly o: FeedCommitterOptions) {
    o.host.subscribe(o.batchesTopic, (data, from) => this.onBatchesFrame(data, from));
  }

  start(): void {
    this.timer = setInterval(() => this.resend(Date.now()), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.pending.clear();
  }

  /** Streams (hex) committed and not certified yet. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Signs the batch root with the active key (the batch must be built for its epoch) and sends it with the
   * reports at `carry` (and their proofs). A batch whose stream this node already signed in this epoch is
   * not signed again.
   */
  async commit(batch: FeedBatch, carry: readonly number[]): Promise<CommitOutcome> {
    const k = this.o.activeKey();
    if (!k || k.epoch !== batch.epoch) return 'no-key';
    const stream = toHex(batch.stream);
    try {
      // durable before signing: one root per (stream, epoch), ever
      this.o.store.reserveRange(`feed:${stream}:${k.epoch}`, 0, 1);
    } catch (err) {
      if (err instanceof DoubleSignError) return 'already-signed';
      throw err;
    }
    const signature = signPartial(k.share, rootSigningMessage(batch.tree.root)).signature;
    const carried = carry.map((i) => withProof(batch, i));
    const frame = FeedCommitCodec.encode({
      type: 'feed-commit', v: 1, epoch: k.epoch, index: k.index, stream: batch.stream, count: batch.reports.length, root: batch.tree.root, signature,
      reports: carried.map((c) => c.report), proofs: carried.map((c) => c.proof),
    });
    const now = Date.now();
    this.pending.set(stream, { batch, frame, firstAt: now, lastAt: now, attempts: 1 });
    this.stats.committed++;
    const early = this.early.get(stream);
    if (early) {
      this.early.delete(stream);
      this.onCertificate(early);
      if (!this.pending.has(stream)) return 'sent';
    }
    await this.send(frame);
    return 'sent';
  }

  private async send(frame: Uint8Array): Promise<void> {
    await Promise.all(
      this.o.host.peersWithRole('aggregator').map((a) =>
        this.o.host.sendDirect(a.peerId, PROTOCOL_FEED_COMMIT, frame).catch((err) => this.o.log.debug({ aggregator: a.index, err: (err as Error).message }, 'feed commit not delivered')),
      ),
    );
  }

  /** Re-sends what is not certified yet (5 s, 10 s, … 30 s apart); gives up on it after giveUpMs. */
  resend(now: number): void {
    const base = this.o.resendMs ?? 5000;
    for (const [stream, p] of this.pending) {
      if (now - p.firstAt > (this.o.giveUpMs ?? 120_000)) {
        this.pending.delete(stream);
        this.stats.expired++;
        this.o.log.warn({ stream, round: p.batch.round.toString(), epoch: p.batch.epoch }, 'feed batch not certified in time: given up');
        continue;
      }
      if (now - p.lastAt < Math.min(30_000, base * 2 ** (p.attempts - 1))) continue;
      p.lastAt = now;
      p.attempts++;
      void this.send(p.frame);
    }
  }

  /**
   * Pending batches of epochs before `epoch` (the handover came first), for re-signing under the new key.
   * They stay known: a certificate of the old epoch that still arrives is taken (the first root wins).
   */
  takeStale(epoch: number): FeedBatch[] {
    const out: FeedBatch[] = [];
    for (const [stream, p] of this.pending) {
      if (p.batch.epoch >= epoch) continue;
      this.pending.delete(stream);
      this.superseded.set(stream, p);
      while (this.superseded.size > 256) this.superseded.delete(this.superseded.keys().next().value!);
      out.push(p.batch);
    }
    return out;
  }

  private onBatchesFrame(data: Uint8Array, from: PeerInfo): void {
    if (from.role !== 'aggregator') return;
    let msg;
    try {
      msg = decodeWire(data, ['batch-proposal', 'range-certificate']);
    } catch {
      return; // the round engine's batch signer reports malformed frames
    }
    if (msg.type === 'range-certificate') this.onCertificate(msg);
  }

  /** A certificate for one of our pending streams: stored once its root matches and the group signed it. */
  onCertificate(c: RangeCertificate): void {
    const stream = toHex(c.stream);
    const old = this.superseded.get(stream);
    const p = old && old.batch.epoch === c.epoch ? old : this.pending.get(stream);
    if (!p) {
      // another stream (a range batch), already certified, or ours before we committed: kept a while
      if (this.early.size >= 256) this.early.delete(this.early.keys().next().value!);
      this.early.set(stream, c);
      return;
    }
    const k = this.o.keyFor(c.epoch);
    const reject = (why: string) => {
      this.stats.rejectedCertificates++;
      this.o.log.warn({ stream, epoch: c.epoch }, `feed certificate refused: ${why}`);
    };
    // certified under another epoch than this node signed it in (it scored the block after a handover the
    // others had not reached): the same reports under that epoch are what the committee signed
    const batch = c.epoch === p.batch.epoch ? p.batch : withEpoch(p.batch, c.epoch);
    if (toHex(c.root) !== toHex(batch.tree.root)) return reject("its root differs from this node's (the committee agreed on other reports)");
    if (!k) return reject(`no key of epoch ${c.epoch} here to check it`);
    let ok = false;
    try {
      ok = verifyGroupSignature(k, rootSigningMessage(c.root), c.signature);
    } catch {
      ok = false;
    }
    if (!ok) return reject('its signature is not the group signature over the root');
    this.pending.delete(stream);
    this.superseded.delete(stream);
    this.stats.certified++;
    this.o.onCertified(batch, { epoch: c.epoch, signature: c.signature, signers: c.signers });
  }
}
