// Batch API routes (docs/api.md "Batch jobs"):
//   POST /v1/infer/batch           rows (JSON or binary) → a job; NDJSON stream of results with Accept: application/x-ndjson
//   GET  /v1/jobs/:id              status and a page of results (or the NDJSON stream, same Accept)
//   GET  /v1/ranges/:rangeId/:i    any certified result this member keeps, by range id and leaf index
// Routes are always registered (the OpenAPI test lists them); without a batch service they answer 503.
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, Hono } from 'hono';
import { BatchBodyError, g2ToEip2537, toHex } from '@destra/protocol';
import type { BatchProposer } from '../range/proposer.ts';
import type { Job, JobRange, JobTable } from '../range/jobs.ts';
import type { RangeService } from '../range/service.ts';
import { decodeBatchBody, decodeJsonBatch, type BatchBody } from './batch-body.ts';
import { jobResults, jobView, rangeOutcomeChunks, resultView, type LineFormat } from './batch-view.ts';

export interface BatchApiDeps {
  proposer: BatchProposer;
  jobs: JobTable;
  service: RangeService;
  maxBodyBytes: number;
  maxRowsPerJob: number;
  /** Number rows → canonical bytes (the model's encoder; default: the numbers are bytes). */
  encodeInput?(model: string, values: number[]): Uint8Array;
  groupKey(epoch: number): Uint8Array | undefined;
}

const NDJSON = 'application/x-ndjson';
const MAX_PAGE = 1000;

function fail(c: Context, status: number, error: string, message: string, details: Readonly<Record<string, string | number>> = {}): Response {
  return c.json({ ...details, error, message }, status as 400);
}

function bytesOf(model: string, values: number[]): Uint8Array {
  if (!values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) throw new BatchBodyError(`model '${model}': a number row must hold bytes (integers 0..255) here; send hex rows otherwise`);
  return Uint8Array.from(values);
}

/** The body, read up to `max` bytes (413 beyond, also when the client declares more). */
async function readBody(c: Context, max: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > max) throw new BatchBodyError(`body of ${declared} bytes exceeds the ${max}-byte limit`, 413, 'BODY_TOO_LARGE');
  const reader = c.req.raw.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new BatchBodyError(`body exceeds the ${max}-byte limit`, 413, 'BODY_TOO_LARGE');
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks));
}

/** Who a job belongs to for the per-client limit: the remote address. */
function clientOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served by @hono/node-server (app.request in tests)
  }
}

/**
 * NDJSON of a job: a `job` line, every settled range's lines, then the rest as ranges settle, then
 * `done`. Pull-based: lines are generated only as the client reads (the HTTP writer waits for the socket
 * to drain), a slice of rows at a time, so a slow client costs memory for its job's ranges only, and
 * generating lines never holds the event loop for long.
 */
function streamJob(jobs: JobTable, j: Job, format: LineFormat): Response {
  const settled: JobRange[] = j.ranges.filter((r) => r.state !== 'pending');
  let finished = jobs.status(j) === 'done';
  let wake: (() => void) | undefined;
  const unlisten = finished
    ? undefined
    : jobs.listen(j, (e) => {
        if (e.type === 'range') settled.push(e.range);
        else finished = true;
        wake?.();
      });
  let current: Generator<Uint8Array> | undefined;
  let headSent = false;
  let closed = false;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headSent) {
          headSent = true;
          return controller.enqueue(Buffer.from(`${JSON.stringify({ type: 'job', id: j.id, model: j.model, rows: j.rows, stream: toHex(j.stream) })}\n`));
        }
        for (;;) {
          const next = current?.next();
          if (next && !next.done) return controller.enqueue(next.value);
          current = undefined;
          const range = settled.shift();
          if (range) {
            current = rangeOutcomeChunks(range, format);
            continue;
          }
          if (finished) {
            if (closed) return;
            closed = true;
            unlisten?.();
            controller.enqueue(Buffer.from(`${JSON.stringify({ type: 'done', id: j.id, rows: j.rows, certified: j.certified, failed: j.failed })}\n`));
            return controller.close();
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      cancel() {
        unlisten?.();
      },
    },
    { highWaterMark: 1 },
  );
  return new Response(body, { status: 200, headers: { 'content-type': NDJSON, 'x-job-id': j.id, 'cache-control': 'no-store' } });
}

/** `?lines=ranges`: one compact line per certified range instead of one line per result. */
function lineFormat(c: Context): LineFormat | undefined {
  const v = c.req.query('lines');
  return v === undefined || v === 'results' ? 'results' : v === 'ranges' ? 'ranges' : undefined;
}

export function registerBatchRoutes(app: Hono, batch: () => BatchApiDeps | undefined): void {
  const unavailable = (c: Context): Response => fail(c, 503, 'BATCH_UNAVAILABLE', 'this node does not run the batch service (no range protocol wired); use another member');

  app.post('/v1/infer/batch', async (c) => {
    const d = batch();
    if (!d) return unavailable(c);
    const format = lineFormat(c);
    if (!format) return fail(c, 400, 'BAD_LINES', "lines must be 'results' (one line per result, default) or 'ranges' (one line per certified range)");
    let body: BatchBody;
    try {
      const raw = await readBody(c, d.maxBodyBytes);
      const type = (c.req.header('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
      if (type === 'application/octet-stream') body = decodeBatchBody(raw, { maxRows: d.maxRowsPerJob, maxBytes: d.maxBodyBytes });
      else if (type === 'application/json') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
        } catch {
          return fail(c, 400, 'BAD_JSON', 'body must be JSON: {"model": "...", "rows": ["0x..." | [numbers], ...]}');
        }
        body = decodeJsonBatch(parsed, { maxRows: d.maxRowsPerJob }, d.encodeInput ?? bytesOf);
      } else return fail(c, 415, 'UNSUPPORTED_MEDIA_TYPE', `content-type ${type.slice(0, 64)} is not accepted: send application/json or application/octet-stream (docs/api.md)`);
    } catch (err) {
      if (err instanceof BatchBodyError) return fail(c, err.status, err.code, err.message);
      throw err;
    }
    const job = d.proposer.submit(clientOf(c), body.model, body.rows, body.rowLength);
    if ((c.req.header('accept') ?? '').includes(NDJSON)) return streamJob(d.jobs, job, format);
    return c.json({ ...jobView(d.jobs, job), links: { status: `/v1/jobs/${job.id}` } }, 202);
  });

  app.get('/v1/jobs/:id', (c) => {
    const d = batch();
    if (!d) return unavailable(c);
    const id = c.req.param('id');
    if (!/^0x[0-9a-fA-F]{32}$/.test(id)) return fail(c, 400, 'BAD_ID', 'job id must be 0x followed by 32 hex digits');
    const job = d.jobs.get(id);
    if (!job) return fail(c, 404, 'NOT_FOUND', `no job ${id} on this node (jobs live on the node that took them, until jobRetentionMs after they finish); results of any member: GET /v1/ranges/{rangeId}/{leaf}`);
    const format = lineFormat(c);
    if (!format) return fail(c, 400, 'BAD_LINES', "lines must be 'results' or 'ranges'");
    if ((c.req.header('accept') ?? '').includes(NDJSON)) return streamJob(d.jobs, job, format);
    const offset = Number(c.req.query('offset') ?? 0);
    const limit = Number(c.req.query('limit') ?? 100);
    if (!Number.isInteger(offset) || offset < 0) return fail(c, 400, 'BAD_OFFSET', 'offset must be a non-negative integer');
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE) return fail(c, 400, 'BAD_LIMIT', `limit must be an integer 0..${MAX_PAGE}`);
    const results = jobResults(d.jobs, job, offset, limit);
    const next = offset + results.length;
    return c.json({ ...jobView(d.jobs, job), offset, limit, results, nextOffset: next < job.rows && results.length > 0 ? next : null });
  });

  app.get('/v1/ranges/:rangeId/:i', (c) => {
    const d = batch();
    if (!d) return unavailable(c);
    const id = c.req.param('rangeId');
    const i = Number(c.req.param('i'));
    if (!/^0x[0-9a-fA-F]{64}$/.test(id)) return fail(c, 400, 'BAD_ID', 'rangeId must be 0x followed by 64 hex digits');
    const r = d.service.certifiedRange(id);
    if (!r) return fail(c, 404, 'NOT_FOUND', `range ${id} is not certified here, or no longer kept (batch.keepReports); ask the node that took the job, or another member`);
    if (!/^[0-9]{1,6}$/.test(c.req.param('i')) || i >= r.count) return fail(c, 400, 'BAD_INDEX', `leaf index must be an integer 0..${r.count - 1}`);
    const gk = d.groupKey(r.epoch);
    return c.json({ ...resultView(r, i), ...(gk ? { groupKey: toHex(gk), groupKeyEip2537: toHex(g2ToEip2537(gk)) } : {}) });
  });
}
