// Signing work: runs inference for a stored request, reserves the report in SQLite (the double-signing
// guard, one digest per (request id, round, epoch)), signs the leaf (partial mode) or announces it
// (batch mode), sends it to the aggregators and re-sends what stays unfinished. A chain request still
// open when a newer epoch's key becomes active is signed again under that key (see resign()).
import { ReportKind, ReportStatus, encodeReport, inputHash, reportLeaf, reportStatusName, rootSigningMessage, signPartial, toHex } from '@destra/protocol';
import { DoubleSignError, RoundError } from '../errors.ts';
import type { StoredRequest } from '../store/store.ts';
import { PROTOCOL_ANNOUNCE, PROTOCOL_PARTIAL, PartialSignatureCodec, ReportAnnouncementCodec } from '../wire.ts';
import { KIND_NAME, roundKey, type RoundContext } from './context.ts';
import { unpackDestination } from './destination.ts';
import { failureStatus, modelHashFromName } from './failure.ts';
import type { InferenceResult } from './inference.ts';
import type { ActiveKey } from './keys.ts';

export const RESEND_MS = 5000;
const EXPIRE_MS = 10 * 60_000;

export class PartialSigner {
  // Batch mode: announcements are coalesced for a few milliseconds into one frame per aggregator.
  private announceQueue: { epoch: number; index: number; requestIds: Uint8Array[]; leaves: Uint8Array[]; reports: Uint8Array[] } | undefined;
  private announceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly c: RoundContext) {}

  stop(): void {
    if (this.announceTimer) clearTimeout(this.announceTimer);
  }

  /** Runs a request once at a time: a second call while it runs returns the run in progress. */
  process(r: StoredRequest): Promise<void> {
    const { inflight, o } = this.c;
    const k = roundKey(r.requestId, r.round);
    const running = inflight.get(k);
    if (running) return running;
    const p = this.run(r)
      .catch((err: Error) => this.onRoundFailed(r, err))
      // The failure path touches SQLite; during shutdown that can throw too. Never leave it unhandled.
      .catch((err: Error) => o.log.error({ requestId: toHex(r.requestId), round: r.round, err: err.message }, 'round failure could not be recorded'))
      .finally(() => inflight.delete(k));
    inflight.set(k, p);
    return p;
  }

  /**
   * A new epoch's key became active: every unfinished chain request is signed again under it (a new
   * report naming the new epoch, its own guard row), at once and with a fresh re-send backoff. Partials
   * sent under the old epoch are left as they are (they may still complete within the chain's grace);
   * on-demand and feed rounds of the old epoch finish or expire as they are. Returns how many requests
   * were scheduled.
   */
  resign(epoch: number): number {
    const { o, inflight, lastSent } = this.c;
    if (this.c.stopped) return 0;
    const active = this.c.activeKey();
    if (!this.c.keyFor(epoch) || active?.epoch !== epoch) {
      o.log.info({ epoch, activeEpoch: active?.epoch ?? null }, 'epoch activated without an active key share of it here: nothing re-signed');
      return 0;
    }
    let scheduled = 0;
    for (const r of o.store.unfinishedRequests()) {
      if (r.kind !== ReportKind.Request) continue;
      const k = roundKey(r.requestId, r.round);
      lastSent.delete(k);
      scheduled++;
      const running = inflight.get(k);
      if (!running) {
        void this.process(r);
        continue;
      }
      // A run under the old key is in progress: sign under the new one once it has finished.
      void running.then(() => {
        const fresh = o.store.getRequest(r.requestId, r.round);
        if (fresh && !this.c.stopped && (fresh.status === 'pending' || fresh.status === 'signed')) {
          lastSent.delete(k);
          void this.process(fresh);
        }
      });
    }
    if (scheduled > 0) o.log.info({ epoch, requests: scheduled }, 'epoch activated: open chain requests signed again under the new key');
    return scheduled;
  }

  /**
   * The chain re-delivered a request this node considers answered, so its answer did not land: when that
   * answer was signed under an older epoch than the active key's (the Solana program accepts only its
   * current epoch; a report combined just before a handover reached it is refused there), it is signed
   * again under the active epoch. Answers of the active epoch are left alone (their relay is retrying).
   */
  reopenIfStale(requestId: Uint8Array, round: number): boolean {
    const { o, lastSent } = this.c;
    const active = this.c.activeKey();
    if (!active || this.c.stopped) return false;
    const req = o.store.getRequest(requestId, round);
    if (!req || req.status !== 'done' || req.kind !== ReportKind.Request) return false;
    // The epoch of the answer that closed it here (the stored result; else our newest partial's).
    const answered = o.store.getReport(requestId)?.epoch ?? o.store.ownPartial(requestId, round)?.epoch;
    if (answered === undefined || answered >= active.epoch) return false;
    if (!o.store.reopenRequest(requestId, round)) return false;
    o.log.info({ requestId: toHex(requestId), answeredInEpoch: answered, activeEpoch: active.epoch }, 'chain still waits for a request answered in an older epoch: signing it again');
    lastSent.delete(roundKey(requestId, round));
    void this.process(o.store.getRequest(requestId, round)!);
    return true;
  }

  private onRoundFailed(r: StoredRequest, err: Error): void {
    const { o, lastSent, waiters } = this.c;
    const k = roundKey(r.requestId, r.round);
    if (err instanceof RoundError && err.code === 'NO_KEY_SHARE' && r.source !== 'http') {
      o.log.info({ requestId: toHex(r.requestId) }, 'request waits for the key share');
      return; // stays pending; the re-send loop (or the epoch's activation) retries once a key is active
    }
    const outcome = err instanceof DoubleSignError ? 'double-sign-refused' : 'failed';
    o.metrics.rounds.inc({ kind: KIND_NAME[r.kind] ?? 'unknown', outcome });
    o.log.error({ requestId: toHex(r.requestId), round: r.round, err: err.message }, 'round failed');
    lastSent.delete(k);
    waiters.reject(k, err);
    if (!this.c.stopped) o.store.setRequestStatus(r.requestId, r.round, 'failed', err.message.slice(0, 500));
  }

  private async run(r: StoredRequest): Promise<void> {
    const { o } = this.c;
    const announce = o.mode === 'announce';
    const active = this.c.activeKey();
    const existing = o.store.ownPartial(r.requestId, r.round); // the newest epoch's
    // A chain request whose newest partial belongs to an older epoch than the active key is signed again.
    const stale = existing !== undefined && r.kind === ReportKind.Request && active !== undefined && active.epoch > existing.epoch;
    if (existing && !stale && (existing.signature || (announce && r.status === 'signed'))) {
      await this.send(r, existing.report, existing.digest, existing.signature, existing.epoch, this.c.ownIndex(existing.epoch));
      return;
    }
    // Chain requests are signed under the active epoch; on-demand and feed rounds under their own epoch,
    // whose share may be the previous or the next one's at a switch (see Intake.onProposalFrame).
    const k = (r.kind !== ReportKind.Request ? this.c.keyFor(r.epoch) : undefined) ?? this.c.requireKey();
    if (r.epoch !== k.epoch && r.kind !== ReportKind.Request) {
      throw new RoundError('EPOCH', `request belongs to epoch ${r.epoch}, active epoch is ${k.epoch}`);
    }
    if (stale) o.log.info({ requestId: toHex(r.requestId), round: r.round, from: existing.epoch, to: k.epoch }, 'chain request signed again under the new epoch');
    // A digest reserved before a crash is signed as is; only a request never reserved in this epoch runs inference.
    const reserved = (existing?.epoch === k.epoch ? existing : o.store.ownPartial(r.requestId, r.round, k.epoch)) ?? (await this.compute(r, k));
    // Batch mode commits to the leaf here and signs only batch roots; partial mode signs the leaf.
    let signature: Uint8Array | null = null;
    if (!announce) {
      // H(m) is memoised by the protocol, so the Combined check for this digest does not hash again.
      signature = signPartial(k.share, rootSigningMessage(reserved.digest)).signature;
    }
    o.store.markSigned(r.requestId, r.round, signature, k.epoch);
    await this.send(r, reserved.report, reserved.digest, signature, k.epoch, k.index);
  }

  /**
   * Inference → report bytes → leaf, reserved in SQLite before anything is signed or announced. A chain
   * request whose model/input is refused (or whose output is not representable) gets a failure report.
   */
  private async compute(r: StoredRequest, k: ActiveKey): Promise<{ report: Uint8Array; digest: Uint8Array }> {
    const { o } = this.c;
    const t0 = performance.now();
    let inf: InferenceResult;
    let status: ReportStatus = ReportStatus.Ok;
    try {
      inf = await o.inference.infer(r.model, r.input);
      o.metrics.inferenceSeconds.observe((performance.now() - t0) / 1000);
      o.metrics.inferenceRows.inc({ model: r.model });
    } catch (err) {
      const failed = r.kind === ReportKind.Request ? this.failureAnswer(r, err) : undefined;
      if (!failed) throw err;
      ({ inf, status } = failed);
    }
    const report = encodeReport({
      kind: r.kind as ReportKind,
      domain: o.domain,
      epoch: BigInt(k.epoch),
      destination: unpackDestination(r.destination),
      id: r.requestId,
      modelHash: inf.modelHash,
      inputHash: inf.inputHash,
      timestamp: BigInt(r.timestamp),
      round: BigInt(r.round),
      status,
      output: inf.output,
    });
    // An on-demand id was checked against its content at intake (onDemandRequestId): it fixes the report,
    // so its guard row needs no fsync. Chain requests (a reorg can put new content under an id) and feed
    // rounds (one id, values chosen by the leader) keep the fsync.
    return o.store.reservePartial({ requestId: r.requestId, round: r.round, epoch: k.epoch, digest: reportLeaf(report), report }, { durable: r.kind !== ReportKind.OnDemand });
  }

  /** The failure report body for a chain request stopped by `err`, or undefined when `err` is not signed. */
  private failureAnswer(r: StoredRequest, err: unknown): { inf: InferenceResult; status: ReportStatus } | undefined {
    const status = failureStatus(err);
    if (status === undefined) return undefined;
    let modelHash = modelHashFromName(r.model);
    if (!modelHash) {
      try {
        modelHash = this.c.o.inference.modelHash(r.model);
      } catch {
        return undefined;
      }
    }
    this.c.o.log.info({ requestId: toHex(r.requestId), status: reportStatusName(status) }, 'signing a failure report');
    return { status, inf: { modelHash, inputHash: inputHash(r.input), output: [] } };
  }

  /** Sends a partial (or queues an announcement) naming `index`, this node's member index in `epoch`. */
  private async send(r: StoredRequest, report: Uint8Array, digest: Uint8Array, signature: Uint8Array | null, epoch: number, index: number): Promise<void> {
    const { o, lastSent } = this.c;
    const aggregators = o.host.peersWithRole('aggregator');
    const k = roundKey(r.requestId, r.round);
    lastSent.set(k, { at: Date.now(), attempts: (lastSent.get(k)?.attempts ?? 0) + 1 });
    if (aggregators.length === 0) {
      o.log.debug({ requestId: toHex(r.requestId) }, 'no aggregator connected; kept for re-sending');
      return;
    }
    if (o.mode === 'announce' || !signature) {
      this.queueAnnouncement(epoch, index, r.requestId, digest, report);
      return;
    }
    const frame = PartialSignatureCodec.encode({ type: 'partial', v: 1, epoch, requestId: r.requestId, round: r.round, index, report, digest, signature });
    await this.deliver(PROTOCOL_PARTIAL, frame, 1);
  }

  async deliver(protocol: string, frame: Uint8Array, count: number): Promise<void> {
    const { o } = this.c;
    await Promise.all(
      o.host.peersWithRole('aggregator').map((a) =>
        o.host
          .sendDirect(a.peerId, protocol, frame)
          .then(() => o.metrics.partialsSent.inc(count))
          .catch((err) => o.log.warn({ aggregator: a.index, protocol, err: (err as Error).message }, 'message to aggregator not delivered')),
      ),
    );
  }

  private queueAnnouncement(epoch: number, index: number, requestId: Uint8Array, leaf: Uint8Array, report: Uint8Array): void {
    if (this.announceQueue && (this.announceQueue.epoch !== epoch || this.announceQueue.index !== index)) this.flushAnnouncements();
    const q = (this.announceQueue ??= { epoch, index, requestIds: [], leaves: [], reports: [] });
    q.requestIds.push(requestId);
    q.leaves.push(leaf);
    q.reports.push(report);
    if (q.leaves.length >= 256) this.flushAnnouncements();
    else this.announceTimer ??= setTimeout(() => this.flushAnnouncements(), 10);
  }

  private flushAnnouncements(): void {
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.announceTimer = undefined;
    const q = this.announceQueue;
    this.announceQueue = undefined;
    if (!q || q.leaves.length === 0) return;
    const frame = ReportAnnouncementCodec.encode({ type: 'report-announce', v: 1, epoch: q.epoch, index: q.index, requestIds: q.requestIds, leaves: q.leaves, reports: q.reports });
    void this.deliver(PROTOCOL_ANNOUNCE, frame, q.leaves.length);
  }

  /** Expires requests older than 10 minutes and re-sends the others with exponential backoff. */
  resendUnfinished(): void {
    const { o, inflight, lastSent } = this.c;
    if (this.c.stopped) return;
    const now = Date.now();
    for (const r of o.store.unfinishedRequests()) {
      const k = roundKey(r.requestId, r.round);
      if (inflight.has(k)) continue;
      if (now - r.receivedAt > EXPIRE_MS) {
        o.store.setRequestStatus(r.requestId, r.round, 'failed', 'no threshold signature within 10 minutes');
        lastSent.delete(k);
        o.metrics.rounds.inc({ kind: KIND_NAME[r.kind] ?? 'unknown', outcome: 'expired' });
        continue;
      }
      // Re-send with exponential backoff (5 s, 10 s, ... 30 s): the aggregator may be down or slow.
      const last = lastSent.get(k);
      const wait = last ? Math.min(30_000, RESEND_MS * 2 ** (last.attempts - 1)) : RESEND_MS;
      if (now - (last?.at ?? 0) >= wait) void this.process(r);
    }
  }
}
