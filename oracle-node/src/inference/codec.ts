// Canonical input bytes <-> tensors, and model outputs -> canonical int64 output bytes.
//
// Input: every value is a signed int64 big-endian fixed-point number n = roundHalfEven(value · scale)
// (docs/report-format.md). Float inputs reach the model as float32(n / scale) (the quotient is computed in
// float64 and rounded to the nearest float32); integer inputs (int8, uint8, int32, int64) receive n itself.
// Output: float values become roundHalfEven(value · scale) computed in float64; integer outputs are copied
// as they are. Values must stay within ±(2^53 − 1) so every step is exact in JS numbers; NaN, infinities
// and anything larger are rejected rather than clamped.
import type { ModelManifest } from '@destra/models';
import { InferenceInputError, InferenceOutputError } from './errors.ts';

export const MAX_EXACT = Number.MAX_SAFE_INTEGER;
const TWO32 = 4294967296;

/** Round half to even (banker's rounding) of a float64; the one rounding rule used for canonical values. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties go towards +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export type InputArray = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
export type OutputArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

const DTYPE_LIMITS: Record<string, [number, number]> = {
  float32: [-MAX_EXACT, MAX_EXACT],
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
  int64: [-MAX_EXACT, MAX_EXACT],
};

export interface InputPlan {
  name: string;
  dtype: 'float32' | 'int8' | 'uint8' | 'int32' | 'int64';
  count: number;
  scale: number;
  /** Field names "input.feature" for error messages. */
  fields: string[];
  /** Inclusive bounds on the canonical integer of each feature. */
  lo: Float64Array;
  hi: Float64Array;
}

export interface OutputPlan {
  name: string;
  dtype: ModelManifest['outputs'][number]['dtype'];
  columns: number[];
  scale: number;
  isFloat: boolean;
}

/** Everything the hot paths need from a manifest, precomputed once per model. */
export interface ModelPlan {
  model: string;
  inputs: InputPlan[];
  /** Canonical input values per row (input bytes = 8 · valueCount). */
  valueCount: number;
  outputs: OutputPlan[];
  /** Canonical output values per row (the report's k). */
  k: number;
}

export function planFor(m: ModelManifest): ModelPlan {
  const inputs = m.inputs.map((i): InputPlan => {
    const [dmin, dmax] = DTYPE_LIMITS[i.dtype]!;
    const lo = new Float64Array(i.features.length);
    const hi = new Float64Array(i.features.length);
    i.features.forEach((f, j) => {
      // The bounds an honest encoder can produce from a value in [min, max] (rounding is monotonic).
      lo[j] = Math.max(roundHalfEven(f.min * i.scale), dmin);
      hi[j] = Math.min(roundHalfEven(f.max * i.scale), dmax);
    });
    return { name: i.name, dtype: i.dtype, count: i.shape[1], scale: i.scale, fields: i.features.map((f) => `${i.name}.${f.name}`), lo, hi };
  });
  const outputs = m.outputs.map((o): OutputPlan => ({ name: o.name, dtype: o.dtype, columns: o.columns, scale: o.scale, isFloat: o.dtype === 'float32' || o.dtype === 'float64' }));
  return {
    model: m.name,
    inputs,
    valueCount: inputs.reduce((n, i) => n + i.count, 0),
    outputs,
    k: outputs.reduce((n, o) => n + o.columns.length, 0),
  };
}

/** Allocates one typed array per input for `rows` rows. */
export function allocInputs(plan: ModelPlan, rows: number): InputArray[] {
  return plan.inputs.map((i) => {
    const n = rows * i.count;
    switch (i.dtype) {
      case 'float32':
        return new Float32Array(n);
      case 'int8':
        return new Int8Array(n);
      case 'uint8':
        return new Uint8Array(n);
      case 'int32':
        return new Int32Array(n);
      case 'int64':
        return new BigInt64Array(n);
    }
  });
}

/** Encodes plain values (manifest order) into canonical input bytes; what a client sends. */
export function encodeInput(plan: ModelPlan, values: readonly number[]): Uint8Array {
  if (values.length !== plan.valueCount) throw new InferenceInputError(plan.model, `expected ${plan.valueCount} values, got ${values.length}`, undefined, 'length');
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  let v = 0;
  for (const inp of plan.inputs) {
    for (let j = 0; j < inp.count; j++, v++) {
      const x = values[v]!;
      if (!Number.isFinite(x)) throw new InferenceInputError(plan.model, `value ${x} is not a finite number`, inp.fields[j], 'range');
      const n = roundHalfEven(x * inp.scale);
      if (n < inp.lo[j]! || n > inp.hi[j]!) throw new InferenceInputError(plan.model, `value ${x} is outside the manifest range [${inp.lo[j]! / inp.scale}, ${inp.hi[j]! / inp.scale}]`, inp.fields[j], 'range');
      writeInt64(dv, v * 8, n);
    }
  }
  return out;
}

/** Decodes canonical input bytes back into plain values (n / scale); for display and tests. */
export function decodeInputValues(plan: ModelPlan, bytes: Uint8Array): number[] {
  checkLength(plan, bytes, 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  let v = 0;
  for (const inp of plan.inputs) for (let j = 0; j < inp.count; j++, v++) out.push(readInt64(dv, v * 8) / inp.scale);
  return out;
}

export function checkLength(plan: ModelPlan, bytes: Uint8Array, rows: number): void {
  const want = plan.valueCount * 8 * rows;
  if (bytes.length !== want) {
    throw new InferenceInputError(plan.model, `canonical input must be ${want} bytes (${rows} row(s) × ${plan.valueCount} int64 values), got ${bytes.length}`, undefined, 'length');
  }
}

/**
 * Validates and decodes `rows` rows of canonical input starting at byte `srcOffset` into the tensors
 * `dst` at row `dstRow`. Throws InferenceInputError naming the first out-of-range field.
 */
export function decodeRows(plan: ModelPlan, bytes: Uint8Array, srcOffset: number, rows: number, dst: InputArray[], dstRow: number): void {
  // Byte-swap a copy once (native), then read 32-bit halves from an Int32Array: several times faster
  // than a DataView call per value, which matters at millions of values per second.
  const stride = plan.valueCount * 8;
  const len = rows * stride;
  const copy = new Uint8Array(len);
  copy.set(bytes.subarray(srcOffset, srcOffset + len));
  Buffer.from(copy.buffer, 0, len).swap64();
  const words = new Int32Array(copy.buffer, 0, len / 4); // little-endian: [lo, hi] per value
  const strideWords = stride / 4;
  let base = 0; // word offset of this input inside a row
  for (let i = 0; i < plan.inputs.length; i++) {
    const inp = plan.inputs[i]!;
    const out = dst[i]!;
    const { lo, hi, count, scale } = inp;
    const isFloat = inp.dtype === 'float32';
    const isBig = inp.dtype === 'int64';
    for (let r = 0; r < rows; r++) {
      let p = r * strideWords + base;
      let o = (dstRow + r) * count;
      for (let j = 0; j < count; j++, p += 2, o++) {
        const n = words[p + 1]! * TWO32 + (words[p]! >>> 0);
        if (!(n >= lo[j]! && n <= hi[j]!)) {
          // Bounds are within ±(2^53−1), so any word beyond them (including inexact ones) fails here.
          const exact = new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(srcOffset + r * stride + (p - r * strideWords) * 4);
          throw new InferenceInputError(plan.model, `fixed-point value ${exact} (= ${Number(exact) / scale}) is outside the manifest range [${lo[j]! / scale}, ${hi[j]! / scale}]${rows > 1 ? ` (row ${r})` : ''}`, inp.fields[j], 'range');
        }
        if (isFloat) out[o] = n / scale;
        else if (isBig) (out as BigInt64Array)[o] = BigInt(n);
        else out[o] = n;
      }
    }
    base += count * 2;
  }
}

export function writeInt64(dv: DataView, offset: number, n: number): void {
  const hiWord = Math.floor(n / TWO32);
  dv.setInt32(offset, hiWord);
  dv.setUint32(offset + 4, n - hiWord * TWO32);
}

export function readInt64(dv: DataView, offset: number): number {
  return dv.getInt32(offset) * TWO32 + dv.getUint32(offset + 4);
}

export interface OutputTensorLike {
  data: unknown;
  dims: readonly number[];
}

/**
 * Writes the canonical output of `rows` rows into `out` (rows · k · 8 bytes, row-major, big-endian) at
 * row `dstRow`; the tensors may hold `tensorRows` ≥ rows rows (padding), only the first `rows` count. Throws InferenceOutputError on NaN, infinities, values beyond ±(2^53 − 1), or a tensor
 * whose shape does not have the manifest's columns.
 */
export function canonicalizeRows(plan: ModelPlan, results: Record<string, OutputTensorLike>, rows: number, out: Uint8Array, dstRow: number, tensorRows = rows): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const rowBytes = plan.k * 8;
  let col0 = 0; // first canonical column of this output
  for (const o of plan.outputs) {
    const t = results[o.name];
    if (!t) throw new InferenceOutputError(plan.model, o.name, `the model produced no tensor named '${o.name}'; fix the manifest's outputs`);
    const width = t.dims.length >= 2 ? t.dims[t.dims.length - 1]! : 1;
    if (t.dims[0] !== tensorRows) throw new InferenceOutputError(plan.model, o.name, `expected ${tensorRows} rows, the tensor has shape [${t.dims.join(', ')}]`);
    const data = t.data as OutputArray;
    const { columns, scale } = o;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      if (col >= width) throw new InferenceOutputError(plan.model, o.name, `column ${col} does not exist in a tensor of shape [${t.dims.join(', ')}]`);
      let p = dstRow * rowBytes + (col0 + c) * 8;
      if (data instanceof BigInt64Array) {
        for (let r = 0; r < rows; r++, p += rowBytes) dv.setBigInt64(p, data[r * width + col]!);
      } else if (o.isFloat) {
        for (let r = 0; r < rows; r++, p += rowBytes) {
          const x = (data[r * width + col] as number) * scale;
          // One comparison rejects NaN (false), ±∞ and values too large to round exactly.
          if (!(x <= MAX_EXACT && x >= -MAX_EXACT)) throw new InferenceOutputError(plan.model, o.name, `value ${data[r * width + col]} (row ${r}, column ${col}) is NaN, infinite or beyond ±2^53 at scale ${scale}; the output is not signed`, 'value');
          writeInt64(dv, p, roundHalfEven(x));
        }
      } else {
        for (let r = 0; r < rows; r++, p += rowBytes) writeInt64(dv, p, data[r * width + col] as number);
      }
    }
    col0 += columns.length;
  }
}

/** The canonical output of one row as bigints (what the round engine puts into the report). */
export function outputValues(bytes: Uint8Array): bigint[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: bigint[] = [];
  for (let p = 0; p < bytes.length; p += 8) out.push(dv.getBigInt64(p));
  return out;
}
