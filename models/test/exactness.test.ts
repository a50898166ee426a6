// The any-hardware claim checked against each graph: integer-only graphs are walked tensor by tensor
// (onnx protobuf parsed here, not trusted from Python), tree ensembles need dyadic leaves with exact sums, and a
// publisher who labels a float graph "any-hardware" is refused at load.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anyHardwareViolations, exactTreeViolations, integerOnlyViolations, loadModels, ManifestError, MODELS_DIR } from '../src/index.ts';

const models = loadModels();

describe('exactness claims', () => {
  it('every any-hardware model is an integer-only graph or an exact tree ensemble; every int8 model is integer-only', () => {
    const exact = models.filter((m) => m.manifest.exactness === 'any-hardware');
    expect(exact.length).toBeGreaterThanOrEqual(3);
    for (const m of exact) expect(anyHardwareViolations(m.bytes), m.manifest.name).toEqual([]);
    for (const m of models.filter((x) => x.manifest.name.endsWith('-int8'))) {
      expect(integerOnlyViolations(m.bytes), m.manifest.name).toEqual([]);
      expect(m.manifest.exactness).toBe('any-hardware');
    }
  });

  it('float graphs are named for their first float tensor or op', () => {
    const float = models.filter((m) => m.manifest.exactness === 'same-family');
    expect(float.length).toBeGreaterThanOrEqual(5);
    for (const m of float) expect(anyHardwareViolations(m.bytes).length, m.manifest.name).toBeGreaterThan(0);
    const tx = models.find((m) => m.manifest.name === 'tx-anomaly')!;
    expect(integerOnlyViolations(tx.bytes)[0]).toMatch(/graph input 'features' is float/);
  });

  it('tree ensembles pass only with dyadic leaves: a leaf nudged off the grid fails', () => {
    const gbt = models.find((m) => m.manifest.name === 'volatility-gbt')!;
    expect(exactTreeViolations(gbt.bytes)).toEqual([]);
    // The first packed/unpacked float of target_weights: find a leaf weight's 4 bytes and flip its lowest mantissa bit.
    const bytes = Buffer.from(gbt.bytes);
    const marker = Buffer.from('target_weights');
    const at = bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    // After the name: tag 0x3d (field 7, fixed32) then the float, little-endian.
    const tag = bytes.indexOf(0x3d, at + marker.length);
    bytes[tag + 1] ^= 1;
    expect(exactTreeViolations(bytes).join()).toMatch(/not dyadic|beyond float32/);
  });

  it('a manifest claiming any-hardware for a float graph is refused at load, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'destra-exact-'));
    try {
      cpSync(join(MODELS_DIR, 'tx-anomaly'), join(dir, 'tx-anomaly'), { recursive: true });
      const p = join(dir, 'tx-anomaly', 'manifest.json');
      const m = JSON.parse(readFileSync(p, 'utf8'));
      m.exactness = 'any-hardware';
      writeFileSync(p, JSON.stringify(m));
      expect(() => loadModels(dir)).toThrow(ManifestError);
      expect(() => loadModels(dir)).toThrow(/manifest field 'exactness'.*graph input 'features' is float/);
      delete m.exactness;
      writeFileSync(p, JSON.stringify(m));
      expect(() => loadModels(dir)).toThrow(/manifest field 'exactness': one of "any-hardware", "same-family"/);
      m.exactness = 'same-family';
      delete m.parameters;
      writeFileSync(p, JSON.stringify(m));
      expect(() => loadModels(dir)).toThrow(/manifest field 'parameters'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
