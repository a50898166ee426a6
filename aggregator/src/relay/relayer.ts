// Relaying signed reports to the chain(s) they are for. Several aggregators may relay the same result:
// contracts reject replays, so a relay first asks whether the request is already fulfilled, staggers by
// aggregator rank, and on a failed submission checks again before retrying with backoff.
import { ChainType, decodeReport } from '@destra/protocol';
import { RelayError } from '../errors.ts';

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
}

export type RelayOutcome =
  | { chain: ChainName; status: 'submitted'; tx: string; attempts: number }
  | { chain: ChainName; status: 'already-fulfilled'; attempts: number }
  | { chain: ChainName; status: 'failed'; error: RelayError; attempts: number };

export interface RelayerOptions {
  /** Attempts per chain before giving up (≥ 1). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, with ±50% jitter. */
  baseDelayMs?: number;
  /** This aggregator's rank among aggregators (0 = first): later ranks wait rank × staggerMs before relaying. */
  rank?: number;
  staggerMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Relayer {
  private readonly sinks: Map<ChainName, ChainSink>;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly stagger: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(sinks: readonly ChainSink[], opts: RelayerOptions = {}) {
    this.sinks = new Map(sinks.map((s) => [s.chain, s]));
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.stagger = (opts.rank ?? 0) * (opts.staggerMs ?? 500);
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
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
    if (this.stagger > 0) await this.sleep(this.stagger);
    return Promise.all(targets.map((s) => this.relayTo(s, item)));
  }

  private async relayTo(sink: ChainSink, item: SignedReport): Promise<RelayOutcome> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
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
        if (attempt < this.maxAttempts) {
          const delay = this.baseDelayMs * 2 ** (attempt - 1) * (0.5 + this.random());
          await this.sleep(delay);
        }
      }
    }
    const msg = lastError instanceof Error ? lastError.message : String(lastError);
    return {
      chain: sink.chain,
      status: 'failed',
      attempts: this.maxAttempts,
      error: new RelayError(sink.chain, `gave up after ${this.maxAttempts} attempts: ${msg}; check the RPC endpoint and the relayer account balance`),
    };
  }
}
