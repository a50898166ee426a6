// The binary body of POST /v1/infer/batch (a node's batch API; docs/api.md), shared by the node's
// decoder and the SDK's encoder. Big-endian, nothing before or after:
//   offset   size   field
//   0        4      magic "DRB1" (0x44 0x52 0x42 0x31)
//   4        1      m: model name length in bytes, 1..128
//   5        m      model name, UTF-8
//   5+m      4      L: row length in bytes, 1..MAX_INPUT_BYTES (uint32)
//   9+m      4      N: row count, ≥ 1 (uint32)
//   13+m     N·L    the N canonical input rows, back to back
// The body is exactly 13 + m + N·L bytes. Sizes are checked before anything is allocated.
import { DestraError } from '../errors.ts';
import { MAX_INPUT_BYTES, MAX_MODEL_NAME } from './messages.ts';

export const BATCH_BODY_MAGIC = new Uint8Array([0x44, 0x52, 0x42, 0x31]); // "DRB1"
const HEADER = 4 + 1 + 4 + 4;

export interface BatchBody {
  model: string;
  rowLength: number;
  count: number;
  /** count · rowLength bytes (a view into the body). */
  rows: Uint8Array;
}

export interface BatchBodyLimits {
  maxRows: number;
  maxBytes: number;
}

/** A batch body that is malformed (status 400) or over a limit (413, codes BODY_TOO_LARGE / TOO_MANY_ROWS). */
export class BatchBodyError extends DestraError {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
    code = 'BAD_BODY',
  ) {
    super(code, message);
    this.name = 'BatchBodyError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes the binary form; rejects anything malformed, truncated, padded or over the limits. */
export function decodeBatchBody(body: Uint8Array, limits: BatchBodyLimits): BatchBody {
  if (body.length > limits.maxBytes) throw new BatchBodyError(`body of ${body.length} bytes exceeds the ${limits.maxBytes}-byte limit`, 413, 'BODY_TOO_LARGE');
  if (body.length < HEADER + 1) throw new BatchBodyError(`binary body of ${body.length} bytes is shorter than its header (magic "DRB1", name length, name, row length, row count)`);
  for (let i = 0; i < 4; i++) if (body[i] !== BATCH_BODY_MAGIC[i]) throw new BatchBodyError('binary body must start with the magic "DRB1"');
  const m = body[4]!;
  if (m < 1 || m > MAX_MODEL_NAME) throw new BatchBodyError(`model name length ${m} is outside 1..${MAX_MODEL_NAME}`);
  if (body.length < HEADER + m) throw new BatchBodyError(`binary body of ${body.length} bytes ends inside its header (model name of ${m} bytes)`);
  let model: string;
  try {
    model = utf8.decode(body.subarray(5, 5 + m));
  } catch {
    throw new BatchBodyError('model name is not valid UTF-8');
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const rowLength = view.getUint32(5 + m);
  const count = view.getUint32(9 + m);
  if (rowLength < 1 || rowLength > MAX_INPUT_BYTES) throw new BatchBodyError(`row length ${rowLength} is outside 1..${MAX_INPUT_BYTES}`);
  if (count < 1) throw new BatchBodyError('row count must be at least 1');
  if (count > limits.maxRows) throw new BatchBodyError(`job of ${count} rows; at most ${limits.maxRows} rows per job: split it`, 413, 'TOO_MANY_ROWS');
  const want = HEADER + m + rowLength * count;
  if (body.length !== want) throw new BatchBodyError(`binary body is ${body.length} bytes; its header (${count} rows of ${rowLength} bytes, model name of ${m}) needs exactly ${want}`);
  return { model, rowLength, count, rows: body.subarray(HEADER + m) };
}

/** The binary form of `rows` (all one length, or already back to back with `rowLength`). */
export function encodeBatchBody(model: string, rows: readonly Uint8Array[] | { rows: Uint8Array; rowLength: number }): Uint8Array {
  const name = new TextEncoder().encode(model);
  if (name.length < 1 || name.length > MAX_MODEL_NAME) throw new BatchBodyError(`model name must be 1..${MAX_MODEL_NAME} bytes of UTF-8`);
  const flat = Array.isArray(rows) ? undefined : (rows as { rows: Uint8Array; rowLength: number });
  const list = rows as readonly Uint8Array[];
  const rowLength = flat ? flat.rowLength : (list[0]?.length ?? 0);
  const count = flat ? flat.rows.length / rowLength : list.length;
  if (!Number.isInteger(count) || count < 1 || rowLength < 1 || rowLength > MAX_INPUT_BYTES) throw new BatchBodyError(`a batch needs at least one row of 1..${MAX_INPUT_BYTES} bytes, all rows the same length`);
  const out = new Uint8Array(HEADER + name.length + count * rowLength);
  out.set(BATCH_BODY_MAGIC, 0);
  out[4] = name.length;
  out.set(name, 5);
  const view = new DataView(out.buffer);
  view.setUint32(5 + name.length, rowLength);
  view.setUint32(9 + name.length, count);
  const at = HEADER + name.length;
  if (flat) out.set(flat.rows, at);
  else
    list.forEach((r, i) => {
      if (r.length !== rowLength) throw new BatchBodyError(`row ${i} is ${r.length} bytes, row 0 is ${rowLength}: all rows must have one length`);
      out.set(r, at + i * rowLength);
    });
  return out;
}
