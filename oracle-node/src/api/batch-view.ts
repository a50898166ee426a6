// JSON views of batch results: one certified report with its proof, root, root signature (compressed
// and EIP-2537), signers and epoch. `RangeLines` writes the NDJSON lines of a whole certified range from
// hex made once per range (reports, tree levels), so streaming costs string slicing per row.
import { g1ToEip2537, toHex } from '@destra/protocol';
import type { Job, JobRange, JobTable } from '../range/jobs.ts';
import type { CertifiedRange } from '../range/service.ts';

export interface ResultView {
  type: 'result';
  /** Row of the job (absent when looked up by range). */
  row?: number;
  /** Sequence number on the job stream: the report id is keccak256(stream ‖ uint64 seq). */
  seq: number;
  rangeId: string;
  /** Leaf index within the range. */
  leaf: number;
  report: string;
  proof: string[];
  root: string;
  signature: string;
  signatureEip2537: string;
  signers: number[];
  epoch: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Report `i` of a certified range. */
export function resultView(r: CertifiedRange, i: number, row?: number): ResultView {
  const len = r.reportLength;
  const proof: string[] = [];
  let idx = i;
  for (const level of r.tree.levels.slice(0, -1)) {
    const sib = idx ^ 1;
    if (sib * 32 < level.length) proof.push(`0x${hex(level.subarray(sib * 32, sib * 32 + 32))}`);
    idx >>= 1;
  }
  return {
    type: 'result',
    ...(row === undefined ? {} : { row }),
    seq: r.start + i,
    rangeId: toHex(r.id),
    leaf: i,
    report: `0x${hex(r.reports.subarray(i * len, (i + 1) * len))}`,
    proof,
    root: toHex(r.root),
    signature: toHex(r.signature),
    signatureEip2537: toHex(g1ToEip2537(r.signature)),
    signers: r.signers,
    epoch: r.epoch,
  };
}

/** NDJSON lines of a certified range (same fields as ResultView, one object per line). */
export class RangeLines {
  private readonly reportsHex: string;
  private readonly levelsHex: string[];
  private readonly head: string;
  private readonly tail: string;

  constructor(
    private readonly r: CertifiedRange,
    private readonly firstRow: number,
  ) {
    this.reportsHex = hex(r.reports);
    this.levelsHex = r.tree.levels.slice(0, -1).map(hex);
    this.head = `,"rangeId":"${toHex(r.id)}","leaf":`;
    this.tail = `,"root":"${toHex(r.root)}","signature":"${toHex(r.signature)}","signatureEip2537":"${toHex(g1ToEip2537(r.signature))}","signers":${JSON.stringify(r.signers)},"epoch":${r.epoch}}\n`;
  }

  /** All lines of the range, in row order. */
  all(): string {
    const parts: string[] = new Array(this.r.count);
    for (let i = 0; i < this.r.count; i++) parts[i] = this.line(i);
    return parts.join('');
  }

  line(i: number): string {
    const w = this.r.reportLength * 2;
    let proof = '';
    let idx = i;
    for (let l = 0; l < this.levelsHex.length; l++) {
      const sib = idx ^ 1;
      const level = this.levelsHex[l]!;
      if (sib * 64 < level.length) proof += `${proof === '' ? '' : ','}"0x${level.slice(sib * 64, sib * 64 + 64)}"`;
      idx >>= 1;
    }
    return `{"type":"result","row":${this.firstRow + i},"seq":${this.r.start + i}${this.head}${i},"report":"0x${this.reportsHex.slice(i * w, (i + 1) * w)}","proof":[${proof}]${this.tail}`;
  }
}

/** The NDJSON of one settled range of a job: its result lines, or one line saying which rows failed. */
export function rangeOutcomeLines(range: JobRange): string {
  if (range.state === 'certified') return new RangeLines(range.certified!, range.row).all();
  return `${JSON.stringify({ type: 'failed', fromRow: range.row, toRow: range.row + range.count, rangeId: range.id || null, error: range.error ?? 'failed' })}\n`;
}

export interface JobView {
  id: string;
  model: string;
  status: 'running' | 'done';
  rows: number;
  certified: number;
  failed: number;
  pending: number;
  createdAt: number;
  finishedAt: number | null;
  stream: string;
  ranges: { rangeId: string | null; fromRow: number; count: number; start: number; epoch: number | null; state: string; error?: string }[];
}

export function jobView(jobs: JobTable, j: Job): JobView {
  return {
    id: j.id,
    model: j.model,
    status: jobs.status(j),
    rows: j.rows,
    certified: j.certified,
    failed: j.failed,
    pending: j.rows - j.certified - j.failed,
    createdAt: j.createdAt,
    finishedAt: j.finishedAt ?? null,
    stream: toHex(j.stream),
    ranges: j.ranges.map((r) => ({ rangeId: r.id || null, fromRow: r.row, count: r.count, start: r.start, epoch: r.epoch >= 0 ? r.epoch : null, state: r.state, ...(r.error ? { error: r.error } : {}) })),
  };
}

/** Rows offset..offset+limit-1 of a job: certified results, or the row's state. */
export function jobResults(jobs: JobTable, j: Job, offset: number, limit: number): (ResultView | { type: 'pending' | 'failed'; row: number; error?: string })[] {
  const out: (ResultView | { type: 'pending' | 'failed'; row: number; error?: string })[] = [];
  for (let row = offset; row < Math.min(j.rows, offset + limit); row++) {
    const at = jobs.rangeOfRow(j, row);
    if (!at || at.range.state === 'pending') out.push({ type: 'pending', row });
    else if (at.range.state === 'failed') out.push({ type: 'failed', row, error: at.range.error ?? 'failed' });
    else out.push(resultView(at.range.certified!, at.index, row));
  }
  return out;
}
