// Relaying signed reports to the chain(s) they are for. Several aggregators may relay the same result:
// contracts reject replays, so a relay first asks whether the request is already fulfilled, staggers by
// aggregator rank, and on a failed submission checks again before retrying with backoff.
import { ChainType, decodeReport } from '@destra/protocol';
import { RelayError } from '../errors.ts';
import { watchRelay, type RelayObserver, type RelayWatch } from './observer.ts';

/** A report with everything a verifier contract needs: signature over signingMessage(0x01, root). */
export interface SignedReport {
  requestId: Uint8Array;
  report: Uint8Array;
  root: Uint8Array;
  /** Merkle proof from reportLeaf(report) to root; empty for a single-report round. */
  proof: Uint8Array[];
  signature: Uint8Array;
}

export type ChainName = 'ethereum' | 'solana';

/** One chain the relayer can land reports on (implemented over the chain adapters). */
export interface ChainSink {
  readonly chain: ChainName;
  /** Report destination chain type this sink serves (on-demand reports, type Any, go where asked). */
  readonly chainType: ChainType;
  isFulfilled(item: SignedReport): Promise<boolean>;
  /** Submits; resolves with a transaction id/signature once it landed, rejects when it did not. */
  submit(item: SignedReport): Promise<string>;
  /**
   * Until when (unix ms) the report can still land (a request's deadline), or null when it has none.
   * Sinks that implement it are retried until then, through RPC errors and empty balances; others get
   * `maxAttempts`.
   */
  deadlineOf?(item: SignedReport): Promise<number | null>;
  /** True for an error no retry can fix (the contract rejects this report: bad signature, wrong input…). */
  isPermanent?(err: unknown): boolean;
}

/** Where the relayer keeps what it has not landed yet, so a restarted aggregator relays it again. */
export interface RelayJournal {
  add(chain: ChainName, item: SignedReport): void;
  remove(chain: ChainName, requestId: Uint8Array): void;
  pending(): { chain: ChainName; item: SignedReport }[];
}

export type RelayOutcome =
  | { chain: ChainName; status: 'submitted'; tx: string; attempts: number }
  | { chain: ChainName; status: 'already-fulfilled'; attempts: number }
  | { chain: ChainName; status: 'failed'; error: RelayError; attempts: number };

/** How long a relay with a deadline may keep trying after a failed attempt before the deadline ends it. */
const DEADLINE_SLACK_MS = 5_000;

export interface RelayerOptions {
  /** Attempts per chain before giving up (≥ 1), for reports whose sink knows no deadline. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt (up to maxDelayMs), with ±50% jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Pending relays survive a restart here (see resume()). */
  journal?: RelayJournal;
  now?: () => number;
  /** This aggregator's rank among aggregators (0 = first): later ranks wait rank × staggerMs before relaying. */
  rank?: number;
  staggerMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told when each relay starts, fails an attempt and ends (the status endpoint's relay log). */
  observer?: RelayObserver;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Relayer {
  private readonly sinks: Map<ChainName, ChainSink>;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly journal: RelayJournal | undefined;
  private readonly now: () => number;
  private readonly stagger: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly observer: RelayObserver | undefined;

  constructor(sinks: readonly ChainSink[], opts: RelayerOptions = {}) {
    this.sinks = new Map(sinks.map((s) => [s.chain, s]));
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.journal = opts.journal;
    this.now = opts.now ?? Date.now;
    this.stagger = (opts.rank ?? 0) * (opts.staggerMs ?? 500);
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
    this.observer = opts.observer;
  }

  /** Chains a report goes to: its destination chain, or for chain-agnostic reports the ones asked for. */
  targetsOf(item: SignedReport, onDemandTargets: readonly ChainName[] = []): ChainSink[] {
    const r = decodeReport(item.report);
    if (r.destination.chainType === ChainType.Any) {
      return onDemandTargets.map((c) => {
        const s = this.sinks.get(c);
        if (!s) throw new RelayError(c, `no ${c} sink configured; start the aggregator with that chain enabled`);
        return s;
      });
    }
    const sink = [...this.sinks.values()].find((s) => s.chainType === r.destination.chainType);
    if (!sink) throw new RelayError(r.destination.chainType === ChainType.Evm ? 'ethereum' : 'solana', 'no sink configured for the report destination');
    return [sink];
  }

  /** Relays to every target concurrently; never throws for chain failures (they are in the outcomes). */
  async relay(item: SignedReport, onDemandTargets: readonly ChainName[] = []): Promise<RelayOutcome[]> {
    const targets = this.targetsOf(item, onDemandTargets);
    for (const s of targets) this.journal?.add(s.chain, item);
    if (this.stagger > 0) await this.sleep(this.stagger);
    return Promise.all(targets.map((s) => this.relayTo(s, item)));
  }

  /** Relays again whatever a previous run left pending (journal); resolves with every outcome. */
  async resume(): Promise<RelayOutcome[]> {
    const pending = this.journal?.pending() ?? [];
    return Promise.all(
      pending.map(({ chain, item }) => {
        const sink = this.sinks.get(chain);
        if (sink) return this.relayTo(sink, item);
        this.journal?.remove(chain, item.requestId);
        return { chain, status: 'failed' as const, attempts: 0, error: new RelayError(chain, `a pending relay to ${chain} was dropped: no ${chain} sink is configured now`) };
      }),
    );
  }

  private async relayTo(sink: ChainSink, item: SignedReport): Promise<RelayOutcome> {
    const watch = watchRelay(this.observer, { kind: 'report', chain: sink.chain, requestIds: [item.requestId] });
    const out = await this.attempts(sink, item, watch);
    this.journal?.remove(sink.chain, item.requestId);
    watch.finished(out);
    return out;
  }

  /**
   * Tries until the report lands (or another relayer landed it). A report with a deadline (a request) is
   * retried with backoff until the deadline has passed — through RPC outages and an empty relayer
   * balance; one without, `maxAttempts` times.
   */
  private async attempts(sink: ChainSink, item: SignedReport, watch: RelayWatch): Promise<RelayOutcome> {
    let lastError: unknown;
    let deadline: number | null | undefined; // undefined: not known yet (asked again after failures)
    for (let attempt = 1; ; attempt++) {
      try {
        if (await sink.isFulfilled(item)) return { chain: sink.chain, status: 'already-fulfilled', attempts: attempt };
        const tx = await sink.submit(item);
        return { chain: sink.chain, status: 'submitted', tx, attempts: attempt };
      } catch (err) {
        lastError = err;
        // A revert is most often another aggregator landing it first: check before retrying.
        try {
          if (await sink.isFulfilled(item)) return { chain: sink.chain, status: 'already-fulfilled', attempts: attempt };
        } catch {
          /* chain unreachable: fall through to backoff */
        }
        if (sink.isPermanent?.(err)) {
          return { chain: sink.chain, status: 'failed', attempts: attempt, error: new RelayError(sink.chain, `rejected: ${(err as Error).message}`) };
        }
        watch.attemptFailed(attempt, err);
      }
      if (deadline === undefined && sink.deadlineOf) deadline = await sink.deadlineOf(item).catch(() => undefined);
      const bounded = !sink.deadlineOf || deadline === null;
      const expired = typeof deadline === 'number' && this.now() > deadline + DEADLINE_SLACK_MS;
      if (bounded ? attempt >= this.maxAttempts : expired) {
        const msg = lastError instanceof Error ? lastError.message : String(lastError);
        const why = bounded ? `gave up after ${attempt} attempts` : `the request's deadline passed after ${attempt} attempts`;
        return { chain: sink.chain, status: 'failed', attempts: attempt, error: new RelayError(sink.chain, `${why}: ${msg}; check the RPC endpoint and the relayer account balance`) };
      }
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(attempt - 1, 20)) * (0.5 + this.random());
      await this.sleep(delay);
    }
  }
}
