// The real inference engine for benchmarks, e2e tests and the devnet: the node's InferenceEngine
// (oracle-node/src/inference) with one model of the shipped zoo, plus valid inputs for it.
import { loadModels } from '@destra/models';
import type { Inferencer } from '@destra/oracle-node';
import { createInferenceEngine } from '../../oracle-node/src/inference/index.ts';

/** The model the local network serves: a small MLP (liquidation-risk, 7 inputs → probability). */
export const NETWORK_MODEL = 'liquidation-risk';

export interface BenchModel {
  inference: Inferencer;
  /** Registered model name for requests. */
  model: string;
  /** A valid canonical input for the model; `variant` changes it so inputs (and outputs) differ. */
  input(variant: number): Uint8Array;
  /** Config passed to nodes as config.models so their own engines load the same model. */
  models: Record<string, unknown>;
  /** Many rows in one onnxruntime run: rows back to back in, canonical int64 outputs back to back out. */
  inferBatch(input: Uint8Array): Promise<Uint8Array>;
  /** sha256 of the ONNX file (the reports' modelHash). */
  modelHash: Uint8Array;
  /** Output values per row. */
  outputs: number;
  close(): Promise<void>;
}

/** Loads the engine with NETWORK_MODEL only (so start-up stays quick) and an input generator over the
 *  manifest's feature ranges (deterministic per variant, always inside the ranges). */
export async function loadBenchModel(model: string = NETWORK_MODEL): Promise<BenchModel> {
  const models = { models: [model], maxBatch: 4096, batchWindowMs: 0.5 };
  const engine = await createInferenceEngine(models);
  const loaded = loadModels(undefined, [model])[0]!;
  const manifest = loaded.manifest;
  const features = manifest.inputs.flatMap((i) => i.features);
  return {
    inference: engine,
    model,
    models,
    input(variant: number) {
      // Golden-ratio sequence per feature: spread over [min, max], identical on every machine.
      const values = features.map((f, j) => {
        const frac = ((variant + 1) * 0.6180339887498949 + j * 0.4142135623730951) % 1;
        return f.min + (f.max - f.min) * frac;
      });
      return engine.encodeInput(model, values);
    },
    inferBatch: (input) => engine.inferBatch(model, input),
    modelHash: loaded.hash,
    outputs: engine.models().find((m) => m.name === model)!.outputValues,
    close: () => engine.close(),
  };
}
