// Client for a node's batch API (`POST /v1/infer/batch`, docs/api.md "Batch jobs"): posts many rows of
// one model (binary body for canonical rows, JSON for number rows), reads the NDJSON stream as ranges
// are certified, and by default verifies every result before returning it: the report decodes and names
// the result's epoch; its id is keccak256(range stream ‖ seq); its input hash is keccak256 of the row sent
// (canonical rows); its Merkle proof leads to the root; the root's group signature verifies under the
// group key of the result's epoch (passed in, or the node's /v1/committee key for its current epoch).
// Lines are 'ranges' by default (one line per certified range: the tree is rebuilt from its reports, so
// every leaf is checked against the signed root), and each range's stream is also checked to be
// jobRangeStream(job stream, the range's content: model, report timestamp, epoch, the rows as sent), its
// id rangeId(that stream, start, count). 'results' reads one line per result with its proof instead.
// The node is an external party: every line is size-limited and checked field by field.
import { bytesToHex, hexToBytes, isHex, type Hex } from 'viem';
import {
  MAX_BATCH_SIZE,
  MAX_PROOF_DEPTH,
  MAX_REPORT_LENGTH,
  ReportKind,
  buildMerkleTree,
  merkleProof,
  rangeId,
  decodeReport,
  encodeBatchBody,
  inputHash,
  jobRangeStream,
  reportLeaf,
  rootSigningMessage,
  streamRequestId,
  verify,
  verifyMerkleProof,
  type Report,
} from '@destra/protocol';
import { NodeResponseError } from './errors.ts';
import { groupKeyPoint } from './verify.ts';

export interface BatchInferRequest {
  /** Model name as the node knows it. */
  model: string;
  /** Canonical input rows (all one length; sent as the binary body), or number rows for the node's input encoder (JSON body). */
  rows: readonly Uint8Array[] | readonly (readonly number[])[];
}

export interface BatchInferOptions {
  /** Verify every result (default true). false: results are only parsed. */
  verify?: boolean;
  /** The group key of an epoch (compressed G2, or EIP-2537); default: the node's /v1/committee key for its current epoch. */
  groupKey?: (epoch: number) => Uint8Array | Hex | Promise<Uint8Array | Hex>;
  /** Whole job (default 10 min). */
  timeoutMs?: number;
  /**
   * 'ranges' (default since 2026-12-03): one NDJSON line per certified range with its reports; the
   * client rebuilds the tree (proofs follow), checks the signed root and the range's stream — about an
   * eighth of the bytes, and far less CPU on the node than a line per result (docs/node.md "Product
   * benchmark"). 'results': one line per result, each with its proof. One signature check per range
   * either way; the results returned are the same.
   */
  lines?: 'results' | 'ranges';
  /** Called with each result as it arrives (verified first unless verify is false). */
  onResult?: (r: BatchResult) => void;
  fetch?: typeof fetch;
}

export interface BatchResult {
  row: number;
  /** The range's stream and the sequence number on it (the report id is keccak256(stream ‖ uint64 seq)). */
  stream: Uint8Array;
  seq: number;
  rangeId: Uint8Array;
  /** Leaf index within the range. */
  leaf: number;
  report: Uint8Array;
  decoded: Report;
  proof: Uint8Array[];
  root: Uint8Array;
  /** 48-byte compressed G1 group signature over 0x01 ‖ root. */
  signature: Uint8Array;
  signers: number[];
  epoch: number;
}

export interface BatchFailure {
  fromRow: number;
  toRow: number;
  error: string;
}

export interface BatchInferResponse {
  jobId: string;
  stream: Uint8Array;
  /** One entry per row, in row order; undefined for rows of failed ranges. */
  results: (BatchResult | undefined)[];
  failed: BatchFailure[];
  /** Results whose root signature and proof were checked (0 with verify: false). */
  verified: number;
}

/** A result line is a few KiB; a longer line is not one. A range line holds at most a whole range's reports. */
const MAX_LINE_BYTES = 256 * 1024;
const MAX_RANGE_LINE_BYTES = 2 * MAX_BATCH_SIZE * MAX_REPORT_LENGTH + 64 * 1024;

export async function inferBatch(nodeUrl: string, req: BatchInferRequest, opts: BatchInferOptions = {}): Promise<BatchInferResponse> {
  const lines = opts.lines ?? 'ranges';
  if (lines !== 'ranges' && lines !== 'results') throw new NodeResponseError(`lines must be 'ranges' or 'results', got ${JSON.stringify(String(lines)).slice(0, 40)}`);
  let url: URL;
  try {
    url = new URL('/v1/infer/batch', nodeUrl);
    if (lines === 'ranges') url.searchParams.set('lines', 'ranges');
  } catch {
    throw new NodeResponseError(`node URL ${JSON.stringify(nodeUrl)} is not a valid URL: use e.g. http://127.0.0.1:8080`);
  }
  if (typeof req.model !== 'string' || req.model.length === 0) throw new NodeResponseError('model must be a non-empty model name');
  if (!Array.isArray(req.rows) || req.rows.length === 0) throw new NodeResponseError('rows must be a non-empty array');
  const canonical = req.rows[0] instanceof Uint8Array;
  const body = canonical ? encodeBatchBody(req.model, req.rows as readonly Uint8Array[]) : JSON.stringify({ model: req.model, rows: req.rows });
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': canonical ? 'application/octet-stream' : 'application/json', accept: 'application/x-ndjson' },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000),
    });
  } catch (e) {
    throw new NodeResponseError(`cannot reach node ${url.origin} (${(e as Error).message}): check that the node runs and the URL is right`, undefined, { cause: e });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let b: { error?: unknown; message?: unknown } = {};
    try {
      b = JSON.parse(text.slice(0, 64 * 1024)) as typeof b;
    } catch {
      /* not JSON */
    }
    throw new NodeResponseError(`node ${url.origin} answered ${res.status} ${String(b.error ?? '')}: ${String(b.message ?? text.slice(0, 200))}`, res.status);
  }
  if (!res.body) throw new NodeResponseError(`node ${url.origin} sent no body`, res.status);
  const check = opts.verify === false ? undefined : new ResultChecker(url, req.rows, req.model, canonical, opts, doFetch);
  const rows = req.rows.length;
  const out: BatchInferResponse = { jobId: '', stream: new Uint8Array(0), results: new Array(rows), failed: [], verified: 0 };
  let seen = 0;
  let done = false;
  const maxLines = 2 * rows + 4;
  let count = 0;
  const maxLine = lines === 'ranges' ? MAX_RANGE_LINE_BYTES : MAX_LINE_BYTES;
  const take = async (r: BatchResult): Promise<void> => {
    if (out.results[r.row]) throw new NodeResponseError(`node ${url.origin} sent row ${r.row} twice`);
    if (check) {
      await check.result(r, out.stream);
      out.verified++;
    }
    out.results[r.row] = r;
    seen++;
    opts.onResult?.(r);
  };
  for await (const line of ndjsonLines(res.body, url, maxLine)) {
    if (++count > maxLines) throw new NodeResponseError(`node ${url.origin} sent more than ${maxLines} lines for ${rows} rows`);
    const l = parseLine(line, url, maxLine);
    if (count === 1) {
      if (l.type !== 'job' || typeof l.id !== 'string' || l.rows !== rows) throw new NodeResponseError(`node ${url.origin}: the stream must start with the job line for ${rows} rows`);
      out.jobId = l.id;
      out.stream = hexField(l.stream, 'stream', 32);
      continue;
    }
    if (l.type === 'result') await take(parseBatchResultLine(l, rows));
    else if (l.type === 'range') {
      const results = resultsOfRangeLine(l, rows);
      check?.rangeStream(results[0]!, out.stream, results.length);
      for (const r of results) await take(r);
    }
    else if (l.type === 'failed') {
      const fromRow = l.fromRow;
      const toRow = l.toRow;
      if (!Number.isSafeInteger(fromRow) || !Number.isSafeInteger(toRow) || (fromRow as number) < 0 || (toRow as number) > rows || (fromRow as number) >= (toRow as number)) throw new NodeResponseError(`node ${url.origin}: malformed failed line`);
      out.failed.push({ fromRow: fromRow as number, toRow: toRow as number, error: String(l.error ?? 'failed').slice(0, 500) });
      seen += (toRow as number) - (fromRow as number);
    } else if (l.type === 'done') {
      done = true;
      break;
    } else throw new NodeResponseError(`node ${url.origin}: unexpected line type ${JSON.stringify(String(l.type).slice(0, 40))}`);
  }
  if (!done) throw new NodeResponseError(`node ${url.origin} closed the stream before the job's done line (${seen} of ${rows} rows settled); fetch GET /v1/jobs/${out.jobId} later`);
  if (seen !== rows) throw new NodeResponseError(`node ${url.origin} settled ${seen} of ${rows} rows`);
  return out;
}

/** Checks results: report fields against the job, proof to the root, root signature once per (root, signature). */
class ResultChecker {
  private readonly roots = new Map<string, Promise<boolean>>();
  private readonly keys = new Map<number, Promise<ReturnType<typeof groupKeyPoint>>>();
  private committee: Promise<{ epoch: number; groupKey: string | null }> | undefined;

  constructor(
    private readonly url: URL,
    private readonly rows: BatchInferRequest['rows'],
    private readonly model: string,
    private readonly canonical: boolean,
    private readonly opts: BatchInferOptions,
    private readonly doFetch: typeof fetch,
  ) {}

  /** A `range` line's stream must be the job stream and this range's content (the rows this client sent). */
  rangeStream(first: BatchResult, jobStream: Uint8Array, count: number): void {
    if (!this.canonical) return; // number rows: the node encoded them; each report's input hash is what it ran
    const fromRow = first.row;
    const rows = this.rows.slice(fromRow, fromRow + count) as Uint8Array[];
    const flat = new Uint8Array(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of rows) {
      flat.set(r, at);
      at += r.length;
    }
    const content = { model: this.model, timestamp: Number(first.decoded.timestamp), epoch: first.epoch, rowLength: rows[0]!.length, rowsHash: inputHash(flat) };
    if (!eq(first.stream, jobRangeStream(jobStream, content))) throw new NodeResponseError(`node ${this.url.origin}: range of rows ${fromRow}..${fromRow + count - 1} is not on the stream of this job and these rows`);
  }

  async result(r: BatchResult, _jobStream: Uint8Array): Promise<void> {
    const where = `node ${this.url.origin}, row ${r.row}`;
    if (r.decoded.epoch !== BigInt(r.epoch)) throw new NodeResponseError(`${where}: the report names epoch ${r.decoded.epoch}, the result ${r.epoch}`);
    if (r.decoded.kind !== ReportKind.OnDemand) throw new NodeResponseError(`${where}: report kind ${r.decoded.kind} is not on-demand`);
    if (!eq(r.decoded.id, streamRequestId(r.stream, r.seq))) throw new NodeResponseError(`${where}: report id is not keccak256(range stream ‖ seq ${r.seq})`);
    if (r.seq !== r.row) throw new NodeResponseError(`${where}: sequence number ${r.seq} is not the row's position in the job`);
    if (this.canonical && !eq(r.decoded.inputHash, inputHash(this.rows[r.row] as Uint8Array))) throw new NodeResponseError(`${where}: report input hash is not keccak256 of the row sent`);
    if (!verifyMerkleProof(reportLeaf(r.report), r.proof, r.root)) throw new NodeResponseError(`${where}: Merkle proof does not lead to the root`);
    const k = `${bytesToHex(r.root)}:${bytesToHex(r.signature)}:${r.epoch}`;
    let ok = this.roots.get(k);
    if (!ok) {
      ok = this.keyOf(r.epoch).then((key) => {
        try {
          return verify(key, rootSigningMessage(r.root), r.signature);
        } catch {
          return false; // not a G1 point
        }
      });
      this.roots.set(k, ok);
    }
    if (!(await ok)) throw new NodeResponseError(`${where}: root signature does not verify under epoch ${r.epoch}'s group key`);
  }

  private keyOf(epoch: number): Promise<ReturnType<typeof groupKeyPoint>> {
    let p = this.keys.get(epoch);
    if (!p) {
      p = (async () => {
        if (this.opts.groupKey) return groupKeyPoint(await this.opts.groupKey(epoch));
        this.committee ??= this.doFetch(new URL('/v1/committee', this.url), { signal: AbortSignal.timeout(30_000) }).then(async (res) => (await res.json()) as { epoch: number; groupKey: string | null });
        const c = await this.committee;
        if (c.epoch !== epoch || typeof c.groupKey !== 'string') {
          throw new NodeResponseError(`no group key for epoch ${epoch}: node ${this.url.origin} is at epoch ${c.epoch}; pass options.groupKey (e.g. from CommitteeRegistry)`);
        }
        return groupKeyPoint(c.groupKey as Hex);
      })();
      this.keys.set(epoch, p);
    }
    return p;
  }
}

/** Lines of an NDJSON body; a line is searched for its end once (chunks of a long line are kept apart until it ends). */
async function* ndjsonLines(body: ReadableStream<Uint8Array>, url: URL, maxLine: number): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let parts: string[] = [];
  let partLength = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    let text = decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      parts.push(text.slice(0, nl));
      text = text.slice(nl + 1);
      const line = parts.join('');
      parts = [];
      partLength = 0;
      if (line.length > 0) yield line;
    }
    parts.push(text);
    partLength += text.length;
    if (partLength > maxLine) throw new NodeResponseError(`node ${url.origin} sent a line longer than ${maxLine} bytes`);
  }
  const rest = parts.join('');
  if (rest.trim().length > 0) yield rest;
}

function parseLine(line: string, url: URL, maxLine: number): Record<string, unknown> {
  if (line.length > maxLine) throw new NodeResponseError(`node ${url.origin} sent a line longer than ${maxLine} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new NodeResponseError(`node ${url.origin} sent a line that is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NodeResponseError(`node ${url.origin} sent a line that is not a JSON object`);
  return v as Record<string, unknown>;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function hexField(value: unknown, field: string, length?: number): Uint8Array {
  if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0) throw new NodeResponseError(`node response field ${field} must be 0x-prefixed hex`);
  const bytes = hexToBytes(value);
  if (length !== undefined && bytes.length !== length) throw new NodeResponseError(`node response field ${field} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

const uintField = (v: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new NodeResponseError(`node response field ${field} must be an integer 0..${max}`);
  return v;
};

/**
 * A `range` line (lines: 'ranges'), field by field, as one result per report: the tree is rebuilt from
 * the reports, so each result's proof leads to the tree's root — which must be the line's signed root.
 */
export function resultsOfRangeLine(l: Record<string, unknown>, rows: number): BatchResult[] {
  const count = uintField(l.count, 'count', MAX_BATCH_SIZE);
  const fromRow = uintField(l.fromRow, 'fromRow', rows - 1);
  const start = uintField(l.start, 'start');
  const reportLength = uintField(l.reportLength, 'reportLength', MAX_REPORT_LENGTH);
  if (count < 1 || fromRow + count > rows) throw new NodeResponseError(`node response range of ${count} rows from row ${fromRow} is outside the job's ${rows} rows`);
  const all = hexField(l.reports, 'reports', count * reportLength);
  const stream = hexField(l.stream, 'stream', 32);
  const id = hexField(l.rangeId, 'rangeId', 32);
  if (!eq(id, rangeId(stream, start, count))) throw new NodeResponseError(`node response rangeId is not the id of range ${start}+${count} of its stream`);
  const root = hexField(l.root, 'root', 32);
  const signature = hexField(l.signature, 'signature', 48);
  if (!Array.isArray(l.signers) || l.signers.length > 256) throw new NodeResponseError('node response field signers must be an array of member indices');
  const signers = l.signers.map((s, i) => uintField(s, `signers[${i}]`, 65_535));
  const epoch = uintField(l.epoch, 'epoch');
  const reports = Array.from({ length: count }, (_, i) => all.slice(i * reportLength, (i + 1) * reportLength));
  const tree = buildMerkleTree(reports.map((r) => reportLeaf(r)));
  if (!eq(tree.root, root)) throw new NodeResponseError(`node response range ${start}+${count}: its reports do not build the signed root`);
  return reports.map((report, i) => {
    let decoded: Report;
    try {
      decoded = decodeReport(report);
    } catch (e) {
      throw new NodeResponseError(`node returned a malformed report: ${(e as Error).message}`, undefined, { cause: e });
    }
    return { row: fromRow + i, stream, seq: start + i, rangeId: id, leaf: i, report, decoded, proof: merkleProof(tree, i), root, signature, signers, epoch };
  });
}

/** A `result` line, field by field. */
export function parseBatchResultLine(l: Record<string, unknown>, rows: number): BatchResult {
  const report = hexField(l.report, 'report');
  let decoded: Report;
  try {
    decoded = decodeReport(report);
  } catch (e) {
    throw new NodeResponseError(`node returned a malformed report: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (!Array.isArray(l.proof) || l.proof.length > MAX_PROOF_DEPTH) throw new NodeResponseError(`node response field proof must be an array of at most ${MAX_PROOF_DEPTH} hashes`);
  if (!Array.isArray(l.signers) || l.signers.length > 256) throw new NodeResponseError('node response field signers must be an array of member indices');
  return {
    row: uintField(l.row, 'row', rows - 1),
    stream: hexField(l.stream, 'stream', 32),
    seq: uintField(l.seq, 'seq'),
    rangeId: hexField(l.rangeId, 'rangeId', 32),
    leaf: uintField(l.leaf, 'leaf'),
    report,
    decoded,
    proof: l.proof.map((p, i) => hexField(p, `proof[${i}]`, 32)),
    root: hexField(l.root, 'root', 32),
    signature: hexField(l.signature, 'signature', 48),
    signers: l.signers.map((s, i) => uintField(s, `signers[${i}]`, 65_535)),
    epoch: uintField(l.epoch, 'epoch'),
  };
}
