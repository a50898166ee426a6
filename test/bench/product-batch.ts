// Batch jobs through the product (docs/api.md "Batch jobs"): concurrent clients, spread over the node
// processes, each posting jobs of R rows to POST /v1/infer/batch with Accept: application/x-ndjson and
// reading the result stream to its `done` line. Every range's root signature is verified (under the
// registry's key of the result's epoch), and a sample of results is checked in full: Merkle proof from
// keccak(0x00 ‖ report) to the root, the report's input hash against the row sent. A result counts as
// verified once its range's root signature verified and every sampled proof of the job held.
// Bodies: binary (what the SDK sends for canonical rows) or JSON hex rows. Lines: one per result (default),
// or `?lines=ranges`: one line per range with all its reports; the client rebuilds the tree from them
// (every leaf checked against the signed root) and checks a sample of input hashes.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { decodeReport, encodeBatchBody, fromHex, reportLeaf, rootFromProof, rootSigningMessage, verify, type G2Point } from '@destra/protocol';
import { loadFastHasher } from '@destra/aggregator/fast-hash';
import type { BenchModel } from './inference.ts';
import type { ProductNetwork } from './product-network.ts';

/** 'present' when a node serves POST /v1/infer/batch; otherwise why not (route missing, service off). */
export async function batchRoute(api: string): Promise<{ present: true } | { present: false; why: string }> {
  const res = await fetch(`${api}/v1/infer/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (res.status === 404 && body.error === 'NOT_FOUND') return { present: false, why: 'batch API not present' };
  if (res.status === 503) return { present: false, why: `batch API present but not served (${body.error ?? 503})` };
  return { present: true };
}

export interface BatchResult {
  clients: number;
  rowsPerJob: number;
  jobs: number;
  jobsDone: number;
  results: number;
  verifiedPerSecond: number;
  jobP50: number;
  jobP99: number;
  rootsVerified: number;
  proofsChecked: number;
  bad: number;
  failedRows: number;
  /** The error of the first `failed` line (why a range did not certify). */
  firstFailedRange?: string;
  /** Jobs that failed outright (HTTP error, connection lost), and the first such failure. */
  errors: number;
  firstError?: string;
  seconds: number;
  /** Results counted as verified (results/s × seconds). */
  verified: number;
  body: 'binary' | 'json';
  lines: 'results' | 'ranges';
}

/** Every SAMPLE-th result line is parsed and checked in full; the others are counted (a client that trusts the root). */
const SAMPLE = 97;
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const NL = 0x0a;

interface Line {
  type: string;
  row?: number;
  report?: string;
  proof?: string[];
  root?: string;
  signature?: string;
  epoch?: number;
  rangeId?: string;
  certified?: number;
  failed?: number;
  fromRow?: number;
  count?: number;
  reportLength?: number;
  reports?: string;
}

export async function batchLoad(
  net: ProductNetwork,
  model: BenchModel,
  o: { rows: number; clients: number; seconds: number; keyOf: (epoch: number) => Promise<G2Point>; body?: 'binary' | 'json'; lines?: 'results' | 'ranges' },
): Promise<BatchResult> {
  const rowLength = model.input(0).length;
  const bodyFormat = o.body ?? 'binary';
  const lineFormat = o.lines ?? 'ranges';
  const hasher = await loadFastHasher();
  // One set of rows per client (inputs differ per client and job: no result is a replay).
  const jobRows = (client: number, job: number): { body: string | Uint8Array; rows: Uint8Array[] } => {
    const rows = Array.from({ length: o.rows }, (_, i) => model.input(1_000_000 * (client + 1) + job * o.rows + i));
    if (bodyFormat === 'binary') return { body: encodeBatchBody(model.model, rows), rows };
    return { body: JSON.stringify({ model: model.model, rows: rows.map((r) => `0x${Buffer.from(r).toString('hex')}`) }), rows };
  };
  const verifiedRoots = new Map<string, Promise<boolean>>();
  const st: { jobs: number; done: number; results: number; verified: number; roots: number; proofs: number; bad: number; failedRows: number; firstFailedRange?: string; errors: number; firstError?: string } = { jobs: 0, done: 0, results: 0, verified: 0, roots: 0, proofs: 0, bad: 0, failedRows: 0, errors: 0 };
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + o.seconds * 1000;

  const checkRoot = (l: Line): Promise<boolean> => {
    const key = `${l.root}:${l.signature}`;
    let p = verifiedRoots.get(key);
    if (!p) {
      p = o.keyOf(l.epoch!).then((k) => verify(k, rootSigningMessage(fromHex(l.root!)), fromHex(l.signature!)));
      verifiedRoots.set(key, p);
      void p.then((ok) => (ok ? st.roots++ : st.bad++));
    }
    return p;
  };
  const checkFull = (l: Line, rows: Uint8Array[]): boolean => {
    const report = fromHex(l.report!);
    const root = rootFromProof(reportLeaf(report), l.proof!.map((p) => fromHex(p)));
    const sameRoot = Buffer.compare(Buffer.from(root), Buffer.from(fromHex(l.root!))) === 0;
    const d = decodeReport(report);
    const sameInput = Buffer.compare(Buffer.from(d.inputHash), Buffer.from(keccak_256(rows[l.row!]!))) === 0;
    return sameRoot && sameInput && Number(d.epoch) === l.epoch && rows[l.row!]!.length === rowLength;
  };
  /** A range line: the tree rebuilt from its reports must give the signed root; sampled input hashes match the rows sent. */
  const checkRange = (l: Line, rows: Uint8Array[]): boolean => {
    const reports = fromHex(l.reports!);
    const len = l.reportLength!;
    if (reports.length !== l.count! * len) return false;
    const tree = hasher.flatTree(hasher.leavesFlat(reports, len));
    if (Buffer.compare(Buffer.from(tree.root), Buffer.from(fromHex(l.root!))) !== 0) return false;
    for (let i = 0; i < l.count!; i += SAMPLE) {
      const d = decodeReport(reports.subarray(i * len, (i + 1) * len));
      if (Buffer.compare(Buffer.from(d.inputHash), Buffer.from(keccak_256(rows[l.fromRow! + i]!))) !== 0 || Number(d.epoch) !== l.epoch) return false;
      st.proofs++;
    }
    return true;
  };

  const client = async (c: number): Promise<void> => {
    const node = net.nodes[c % net.nodes.length]!;
    for (let job = 0; performance.now() < until; job++) {
      const { body, rows } = jobRows(c, job);
      st.jobs++;
      const t0 = performance.now();
      try {
        await oneJob(node, body, rows, t0);
      } catch (err) {
        // A job that fails is counted and named, and the client goes on: the row reports it.
        const e = err as Error & { cause?: Error };
        st.errors++;
        st.firstError ??= `node ${node.index}: ${e.message}${e.cause ? ` (${e.cause.message})` : ''}`.slice(0, 240);
      }
    }
  };

  const oneJob = async (node: ProductNetwork['nodes'][number], body: string | Uint8Array, rows: Uint8Array[], t0: number): Promise<void> => {
    const url = `${node.api}/v1/infer/batch${lineFormat === 'ranges' ? '?lines=ranges' : ''}`;
    const contentType = typeof body === 'string' ? 'application/json' : 'application/octet-stream';
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/x-ndjson' }, body, signal: AbortSignal.timeout(120_000) });
    if (!res.ok || !res.body) throw new Error(`POST /v1/infer/batch: ${res.status} ${(await res.text()).slice(0, 200)}`);
    // Bytes of the line being read, across chunks (a range line is megabytes: joined once, at its newline).
    let parts: Buffer[] = [];
    let resultLines = 0;
    const rootChecks: Promise<boolean>[] = [];
    let lastRange = '';
    let jobOk = true;
    let finished = false;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let from = 0;
      for (let nl = buf.indexOf(NL, from); nl >= 0; nl = buf.indexOf(NL, from)) {
        const line = parts.length ? Buffer.concat([...parts, buf.subarray(from, nl)]) : buf.subarray(from, nl);
        parts = [];
        from = nl + 1;
        // Lines are parsed only for a new range (its root), every SAMPLE-th result, and control lines.
        const isResult = line[9] === 0x72 && line.subarray(0, 18).toString() === '{"type":"result","'; // 'r' of "result"
        if (isResult) {
          resultLines++;
          const at = line.indexOf('"rangeId":"');
          const rangeId = at >= 0 ? line.subarray(at + 11, at + 77).toString() : '';
          if (rangeId === lastRange && resultLines % SAMPLE !== 0) continue;
          const l = JSON.parse(line.toString()) as Line;
          if (rangeId !== lastRange) {
            lastRange = rangeId;
            rootChecks.push(checkRoot(l));
          }
          if (resultLines % SAMPLE === 0 || resultLines === 1) {
            st.proofs++;
            if (!checkFull(l, rows)) {
              st.bad++;
              jobOk = false;
            }
          }
          continue;
        }
        const l = JSON.parse(line.toString()) as Line;
        if (l.type === 'range') {
          resultLines += l.count!;
          rootChecks.push(checkRoot(l));
          if (!checkRange(l, rows)) {
            st.bad++;
            jobOk = false;
          }
        }
        if (l.type === 'failed') {
          st.failedRows += (l as { toRow?: number; fromRow?: number }).toRow! - (l as { fromRow?: number }).fromRow!;
          st.firstFailedRange ??= String((l as { error?: unknown }).error).slice(0, 200);
        }
        if (l.type === 'done') finished = true;
      }
      if (from < buf.length) parts.push(buf.subarray(from));
    }
    const ms = performance.now() - t0;
    const rootsOk = (await Promise.all(rootChecks)).every(Boolean);
    st.results += resultLines;
    if (finished) {
      st.done++;
      latencies.push(ms);
    }
    if (rootsOk && jobOk) st.verified += resultLines;
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    clients: o.clients, rowsPerJob: o.rows, jobs: st.jobs, jobsDone: st.done, results: st.results, verifiedPerSecond: st.verified / seconds,
    jobP50: pct(latencies, 50), jobP99: pct(latencies, 99), rootsVerified: st.roots, proofsChecked: st.proofs, bad: st.bad, failedRows: st.failedRows, ...(st.firstFailedRange ? { firstFailedRange: st.firstFailedRange } : {}),
    errors: st.errors, ...(st.firstError ? { firstError: st.firstError } : {}), seconds, verified: st.verified, body: bodyFormat, lines: lineFormat,
  };
}
