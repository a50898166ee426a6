// Relaying certified ranges of a chain's request stream: all reports of a range under its one root
// signature (Ethereum: fulfillBatch; Solana: verify_root + post_batched_report). Durable like the per-report
// Relayer: a range is journaled before the first attempt and removed when it ends, so a restarted
// aggregator relays it again; attempts back off (doubling, ±50% jitter) until every request of the range
// has landed, the chain refuses the range for good, or the latest deadline of its open requests has passed.
import { ChainType, decodeReport, ReportKind, requestStream, toHex } from '@destra/protocol';
import { RelayError } from '../errors.ts';
import type { ChainName } from './relayer.ts';
import { watchRelay, type RelayObserver, type RelayWatch } from './observer.ts';

/** A range the committee certified, with its reports: what a chain needs to land it. */
export interface SignedRange {
  epoch: number;
  stream: Uint8Array;
  start: number;
  /** The range's reports in sequence order (the leaves of the signed tree). */
  reports: Uint8Array[];
  root: Uint8Array;
  /** The group signature over signingMessage(0x01, root), compressed G1. */
  signature: Uint8Array;
}

/** One chain that can land ranges (implemented over the chain adapters). */
export interface RangeSink {
  readonly chain: ChainName;
  readonly chainType: ChainType;
  /** The request stream it lands ranges of (requestStream of its router / program). */
  readonly stream: Uint8Array;
  /** How many requests of the range can still land (0: nothing left to do). */
  openCount(range: SignedRange): Promise<number>;
  /** Lands every open request of the range (it reads which are open); resolves with the transaction ids (empty when nothing was open). */
  submitRange(range: SignedRange): Promise<string[]>;
  /** Until when (unix ms) an open request of the range can still land; null when none is open. */
  deadlineOf(range: SignedRange): Promise<number | null>;
  /** True for an error no retry can fix (the chain refuses the range: bad signature or root). */
  isPermanent?(err: unknown): boolean;
}

export interface RangeJournal {
  addRange(chain: ChainName, range: SignedRange): void;
  removeRange(chain: ChainName, range: SignedRange): void;
  pendingRanges(): { chain: ChainName; range: SignedRange }[];
}

export type RangeOutcome =
  | { chain: ChainName; status: 'submitted'; txs: string[]; attempts: number }
  | { chain: ChainName; status: 'already-fulfilled'; attempts: number }
  | { chain: ChainName; status: 'failed'; error: RelayError; attempts: number };

export interface RangeRelayerOptions {
  journal?: RangeJournal;
  /** Told when each range relay starts, fails an attempt and ends (the status endpoint's relay log). */
  observer?: RelayObserver;
  /** This aggregator's rank (0 = first): later ranks wait rank × staggerMs, then relay only what is still open. */
  rank?: number;
  staggerMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts (×4) before giving up while the chain cannot even be asked for the deadline. */
  maxAttempts?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Keeps trying this long past the latest deadline (clock skew against the chain). */
const DEADLINE_SLACK_MS = 5_000;
const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Key of a range in the journal and in logs. */
export const rangeKey = (r: Pick<SignedRange, 'epoch' | 'stream' | 'start' | 'reports'>): string =>
  `${r.epoch}:${toHex(r.stream).slice(2)}:${r.start}+${r.reports.length}`;

/** The request ids a range answers (its reports' ids; a report that does not decode is left out). */
function requestIdsOf(range: SignedRange): Uint8Array[] {
  return range.reports.flatMap((b) => {
    try {
      return [decodeReport(b).id];
    } catch {
      return [];
    }
  });
}

export class RangeRelayer {
  private readonly sinks: Map<ChainType, RangeSink>;
  private readonly o: Required<Omit<RangeRelayerOptions, 'journal' | 'observer'>> & Pick<RangeRelayerOptions, 'journal' | 'observer'>;

  constructor(sinks: readonly RangeSink[], opts: RangeRelayerOptions = {}) {
    this.sinks = new Map(sinks.map((s) => [s.chainType, s]));
    this.o = {
      journal: opts.journal,
      observer: opts.observer,
      rank: opts.rank ?? 0,
      staggerMs: opts.staggerMs ?? 500,
      baseDelayMs: opts.baseDelayMs ?? 200,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
      maxAttempts: Math.max(1, opts.maxAttempts ?? 4),
      now: opts.now ?? Date.now,
      sleep: opts.sleep ?? defaultSleep,
      random: opts.random ?? Math.random,
    };
  }

  /**
   * The sink a range goes to, after checking that every report answers a request of the range's stream
   * (a chain stream's ranges hold only request answers addressed to that chain).
   */
  sinkFor(range: SignedRange): RangeSink {
    let chainType: ChainType | undefined;
    for (const [i, bytes] of range.reports.entries()) {
      const r = decodeReport(bytes);
      if (r.kind !== ReportKind.Request) throw new RelayError('range', `report ${i} of range ${rangeKey(range)} is not a request answer (kind ${r.kind})`);
      if (toHex(requestStream(r.destination)) !== toHex(range.stream)) throw new RelayError('range', `report ${i} of range ${rangeKey(range)} is addressed to another request stream`);
      chainType = r.destination.chainType;
    }
    const sink = chainType === undefined ? undefined : this.sinks.get(chainType);
    if (!sink) throw new RelayError(chainType === ChainType.Svm ? 'solana' : 'ethereum', `no range sink configured for range ${rangeKey(range)}'s chain`);
    return sink;
  }

  /** Relays one certified range; never throws for chain failures (they are in the outcome). */
  async relay(range: SignedRange): Promise<RangeOutcome> {
    const sink = this.sinkFor(range);
    this.o.journal?.addRange(sink.chain, range);
    if (this.o.rank > 0) await this.o.sleep(this.o.rank * this.o.staggerMs);
    return this.relayTo(sink, range);
  }

  /** Relays again every range a previous run left in the journal. */
  async resume(): Promise<RangeOutcome[]> {
    const pending = this.o.journal?.pendingRanges() ?? [];
    return Promise.all(
      pending.map(({ chain, range }) => {
        const sink = [...this.sinks.values()].find((s) => s.chain === chain);
        if (sink) return this.relayTo(sink, range);
        this.o.journal?.removeRange(chain, range);
        return { chain, status: 'failed' as const, attempts: 0, error: new RelayError(chain, `a pending range relay to ${chain} was dropped: no ${chain} range sink is configured now`) };
      }),
    );
  }

  private async relayTo(sink: RangeSink, range: SignedRange): Promise<RangeOutcome> {
    const watch = watchRelay(this.o.observer, { kind: 'range', chain: sink.chain, requestIds: requestIdsOf(range), range: rangeKey(range) });
    const out = await this.attempts(sink, range, watch);
    this.o.journal?.removeRange(sink.chain, range);
    watch.finished(out);
    return out;
  }

  private async attempts(sink: RangeSink, range: SignedRange, watch: RelayWatch): Promise<RangeOutcome> {
    let lastError: unknown;
    let deadline: number | undefined; // the last one read (kept through an RPC outage)
    const landed: string[] = [];
    const done = (attempts: number): RangeOutcome =>
      landed.length > 0 ? { chain: sink.chain, status: 'submitted', txs: landed, attempts } : { chain: sink.chain, status: 'already-fulfilled', attempts };
    for (let attempt = 1; ; attempt++) {
      try {
        // submitRange reads what is open itself and sends nothing when nothing is
        landed.push(...(await sink.submitRange(range)));
        if ((await sink.openCount(range)) === 0) return done(attempt);
        lastError = new RelayError(sink.chain, 'requests of the range are still open after the submission');
      } catch (err) {
        lastError = err;
        if (sink.isPermanent?.(err)) {
          return { chain: sink.chain, status: 'failed', attempts: attempt, error: new RelayError(sink.chain, `range ${rangeKey(range)} rejected: ${(err as Error).message}`) };
        }
      }
      // Re-read each time: the open requests shrink as the range lands (another relayer, our chunks).
      // null: nothing is open any more (landed meanwhile); undefined: unknown (chain unreachable).
      const read = await sink.deadlineOf(range).catch(() => undefined);
      if (read === null) return done(attempt);
      if (read !== undefined) deadline = read;
      watch.attemptFailed(attempt, lastError);
      const giveUp = deadline === undefined ? attempt >= this.o.maxAttempts * 4 : this.o.now() > deadline + DEADLINE_SLACK_MS;
      if (giveUp) {
        const msg = lastError instanceof Error ? lastError.message : String(lastError);
        const why = deadline === undefined ? `gave up after ${attempt} attempts without reaching the chain` : `the last open request's deadline passed after ${attempt} attempts`;
        return { chain: sink.chain, status: 'failed', attempts: attempt, error: new RelayError(sink.chain, `range ${rangeKey(range)}: ${why}: ${msg}; check the RPC endpoint and the relayer account balance`) };
      }
      const delay = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(attempt - 1, 20)) * (0.5 + this.o.random());
      await this.o.sleep(delay);
    }
  }
}
