// Reads a model's reference vectors (canonical inputs and the outputs its publisher computed) into the
// canonical byte rows the self-check compares (selfcheck.ts). Format: docs/models.md.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from '@destra/models';
import type { ModelPlan } from './codec.ts';
import type { ReferenceVectors } from './selfcheck.ts';

/** Largest reference file read (≥ 4,096 rows of a few hundred values as JSON stay far below). */
export const MAX_VECTOR_BYTES = 64 * 1024 * 1024;
const INT64 = /^-?\d{1,19}$/;

export class ReferenceVectorError extends Error {
  constructor(
    readonly source: string,
    readonly why: string,
  ) {
    super(`reference vectors ${source}: ${why}`);
    this.name = 'ReferenceVectorError';
  }
}

/** Pure: `{ input: string[][], output: string[][] }` (canonical integers as decimal strings) → rows. */
export function vectorsFromJson(raw: unknown, plan: ModelPlan, source: string): ReferenceVectors {
  const o = raw as { input?: unknown; output?: unknown };
  if (!o || typeof o !== 'object' || !Array.isArray(o.input) || !Array.isArray(o.output)) throw new ReferenceVectorError(source, 'expected an object with "input" and "output" arrays of rows');
  const rows = o.input.length;
  if (rows === 0 || o.output.length !== rows) throw new ReferenceVectorError(source, `"input" has ${rows} rows and "output" ${o.output.length}; they must be equal and non-zero`);
  const pack = (list: unknown[], width: number, what: string): Uint8Array => {
    const out = new Uint8Array(rows * width * 8);
    const dv = new DataView(out.buffer);
    list.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== width) throw new ReferenceVectorError(source, `${what} row ${r} must hold ${width} values`);
      row.forEach((v, j) => {
        const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
        if (typeof s !== 'string' || !INT64.test(s)) throw new ReferenceVectorError(source, `${what} row ${r} value ${j} is not a canonical integer`);
        const n = BigInt(s);
        if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new ReferenceVectorError(source, `${what} row ${r} value ${j} is outside int64`);
        dv.setBigInt64((r * width + j) * 8, n);
      });
    });
    return out;
  };
  return { rows, input: pack(o.input, plan.valueCount, 'input'), output: pack(o.output, plan.k, 'output'), source };
}

/** The reference vectors shipped beside a model (its directory's vectors.json), or undefined if none. */
export function loadReferenceVectors(model: LoadedModel, plan: ModelPlan): ReferenceVectors | undefined {
  if (!model.dir) return undefined;
  const path = join(model.dir, 'vectors.json');
  if (!existsSync(path)) return undefined;
  const size = statSync(path).size;
  if (size > MAX_VECTOR_BYTES) throw new ReferenceVectorError(path, `${size} bytes, above the ${MAX_VECTOR_BYTES}-byte limit`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ReferenceVectorError(path, `not JSON (${(e as Error).message})`);
  }
  return vectorsFromJson(raw, plan, path);
}
