// The receiving node's side of a batch job: rows checked once up front, the job made (limits), then its
// rows proposed as ranges, each on its own stream bound to this node and to everything in the range's
// reports (jobRangeStream(jobStream(domain, operator key, job id), model, timestamp, epoch, rows)) — one
// RangeProposal frame per range to every member of the active epoch's committee, and the same range
// computed here. Each range is signed under the epoch active when it is proposed. A range counts as
// certified when the committee's certificate for this node's own commit arrives, and as failed when
// this node could not compute it or no certificate came within rangeTimeoutMs. Ranges in flight are
// bounded (maxInflightRows) so members' queues stay short.
import { MAX_BATCH_SIZE, jobStream, rangeId, toHex } from '@destra/protocol';
import type { FastHasher } from '@destra/aggregator/fast-hash';
import type { Logger } from 'pino';
import { RoundError } from '../errors.ts';
import type { PeerInfo } from '../p2p/host.ts';
import type { ActiveKey } from '../round/keys.ts';
import { MAX_RANGE_ROWS_BYTES, PROTOCOL_RANGE_PROPOSAL, RangeProposalCodec, type RangeProposal } from '../wire.ts';
import type { RangeInferencer } from './inference.ts';
import type { RangeIntake } from './intake.ts';
import type { Job, JobRange, JobTable } from './jobs.ts';
import type { RangeMetrics } from './metrics.ts';
import type { RangeHost, RangeService } from './service.ts';
import { rangeStreamOf } from './streams.ts';

export interface BatchProposerOptions {
  service: RangeService;
  intake: RangeIntake;
  host: RangeHost;
  jobs: JobTable;
  inference: RangeInferencer;
  hasher: FastHasher;
  domain: Uint8Array;
  /** This node's operator key (compressed G2): names its job streams. */
  operatorKey: Uint8Array;
  activeKey(): ActiveKey | undefined;
  memberIndexOf(epoch: number, from: PeerInfo): number | undefined;
  rangeRows: number;
  rangeTimeoutMs: number;
  maxInflightRows: number;
  metrics: RangeMetrics;
  log: Logger;
}

/** Rows per range for rows of `rowLength` bytes: the configured size, the frame limit, the tree limit. */
export function rowsPerRange(rangeRows: number, rowLength: number): number {
  return Math.max(1, Math.min(rangeRows, MAX_BATCH_SIZE, Math.floor(MAX_RANGE_ROWS_BYTES / rowLength)));
}

export class BatchProposer {
  private inflightRows = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly o: BatchProposerOptions) {}

  stop(): void {
    this.stopped = true;
    for (const w of this.slotWaiters.splice(0)) w();
  }

  /**
   * Checks the rows (model served here, row length, every value in range), makes the job and starts
   * proposing its ranges. Throws RoundError (4xx/503) before anything is stored or sent.
   */
  submit(client: string, model: string, rows: Uint8Array, rowLength: number): Job {
    if (!this.o.activeKey()) throw new RoundError('NO_KEY_SHARE', 'this node has no key share yet (DKG not finished); retry shortly', 503);
    if (!Number.isInteger(rowLength) || rowLength < 1 || rows.length === 0 || rows.length % rowLength !== 0) {
      throw new RoundError('BAD_REQUEST', `rows must be a non-empty whole number of ${rowLength}-byte rows`);
    }
    const count = rows.length / rowLength;
    this.o.jobs.admit(client, count);
    const want = this.o.inference.describe(model).rowLength; // UnknownModelError → 400 UNKNOWN_MODEL
    if (want !== undefined && want !== rowLength) throw new RoundError('BAD_ROW_LENGTH', `model '${model}' takes ${want}-byte canonical rows, got ${rowLength}-byte rows`, 400, { expected: want });
    try {
      this.o.inference.checkRows(model, rows, rowLength);
    } catch (err) {
      const row = (err as { row?: number }).row;
      throw new RoundError('INFERENCE_INPUT', (err as Error).message, 400, row === undefined ? {} : { row });
    }
    const job = this.o.jobs.create(client, model, count, (id) => jobStream(this.o.domain, this.o.operatorKey, id));
    this.o.metrics.jobs.inc({ outcome: 'created' });
    this.o.metrics.runningJobs.set(this.o.jobs.runningJobs);
    this.run(job, rows, rowLength).catch((err: Error) => {
      this.o.log.error({ job: job.id, err: err.message }, 'batch job stopped');
      this.o.jobs.failRest(job, job.ranges.reduce((n, r) => Math.max(n, r.row + r.count), 0), err.message);
    });
    return job;
  }

  private async run(job: Job, rows: Uint8Array, rowLength: number): Promise<void> {
    const per = rowsPerRange(this.o.rangeRows, rowLength);
    for (let row = 0; row < job.rows; row += per) {
      const count = Math.min(per, job.rows - row);
      await this.slot(count);
      const k = this.o.activeKey();
      if (this.stopped || !k) {
        this.release(count);
        this.o.jobs.failRest(job, row, this.stopped ? 'node is shutting down' : 'this node lost its key share mid-job');
        return;
      }
      const p: RangeProposal = {
        type: 'range-proposal',
        v: 1,
        epoch: k.epoch,
        proposer: k.index,
        job: job.job,
        start: row,
        model: job.model,
        timestamp: Math.floor(Date.now() / 1000),
        rowLength,
        rows: rows.subarray(row * rowLength, (row + count) * rowLength),
      };
      const stream = rangeStreamOf(job.stream, p, this.o.hasher);
      const range = this.o.jobs.addRange(job, { row, start: row, count, stream, id: toHex(rangeId(stream, row, count)), epoch: k.epoch });
      const frame = RangeProposalCodec.encode(p);
      this.track(job, range, this.o.intake.proposeLocal(p, stream));
      await this.broadcast(k.epoch, frame);
    }
  }

  /**
   * Settles the range when its certificate is stored here, or fails it: this node could not commit it, or
   * no certificate came within rangeTimeoutMs of this node's commit (time spent waiting for inference
   * here is not the committee's). Frees its slot either way.
   */
  private track(job: Job, range: JobRange, committed: Promise<Uint8Array>): void {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let cancel: (() => void) | undefined;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cancel?.();
      this.release(range.count);
      if (this.o.jobs.status(job) === 'done') {
        this.o.metrics.jobs.inc({ outcome: 'done' });
        this.o.metrics.runningJobs.set(this.o.jobs.runningJobs);
      }
    };
    cancel = this.o.service.onCertified(range.id, (r) => {
      this.o.jobs.certify(job, range, r);
      this.o.metrics.rows.inc({ stage: 'certified' }, range.count);
      settle();
    });
    if (settled) cancel(); // it was certified already
    committed.then(
      () => {
        if (settled) return;
        timer = setTimeout(() => {
          this.o.jobs.fail(job, range, `no certificate within ${this.o.rangeTimeoutMs} ms of this node's commit (fewer than t members committed the same root, or no aggregator reachable)`);
          settle();
        }, this.o.rangeTimeoutMs);
        timer.unref();
      },
      (err: Error) => {
        this.o.jobs.fail(job, range, `this node could not commit the range: ${err.message}`);
        settle();
      },
    );
  }

  /** One frame to every connected member of `epoch`'s committee. */
  private async broadcast(epoch: number, frame: Uint8Array): Promise<void> {
    const peers = this.o.host.peersWithRole('member').filter((p) => this.o.memberIndexOf(epoch, p) !== undefined);
    await Promise.all(
      peers.map((peer) =>
        this.o.host.sendDirect(peer.peerId, PROTOCOL_RANGE_PROPOSAL, frame).catch((err: Error) => this.o.log.warn({ peer: peer.index, err: err.message }, 'range proposal not delivered')),
      ),
    );
  }

  private async slot(rows: number): Promise<void> {
    while (!this.stopped && this.inflightRows > 0 && this.inflightRows + rows > this.o.maxInflightRows) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.inflightRows += rows;
  }

  private release(rows: number): void {
    this.inflightRows -= rows;
    for (const w of this.slotWaiters.splice(0)) w();
  }
}
