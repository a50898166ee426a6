// When to cut a Merkle batch: a size/deadline policy, plus the load rule deciding whether batching is
// worth it at all (below it, single-report rounds give the lowest latency).
import { MAX_BATCH_SIZE } from '@destra/protocol';
import { AggregatorConfigError } from '../errors.ts';

export interface BatchPolicy {
  /** Cut a batch as soon as this many reports are ready (≤ MAX_BATCH_SIZE). */
  maxSize: number;
  /** Cut whatever is ready once the oldest ready report has waited this long. */
  maxDelayMs: number;
  /** Ready reports per second above which the committee switches to batched signing. */
  highLoadPerSecond: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = { maxSize: 16_384, maxDelayMs: 50, highLoadPerSecond: 200 };

export function checkBatchPolicy(p: BatchPolicy): BatchPolicy {
  if (!Number.isInteger(p.maxSize) || p.maxSize < 1 || p.maxSize > MAX_BATCH_SIZE) {
    throw new AggregatorConfigError(`batch maxSize ${p.maxSize} must be an integer in 1..${MAX_BATCH_SIZE}`);
  }
  if (!(p.maxDelayMs >= 0) || !Number.isFinite(p.maxDelayMs)) throw new AggregatorConfigError(`batch maxDelayMs ${p.maxDelayMs} must be a finite number ≥ 0`);
  if (!(p.highLoadPerSecond > 0)) throw new AggregatorConfigError(`highLoadPerSecond ${p.highLoadPerSecond} must be > 0`);
  return p;
}

/** How many ready reports to put in a batch now; 0 means wait. */
export function batchCut(ready: number, oldestAgeMs: number, p: BatchPolicy): number {
  if (ready <= 0) return 0;
  if (ready >= p.maxSize) return p.maxSize;
  return oldestAgeMs >= p.maxDelayMs ? ready : 0;
}

/** Milliseconds until the deadline would cut the current queue (for the shell's timer). */
export function msUntilCut(ready: number, oldestAgeMs: number, p: BatchPolicy): number | undefined {
  if (ready <= 0) return undefined;
  if (ready >= p.maxSize) return 0;
  return Math.max(0, p.maxDelayMs - oldestAgeMs);
}

/**
 * Sliding-window rate meter (pure: the caller passes time). `high` flips with hysteresis so the mode does
 * not flap around the threshold: on above the threshold, off below half of it.
 */
export class LoadMeter {
  private readonly window: number[] = [];
  private head = 0;
  private high = false;
  constructor(
    private readonly policy: BatchPolicy,
    private readonly windowMs = 1000,
  ) {}

  record(now: number, count = 1): void {
    for (let i = 0; i < count; i++) this.window.push(now);
    this.trim(now);
  }

  ratePerSecond(now: number): number {
    this.trim(now);
    return ((this.window.length - this.head) * 1000) / this.windowMs;
  }

  isHigh(now: number): boolean {
    const r = this.ratePerSecond(now);
    if (!this.high && r >= this.policy.highLoadPerSecond) this.high = true;
    else if (this.high && r < this.policy.highLoadPerSecond / 2) this.high = false;
    return this.high;
  }

  private trim(now: number): void {
    while (this.head < this.window.length && now - this.window[this.head]! >= this.windowMs) this.head++;
    if (this.head > 4096 && this.head * 2 > this.window.length) {
      this.window.splice(0, this.head);
      this.head = 0;
    }
  }
}
