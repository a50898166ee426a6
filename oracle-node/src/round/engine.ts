// The round engine: turns requests (chain watchers, HTTP on-demand, feeds, leader proposals) into signed
// partials, and verified Combined broadcasts into stored, answerable reports. Protocol rules:
//   - every node builds the report itself from its own inference output, so honest partials agree;
//   - a (request id, round) is signed at most once, ever (SQLite reservation before signing);
//   - batch roots are signed only over leaves this node computed itself.
import { randomBytes } from 'node:crypto';
import {
  ReportKind,
  ReportStatus,
  anyDestination,
  buildMerkleTree,
  decodeReport,
  encodeReport,
  feedId,
  inputHash,
  merkleProof,
  merkleRoot,
  reportLeaf,
  reportStatusName,
  rootSigningMessage,
  signPartial,
  toHex,
  type Destination,
} from '@destra/protocol';
import type { Logger } from 'pino';
import { ConfigError, DoubleSignError, RoundError } from '../errors.ts';
import type { NodeMetrics } from '../metrics.ts';
import type { DestraHost, PeerInfo } from '../p2p/host.ts';
import type { NodeStore, StoredReport, StoredRequest } from '../store/store.ts';
import {
  BatchPartialCodec,
  CombinedCodec,
  PROTOCOL_ANNOUNCE,
  PROTOCOL_PARTIAL,
  PartialSignatureCodec,
  ReportAnnouncementCodec,
  RoundProposalCodec,
  decodeWire,
  type BatchProposal,
  type RangeCertificate,
  type Combined,
  type RoundProposal,
  type Topics,
} from '../wire.ts';
import { packDestination, unpackDestination } from './destination.ts';
import { UnknownModelError } from '../inference/errors.ts';
import { failureStatus, modelHashFromName } from './failure.ts';
import type { InferenceResult, Inferencer } from './inference.ts';
import { verifyGroupSignature, type ActiveKey } from './keys.ts';

export interface ChainRequest {
  /** e.g. `ethereum:31337` or `solana:localnet`; also the cursor name. */
  source: string;
  requestId: Uint8Array;
  model: string;
  /**
   * The model hash the chain request names (what the chain's commitment binds). A request that fails
   * validation is answered with a failure report carrying it; without it such a request only fails here.
   */
  modelHash?: Uint8Array;
  input: Uint8Array;
  /** Request block timestamp / slot time (unix seconds): the report timestamp. */
  timestamp: number;
  destination: Destination;
  /** Block number / slot processed; persisted so a restart resumes after it. */
  cursor?: bigint;
}

export interface FeedConfig {
  name: string;
  model: string;
  input: Uint8Array;
  intervalMs: number;
}

export interface RoundEngineOptions {
  domain: Uint8Array;
  index: number;
  store: NodeStore;
  host: DestraHost;
  topics: Topics;
  inference: Inferencer;
  metrics: NodeMetrics;
  activeKey: () => ActiveKey | undefined;
  maxSkewSeconds: number;
  timeoutMs: number;
  /** 'partial': one partial signature per report; 'announce': announce leaves, sign batch roots. */
  mode?: 'partial' | 'announce';
  log: Logger;
}

export interface RoundRecord {
  requestId: string;
  round: number;
  kind: number;
  model: string;
  status: string;
  latencyMs: number | null;
  signers: number[];
  invalid: number[];
  conflicting: number[];
  receivedAt: number;
}

const key = (id: Uint8Array, round: number): string => `${toHex(id)}:${round}`;
const KIND_NAME: Record<number, string> = { 1: 'request', 2: 'feed', 3: 'on-demand' };
const RESEND_MS = 5000;
/** Combined results nobody here waits for are verified in batches, this long after the first arrives. */
const COMBINED_BATCH_MS = 100;
const EXPIRE_MS = 10 * 60_000;
/** Largest input a chain request may carry (OracleRouter.MAX_INPUT_BYTES); a failure report stores it. */
const MAX_CHAIN_INPUT = 8 * 512;

export class RoundEngine {
  private readonly waiters = new Map<string, { resolve: (r: StoredReport) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly lastSent = new Map<string, { at: number; attempts: number }>();
  private readonly feedTimers: NodeJS.Timeout[] = [];
  private resendTimer: NodeJS.Timeout | undefined;
  /** Combined results waiting for the batched check, with their arrival time (round latency). */
  private combinedQueue: { msg: Combined; from: PeerInfo; at: number }[] = [];
  private combinedTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: RoundEngineOptions) {}

  start(): void {
    const { host, topics } = this.o;
    host.subscribe(topics.rounds, (data, from) => this.onProposalFrame(data, from));
    host.subscribe(topics.combined, (data, from) => this.onCombinedFrame(data, from));
    host.subscribe(topics.batches, (data, from) => this.onBatchFrame(data, from));
    this.resendTimer = setInterval(() => this.resendUnfinished(), RESEND_MS);
    this.resendTimer.unref();
    // Resume whatever a previous run left unfinished (signed partials are re-sent, never re-signed).
    for (const r of this.o.store.unfinishedRequests()) void this.process(r);
  }

  stop(): void {
    this.stopped = true;
    if (this.resendTimer) clearInterval(this.resendTimer);
    if (this.announceTimer) clearTimeout(this.announceTimer);
    if (this.combinedTimer) clearTimeout(this.combinedTimer);
    for (const t of this.feedTimers) clearInterval(t);
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new RoundError('NODE_STOPPING', 'node is shutting down', 503));
    }
    this.waiters.clear();
  }

  /** Resolves once every in-flight request has been processed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight.values()]);
  }

  private requireKey(): ActiveKey {
    const k = this.o.activeKey();
    if (!k) throw new RoundError('NO_KEY_SHARE', 'this node has no key share yet (DKG not finished); retry shortly', 503);
    return k;
  }

  // ---- inputs --------------------------------------------------------------------------------------

  /** HTTP on-demand: this node leads the round and waits for the threshold signature. */
  async submitOnDemand(model: string, input: Uint8Array): Promise<StoredReport> {
    const k = this.requireKey();
    if (model.length === 0 || model.length > 128) throw new RoundError('BAD_MODEL', 'model name must be 1..128 characters');
    // Validated before anything is stored or sent: a bad request costs this node nothing and the
    // committee never hears of it.
    this.o.inference.validate(model, input);
    const proposal: RoundProposal = {
      type: 'round-proposal',
      v: 1,
      epoch: k.epoch,
      leader: this.o.index,
      requestId: new Uint8Array(randomBytes(32)),
      model,
      input,
      timestamp: Math.floor(Date.now() / 1000),
      round: 0,
    };
    const frame = RoundProposalCodec.encode(proposal); // validates sizes before anything is stored
    const done = this.waitFor(proposal.requestId, 0);
    this.accept({
      requestId: proposal.requestId,
      round: 0,
      source: 'http',
      kind: ReportKind.OnDemand,
      epoch: k.epoch,
      model,
      input,
      timestamp: proposal.timestamp,
      destination: packDestination(anyDestination()),
      leader: this.o.index,
    });
    const published = this.o.host.publish(this.o.topics.rounds, frame).catch((err) => this.o.log.warn({ err: (err as Error).message }, 'round proposal not published'));
    // Both promises are awaited together: `done` may settle (resolve or reject) while the proposal is
    // still being published, and a rejection must never be left without a handler.
    const [report] = await Promise.all([done, published]);
    return report;
  }

  /**
   * A request seen on a chain: every node sees the same event and answers it independently. One whose
   * model or input fails validation is answered too, with a failure report (status from failureStatus):
   * the chain then closes it and refunds the requester instead of letting it wait for its deadline.
   */
  onChainRequest(r: ChainRequest): void {
    const k = this.o.activeKey();
    let invalid = this.validationError(r.model, r.input);
    // Served under this name but not with the hash the chain names (e.g. the registry moved to another
    // version): the committee does not serve the requested model, and an answer could never settle.
    if (!invalid && r.modelHash && !this.serves(r.model, r.modelHash)) invalid = new UnknownModelError(toHex(r.modelHash), [r.model]);
    if (invalid) {
      const status = failureStatus(invalid);
      const modelHash = r.modelHash ?? modelHashFromName(r.model);
      if (status !== undefined && modelHash && modelHash.length === 32 && r.input.length <= MAX_CHAIN_INPUT) {
        // The model is stored by the hash the chain names: compute() re-validates against it and signs a
        // failure report binding that hash and keccak256(input), as the chain's commitment expects.
        this.o.metrics.rounds.inc({ kind: 'request', outcome: 'invalid-input' });
        this.o.log.warn({ requestId: toHex(r.requestId), source: r.source, status: reportStatusName(status), err: invalid.message }, 'chain request fails validation: answering with a failure report');
        this.accept({ requestId: r.requestId, round: 0, source: r.source, kind: ReportKind.Request, epoch: k?.epoch ?? 0, model: toHex(modelHash), input: r.input, timestamp: r.timestamp, destination: packDestination(r.destination), leader: null });
        if (r.cursor !== undefined) this.o.store.setCursor(r.source, r.cursor);
        return;
      }
      // Recorded once as failed (the chain event is paid for and will not be re-delivered), never run.
      const fresh = this.o.store.addRequest({ requestId: r.requestId, round: 0, source: r.source, kind: ReportKind.Request, epoch: k?.epoch ?? 0, model: r.model.slice(0, 128), input: new Uint8Array(0), timestamp: r.timestamp, destination: packDestination(r.destination), leader: null });
      if (fresh) {
        this.o.store.setRequestStatus(r.requestId, 0, 'failed', invalid.message.slice(0, 500));
        this.o.metrics.rounds.inc({ kind: 'request', outcome: 'invalid-input' });
        this.o.log.warn({ requestId: toHex(r.requestId), source: r.source, err: invalid.message }, 'chain request refused: invalid input');
      }
      if (r.cursor !== undefined) this.o.store.setCursor(r.source, r.cursor);
      return;
    }
    this.accept({
      requestId: r.requestId,
      round: 0,
      source: r.source,
      kind: ReportKind.Request,
      epoch: k?.epoch ?? 0,
      model: r.model,
      input: r.input,
      timestamp: r.timestamp,
      destination: packDestination(r.destination),
      leader: null,
    });
    if (r.cursor !== undefined) this.o.store.setCursor(r.source, r.cursor);
  }

  /** Starts periodic rounds per feed: round = floor(now / interval), timestamp = the round's start. */
  startFeeds(feeds: readonly FeedConfig[]): void {
    for (const f of feeds) {
      const invalid = this.inputError(f.model, f.input);
      if (invalid) throw new ConfigError(`feed '${f.name}': ${invalid}`, 'feeds');
    }
    for (const f of feeds) {
      const tick = (): void => this.feedTick(f, Date.now());
      const t = setInterval(tick, f.intervalMs);
      t.unref();
      this.feedTimers.push(t);
    }
  }

  feedTick(f: FeedConfig, nowMs: number): void {
    const k = this.o.activeKey();
    if (!k) return;
    const round = Math.floor(nowMs / f.intervalMs);
    this.accept({
      requestId: feedId(f.name),
      round,
      source: `feed:${f.name}`,
      kind: ReportKind.Feed,
      epoch: k.epoch,
      model: f.model,
      input: f.input,
      timestamp: Math.floor((round * f.intervalMs) / 1000),
      destination: packDestination(anyDestination()),
      leader: null,
    });
  }

  private onProposalFrame(data: Uint8Array, from: PeerInfo): void {
    let p: RoundProposal;
    try {
      p = RoundProposalCodec.decode(data);
    } catch (err) {
      return this.reject(from, 'malformed', (err as Error).message);
    }
    if (from.role !== 'member' || from.index !== p.leader) return this.reject(from, 'impersonation', `proposal names leader ${p.leader} but came from ${from.role} ${from.index}`);
    const k = this.o.activeKey();
    if (!k || k.epoch !== p.epoch) return this.reject(from, 'epoch', `proposal for epoch ${p.epoch}, active epoch ${k?.epoch ?? 'none'}`);
    const skew = Math.abs(Math.floor(Date.now() / 1000) - p.timestamp);
    if (skew > this.o.maxSkewSeconds) return this.reject(from, 'skew', `proposal timestamp is ${skew}s away from local time (max ${this.o.maxSkewSeconds}s)`);
    // A hostile leader's junk is refused here, before it is stored.
    const invalid = this.inputError(p.model, p.input);
    if (invalid) return this.reject(from, 'invalid-input', invalid);
    this.accept({
      requestId: p.requestId,
      round: p.round,
      source: 'proposal',
      kind: ReportKind.OnDemand,
      epoch: p.epoch,
      model: p.model,
      input: p.input,
      timestamp: p.timestamp,
      destination: packDestination(anyDestination()),
      leader: p.leader,
    });
  }

  /** The validation error of a model + input, or undefined when it may be run. */
  private inputError(model: string, input: Uint8Array): string | undefined {
    return this.validationError(model, input)?.message;
  }

  private serves(model: string, modelHash: Uint8Array): boolean {
    try {
      return toHex(this.o.inference.modelHash(model)) === toHex(modelHash);
    } catch {
      return false;
    }
  }

  private validationError(model: string, input: Uint8Array): Error | undefined {
    try {
      this.o.inference.validate(model, input);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  private reject(from: PeerInfo, reason: string, detail: string): void {
    this.o.metrics.rejected.inc({ reason });
    this.o.log.warn({ from, reason, detail }, 'message rejected');
  }

  private accept(r: Omit<StoredRequest, 'status' | 'error' | 'receivedAt'>): void {
    if (this.stopped) return;
    const fresh = this.o.store.addRequest(r);
    if (!fresh) return; // already known (duplicate event, re-delivered proposal)
    const stored = this.o.store.getRequest(r.requestId, r.round)!;
    void this.process(stored);
  }

  // ---- processing ----------------------------------------------------------------------------------

  private process(r: StoredRequest): Promise<void> {
    const k = key(r.requestId, r.round);
    const running = this.inflight.get(k);
    if (running) return running;
    const p = this.run(r)
      .catch((err: Error) => this.onRoundFailed(r, err))
      // The failure path touches SQLite; during shutdown that can throw too. Never leave it unhandled.
      .catch((err: Error) => this.o.log.error({ requestId: toHex(r.requestId), round: r.round, err: err.message }, 'round failure could not be recorded'))
      .finally(() => this.inflight.delete(k));
    this.inflight.set(k, p);
    return p;
  }

  private onRoundFailed(r: StoredRequest, err: Error): void {
    const k = key(r.requestId, r.round);
    if (err instanceof RoundError && err.code === 'NO_KEY_SHARE' && r.source !== 'http') {
      this.o.log.info({ requestId: toHex(r.requestId) }, 'request waits for the key share');
      return; // stays pending; the re-send loop retries once the DKG has finished
    }
    const outcome = err instanceof DoubleSignError ? 'double-sign-refused' : 'failed';
    this.o.metrics.rounds.inc({ kind: KIND_NAME[r.kind] ?? 'unknown', outcome });
    this.o.log.error({ requestId: toHex(r.requestId), round: r.round, err: err.message }, 'round failed');
    this.lastSent.delete(k);
    const w = this.waiters.get(k);
    if (w) {
      clearTimeout(w.timer);
      this.waiters.delete(k);
      w.reject(err);
    }
    if (!this.stopped) this.o.store.setRequestStatus(r.requestId, r.round, 'failed', err.message.slice(0, 500));
  }

  private async run(r: StoredRequest): Promise<void> {
    const announce = this.o.mode === 'announce';
    const existing = this.o.store.ownPartial(r.requestId, r.round);
    if (existing && (existing.signature || (announce && r.status === 'signed'))) {
      await this.send(r, existing.report, existing.digest, existing.signature, existing.epoch);
      return;
    }
    const k = this.requireKey();
    if (r.epoch !== k.epoch && r.kind !== ReportKind.Request) {
      throw new RoundError('EPOCH', `request belongs to epoch ${r.epoch}, active epoch is ${k.epoch}`);
    }
    // A digest reserved before a crash is signed as is; only a request never reserved runs inference.
    const reserved = existing ?? (await this.compute(r, k));
    // Batch mode commits to the leaf here and signs only batch roots; partial mode signs the leaf.
    let signature: Uint8Array | null = null;
    if (!announce) {
      // H(m) is memoised by the protocol, so the Combined check for this digest does not hash again.
      signature = signPartial(k.share, rootSigningMessage(reserved.digest)).signature;
    }
    this.o.store.markSigned(r.requestId, r.round, signature);
    await this.send(r, reserved.report, reserved.digest, signature, k.epoch);
  }

  /**
   * Inference → report bytes → leaf, reserved in SQLite before anything is signed or announced. A chain
   * request whose model/input is refused (or whose output is not representable) gets a failure report.
   */
  private async compute(r: StoredRequest, k: ActiveKey): Promise<{ report: Uint8Array; digest: Uint8Array }> {
    const t0 = performance.now();
    let inf: InferenceResult;
    let status: ReportStatus = ReportStatus.Ok;
    try {
      inf = await this.o.inference.infer(r.model, r.input);
      this.o.metrics.inferenceSeconds.observe((performance.now() - t0) / 1000);
      this.o.metrics.inferenceRows.inc({ model: r.model });
    } catch (err) {
      const failed = r.kind === ReportKind.Request ? this.failureAnswer(r, err) : undefined;
      if (!failed) throw err;
      ({ inf, status } = failed);
    }
    const report = encodeReport({
      kind: r.kind as ReportKind,
      domain: this.o.domain,
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
    return this.o.store.reservePartial({ requestId: r.requestId, round: r.round, epoch: k.epoch, digest: reportLeaf(report), report });
  }

  /** The failure report body for a chain request stopped by `err`, or undefined when `err` is not signed. */
  private failureAnswer(r: StoredRequest, err: unknown): { inf: InferenceResult; status: ReportStatus } | undefined {
    const status = failureStatus(err);
    if (status === undefined) return undefined;
    let modelHash = modelHashFromName(r.model);
    if (!modelHash) {
      try {
        modelHash = this.o.inference.modelHash(r.model);
      } catch {
        return undefined;
      }
    }
    this.o.log.info({ requestId: toHex(r.requestId), status: reportStatusName(status) }, 'signing a failure report');
    return { status, inf: { modelHash, inputHash: inputHash(r.input), output: [] } };
  }

  private async send(r: StoredRequest, report: Uint8Array, digest: Uint8Array, signature: Uint8Array | null, epoch: number): Promise<void> {
    const aggregators = this.o.host.peersWithRole('aggregator');
    const k = key(r.requestId, r.round);
    this.lastSent.set(k, { at: Date.now(), attempts: (this.lastSent.get(k)?.attempts ?? 0) + 1 });
    if (aggregators.length === 0) {
      this.o.log.debug({ requestId: toHex(r.requestId) }, 'no aggregator connected; kept for re-sending');
      return;
    }
    if (this.o.mode === 'announce' || !signature) {
      this.queueAnnouncement(epoch, r.requestId, digest, report);
      return;
    }
    const frame = PartialSignatureCodec.encode({ type: 'partial', v: 1, epoch, requestId: r.requestId, round: r.round, index: this.o.index, report, digest, signature });
    await this.deliver(PROTOCOL_PARTIAL, frame, 1);
  }

  private async deliver(protocol: string, frame: Uint8Array, count: number): Promise<void> {
    await Promise.all(
      this.o.host.peersWithRole('aggregator').map((a) =>
        this.o.host
          .sendDirect(a.peerId, protocol, frame)
          .then(() => this.o.metrics.partialsSent.inc(count))
          .catch((err) => this.o.log.warn({ aggregator: a.index, protocol, err: (err as Error).message }, 'message to aggregator not delivered')),
      ),
    );
  }

  // Batch mode: announcements are coalesced for a few milliseconds into one frame per aggregator.
  private announceQueue: { epoch: number; requestIds: Uint8Array[]; leaves: Uint8Array[]; reports: Uint8Array[] } | undefined;
  private announceTimer: NodeJS.Timeout | undefined;

  private queueAnnouncement(epoch: number, requestId: Uint8Array, leaf: Uint8Array, report: Uint8Array): void {
    if (this.announceQueue && this.announceQueue.epoch !== epoch) this.flushAnnouncements();
    const q = (this.announceQueue ??= { epoch, requestIds: [], leaves: [], reports: [] });
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
    const frame = ReportAnnouncementCodec.encode({ type: 'report-announce', v: 1, epoch: q.epoch, index: this.o.index, requestIds: q.requestIds, leaves: q.leaves, reports: q.reports });
    void this.deliver(PROTOCOL_ANNOUNCE, frame, q.leaves.length);
  }

  private resendUnfinished(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const r of this.o.store.unfinishedRequests()) {
      const k = key(r.requestId, r.round);
      if (this.inflight.has(k)) continue;
      if (now - r.receivedAt > EXPIRE_MS) {
        this.o.store.setRequestStatus(r.requestId, r.round, 'failed', 'no threshold signature within 10 minutes');
        this.lastSent.delete(k);
        this.o.metrics.rounds.inc({ kind: KIND_NAME[r.kind] ?? 'unknown', outcome: 'expired' });
        continue;
      }
      // Re-send with exponential backoff (5 s, 10 s, ... 30 s): the aggregator may be down or slow.
      const last = this.lastSent.get(k);
      const wait = last ? Math.min(30_000, RESEND_MS * 2 ** (last.attempts - 1)) : RESEND_MS;
      if (now - (last?.at ?? 0) >= wait) void this.process(r);
    }
  }

  // ---- results -------------------------------------------------------------------------------------

  private onCombinedFrame(data: Uint8Array, from: PeerInfo): void {
    if (from.role !== 'aggregator') return this.reject(from, 'role', 'Combined results are accepted from aggregators only');
    let msg: Combined;
    try {
      msg = decodeCombined(data);
    } catch (err) {
      return this.reject(from, 'malformed', (err as Error).message);
    }
    // A result someone here waits for (the leader's HTTP caller) is checked and delivered at once. The
    // others only update local state, so they are checked a little later in one multi-message batch,
    // off the critical path of the rounds in progress.
    const awaited = msg.entries.some((e) => this.waitingFor(e.requestId));
    if (!awaited) {
      this.combinedQueue.push({ msg, from, at: Date.now() });
      this.combinedTimer ??= setTimeout(() => this.flushCombined(), COMBINED_BATCH_MS);
      return;
    }
    try {
      this.acceptCombined(msg);
    } catch (err) {
      this.reject(from, 'combined-invalid', (err as Error).message);
    }
  }

  private waitingFor(requestId: Uint8Array): boolean {
    const prefix = `${toHex(requestId)}:`;
    for (const k of this.waiters.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  /** Verifies the queued Combined results together, then stores each one that verified. */
  private flushCombined(): void {
    this.combinedTimer = undefined;
    const queue = this.combinedQueue;
    this.combinedQueue = [];
    const k = this.o.activeKey();
    if (!k || this.stopped) return;
    const ok = k.groupVerifier.verifyMany(queue.map(({ msg }) => ({ msg: rootSigningMessage(msg.root), partial: { index: 1, signature: msg.signature } })));
    queue.forEach(({ msg, from, at }, i) => {
      try {
        if (!ok[i]) throw new RoundError('SIGNATURE', 'Combined signature does not verify under the group key');
        this.acceptCombined(msg, true, at);
      } catch (err) {
        this.reject(from, 'combined-invalid', (err as Error).message);
      }
    });
  }

  /** Verifies a Combined result against the group key (unless the caller just did) and stores every report in it. */
  acceptCombined(msg: Combined, signatureVerified = false, receivedAt = Date.now()): void {
    const k = this.o.activeKey();
    if (!k || k.epoch !== msg.epoch) throw new RoundError('EPOCH', `Combined for epoch ${msg.epoch}, active epoch ${k?.epoch ?? 'none'}`);
    const leaves = msg.entries.map((e) => reportLeaf(e.report));
    const tree = buildMerkleTree(leaves);
    if (!eq(tree.root, msg.root)) throw new RoundError('ROOT', 'Combined root does not match its reports');
    if (!signatureVerified && !verifyGroupSignature(k, rootSigningMessage(msg.root), msg.signature)) throw new RoundError('SIGNATURE', 'Combined signature does not verify under the group key');
    const now = receivedAt; // round latency ends when the result arrived, not when a batched check ran
    const resolved: [string, StoredReport][] = [];
    this.o.store.batch(() => msg.entries.forEach((e, i) => {
      const rep = decodeReport(e.report);
      if (!eq(rep.id, e.requestId)) throw new RoundError('ENTRY', `entry ${i} request id differs from its report id`);
      const round = Number(rep.round);
      const req = this.o.store.getRequest(e.requestId, round);
      const latencyMs = req ? now - req.receivedAt : null;
      const stored: StoredReport = {
        requestId: e.requestId,
        round,
        epoch: msg.epoch,
        report: e.report,
        root: msg.root,
        signature: msg.signature,
        proof: msg.entries.length === 1 ? [] : merkleProof(tree, i),
        signers: msg.signers,
        invalid: msg.invalid,
        conflicting: msg.conflicting,
        latencyMs,
        combinedAt: now,
      };
      this.o.store.saveReport(stored);
      if (req && req.status !== 'done') {
        this.o.store.setRequestStatus(e.requestId, round, 'done');
        this.lastSent.delete(key(e.requestId, round));
        const kind = KIND_NAME[req.kind] ?? 'unknown';
        this.o.metrics.rounds.inc({ kind, outcome: 'combined' });
        if (latencyMs !== null) this.o.metrics.roundLatency.observe({ kind }, latencyMs / 1000);
      }
      resolved.push([key(e.requestId, round), stored]);
    }));
    for (const [k, stored] of resolved) {
      const w = this.waiters.get(k);
      if (w) {
        clearTimeout(w.timer);
        this.waiters.delete(k);
        w.resolve(stored);
      }
    }
  }

  private waitFor(requestId: Uint8Array, round: number): Promise<StoredReport> {
    return new Promise((resolve, reject) => {
      const k = key(requestId, round);
      const timer = setTimeout(() => {
        this.waiters.delete(k);
        reject(
          new RoundError('TIMEOUT', `no threshold signature within ${this.o.timeoutMs} ms; the round may still complete: fetch GET /v1/reports/${toHex(requestId)} later`, 504, {
            requestId: toHex(requestId),
          }),
        );
      }, this.o.timeoutMs);
      this.waiters.set(k, { resolve, reject, timer });
    });
  }

  // ---- batches -------------------------------------------------------------------------------------

  private onBatchFrame(data: Uint8Array, from: PeerInfo): void {
    if (from.role !== 'aggregator') return this.reject(from, 'role', 'BatchProposals are accepted from aggregators only');
    let msg: BatchProposal | RangeCertificate;
    try {
      msg = decodeBatchTopic(data);
    } catch (err) {
      return this.reject(from, 'malformed', (err as Error).message);
    }
    if (msg.type === 'range-certificate') return; // for range members (aggregator/src/member/range-member.ts)
    void this.signBatch(msg, from).catch((err) => this.reject(from, 'batch-refused', (err as Error).message));
  }

  /** Signs a batch root iff every leaf is a report this node computed itself for that request id. */
  async signBatch(msg: BatchProposal, from: PeerInfo): Promise<void> {
    const k = this.requireKey();
    if (msg.epoch !== k.epoch) throw new RoundError('EPOCH', `batch for epoch ${msg.epoch}, active epoch ${k.epoch}`);
    for (let i = 0; i < msg.leaves.length; i++) {
      if (!this.o.store.hasOwnLeaf(msg.requestIds[i]!, msg.leaves[i]!)) {
        throw new RoundError('FOREIGN_LEAF', `batch ${msg.batchId} leaf ${i} is not a report this node computed for request ${toHex(msg.requestIds[i]!)}`);
      }
    }
    const root = merkleRoot(msg.leaves);
    const signature = this.o.store.recordBatchPartial(msg.epoch, msg.batchId, root, () => signPartial(k.share, rootSigningMessage(root)).signature);
    const frame = BatchPartialCodec.encode({ type: 'batch-partial', v: 1, epoch: msg.epoch, batchId: msg.batchId, index: this.o.index, root, signature });
    await this.o.host.sendDirect(from.peerId, PROTOCOL_PARTIAL, frame);
    this.o.metrics.batchPartials.inc();
  }

  // ---- views ---------------------------------------------------------------------------------------

  recentRounds(limit = 50): RoundRecord[] {
    const rows = this.o.store.db
      .prepare(
        `SELECT q.request_id, q.round, q.kind, q.model, q.status, q.received_at, r.latency_ms, r.signers, r.invalid, r.conflicting
         FROM requests q LEFT JOIN reports r ON r.request_id = q.request_id AND r.round = q.round
         ORDER BY q.received_at DESC LIMIT ?`,
      )
      .all(limit) as Record<string, unknown>[];
    return rows.map((row) => ({
      requestId: toHex(new Uint8Array(row.request_id as Buffer)),
      round: Number(row.round),
      kind: Number(row.kind),
      model: String(row.model),
      status: String(row.status),
      latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
      signers: row.signers ? (JSON.parse(String(row.signers)) as number[]) : [],
      invalid: row.invalid ? (JSON.parse(String(row.invalid)) as number[]) : [],
      conflicting: row.conflicting ? (JSON.parse(String(row.conflicting)) as number[]) : [],
      receivedAt: Number(row.received_at),
    }));
  }
}

const decodeCombined = (d: Uint8Array): Combined => CombinedCodec.decode(d);
const decodeBatchTopic = (d: Uint8Array): BatchProposal | RangeCertificate => decodeWire(d, ['batch-proposal', 'range-certificate']) as BatchProposal | RangeCertificate;
const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
