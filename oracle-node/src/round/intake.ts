// Request intake: chain watchers, HTTP on-demand (this node leads), feeds and leader proposals become
// stored requests, validated before anything is stored or signed, then handed to the signer.
import { randomBytes } from 'node:crypto';
import { ReportKind, anyDestination, feedId, inputHash, onDemandRequestId, reportStatusName, toHex } from '@destra/protocol';
import { ConfigError, RoundError } from '../errors.ts';
import { UnknownModelError } from '../inference/errors.ts';
import type { PeerInfo } from '../p2p/host.ts';
import type { StoredReport, StoredRequest } from '../store/store.ts';
import { RoundProposalCodec, type RoundProposal } from '../wire.ts';
import type { RoundContext } from './context.ts';
import { packDestination } from './destination.ts';
import { failureStatus, modelHashFromName } from './failure.ts';
import type { PartialSigner } from './signer.ts';
import type { ChainRequest, FeedConfig } from './types.ts';

/** Largest input a chain request may carry (OracleRouter.MAX_INPUT_BYTES); a failure report stores it. */
const MAX_CHAIN_INPUT = 8 * 512;

export class RequestIntake {
  private readonly feedTimers: NodeJS.Timeout[] = [];

  constructor(
    private readonly c: RoundContext,
    private readonly signer: PartialSigner,
  ) {}

  stop(): void {
    for (const t of this.feedTimers) clearInterval(t);
  }

  /** HTTP on-demand: this node leads the round (under its index in the active epoch) and waits for the threshold signature. */
  async submitOnDemand(model: string, input: Uint8Array): Promise<StoredReport> {
    const { o } = this.c;
    const k = this.c.requireKey();
    if (model.length === 0 || model.length > 128) throw new RoundError('BAD_MODEL', 'model name must be 1..128 characters');
    // Validated before anything is stored or sent: a bad request costs this node nothing and the
    // committee never hears of it.
    o.inference.validate(model, input);
    const content = { domain: o.domain, epoch: k.epoch, leader: k.index, model, inputHash: inputHash(input), timestamp: Math.floor(Date.now() / 1000), round: 0, nonce: new Uint8Array(randomBytes(16)) };
    const proposal: RoundProposal = {
      type: 'round-proposal',
      v: 2,
      epoch: k.epoch,
      leader: k.index,
      requestId: onDemandRequestId(content),
      nonce: content.nonce,
      model,
      input,
      timestamp: content.timestamp,
      round: 0,
    };
    const frame = RoundProposalCodec.encode(proposal); // validates sizes before anything is stored
    const done = this.c.waiters.wait(proposal.requestId, 0);
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
      leader: k.index,
    });
    const published = o.host.publish(o.topics.rounds, frame).catch((err) => o.log.warn({ err: (err as Error).message }, 'round proposal not published'));
    // Both promises are awaited together: `done` may settle (resolve or reject) while the proposal is
    // still being published, and a rejection must never be left without a handler.
    const [report] = await Promise.all([done, published]);
    return report;
  }

  /**
   * A request seen on a chain: every node sees the same event and answers it independently. One whose
   * model or input fails validation is answered too, with a failure report (status from failureStatus):
   * the chain then closes it and refunds the requester instead of letting it wait for its deadline.
   * Stored with the active epoch (0 without a key: it waits for one); signed under whichever key is
   * active when it runs.
   */
  onChainRequest(r: ChainRequest): void {
    const { o } = this.c;
    const k = this.c.activeKey();
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
        o.metrics.rounds.inc({ kind: 'request', outcome: 'invalid-input' });
        o.log.warn({ requestId: toHex(r.requestId), source: r.source, status: reportStatusName(status), err: invalid.message }, 'chain request fails validation: answering with a failure report');
        this.accept({ requestId: r.requestId, round: 0, source: r.source, kind: ReportKind.Request, epoch: k?.epoch ?? 0, model: toHex(modelHash), input: r.input, timestamp: r.timestamp, destination: packDestination(r.destination), leader: null });
        if (r.cursor !== undefined) o.store.setCursor(r.source, r.cursor);
        return;
      }
      // Recorded once as failed (the chain event is paid for and will not be re-delivered), never run.
      const fresh = o.store.addRequest({ requestId: r.requestId, round: 0, source: r.source, kind: ReportKind.Request, epoch: k?.epoch ?? 0, model: r.model.slice(0, 128), input: new Uint8Array(0), timestamp: r.timestamp, destination: packDestination(r.destination), leader: null });
      if (fresh) {
        o.store.setRequestStatus(r.requestId, 0, 'failed', invalid.message.slice(0, 500));
        o.metrics.rounds.inc({ kind: 'request', outcome: 'invalid-input' });
        o.log.warn({ requestId: toHex(r.requestId), source: r.source, err: invalid.message }, 'chain request refused: invalid input');
      }
      if (r.cursor !== undefined) o.store.setCursor(r.source, r.cursor);
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
    if (r.cursor !== undefined) o.store.setCursor(r.source, r.cursor);
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
    const k = this.c.activeKey();
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

  /** A leader's on-demand proposal: only from the member that holds the named leader index in the proposal's epoch. */
  onProposalFrame(data: Uint8Array, from: PeerInfo): void {
    const { o } = this.c;
    let p: RoundProposal;
    try {
      p = RoundProposalCodec.decode(data);
    } catch (err) {
      return this.c.reject(from, 'malformed', (err as Error).message);
    }
    const sender = this.c.memberIndexOf(p.epoch, from);
    if (sender === undefined || sender !== p.leader) {
      return this.c.reject(from, 'impersonation', `proposal names leader ${p.leader} of epoch ${p.epoch} but came from ${from.role} ${from.index} (member index ${sender ?? 'none'} in that epoch)`);
    }
    // Nodes switch epochs a chain poll apart: a leader still on the old epoch, or already on the new one,
    // is followed while this node holds that epoch's share (the previous one, or the next one's from a
    // finished DKG), so on-demand rounds at the switch are answered rather than timing out.
    const k = this.c.activeKey();
    const near = k !== undefined && Math.abs(p.epoch - k.epoch) <= 1 && this.c.keyFor(p.epoch) !== undefined;
    if (!near) return this.c.reject(from, 'epoch', `proposal for epoch ${p.epoch}, active epoch ${k?.epoch ?? 'none'}, no key share of that epoch here`);
    const skew = Math.abs(Math.floor(Date.now() / 1000) - p.timestamp);
    if (skew > o.maxSkewSeconds) return this.c.reject(from, 'skew', `proposal timestamp is ${skew}s away from local time (max ${o.maxSkewSeconds}s)`);
    // A hostile leader's junk is refused here, before it is stored.
    const invalid = this.inputError(p.model, p.input);
    if (invalid) return this.c.reject(from, 'invalid-input', invalid);
    // The id must be the one its content gives: then no leader can put a second report under it, and the
    // signer may skip the fsync of its guard row for this round (signer.ts compute).
    const id = onDemandRequestId({ domain: o.domain, epoch: p.epoch, leader: p.leader, model: p.model, inputHash: inputHash(p.input), timestamp: p.timestamp, round: p.round, nonce: p.nonce });
    if (toHex(id) !== toHex(p.requestId)) return this.c.reject(from, 'request-id', `proposal id ${toHex(p.requestId)} is not the id of its content (${toHex(id)})`);
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
      return toHex(this.c.o.inference.modelHash(model)) === toHex(modelHash);
    } catch {
      return false;
    }
  }

  private validationError(model: string, input: Uint8Array): Error | undefined {
    try {
      this.c.o.inference.validate(model, input);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  private accept(r: Omit<StoredRequest, 'status' | 'error' | 'receivedAt'>): void {
    if (this.c.stopped) return;
    const fresh = this.c.o.store.addRequest(r);
    if (!fresh) {
      // Already known (duplicate event, re-delivered proposal). A chain that re-delivers a request it
      // still lists as pending may have refused an answer of an older epoch: see reopenIfStale.
      if (r.kind === ReportKind.Request) this.signer.reopenIfStale(r.requestId, r.round);
      return;
    }
    const stored = this.c.o.store.getRequest(r.requestId, r.round)!;
    void this.signer.process(stored);
  }
}
