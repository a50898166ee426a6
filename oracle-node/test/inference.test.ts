// The inference engine against the shipped zoo: canonical codec, validation, golden vectors from Python
// onnxruntime, micro-batching, and bit-identical outputs across execution configurations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { MODELS_DIR, readReferenceVectors } from '@destra/models';
import {
  InferenceEngine,
  InferenceInputError,
  InferenceOutputError,
  MicroBatcher,
  UnknownModelError,
  canonicalizeRows,
  checkAgreement,
  checkConfigs,
  decodeInputValues,
  planFor,
  roundHalfEven,
} from '../src/inference/index.ts';

function int64Bytes(values: (bigint | number)[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v)));
  return out;
}

let engine: InferenceEngine;
beforeAll(async () => {
  engine = await InferenceEngine.load(undefined, { maxBatch: 32, batchWindowMs: 5 });
});
afterAll(async () => {
  await engine.close();
});

describe('canonical rounding and codec', () => {
  it('rounds half to even, including negatives', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -7.5, 1e15 + 0.5].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -8, 1e15]);
  });

  it('encodes values to int64 fixed point and back', () => {
    const plan = engine.plan('liquidation-risk');
    const bytes = engine.encodeInput('liquidation-risk', [1.25, 80, 7, 5, 7.5, -12.3456785, 0.5]);
    expect(bytes.length).toBe(7 * 8);
    expect(new DataView(bytes.buffer).getBigInt64(5 * 8)).toBe(-12345678n); // half to even at scale 1e6
    expect(decodeInputValues(plan, bytes)).toEqual([1.25, 80, 7, 5, 7.5, -12.345678, 0.5]);
  });

  it('rejects NaN, out-of-range values and wrong lengths, naming the field', () => {
    expect(() => engine.encodeInput('liquidation-risk', [NaN, 80, 7, 5, 7, 0, 0])).toThrow(/health_factor.*not a finite/);
    expect(() => engine.encodeInput('liquidation-risk', [1, 300, 7, 5, 7, 0, 0])).toThrow(/asset_vol_annual_pct.*outside the manifest range/);
    const ok = engine.encodeInput('tx-anomaly', Array(10).fill(0));
    const bad = ok.slice();
    new DataView(bad.buffer).setBigInt64(8 * 3, 128n); // 8.0 > max 7.9375 at scale 16
    return Promise.all([
      expect(engine.infer('tx-anomaly', bad)).rejects.toThrow(/features\.new_recipient.*outside the manifest range/),
      expect(engine.infer('tx-anomaly', ok.subarray(0, 72))).rejects.toThrow(InferenceInputError),
      expect(engine.infer('tx-anomaly', new Uint8Array(1 << 20))).rejects.toThrow(/must be 80 bytes/),
      expect(engine.infer('tx-anomaly', int64Bytes([...Array(9).fill(0), -(2n ** 63n)]))).rejects.toThrow(/failed_ratio_z/),
      expect(engine.infer('no-such-model', ok)).rejects.toThrow(UnknownModelError),
    ]);
  });

  it('rejects NaN and infinite model outputs instead of signing them', () => {
    const plan = planFor(engine.manifest('price-direction'));
    const out = new Uint8Array(8 * 2);
    const tensor = (x: number) => ({ probabilities: { data: new Float32Array([0.5, 0.5, 1 - x, x]), dims: [2, 2] } });
    canonicalizeRows(plan, tensor(0.25), 2, out, 0);
    expect(new DataView(out.buffer).getBigInt64(8)).toBe(2500n);
    expect(() => canonicalizeRows(plan, tensor(NaN), 2, out, 0)).toThrow(InferenceOutputError);
    expect(() => canonicalizeRows(plan, tensor(Infinity), 2, out, 0)).toThrow(/NaN, infinite/);
    expect(() => canonicalizeRows(plan, { probabilities: { data: new Float32Array(2), dims: [2, 1] } }, 2, out, 0)).toThrow(/column 1 does not exist/);
  });
});

describe('inference', () => {
  it('returns the report fields: canonical int64 output, sha256 model hash, keccak input hash', async () => {
    const input = engine.encodeInput('proposal-classifier', Array.from({ length: 40 }, (_, i) => (i < 6 ? 20 : i >= 30 ? 15 : 1)));
    const r = await engine.infer('proposal-classifier', input);
    const hash = createHash('sha256').update(readFileSync(join(MODELS_DIR, 'proposal-classifier', 'model.onnx'))).digest();
    expect(Buffer.from(r.modelHash).equals(hash)).toBe(true);
    expect(Buffer.from(r.inputHash).equals(Buffer.from(keccak_256(input)))).toBe(true);
    expect(r.output).toHaveLength(5);
    expect(Buffer.from(r.outputBytes).equals(Buffer.from(int64Bytes(r.output)))).toBe(true);
    // Probabilities at scale 1e4 sum to ~1e4, and treasury words make it the treasury class.
    const sum = r.output.reduce((a, b) => a + b, 0n);
    expect(Number(sum)).toBeGreaterThanOrEqual(9995);
    expect(Number(sum)).toBeLessThanOrEqual(10005);
    expect(r.output.indexOf(r.output.reduce((a, b) => (b > a ? b : a)))).toBe(0);
    const byHash = await engine.infer(`0x${hash.toString('hex')}`, input);
    expect(byHash.output).toEqual(r.output);
  });

  it('reproduces every reference row computed by Python onnxruntime at training time, bit for bit', async () => {
    for (const info of engine.models()) {
      const m = engine.loadedModel(info.name);
      const v = readReferenceVectors(m.dir, m.manifest)!;
      expect(v.rows, info.name).toBeGreaterThanOrEqual(4096);
      const out = await engine.inferBatch(info.name, v.input);
      // the node refuses a model that differs in one bit (self-check), float models included
      expect(Buffer.compare(out, v.output), info.name).toBe(0);
    }
  });

  it('micro-batches concurrent requests and gives each caller its own row', async () => {
    const plan = engine.plan('tx-anomaly-int8');
    const inputs = Array.from({ length: 70 }, (_, i) => engine.encodeInput('tx-anomaly-int8', Array.from({ length: plan.valueCount }, (_, j) => (((i * 7 + j * 13) % 200) - 100) / 16)));
    const expected = await engine.inferBatch('tx-anomaly-int8', Buffer.concat(inputs));
    const results = await Promise.all(inputs.map((x) => engine.infer('tx-anomaly-int8', x)));
    results.forEach((r, i) => expect(Buffer.from(r.outputBytes).equals(Buffer.from(expected.subarray(i * 8, i * 8 + 8)))).toBe(true));
    expect(new Set(results.map((r) => r.output[0])).size).toBeGreaterThan(10);
  });
});

describe('MicroBatcher', () => {
  it('flushes at maxBatch immediately and the remainder at the deadline', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>({ run: async (rows) => (sizes.push(rows.length), rows.map((r) => r * 2)) }, 4, 20);
    const t0 = performance.now();
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.submit(x)));
    expect(out).toEqual([2, 4, 6, 8, 10, 12]);
    expect(sizes).toEqual([4, 2]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    const failing = new MicroBatcher<number, number>({ run: async () => Promise.reject(new Error('boom')) }, 8, 0);
    await expect(Promise.all([failing.submit(1), failing.submit(2)])).rejects.toThrow('boom');
    await failing.idle();
  });
});

describe('determinism', () => {
  it('every shipped model is bit-identical across threads 1/2, batch 1/7/64/512 and graph optimisation off/all', async () => {
    const r = await checkAgreement({ rows: 512, configs: checkConfigs({ batches: [1, 7, 64, 512] }) });
    for (const m of r.models) expect(m.identical, m.model).toEqual(r.configs.map(() => m.rows));
    expect(r.allAgree).toBe(true);
  });
});
