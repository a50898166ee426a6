// Exactness enforced at the node: every shipped model passes its reference vectors; a model whose
// reference output was tampered with by one byte (a publisher who ships bits this node does not compute,
// or hardware that computes other bits) is refused and named, while untampered models stay served; a
// same-family model pinned to another hardware family is not served; hardware family detection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS_DIR, loadModels, readReferenceVectors, type ModelManifest } from '@destra/models';
import { InferenceEngine, sampleInputs } from '../src/inference/index.ts';
import { cpuFamily, familyId, hardwareFamily, x86Level } from '../src/inference/hardware.ts';
import { familyAllows, runSelfCheck } from '../src/inference/selfcheck.ts';

const INT8 = 'tx-anomaly-int8';
const FLOAT = 'liquidation-risk';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'destra-selfcheck-'));
  for (const m of [INT8, FLOAT, 'volatility-gbt']) cpSync(join(MODELS_DIR, m), join(dir, m), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function captureLog() {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  return { lines, log: { info: () => undefined, warn: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' }) } };
}

describe('self-check before serving', () => {
  it('every shipped model reproduces its reference vectors bit for bit on this machine', async () => {
    const e = await InferenceEngine.load(undefined, { selfCheck: 'require' });
    try {
      expect(e.selfChecks.length).toBe(loadModels().length);
      for (const r of e.selfChecks) expect(r, r.model).toMatchObject({ ok: true });
      expect(e.models().map((m) => m.name).sort()).toEqual(loadModels().map((m) => m.manifest.name).sort());
    } finally {
      await e.close();
    }
  });

  /** Flips the lowest bit of reference row `row`'s first output in `model`'s file; `rehash` updates the manifest's sha256 to match. */
  function tamper(model: string, row: number, rehash: boolean): { expected: bigint; restore: () => void } {
    const mpath = join(dir, model, 'manifest.json');
    const manifestText = readFileSync(mpath, 'utf8');
    const manifest = JSON.parse(manifestText) as ModelManifest;
    const fpath = join(dir, model, manifest.reference!.file);
    const fileBytes = readFileSync(fpath);
    const raw = gunzipSync(fileBytes);
    const rows = raw.readUInt32BE(4);
    const f = raw.readUInt32BE(8);
    const k = raw.readUInt32BE(12);
    const at = 16 + rows * f * 8 + row * k * 8;
    const expected = raw.readBigInt64BE(at);
    raw[at + 7]! ^= 1;
    writeFileSync(fpath, gzipSync(raw));
    if (rehash) writeFileSync(mpath, JSON.stringify({ ...manifest, reference: { ...manifest.reference!, sha256: createHash('sha256').update(raw).digest('hex') } }));
    return { expected, restore: () => (writeFileSync(fpath, fileBytes), writeFileSync(mpath, manifestText)) };
  }

  it('refuses a model whose reference output differs by one bit and keeps serving the others', async () => {
    const t = tamper(INT8, 5, true);
    const { lines, log } = captureLog();
    try {
      const e = await InferenceEngine.load(dir, { selfCheck: 'require', log });
      try {
        expect(e.models().map((m) => m.name).sort()).toEqual([FLOAT, 'volatility-gbt']);
        const r = e.selfChecks.find((x) => x.model === INT8)!;
        expect(r.ok).toBe(false);
        expect(r.mismatch).toMatchObject({ row: 5, path: 'batch' });
        expect(BigInt.asIntN(64, BigInt(`0x${r.mismatch!.expected}`))).toBe(t.expected ^ 1n);
        expect(BigInt.asIntN(64, BigInt(`0x${r.mismatch!.actual}`))).toBe(t.expected);
        const line = lines.find((l) => l.obj.model === INT8)!;
        expect(line.msg).toMatch(/tx-anomaly-int8 refused: self-check failed \(output of reference row 5 \(batch path\)/);
        expect(e.health().refused).toEqual([expect.objectContaining({ model: INT8, exactness: 'any-hardware' })]);
        expect(e.health().served.map((m) => m.model).sort()).toEqual([FLOAT, 'volatility-gbt']);
        await expect(e.infer(INT8, new Uint8Array(80))).rejects.toThrow(/tx-anomaly-int8/);
        expect((await e.inferBatch(FLOAT, sampleInputs(e.plan(FLOAT), 2))).length).toBe(2 * e.plan(FLOAT).k * 8);
      } finally {
        await e.close();
      }
    } finally {
      t.restore();
    }
  });

  it('refuses a model whose reference file was altered behind its manifest (sha256), naming the file', async () => {
    const t = tamper(FLOAT, 0, false);
    try {
      const e = await InferenceEngine.load(dir, { selfCheck: 'require' });
      expect(e.models().map((m) => m.name)).not.toContain(FLOAT);
      expect(e.selfChecks.find((r) => r.model === FLOAT)!.reason).toMatch(/sha256 of the decompressed bytes/);
      await e.close();
    } finally {
      t.restore();
    }
  });

  it("'require' refuses a model whose manifest declares no reference vectors; 'if-present' serves it unchecked", async () => {
    const mpath = join(dir, 'volatility-gbt', 'manifest.json');
    const original = readFileSync(mpath, 'utf8');
    const { reference: _r, ...rest } = JSON.parse(original) as ModelManifest;
    writeFileSync(mpath, JSON.stringify(rest));
    try {
      const strict = await InferenceEngine.load(dir, { selfCheck: 'require' });
      expect(strict.models().map((m) => m.name)).not.toContain('volatility-gbt');
      expect(strict.selfChecks.find((r) => r.model === 'volatility-gbt')!.reason).toMatch(/no reference vectors/);
      await strict.close();
      const lax = await InferenceEngine.load(dir, { selfCheck: 'if-present' });
      expect(lax.models().map((m) => m.name)).toContain('volatility-gbt');
      await lax.close();
    } finally {
      writeFileSync(mpath, original);
    }
  });
});

describe('the single-request path', () => {
  it('a row the micro-batched single-request path computes differently is caught there and named', async () => {
    const e = await InferenceEngine.load(dir, { models: [INT8] });
    try {
      const m = loadModels(dir, [INT8])[0]!;
      const v = readReferenceVectors(m.dir, m.manifest)!;
      const inBytes = v.inputValues * 8;
      const row32 = Buffer.from(v.input.subarray(32 * inBytes, 33 * inBytes));
      // a serving path that differs from the batch path on one row (what a GEMV-vs-GEMM kernel split does)
      const target = {
        plan: (x: string) => e.plan(x),
        inferBatch: (x: string, input: Uint8Array) => e.inferBatch(x, input),
        infer: async (x: string, input: Uint8Array) => {
          const o = await e.infer(x, input);
          if (row32.equals(input)) o.outputBytes[7]! ^= 1;
          return o;
        },
      };
      const r = await runSelfCheck(target, INT8, m.manifest, hardwareFamily('cpu'), { ...v, source: 'test' });
      expect(r).toMatchObject({ ok: false, mismatch: { row: 32, path: 'single' } });
      expect(r.reason).toMatch(/reference row 32 \(single path\) differs/);
      expect(await runSelfCheck(e, INT8, m.manifest, hardwareFamily('cpu'), { ...v, source: 'test' })).toMatchObject({ ok: true, rows: v.rows });
    } finally {
      await e.close();
    }
  });
});

describe('family pin in the manifest', () => {
  it('a same-family model pinned to another family is refused at load; pinned to this family it is served', async () => {
    const mpath = join(dir, FLOAT, 'manifest.json');
    const original = readFileSync(mpath, 'utf8');
    const here = hardwareFamily('cpu').id;
    try {
      writeFileSync(mpath, JSON.stringify({ ...JSON.parse(original), family: 'cuda:Some Other GPU' }));
      const other = await InferenceEngine.load(dir, { selfCheck: 'require' });
      expect(other.models().map((m) => m.name)).not.toContain(FLOAT);
      expect(other.health().refused).toEqual([expect.objectContaining({ model: FLOAT, exactness: 'same-family', family: here, reason: expect.stringMatching(/pinned to hardware family 'cuda:Some Other GPU'/) })]);
      await other.close();
      writeFileSync(mpath, JSON.stringify({ ...JSON.parse(original), family: here }));
      const same = await InferenceEngine.load(dir, { selfCheck: 'require' });
      expect(same.models().map((m) => m.name)).toContain(FLOAT);
      expect(same.health().refused).toEqual([]);
      await same.close();
    } finally {
      writeFileSync(mpath, original);
    }
  });
});

describe('hardware family', () => {
  const flags = (s: string) => new Set(s.split(' '));
  const v2 = 'cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3';
  const v3 = `${v2} avx avx2 bmi1 bmi2 f16c fma abm movbe xsave`;
  it('x86-64 levels need every flag of their level and the ones below', () => {
    expect(x86Level(flags('sse sse2'))).toBe('x86-64-v1');
    expect(x86Level(flags(v2))).toBe('x86-64-v2');
    expect(x86Level(flags(v3))).toBe('x86-64-v3');
    expect(x86Level(flags(`${v3} avx512f avx512bw avx512cd avx512dq avx512vl`))).toBe('x86-64-v4');
    // AVX-512 without the v3 set (impossible on real parts, but the rule is cumulative)
    expect(x86Level(flags(`${v2} avx512f avx512bw avx512cd avx512dq avx512vl`))).toBe('x86-64-v2');
  });
  it('parses vendor and level from /proc/cpuinfo text; aarch64 by implementer', () => {
    expect(cpuFamily(`processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${v3}\n`, 'x64')).toEqual({ cpuVendor: 'GenuineIntel', isa: 'x86-64-v3' });
    expect(cpuFamily('processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\n', 'arm64')).toEqual({ cpuVendor: 'implementer-0x41', isa: 'aarch64' });
    expect(familyId({ cpuVendor: 'AuthenticAMD', isa: 'x86-64-v4', gpu: null })).toBe('cpu:x86-64-v4:AuthenticAMD');
    expect(familyId({ cpuVendor: 'AuthenticAMD', isa: 'x86-64-v4', gpu: 'NVIDIA H200' })).toBe('cuda:NVIDIA H200');
  });
  it("this machine's family is well formed", () => {
    expect(hardwareFamily('cpu').id).toMatch(/^cpu:(x86-64-v[1-4]|aarch64|[a-z0-9_]+):\S+/);
  });
  it('a same-family model pinned to another family is not served; any-hardware models ignore the pin', () => {
    const m = loadModels(MODELS_DIR, [FLOAT])[0]!.manifest;
    const here = hardwareFamily('cpu');
    const pinned = (exactness: string, family: string) => ({ ...m, exactness, family }) as unknown as ModelManifest;
    expect(familyAllows(pinned('same-family', here.id), here)).toEqual({ ok: true });
    const other = familyAllows(pinned('same-family', 'cpu:x86-64-v3:GenuineIntel'), here);
    expect(other.ok).toBe(false);
    expect((other as { reason: string }).reason).toMatch(/pinned to hardware family 'cpu:x86-64-v3:GenuineIntel'/);
    expect(familyAllows(pinned('any-hardware', 'cpu:x86-64-v3:GenuineIntel'), here)).toEqual({ ok: true });
  });
});
