// Manifest ↔ ONNX graph signature checks: a wrong manifest is refused when the engine loads it.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS_DIR, parseManifest, type ModelManifest } from '@destra/models';
import { InferenceEngine, ModelSignatureError, checkSignature } from '../src/inference/index.ts';

const manifest = (name: string): ModelManifest => parseManifest(JSON.parse(readFileSync(join(MODELS_DIR, name, 'manifest.json'), 'utf8')), name);
const tensor = (name: string, type: string, shape: (number | string)[]) => ({ name, isTensor: true as const, type, shape });

describe('checkSignature', () => {
  const m = manifest('bytecode-risk'); // features float32 [N, 25] -> probabilities float32 [N, 2], column 1
  const inputs = [tensor('features', 'float32', ['', 25])];
  const outputs = [tensor('label', 'int64', ['']), tensor('probabilities', 'float32', ['', 2])];

  it('accepts the shipped manifest against the graph onnxruntime reports', () => {
    expect(() => checkSignature(m, inputs, outputs)).not.toThrow();
  });

  it.each([
    ['a missing input', [tensor('x', 'float32', ['', 25])], outputs, /inputs\.features: the ONNX graph has no input 'features' \(it has x\)/],
    ['an input dtype mismatch', [tensor('features', 'float64', ['', 25])], outputs, /takes float64, the manifest says float32/],
    ['a fixed batch dimension', [tensor('features', 'float32', [1, 25])], outputs, /batch dimension is fixed at 1/],
    ['a feature count mismatch', [tensor('features', 'float32', ['N', 24])], outputs, /has 24 features, the manifest lists 25/],
    ['a rank-3 input', [tensor('features', 'float32', ['N', 5, 5])], outputs, /is not \[batch, features\]/],
    ['an unfed graph input', [...inputs, tensor('mask', 'float32', ['', 1])], outputs, /graph input\(s\) mask are missing from the manifest/],
    ['a missing output', inputs, [tensor('label', 'int64', [''])], /no output 'probabilities'/],
    ['a non-tensor output (ZipMap)', inputs, [{ name: 'probabilities', isTensor: false as const }], /not a tensor.*zipmap/],
    ['an output dtype mismatch', inputs, [tensor('probabilities', 'float64', ['', 2])], /produces float64, the manifest says float32/],
    ['a signed column beyond the width', inputs, [tensor('probabilities', 'float32', ['', 1])], /column 1 does not exist; the output has 1 column/],
  ])('rejects %s with ModelSignatureError', (_, ins, outs, message) => {
    let err: unknown;
    try {
      checkSignature(m, ins, outs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelSignatureError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain("model 'bytecode-risk'");
  });
});

describe('InferenceEngine.load', () => {
  it('refuses a model whose manifest declares the wrong input dtype', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destra-sig-'));
    try {
      cpSync(join(MODELS_DIR, 'tx-anomaly-int8'), join(dir, 'tx-anomaly-int8'), { recursive: true });
      const path = join(dir, 'tx-anomaly-int8', 'manifest.json');
      const raw = JSON.parse(readFileSync(path, 'utf8'));
      raw.inputs[0].dtype = 'float32'; // the graph takes int8
      writeFileSync(path, JSON.stringify(raw));
      await expect(InferenceEngine.load(dir, { executionProvider: 'cpu' })).rejects.toThrow(/manifest inputs\.features: the graph takes int8, the manifest says float32/);
      raw.inputs[0].dtype = 'int8';
      writeFileSync(path, JSON.stringify(raw));
      const engine = await InferenceEngine.load(dir, { executionProvider: 'cpu' });
      expect(engine.models().map((x) => x.name)).toEqual(['tx-anomaly-int8']);
      await engine.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('execution provider selection', () => {
  it('uses CUDA when it works, otherwise falls back to CPU with a log line, and answers the same either way', async () => {
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
    const cuda = await InferenceEngine.load(undefined, { models: ['tx-anomaly-int8'], executionProvider: 'cuda', log });
    const cpu = await InferenceEngine.load(undefined, { models: ['tx-anomaly-int8'], executionProvider: 'cpu' });
    try {
      const provider = cuda.models()[0]!.provider;
      // Without the CUDA EP binaries (the npm package ships CPU only) the fallback must be logged.
      if (provider === 'cpu') expect(warnings).toContain('CUDA execution provider unavailable; falling back to CPU');
      else expect(warnings).toEqual([]);
      expect(cpu.models()[0]!.provider).toBe('cpu');
      const input = cpu.encodeInput('tx-anomaly-int8', [1.5, -2, 0.25, 3, -7.5, 0, 1, 2, -1, 4]);
      expect((await cuda.infer('tx-anomaly-int8', input)).output).toEqual((await cpu.infer('tx-anomaly-int8', input)).output);
    } finally {
      await cuda.close();
      await cpu.close();
    }
  });
});
