// Client for a node's `POST /v1/infer` (docs/api.md): fetches an on-demand signed report and validates
// every field before anything else sees it (the node is an external party).
import { bytesToHex, hexToBytes, isHex, type Hex } from 'viem';
import { decodeReport, MAX_PROOF_DEPTH, type Report } from '@destra/protocol';
import { NodeResponseError } from './errors.ts';

export interface InferRequest {
  /** Model name as the node knows it: its manifest name, e.g. "liquidation-risk" (`destra models list`). */
  model: string;
  /** Canonical input bytes, or numbers for the node's input encoder. */
  input: Uint8Array | Hex | readonly number[];
}

export interface SignedReport {
  report: Uint8Array;
  decoded: Report;
  /** 48-byte compressed G1 group signature over `0x01 ‖ root`. */
  signature: Uint8Array;
  root: Uint8Array;
  proof: Uint8Array[];
  epoch: bigint;
}

/** A successful body is a few KiB; anything far larger is not a report. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export async function fetchSignedReport(nodeUrl: string, req: InferRequest, opts: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<SignedReport> {
  let url: URL;
  try {
    url = new URL('/v1/infer', nodeUrl);
  } catch {
    throw new NodeResponseError(`node URL ${JSON.stringify(nodeUrl)} is not a valid URL: use e.g. http://127.0.0.1:8080`);
  }
  if (typeof req.model !== 'string' || req.model.length === 0) throw new NodeResponseError('model must be a non-empty model name');
  const input = req.input instanceof Uint8Array ? bytesToHex(req.input) : req.input;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ model: req.model, input }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new NodeResponseError(`cannot reach node ${url.origin} (${(e as Error).message}): check that the node runs and the URL is right`, undefined, { cause: e });
  }
  const text = await readCapped(res, url);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NodeResponseError(`node ${url.origin} answered ${res.status} with a body that is not JSON`, res.status);
  }
  if (!res.ok) {
    const b = body as { error?: unknown; message?: unknown };
    throw new NodeResponseError(`node ${url.origin} answered ${res.status} ${String(b?.error ?? '')}: ${String(b?.message ?? 'no message')}`, res.status);
  }
  return parseSignedReport(body, url.origin);
}

async function readCapped(res: Response, url: URL): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw new NodeResponseError(`node ${url.origin} sent ${declared} bytes (max ${MAX_RESPONSE_BYTES}): not a signed report`, res.status);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  if (!reader) return '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new NodeResponseError(`node ${url.origin} sent more than ${MAX_RESPONSE_BYTES} bytes: not a signed report`, res.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function hexField(value: unknown, field: string, length?: number): Uint8Array {
  if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0) {
    throw new NodeResponseError(`node response field ${field} must be 0x-prefixed hex`);
  }
  const bytes = hexToBytes(value);
  if (length !== undefined && bytes.length !== length) throw new NodeResponseError(`node response field ${field} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/** Validates the JSON of a `/v1/infer` answer into a SignedReport. */
export function parseSignedReport(body: unknown, origin = 'node'): SignedReport {
  if (typeof body !== 'object' || body === null) throw new NodeResponseError(`${origin} response must be a JSON object`);
  const b = body as Record<string, unknown>;
  const report = hexField(b.report, 'report');
  let decoded: Report;
  try {
    decoded = decodeReport(report);
  } catch (e) {
    throw new NodeResponseError(`${origin} returned a malformed report: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (!Array.isArray(b.proof) || b.proof.length > MAX_PROOF_DEPTH) throw new NodeResponseError(`node response field proof must be an array of at most ${MAX_PROOF_DEPTH} hashes`);
  const epochRaw = b.epoch;
  if (!((typeof epochRaw === 'number' && Number.isSafeInteger(epochRaw) && epochRaw >= 0) || (typeof epochRaw === 'string' && /^\d{1,20}$/.test(epochRaw)))) {
    throw new NodeResponseError('node response field epoch must be a non-negative integer');
  }
  const epoch = BigInt(epochRaw);
  if (epoch !== decoded.epoch) throw new NodeResponseError(`node response epoch ${epoch} differs from the report's epoch ${decoded.epoch}`);
  return {
    report,
    decoded,
    signature: hexField(b.signature, 'signature', 48),
    root: hexField(b.root, 'root', 32),
    proof: b.proof.map((p, i) => hexField(p, `proof[${i}]`, 32)),
    epoch,
  };
}
