// The shipped zoo and the registry loader: schema, hash verification, typed refusals.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, loadModels, ManifestError, ModelHashMismatchError, ModelRegistryError, MODELS_DIR, outputValueCount, inputValueCount } from '../src/index.ts';

function withCopy(names: string[], fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'destra-models-'));
  try {
    for (const n of names) cpSync(join(MODELS_DIR, n), join(dir, n), { recursive: true });
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function editManifest(dir: string, name: string, edit: (m: Record<string, any>) => void): void {
  const p = join(dir, name, 'manifest.json');
  const m = JSON.parse(readFileSync(p, 'utf8'));
  edit(m);
  writeFileSync(p, JSON.stringify(m));
}

describe('model zoo', () => {
  const models = loadModels();

  it('ships at least 8 models across trading, audit and governance, with an int8 and a tree ensemble', () => {
    expect(models.length).toBeGreaterThanOrEqual(8);
    expect(new Set(models.map((m) => m.manifest.domain))).toEqual(new Set(['trading', 'audit', 'governance']));
    const text = (m: (typeof models)[number]) => Buffer.from(m.bytes).toString('latin1');
    const int8 = models.filter((m) => m.manifest.inputs.every((i) => i.dtype === 'int8') && m.manifest.outputs.every((o) => o.dtype === 'int64'));
    expect(int8.length).toBeGreaterThanOrEqual(1);
    expect(text(int8[0]!)).toContain('MatMulInteger');
    expect(models.some((m) => /TreeEnsemble(Regressor|Classifier)/.test(text(m)))).toBe(true);
  });

  it('every manifest hash is the sha256 of its file, and held-out metrics sit next to it', () => {
    for (const m of models) {
      const file = readFileSync(join(m.dir, m.manifest.file));
      expect(createHash('sha256').update(file).digest('hex')).toBe(m.manifest.sha256);
      expect(m.hashHex).toBe(m.manifest.sha256);
      const metrics = JSON.parse(readFileSync(join(m.dir, 'metrics.json'), 'utf8'));
      expect(metrics.name).toBe(m.manifest.name);
      expect(metrics.heldOut.heldOutRows).toBeGreaterThan(1000);
      expect(inputValueCount(m.manifest)).toBeGreaterThan(0);
      expect(outputValueCount(m.manifest)).toBeGreaterThanOrEqual(1);
      expect(outputValueCount(m.manifest)).toBeLessThanOrEqual(64);
    }
  });

  it('held-out quality is real: classifiers beat their base rate, regressors beat the EWMA baseline', () => {
    const by = Object.fromEntries(models.map((m) => [m.manifest.name, m.manifest.metrics as Record<string, number>]));
    expect(by['liquidation-risk']!.auc).toBeGreaterThan(0.95);
    expect(by['tx-anomaly']!.auc).toBeGreaterThan(0.95);
    expect(by['tx-anomaly-int8']!.auc).toBeGreaterThan(0.95);
    expect(by['bytecode-risk']!.auc).toBeGreaterThan(0.95);
    expect(by['proposal-classifier']!.accuracy).toBeGreaterThan(0.8);
    expect(by['price-direction']!.auc).toBeGreaterThan(0.52);
    for (const v of ['volatility-forecast', 'volatility-gbt']) expect(by[v]!.mae).toBeLessThan(by[v]!.baselineEwmaMae!);
    // The sequence model beats "the next 16 steps look like the last 16" on held-out assets.
    expect(by['volatility-regime']!.accuracy).toBeGreaterThan(by['volatility-regime']!.baselineTrailingVolAccuracy! + 0.015);
  });

  it('every float graph has an integer-only -int8 sibling that loses little held-out quality', () => {
    const by = new Map(models.map((m) => [m.manifest.name, m.manifest]));
    const float = models.filter((m) => m.manifest.exactness === 'same-family');
    expect(float.length).toBeGreaterThanOrEqual(6);
    for (const f of float) {
      const q = by.get(`${f.manifest.name}-int8`);
      expect(q, `${f.manifest.name}-int8`).toBeDefined();
      expect(q!.exactness).toBe('any-hardware');
      expect(q!.inputs.map((i) => i.features.map((x) => x.name))).toEqual(f.manifest.inputs.map((i) => i.features.map((x) => x.name)));
      const m = q!.metrics as Record<string, number>;
      const fm = f.manifest.metrics as Record<string, number>;
      if (m.auc !== undefined) expect(m.auc).toBeGreaterThan(fm.auc! - 0.01);
      if (m.accuracy !== undefined) expect(m.accuracy).toBeGreaterThan(fm.accuracy! - 0.015);
      if (m.mae !== undefined) expect(m.mae).toBeLessThan(fm.mae! * 1.05);
      if (m.labelAgreementWithFloat !== undefined) expect(m.labelAgreementWithFloat).toBeGreaterThan(0.95);
    }
    expect(Math.max(...models.map((m) => m.manifest.parameters))).toBeGreaterThanOrEqual(1_000_000);
  });
});

describe('registry refusals', () => {
  it('refuses a model whose bytes do not match the manifest hash', () => {
    withCopy(['volatility-forecast'], (dir) => {
      const f = join(dir, 'volatility-forecast', 'model.onnx');
      const bytes = readFileSync(f);
      bytes[bytes.length - 1] ^= 1;
      writeFileSync(f, bytes);
      expect(() => loadModels(dir)).toThrow(ModelHashMismatchError);
      expect(() => loadModel(join(dir, 'volatility-forecast'))).toThrow(/does not match manifest sha256/);
    });
  });

  it('names the bad manifest field', () => {
    withCopy(['tx-anomaly'], (dir) => {
      editManifest(dir, 'tx-anomaly', (m) => (m.inputs[0].shape = [-1, 11]));
      expect(() => loadModels(dir)).toThrow(/manifest field 'inputs.0.features'/);
      editManifest(dir, 'tx-anomaly', (m) => {
        m.inputs[0].shape = [-1, 10];
        m.sha256 = 'XYZ';
      });
      expect(() => loadModels(dir)).toThrow(ManifestError);
      expect(() => loadModels(dir)).toThrow(/'sha256'/);
      editManifest(dir, 'tx-anomaly', (m) => {
        m.sha256 = '0'.repeat(64);
        m.outputs[0].columns = Array.from({ length: 65 }, (_, i) => i);
      });
      expect(() => loadModels(dir)).toThrow(/outputs/);
    });
  });

  it('rejects a manifest whose name differs from its directory, unknown names and duplicate hashes', () => {
    withCopy(['tx-anomaly'], (dir) => {
      cpSync(join(dir, 'tx-anomaly'), join(dir, 'tx-anomaly-copy'), { recursive: true });
      expect(() => loadModels(dir)).toThrow(/must equal the directory name/);
      editManifest(dir, 'tx-anomaly-copy', (m) => (m.name = 'tx-anomaly-copy'));
      expect(() => loadModels(dir)).toThrow(ModelRegistryError);
      expect(() => loadModels(dir, ['nope'])).toThrow(/nope.*not found/);
      expect(loadModels(dir, ['tx-anomaly'])).toHaveLength(1);
    });
    expect(() => loadModels(join(tmpdir(), 'destra-no-such-dir'))).toThrow(ModelRegistryError);
  });
});
