// Every zoo model's reference vectors replayed through onnxruntime-node, every row: integer-only graphs and
// exact tree ensembles ("any-hardware") must give the Python reference bytes exactly; float graphs
// ("same-family") within one output unit (a different onnxruntime build may round a float differently).
// Also: the reference file decoder refuses what a hostile or stale package could hold.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { decodeReferenceFile, encodeReferenceFile, encodeReferenceRaw, inputValueCount, loadModels, MIN_REFERENCE_ROWS, outputValueCount, readReferenceVectors, ReferenceVectorError, type LoadedModel, type ModelManifest, type ReferenceVectors } from '../src/index.ts';

const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Runs the model on the reference inputs (all rows, one run) and returns the canonical outputs, int64 BE. */
async function replay(model: LoadedModel, v: ReferenceVectors): Promise<BigInt64Array> {
  const m = model.manifest;
  const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 });
  const dv = new DataView(v.input.buffer, v.input.byteOffset, v.input.byteLength);
  const feeds: Record<string, ort.Tensor> = {};
  let offset = 0;
  for (const inp of m.inputs) {
    const f = inp.shape[1];
    const n = (r: number, j: number): bigint => dv.getBigInt64((r * v.inputValues + offset + j) * 8);
    const size = v.rows * f;
    const at = (i: number): bigint => n(Math.floor(i / f), i % f);
    switch (inp.dtype) {
      case 'float32':
        feeds[inp.name] = new ort.Tensor('float32', Float32Array.from({ length: size }, (_, i) => Number(at(i)) / inp.scale), [v.rows, f]);
        break;
      case 'int8':
        feeds[inp.name] = new ort.Tensor('int8', Int8Array.from({ length: size }, (_, i) => Number(at(i))), [v.rows, f]);
        break;
      case 'uint8':
        feeds[inp.name] = new ort.Tensor('uint8', Uint8Array.from({ length: size }, (_, i) => Number(at(i))), [v.rows, f]);
        break;
      case 'int32':
        feeds[inp.name] = new ort.Tensor('int32', Int32Array.from({ length: size }, (_, i) => Number(at(i))), [v.rows, f]);
        break;
      case 'int64':
        feeds[inp.name] = new ort.Tensor('int64', BigInt64Array.from({ length: size }, (_, i) => at(i)), [v.rows, f]);
        break;
    }
    offset += f;
  }
  const res = await session.run(feeds);
  const out = new BigInt64Array(v.rows * v.outputValues);
  let col = 0;
  for (const o of m.outputs) {
    const t = res[o.name]!;
    const width = t.dims.length === 1 ? 1 : Number(t.dims[1]);
    const data = t.data as ArrayLike<number | bigint>;
    for (const c of o.columns) {
      for (let r = 0; r < v.rows; r++) {
        const x = data[r * width + c]!;
        out[r * v.outputValues + col] = typeof x === 'bigint' ? x : o.dtype.startsWith('int') ? BigInt(x) : BigInt(roundHalfEven(x * o.scale));
      }
      col++;
    }
  }
  await session.release();
  return out;
}

const models = loadModels();

describe('manifest exactness, parameters and reference vectors', () => {
  it('every zoo model declares exactness and parameters and ships ≥ 4,096 reference rows', () => {
    for (const m of models) {
      expect(['any-hardware', 'same-family']).toContain(m.manifest.exactness);
      expect(m.manifest.parameters).toBeGreaterThan(0);
      expect(m.manifest.reference?.rows).toBeGreaterThanOrEqual(MIN_REFERENCE_ROWS);
    }
    expect(models.filter((m) => m.manifest.exactness === 'any-hardware').length).toBeGreaterThanOrEqual(9);
    expect(models.some((m) => m.manifest.parameters >= 1_000_000 && m.manifest.exactness === 'any-hardware')).toBe(true);
  });

  for (const m of models) {
    it(`${m.manifest.name}: onnxruntime-node reproduces every reference row (${m.manifest.exactness})`, async () => {
      const v = readReferenceVectors(m.dir, m.manifest)!;
      expect(v.inputValues).toBe(inputValueCount(m.manifest));
      expect(v.outputValues).toBe(outputValueCount(m.manifest));
      const got = await replay(m, v);
      const want = new DataView(v.output.buffer, v.output.byteOffset, v.output.byteLength);
      let differing = 0;
      let worst = 0n;
      for (let i = 0; i < got.length; i++) {
        const d = got[i]! - want.getBigInt64(i * 8);
        if (d !== 0n) differing++;
        if ((d < 0n ? -d : d) > worst) worst = d < 0n ? -d : d;
      }
      if (m.manifest.exactness === 'any-hardware') expect(differing).toBe(0);
      else expect(worst).toBeLessThanOrEqual(1n);
    }, 120_000);
  }
});

describe('reference file decoder refuses bad files', () => {
  const m = models.find((x) => x.manifest.name === 'tx-anomaly-int8')!;
  const file = new Uint8Array(readFileSync(join(m.dir, m.manifest.reference!.file)));
  const good = decodeReferenceFile(file, m.manifest, 'good');
  const withRef = (patch: Partial<NonNullable<ModelManifest['reference']>>): ModelManifest => ({ ...m.manifest, reference: { ...m.manifest.reference!, ...patch } });

  it('round-trips through encodeReferenceFile', () => {
    const again = decodeReferenceFile(encodeReferenceFile(good), m.manifest, 're-encoded');
    expect(Buffer.from(again.input).equals(Buffer.from(good.input))).toBe(true);
    expect(Buffer.from(again.output).equals(Buffer.from(good.output))).toBe(true);
  });

  it('a changed output value fails the manifest hash (a tampered file cannot vouch for wrong outputs)', () => {
    const raw = encodeReferenceRaw(good);
    raw[raw.length - 1] ^= 1;
    expect(() => decodeReferenceFile(gzipSync(raw), m.manifest, 'tampered')).toThrow(/sha256 of the decompressed bytes/);
  });

  it('wrong dimensions, truncation, extra bytes, a bad magic and non-gzip bytes are refused', () => {
    expect(() => decodeReferenceFile(file, withRef({ rows: good.rows + 1 }), 'rows')).toThrow(ReferenceVectorError);
    const raw = Buffer.from(encodeReferenceRaw(good));
    expect(() => decodeReferenceFile(gzipSync(raw.subarray(0, raw.length - 8)), m.manifest, 'short')).toThrow(/decompresses to/);
    expect(() => decodeReferenceFile(gzipSync(Buffer.concat([raw, Buffer.alloc(8)])), m.manifest, 'long')).toThrow(/not a gzip stream of at most/);
    const magic = Buffer.from(raw);
    magic[0] = 0x58;
    expect(() => decodeReferenceFile(gzipSync(magic), withRef({ sha256: createHash('sha256').update(magic).digest('hex') }), 'magic')).toThrow(/magic/);
    const header = Buffer.from(raw);
    header.writeUInt32BE(good.inputValues + 1, 8);
    header.writeUInt32BE(good.outputValues - 1, 12); // same total length, other split
    expect(() => decodeReferenceFile(gzipSync(header), withRef({ sha256: createHash('sha256').update(header).digest('hex') }), 'header')).toThrow(/header says/);
    expect(() => decodeReferenceFile(Uint8Array.from([1, 2, 3]), m.manifest, 'junk')).toThrow(/not a gzip stream/);
  });

  it('a gzip bomb stops at the size the manifest allows', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(() => decodeReferenceFile(bomb, m.manifest, 'bomb')).toThrow(/not a gzip stream of at most/);
  });
});
