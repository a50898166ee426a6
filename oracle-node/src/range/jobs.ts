// Batch jobs on the node that received them: the job table with its limits (rows per job, jobs per
// client, jobs per node), each job's ranges and their outcome (certified: the CertifiedRange holding the
// reports, tree and root signature; failed: why), listeners that stream results as ranges certify, and
// retention of finished jobs (by age and by the rows they hold).
import { randomBytes } from 'node:crypto';
import { toHex } from '@destra/protocol';
import { RoundError } from '../errors.ts';
import type { CertifiedRange } from './service.ts';

export interface JobLimits {
  maxRowsPerJob: number;
  maxJobsPerClient: number;
  maxJobs: number;
  jobRetentionMs: number;
  maxRetainedRows: number;
}

export interface JobRange {
  /** First row of the job in this range, and the range's first sequence number (the same). */
  row: number;
  start: number;
  count: number;
  /** The range's stream (jobRangeStream: the job stream and the range's content). Empty for rows that never got a range. */
  stream: Uint8Array;
  /** rangeId(stream, start, count), hex with 0x. */
  id: string;
  epoch: number;
  state: 'pending' | 'certified' | 'failed';
  certified?: CertifiedRange;
  error?: string;
}

export type JobEvent = { type: 'range'; range: JobRange } | { type: 'done' };

export interface Job {
  /** 0x + 16 bytes hex. */
  id: string;
  job: Uint8Array;
  client: string;
  model: string;
  rows: number;
  stream: Uint8Array;
  createdAt: number;
  ranges: JobRange[];
  /** Rows certified / failed so far. */
  certified: number;
  failed: number;
  finishedAt?: number;
}

export type JobStatus = 'running' | 'done';

export class JobTable {
  private readonly jobs = new Map<string, Job>();
  private readonly listeners = new Map<string, Set<(e: JobEvent) => void>>();
  private running = 0;

  constructor(
    readonly limits: JobLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws RoundError (413 / 429 / 503, with code) when a job of `rows` rows from `client` is over a limit. */
  admit(client: string, rows: number): void {
    const l = this.limits;
    if (!Number.isInteger(rows) || rows < 1) throw new RoundError('BAD_REQUEST', 'a job needs at least one row');
    if (rows > l.maxRowsPerJob) throw new RoundError('TOO_MANY_ROWS', `job of ${rows} rows; at most ${l.maxRowsPerJob} rows per job: split it`, 413, { limit: l.maxRowsPerJob });
    const mine = this.runningOf(client);
    if (mine >= l.maxJobsPerClient) throw new RoundError('TOO_MANY_JOBS', `${mine} jobs of this client are running (at most ${l.maxJobsPerClient}); wait for one to finish`, 429, { limit: l.maxJobsPerClient });
    if (this.running >= l.maxJobs) throw new RoundError('BUSY', `this node runs ${this.running} jobs (at most ${l.maxJobs}); retry shortly or use another member`, 503, { limit: l.maxJobs });
  }

  /** A new running job (call admit first). */
  create(client: string, model: string, rows: number, streamOf: (job: Uint8Array) => Uint8Array): Job {
    this.admit(client, rows);
    this.sweep();
    const job = new Uint8Array(randomBytes(16));
    const j: Job = { id: toHex(job), job, client, model, rows, stream: streamOf(job), createdAt: this.now(), ranges: [], certified: 0, failed: 0 };
    this.jobs.set(j.id, j);
    this.running++;
    return j;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id.toLowerCase());
  }

  status(j: Job): JobStatus {
    return j.finishedAt === undefined ? 'running' : 'done';
  }

  get runningJobs(): number {
    return this.running;
  }

  addRange(j: Job, r: Omit<JobRange, 'state'>): JobRange {
    const range: JobRange = { ...r, state: 'pending' };
    j.ranges.push(range);
    return range;
  }

  /** The range's certificate arrived; ignored when the range already has an outcome. */
  certify(j: Job, range: JobRange, certified: CertifiedRange): void {
    if (range.state !== 'pending') return;
    range.state = 'certified';
    range.certified = certified;
    j.certified += range.count;
    this.settled(j, range);
  }

  fail(j: Job, range: JobRange, error: string): void {
    if (range.state !== 'pending') return;
    range.state = 'failed';
    range.error = error;
    j.failed += range.count;
    this.settled(j, range);
  }

  /** Rows that will never get a range (e.g. the key went away mid-job) fail as one pseudo-range. */
  failRest(j: Job, fromRow: number, error: string): void {
    if (fromRow >= j.rows) return;
    const range: JobRange = { row: fromRow, start: -1, count: j.rows - fromRow, stream: new Uint8Array(0), id: '', epoch: -1, state: 'pending' };
    j.ranges.push(range);
    this.fail(j, range, error);
  }

  /** Calls `fn` for every range outcome from now on and at the end; returns the unsubscribe. */
  listen(j: Job, fn: (e: JobEvent) => void): () => void {
    const set = this.listeners.get(j.id) ?? new Set();
    set.add(fn);
    this.listeners.set(j.id, set);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(j.id);
    };
  }

  /** The range holding `row`, and the row's index in it. */
  rangeOfRow(j: Job, row: number): { range: JobRange; index: number } | undefined {
    // Ranges are appended in row order (each job proposes its rows once, front to back).
    let lo = 0;
    let hi = j.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = j.ranges[mid]!;
      if (row < r.row) hi = mid - 1;
      else if (row >= r.row + r.count) lo = mid + 1;
      else return { range: r, index: row - r.row };
    }
    return undefined;
  }

  /** Drops finished jobs past the retention age, then the oldest finished ones while over maxRetainedRows. */
  sweep(): void {
    const now = this.now();
    let retained = 0;
    const finished: Job[] = [];
    for (const j of this.jobs.values()) {
      if (j.finishedAt === undefined) continue;
      if (now - j.finishedAt > this.limits.jobRetentionMs) this.jobs.delete(j.id);
      else {
        finished.push(j);
        retained += j.rows;
      }
    }
    finished.sort((a, b) => a.finishedAt! - b.finishedAt!);
    for (const j of finished) {
      if (retained <= this.limits.maxRetainedRows) break;
      this.jobs.delete(j.id);
      retained -= j.rows;
    }
  }

  private runningOf(client: string): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.client === client && j.finishedAt === undefined) n++;
    return n;
  }

  private settled(j: Job, range: JobRange): void {
    this.emit(j, { type: 'range', range });
    if (j.certified + j.failed < j.rows || j.finishedAt !== undefined) return;
    j.finishedAt = this.now();
    this.running--;
    this.emit(j, { type: 'done' });
    this.listeners.delete(j.id);
  }

  private emit(j: Job, e: JobEvent): void {
    for (const fn of [...(this.listeners.get(j.id) ?? [])]) fn(e);
  }
}
