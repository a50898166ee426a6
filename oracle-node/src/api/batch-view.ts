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
  /** The range's stream (jobRangeStream) and the sequence number on it: the report id is keccak256(stream ‖ uint64 seq). */
  stream: string;
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
    stream: toHex(r.stream),
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

/** ASCII bytes of a string (the fixed parts of a line), as a plain Uint8Array (cheap views). */
const ascii = (s: string): Uint8Array => {
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
/** Lowercase hex of `b` as ASCII bytes (one native pass). */
const hexBytes = (b: Uint8Array): Uint8Array => ascii(hex(b));
const ROW = ascii('{"type":"result","row":');
const SEQ = ascii(',"seq":');
const REPORT = ascii(',"report":"0x');
const PROOF = ascii('","proof":[');
const SIB_OPEN = ascii('"0x');
const SIB_NEXT = ascii(',"0x');

function put(out: Uint8Array, p: number, src: Uint8Array): number {
  for (let j = 0; j < src.length; j++) out[p++] = src[j]!;
  return p;
}
function putSlice(out: Uint8Array, p: number, src: Uint8Array, from: number, to: number): number {
  for (let j = from; j < to; j++) out[p++] = src[j]!;
  return p;
}
function putUint(out: Uint8Array, p: number, n: number): number {
  if (n === 0) {
    out[p] = 48;
    return p + 1;
  }
  let len = 0;
  for (let x = n; x > 0; x = Math.floor(x / 10)) len++;
  for (let j = len - 1, x = n; j >= 0; j--, x = Math.floor(x / 10)) out[p + j] = 48 + (x % 10);
  return p + len;
}

/** Proof levels written per line; the siblings above them are the same for 2^LOW consecutive leaves. */
const LOW = 3;
const COMMA = 0x2c;
const QUOTE = 0x22;

/**
 * NDJSON lines of a certified range (same fields as ResultView, one object per line), written straight
 * into one buffer. The range's reports and tree levels are hex-encoded once (natively) on first use;
 * the siblings above the lowest LOW levels and the line's tail (root, signatures, signers, epoch) are
 * the same for 2^LOW consecutive leaves, so they are assembled once per such block and copied whole
 * (one native copy) into each of its lines. Short pieces go through plain loops (a view per piece would
 * be an allocation per piece and line). No string per line: this runs at up to 100k results/s on the
 * node that took the job.
 */
export class RangeLines {
  private readonly leaf: Uint8Array;
  private readonly tail: Uint8Array;
  /** Hex (ASCII) of the reports and of each tree level below the root, made on first use. */
  private hexed?: { reports: Uint8Array; levels: Uint8Array[] };

  constructor(
    private readonly r: CertifiedRange,
    private readonly firstRow: number,
  ) {
    this.leaf = ascii(`,"stream":"${toHex(r.stream)}","rangeId":"${toHex(r.id)}","leaf":`);
    this.tail = ascii(`],"root":"${toHex(r.root)}","signature":"${toHex(r.signature)}","signatureEip2537":"${toHex(g1ToEip2537(r.signature))}","signers":${JSON.stringify(r.signers)},"epoch":${r.epoch}}\n`);
  }

  get count(): number {
    return this.r.count;
  }

  /** All lines of the range, in row order. */
  all(): Buffer {
    return this.lines(0, this.r.count);
  }

  /** The lines of leaves from..to-1. */
  lines(from: number, to: number): Buffer {
    const { reportLength } = this.r;
    this.hexed ??= { reports: hexBytes(this.r.reports), levels: this.r.tree.levels.slice(0, -1).map(hexBytes) };
    const { reports, levels } = this.hexed;
    const sibling = SIB_NEXT.length + 64 + 1;
    const perLine = ROW.length + SEQ.length + this.leaf.length + REPORT.length + 2 * reportLength + PROOF.length + levels.length * sibling + this.tail.length + 3 * 16;
    const buf = Buffer.allocUnsafe((to - from) * perLine);
    const out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const hexLen = 2 * reportLength;
    // The block's part after the low siblings: `,"0x<sibling>"` per level from LOW up, then the tail.
    const upper = new Uint8Array(Math.max(0, levels.length - LOW) * sibling + this.tail.length);
    let upperLen = 0;
    let whole = upper; // upper[0, upperLen), and the same without its leading comma
    let noComma = upper;
    let block = -1;
    let p = 0;
    for (let i = from; i < to; i++) {
      if (i >> LOW !== block) {
        block = i >> LOW;
        upperLen = 0;
        let upperSiblings = false;
        let idx = block;
        for (let l = LOW; l < levels.length; l++) {
          const sib = idx ^ 1;
          const level = levels[l]!;
          if (sib * 64 < level.length) {
            upper[upperLen++] = COMMA;
            upper[upperLen++] = QUOTE;
            upperLen = putSlice(upper, upperLen, SIB_OPEN, 1, 3); // 0x
            upperLen = putSlice(upper, upperLen, level, sib * 64, sib * 64 + 64);
            upper[upperLen++] = QUOTE;
            upperSiblings = true;
          }
          idx >>= 1;
        }
        upper.set(this.tail, upperLen);
        upperLen += this.tail.length;
        whole = upper.subarray(0, upperLen);
        noComma = upperSiblings ? upper.subarray(1, upperLen) : whole;
      }
      p = put(out, p, ROW);
      p = putUint(out, p, this.firstRow + i);
      p = put(out, p, SEQ);
      p = putUint(out, p, this.r.start + i);
      out.set(this.leaf, p);
      p += this.leaf.length;
      p = putUint(out, p, i);
      p = put(out, p, REPORT);
      out.set(reports.subarray(i * hexLen, (i + 1) * hexLen), p);
      p += hexLen;
      p = put(out, p, PROOF);
      let idx = i;
      let first = true;
      for (let l = 0; l < LOW && l < levels.length; l++) {
        const sib = idx ^ 1;
        const level = levels[l]!;
        if (sib * 64 < level.length) {
          if (!first) out[p++] = COMMA;
          p = put(out, p, SIB_OPEN);
          p = putSlice(out, p, level, sib * 64, sib * 64 + 64);
          out[p++] = QUOTE;
          first = false;
        }
        idx >>= 1;
      }
      // No sibling written yet: the first upper sibling goes without its comma.
      const rest = first ? noComma : whole;
      out.set(rest, p);
      p += rest.length;
    }
    return buf.subarray(0, p);
  }
}

/**
 * The compact line of a certified range (`?lines=ranges`): every report of the range back to back, its
 * root and root signature once. A client rebuilds the tree from the reports (leaf = keccak256(0x00 ‖
 * report)) and checks the root: the proofs follow from the reports.
 */
export function rangeLine(range: JobRange): Buffer {
  const r = range.certified!;
  const head = JSON.stringify({
    type: 'range',
    fromRow: range.row,
    count: r.count,
    start: r.start,
    stream: toHex(r.stream),
    rangeId: toHex(r.id),
    reportLength: r.reportLength,
    root: toHex(r.root),
    signature: toHex(r.signature),
    signatureEip2537: toHex(g1ToEip2537(r.signature)),
    signers: r.signers,
    epoch: r.epoch,
  });
  // The reports' hex goes straight into the line (megabytes per range: never through JSON.stringify).
  const reportsHex = hex(r.reports);
  const out = Buffer.allocUnsafe(head.length - 1 + 16 + reportsHex.length + 3);
  let p = out.write(head.slice(0, -1), 0, 'latin1');
  p += out.write(',"reports":"0x', p, 'latin1');
  p += out.write(reportsHex, p, 'latin1');
  p += out.write('"}\n', p, 'latin1');
  return out.subarray(0, p);
}

export type LineFormat = 'results' | 'ranges';

/** Result lines generated per stream chunk: a few MB, so one chunk never holds the event loop long. */
const LINES_PER_CHUNK = 2048;

/**
 * The NDJSON chunks of one settled range of a job, generated lazily: its result lines in slices of
 * LINES_PER_CHUNK rows (or one range line), or one line saying which rows failed.
 */
export function* rangeOutcomeChunks(range: JobRange, format: LineFormat = 'results'): Generator<Uint8Array> {
  if (range.state !== 'certified') {
    yield Buffer.from(`${JSON.stringify({ type: 'failed', fromRow: range.row, toRow: range.row + range.count, rangeId: range.id || null, error: range.error ?? 'failed' })}\n`);
    return;
  }
  if (format === 'ranges') {
    yield rangeLine(range);
    return;
  }
  const lines = new RangeLines(range.certified!, range.row);
  for (let i = 0; i < lines.count; i += LINES_PER_CHUNK) yield lines.lines(i, Math.min(lines.count, i + LINES_PER_CHUNK));
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
  ranges: { rangeId: string | null; stream: string | null; fromRow: number; count: number; start: number; epoch: number | null; state: string; error?: string }[];
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
    ranges: j.ranges.map((r) => ({ rangeId: r.id || null, stream: r.stream.length ? toHex(r.stream) : null, fromRow: r.row, count: r.count, start: r.start, epoch: r.epoch >= 0 ? r.epoch : null, state: r.state, ...(r.error ? { error: r.error } : {}) })),
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
