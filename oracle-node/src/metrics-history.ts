// Recent history for the dashboard's charts: a bounded ring of fixed-interval samples (default 5 s × 720
// = one hour), each counting the rounds combined in that interval per kind, their latency p50/p99 and the
// verified results (combined round reports + batch rows certified here). Reports are read incrementally by
// SQLite rowid (insert order), so a sample costs a read of only the new rows; samples live in memory only
// (a restart starts an empty chart, the store keeps the rounds themselves).
import type { Registry } from 'prom-client';
import type { NodeStore } from './store/store.ts';

export interface HistorySample {
  /** Unix ms of the end of the interval. */
  t: number;
  /** Rounds combined in the interval, per kind name (request, feed, on-demand). */
  rounds: Record<string, number>;
  /** Latency of those rounds (receipt to threshold signature), ms; null when none had one. */
  p50: number | null;
  p99: number | null;
  /** Verified results: combined round reports plus batch rows certified here. */
  verified: number;
}

export interface HistoryView {
  intervalMs: number;
  capacity: number;
  samples: HistorySample[];
}

const KIND_NAMES: Record<number, string> = { 1: 'request', 2: 'feed', 3: 'on-demand' };
/** Reports read per sample at most: a burst beyond it is counted over the next samples. */
const MAX_ROWS_PER_SAMPLE = 100_000;

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** A fixed-capacity ring of samples, oldest first when read. */
export class SampleRing<T> {
  private readonly buf: T[] = [];
  private next = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
  }
  push(v: T): void {
    if (this.buf.length < this.capacity) this.buf.push(v);
    else this.buf[this.next] = v;
    this.next = (this.next + 1) % this.capacity;
  }
  toArray(): T[] {
    return this.buf.length < this.capacity ? [...this.buf] : [...this.buf.slice(this.next), ...this.buf.slice(0, this.next)];
  }
  get size(): number {
    return this.buf.length;
  }
}

export interface MetricsHistoryOptions {
  store: NodeStore;
  /** The node's metrics registry (batch rows certified: destra_range_rows_total{stage="certified-here"}). */
  registry?: Registry;
  intervalMs?: number;
  capacity?: number;
}

export class MetricsHistory {
  readonly intervalMs: number;
  private readonly ring: SampleRing<HistorySample>;
  private lastRowid: number;
  private lastCertified: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: MetricsHistoryOptions) {
    this.intervalMs = o.intervalMs ?? 5_000;
    this.ring = new SampleRing(o.capacity ?? 720);
    // Reports stored before the history started belong to no sample.
    const row = o.store.db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM reports').get() as { m: number };
    this.lastRowid = Number(row.m);
  }

  /** Samples every intervalMs until stop() or the store closes (the timer never keeps the process alive). */
  start(): this {
    if (this.timer) return this;
    this.timer = setInterval(() => {
      if (!this.o.store.db.open) return this.stop();
      void this.sample().catch(() => this.stop());
    }, this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now: what was combined / certified since the previous one. */
  async sample(now = Date.now()): Promise<HistorySample> {
    const rows = this.o.store.db
      .prepare(
        `SELECT r.rowid AS id, r.latency_ms AS latency, q.kind AS kind FROM reports r
         LEFT JOIN requests q ON q.request_id = r.request_id AND q.round = r.round
         WHERE r.rowid > ? ORDER BY r.rowid LIMIT ?`,
      )
      .all(this.lastRowid, MAX_ROWS_PER_SAMPLE) as { id: number; latency: number | null; kind: number | null }[];
    const rounds: Record<string, number> = {};
    const latencies: number[] = [];
    for (const r of rows) {
      const kind = r.kind === null ? 'batch' : (KIND_NAMES[r.kind] ?? `kind ${r.kind}`);
      rounds[kind] = (rounds[kind] ?? 0) + 1;
      if (r.latency !== null) latencies.push(r.latency);
    }
    if (rows.length > 0) this.lastRowid = rows[rows.length - 1]!.id;
    latencies.sort((a, b) => a - b);
    const certified = await this.certifiedRows();
    const newRows = this.lastCertified === undefined || certified === undefined ? 0 : Math.max(0, certified - this.lastCertified);
    if (certified !== undefined) this.lastCertified = certified;
    const s: HistorySample = { t: now, rounds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), verified: rows.length + newRows };
    this.ring.push(s);
    return s;
  }

  view(): HistoryView {
    return { intervalMs: this.intervalMs, capacity: this.ring.capacity, samples: this.ring.toArray() };
  }

  private async certifiedRows(): Promise<number | undefined> {
    const m = this.o.registry?.getSingleMetric('destra_range_rows_total');
    if (!m) return undefined;
    const v = await m.get();
    return v.values.filter((x) => x.labels.stage === 'certified-here').reduce((a, x) => a + x.value, 0);
  }
}
