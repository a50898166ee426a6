// Request bodies of POST /v1/infer/batch → (model, row length, rows back to back). The binary form
// (application/octet-stream, framing in protocol/src/wire/batch-body.ts) is decoded by decodeBatchBody;
// the JSON form here: { "model": "name", "rows": ["0x…" | [numbers], …] } — hex rows are canonical input
// bytes, number rows go through the model's input encoder; every row ends up with one length.
import { BatchBodyError, type BatchBody, type BatchBodyLimits } from '@destra/protocol';
import { RoundError } from '../errors.ts';
import { MAX_INPUT_BYTES, MAX_MODEL_NAME } from '../wire.ts';

export { BatchBodyError, decodeBatchBody, encodeBatchBody, type BatchBody, type BatchBodyLimits } from '@destra/protocol';

const HEX_ROW = /^(0x)?([0-9a-fA-F]{2})+$/;
const bad = (message: string): BatchBodyError => new BatchBodyError(message, 400, 'BAD_REQUEST');

/**
 * Decodes the JSON form (already parsed). Structure is checked before any row is converted and each
 * check stops at the first fault, so a huge wrong body costs one pass. `encode` turns a number row into
 * canonical bytes (the model's encoder); its error names the row.
 */
export function decodeJsonBatch(raw: unknown, limits: Pick<BatchBodyLimits, 'maxRows'>, encode: (model: string, values: number[]) => Uint8Array): BatchBody {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('body must be a JSON object {"model": "...", "rows": ["0x..." | [numbers], ...]}');
  const extra = Object.keys(raw).find((k) => k !== 'model' && k !== 'rows');
  if (extra !== undefined) throw bad(`field '${extra.slice(0, 40)}': unknown field; the body has only 'model' and 'rows'`);
  const { model, rows } = raw as { model?: unknown; rows?: unknown };
  if (typeof model !== 'string' || model.length < 1 || model.length > MAX_MODEL_NAME) throw bad(`field 'model': a model name of 1..${MAX_MODEL_NAME} characters is required`);
  if (!Array.isArray(rows) || rows.length === 0) throw bad("field 'rows': a non-empty array of rows is required");
  if (rows.length > limits.maxRows) throw new BatchBodyError(`job of ${rows.length} rows; at most ${limits.maxRows} rows per job: split it`, 413, 'TOO_MANY_ROWS');
  const bytes: Uint8Array[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r: unknown = rows[i];
    let b: Uint8Array;
    if (typeof r === 'string') {
      if (r.length > 2 * MAX_INPUT_BYTES + 2 || !HEX_ROW.test(r)) throw bad(`field 'rows.${i}': a hex row must be non-empty, even-length hex of at most ${MAX_INPUT_BYTES} bytes`);
      b = new Uint8Array(Buffer.from(r.startsWith('0x') ? r.slice(2) : r, 'hex'));
    } else if (Array.isArray(r)) {
      if (r.length === 0 || r.length > MAX_INPUT_BYTES) throw bad(`field 'rows.${i}': a number row must hold 1..${MAX_INPUT_BYTES} values`);
      for (let j = 0; j < r.length; j++) {
        if (typeof r[j] !== 'number' || !Number.isFinite(r[j])) throw bad(`field 'rows.${i}.${j}': expected a finite number`);
      }
      try {
        b = encode(model, r as number[]);
      } catch (err) {
        throw new RoundError((err as { code?: string }).code ?? 'BAD_REQUEST', `field 'rows.${i}': ${(err as Error).message}`, 400, { row: i });
      }
    } else throw bad(`field 'rows.${i}': a row is a hex string or an array of numbers`);
    if (b.length !== (bytes[0] ?? b).length) throw bad(`field 'rows.${i}': ${b.length} bytes, row 0 has ${bytes[0]!.length}: all rows of a job have the model's row length`);
    bytes[i] = b;
  }
  const rowLength = bytes[0]!.length;
  const flat = new Uint8Array(rows.length * rowLength);
  bytes.forEach((b, i) => flat.set(b, i * rowLength));
  return { model, rowLength, count: rows.length, rows: flat };
}
