// Micro-batching: concurrent single-row requests for one model are gathered until `maxBatch` rows are
// waiting or `windowMs` has passed since the first, then run as one batch; each caller gets its own row.
// Batching never changes a row's result (rows are independent and `models check` proves batch-size
// invariance), it only amortises the per-run overhead.

export interface BatchRunner<Row, Out> {
  /** Runs rows as one batch and returns one result per row, in order. */
  run(rows: Row[]): Promise<Out[]>;
}

interface Pending<Row, Out> {
  row: Row;
  resolve: (o: Out) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher<Row, Out> {
  private queue: Pending<Row, Out>[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runner: BatchRunner<Row, Out>,
    private readonly maxBatch: number,
    private readonly windowMs: number,
  ) {}

  submit(row: Row): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      // A zero window still gathers every request submitted in the same event-loop turn.
      else if (!this.timer) this.timer = this.windowMs > 0 ? setTimeout(() => this.flush(), this.windowMs) : setImmediate(() => this.flush());
    });
  }

  /** Number of requests waiting for a batch. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private flush(): void {
    if (this.timer) {
      if (this.windowMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.runner
        .run(batch.map((p) => p.row))
        .then(
          (outs) => batch.forEach((p, i) => p.resolve(outs[i]!)),
          (e) => batch.forEach((p) => p.reject(e)),
        )
        .finally(() => {
          this.inFlight--;
          if (this.queue.length === 0 && this.inFlight === 0) this.idleWaiters.splice(0).forEach((r) => r());
        });
    }
  }
}
