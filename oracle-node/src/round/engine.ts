// The round engine: turns requests (chain watchers, HTTP on-demand, feeds, leader proposals) into signed
// partials, and verified Combined broadcasts into stored, answerable reports. Protocol rules:
//   - every node builds the report itself from its own inference output, so honest partials agree;
//   - a (request id, round, epoch) is signed at most once, ever (SQLite reservation before signing); a
//     chain request still open when a new epoch activates is signed again under the new key;
//   - every message names this node's member index in the epoch of the key it is signed with;
//   - batch roots are signed only over leaves this node computed itself in the batch's epoch.
// The parts: intake.ts (requests in), signer.ts (inference, guard, partials / announcements, re-sends),
// results.ts (Combined results), batches.ts (batch roots), context.ts (what they share).
import type { PeerInfo } from '../p2p/host.ts';
import type { StoredReport } from '../store/store.ts';
import { RoundError } from '../errors.ts';
import type { BatchProposal, Combined } from '../wire.ts';
import { BatchSigner } from './batches.ts';
import { RoundContext } from './context.ts';
import { RequestIntake } from './intake.ts';
import { ResultHandler } from './results.ts';
import { PartialSigner, RESEND_MS } from './signer.ts';
import type { ChainRequest, FeedConfig, RoundEngineOptions, RoundRecord } from './types.ts';
import { recentRounds } from './views.ts';

export type { ChainRequest, FeedConfig, RoundEngineOptions, RoundRecord } from './types.ts';

export class RoundEngine {
  private readonly c: RoundContext;
  private readonly signer: PartialSigner;
  private readonly results: ResultHandler;
  private readonly intake: RequestIntake;
  private readonly batches: BatchSigner;
  private resendTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RoundEngineOptions) {
    this.c = new RoundContext(o);
    this.signer = new PartialSigner(this.c);
    this.results = new ResultHandler(this.c);
    this.intake = new RequestIntake(this.c, this.signer);
    this.batches = new BatchSigner(this.c);
  }

  start(): void {
    const { host, topics } = this.o;
    host.subscribe(topics.rounds, (data, from) => this.intake.onProposalFrame(data, from));
    host.subscribe(topics.combined, (data, from) => this.results.onCombinedFrame(data, from));
    host.subscribe(topics.batches, (data, from) => this.batches.onBatchFrame(data, from));
    this.resendTimer = setInterval(() => this.signer.resendUnfinished(), RESEND_MS);
    this.resendTimer.unref();
    // Resume whatever a previous run left unfinished (signed partials are re-sent, never re-signed).
    for (const r of this.o.store.unfinishedRequests()) void this.signer.process(r);
  }

  stop(): void {
    this.c.stopped = true;
    if (this.resendTimer) clearInterval(this.resendTimer);
    this.signer.stop();
    this.results.stop();
    this.intake.stop();
    this.c.waiters.rejectAll(new RoundError('NODE_STOPPING', 'node is shutting down', 503));
  }

  /** Resolves once every in-flight request has been processed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.c.inflight.size > 0) await Promise.allSettled([...this.c.inflight.values()]);
  }

  /** HTTP on-demand: this node leads the round and waits for the threshold signature. */
  submitOnDemand(model: string, input: Uint8Array): Promise<StoredReport> {
    return this.intake.submitOnDemand(model, input);
  }

  /** A request seen on a chain (see RequestIntake.onChainRequest). */
  onChainRequest(r: ChainRequest): void {
    this.intake.onChainRequest(r);
  }

  /** Starts periodic rounds per feed: round = floor(now / interval), timestamp = the round's start. */
  startFeeds(feeds: readonly FeedConfig[]): void {
    this.intake.startFeeds(feeds);
  }

  feedTick(f: FeedConfig, nowMs: number): void {
    this.intake.feedTick(f, nowMs);
  }

  /**
   * Call once `epoch`'s key share is the active key (activeKey() returns it): every unfinished chain
   * request (pending or signed, kind Request) is signed again under it, a new report naming `epoch` with
   * its own guard row, sent at once with a fresh re-send backoff; requests that waited for a key are
   * processed. On-demand and feed rounds of the old epoch are left to finish or expire. Nothing happens
   * when this node holds no active key of `epoch`. Returns how many requests were scheduled.
   */
  onEpochActivated(epoch: number): number {
    return this.signer.resign(epoch);
  }

  /** Verifies a Combined result under the group key of the epoch it names (unless already verified) and stores every report in it. */
  acceptCombined(msg: Combined, signatureVerified = false, receivedAt = Date.now()): void {
    this.results.acceptCombined(msg, signatureVerified, receivedAt);
  }

  /** Signs a batch root iff every leaf is a report this node computed itself for that request id. */
  signBatch(msg: BatchProposal, from: PeerInfo): Promise<void> {
    return this.batches.signBatch(msg, from);
  }

  recentRounds(limit = 50): RoundRecord[] {
    return recentRounds(this.o.store, limit);
  }
}
