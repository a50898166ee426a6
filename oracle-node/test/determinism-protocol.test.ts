// docs/determinism.md "Protocol" followed by an independent verifier: onnxruntime-node used directly (no
// engine code), every reference row of every shipped model recomputed ONE ROW AT A TIME — decoded from its
// canonical bytes by the input rule, padded to a 16-row run with copies of itself (the padding rule), its
// outputs canonicalised by the output rule — must equal the node's signed bytes (the reference vectors the
// node self-checks against, and the engine's own single-request output) for every row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { loadModels, readReferenceVectors, type LoadedModel } from '@destra/models';
import { InferenceEngine } from '../src/inference/index.ts';

const ROW_QUANTUM = 16;

/** Protocol step 1: canonical int64 BE values → one tensor per manifest input, the row repeated `rows` times. */
function feeds(m: LoadedModel, row: Uint8Array, rows: number): Record<string, ort.Tensor> {
  const dv = new DataView(row.buffer, row.byteOffset, row.byteLength);
  const out: Record<string, ort.Tensor> = {};
  let v = 0;
  for (const inp of m.manifest.inputs) {
    const f = inp.shape[1];
    const n = Array.from({ length: f }, (_, j) => dv.getBigInt64((v + j) * 8));
    v += f;
    let one: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
    switch (inp.dtype) {
      case 'float32':
        // the quotient in float64, then rounded to the nearest float32
        one = Float32Array.from(n, (x) => Number(x) / inp.scale);
        break;
      case 'int8':
        one = Int8Array.from(n, Number);
        break;
      case 'uint8':
        one = Uint8Array.from(n, Number);
        break;
      case 'int32':
        one = Int32Array.from(n, Number);
        break;
      case 'int64':
        one = BigInt64Array.from(n);
        break;
    }
    const Ctor = one.constructor as new (len: number) => typeof one;
    const data = new Ctor(rows * f);
    for (let r = 0; r < rows; r++) (data as Float32Array).set(one as Float32Array, r * f);
    out[inp.name] = new ort.Tensor(inp.dtype, data, [rows, f]);
  }
  return out;
}

/** Protocol step 3: row 0 of the outputs → canonical int64 BE bytes (float: roundHalfEven(x · scale) in float64). */
function canonical(m: LoadedModel, results: ort.InferenceSession.OnnxValueMapType): Uint8Array {
  const k = m.manifest.outputs.reduce((n, o) => n + o.columns.length, 0);
  const out = new Uint8Array(k * 8);
  const dv = new DataView(out.buffer);
  let c = 0;
  for (const o of m.manifest.outputs) {
    const t = results[o.name]!;
    for (const col of o.columns) {
      const x = (t.data as ArrayLike<number | bigint>)[col]!;
      if (typeof x === 'bigint') dv.setBigInt64(c * 8, x);
      else if (o.dtype === 'float32' || o.dtype === 'float64') {
        const y = x * o.scale;
        if (!(Math.abs(y) <= Number.MAX_SAFE_INTEGER)) throw new Error(`${m.manifest.name}: output ${x} not representable (never signed)`);
        const r = Math.round(y);
        dv.setBigInt64(c * 8, BigInt(r - y === 0.5 && r % 2 !== 0 ? r - 1 : r));
      } else dv.setBigInt64(c * 8, BigInt(x));
      c++;
    }
  }
  return out;
}

const models = loadModels();
let engine: InferenceEngine;
beforeAll(async () => {
  engine = await InferenceEngine.load();
});
afterAll(async () => {
  await engine.close();
});

describe('determinism protocol: one row at a time, padded to 16 rows', () => {
  it('covers every shipped model, each with at least 4,096 reference rows', () => {
    expect(models.length).toBeGreaterThanOrEqual(8);
    for (const m of models) expect(m.manifest.reference?.rows ?? 0, m.manifest.name).toBeGreaterThanOrEqual(4096);
  });

  for (const m of models) {
    it(`${m.manifest.name}: every reference row recomputed alone equals the node's signed bytes`, async () => {
      const v = readReferenceVectors(m.dir, m.manifest)!;
      // Protocol step 2: sequential execution, one inter-op thread; everything else at onnxruntime's defaults.
      const session = await ort.InferenceSession.create(m.bytes, { executionProviders: ['cpu'], executionMode: 'sequential', interOpNumThreads: 1, intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
      try {
        const inBytes = v.inputValues * 8;
        const outBytes = v.outputValues * 8;
        const outputNames = m.manifest.outputs.map((o) => o.name);
        let differing = 0;
        let first = -1;
        for (let r = 0; r < v.rows; r++) {
          const row = v.input.subarray(r * inBytes, (r + 1) * inBytes);
          const got = canonical(m, await session.run(feeds(m, row, ROW_QUANTUM), outputNames));
          if (Buffer.compare(got, v.output.subarray(r * outBytes, (r + 1) * outBytes)) !== 0) {
            differing++;
            if (first < 0) first = r;
          }
        }
        expect({ differing, first }).toEqual({ differing: 0, first: -1 });
        // and the node itself, one request per row, says the same for a sample of rows
        for (const r of [0, 1, Math.floor(v.rows / 2), v.rows - 1]) {
          const node = await engine.infer(m.manifest.name, v.input.subarray(r * inBytes, (r + 1) * inBytes));
          expect(Buffer.from(node.outputBytes).toString('hex')).toBe(Buffer.from(v.output.subarray(r * outBytes, (r + 1) * outBytes)).toString('hex'));
        }
      } finally {
        await session.release();
      }
    }, 180_000);
  }
});
