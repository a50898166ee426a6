// `destra models encode --model NAME --values ...`: the one input convention (docs/api.md "Inputs").
// A caller gives feature values in the manifest's order; the model's input codec (the node's own,
// oracle-node/src/inference/codec.ts) turns them into the canonical input bytes: int64 big-endian
// fixed-point, round-half-even(value · scale). Those bytes are what chains carry (`eth request --input`,
// Solana request_inference) and what reports hash (inputHash = keccak256(input)); /v1/infer takes either
// the values or the bytes.
import { Command, InvalidArgumentError } from 'commander';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ModelRegistryError, loadModels, MODELS_DIR, type ModelManifest } from '@destra/models';
import { encodeInput, planFor } from '../../oracle-node/src/inference/codec.ts';
import { cliAction } from '../errors.ts';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;

/** Comma- or space-separated finite numbers ("1.5,2e3,-4"). */
export function parseValues(v: string): number[] {
  const parts = v.split(/[\s,]+/).filter((s) => s.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError('give the feature values as a comma-separated list, e.g. --values 1.2,30,7');
  return parts.map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${s}' is not a finite number`);
    return n;
  });
}

export interface EncodedInput {
  model: string;
  features: string[];
  values: number[];
  /** canonical input bytes (hex): what chains carry */
  input: string;
  bytes: number;
  /** keccak256(input): a report's inputHash */
  inputHash: string;
  /** a /v1/infer body */
  api: { model: string; input: number[] };
}

export function manifestOf(model: string, dir: string = MODELS_DIR): ModelManifest {
  try {
    return loadModels(dir, [model])[0]!.manifest;
  } catch (e) {
    if (e instanceof ModelRegistryError && model.endsWith('.destra')) {
      throw new ModelRegistryError(`${e.message}; give the model's manifest name (registered names such as '${model}' map to it: see destra models ls)`);
    }
    throw e;
  }
}

/** Encodes `values` with the model's input codec (the node's). */
export function encodeModelInput(manifest: ModelManifest, values: readonly number[]): EncodedInput {
  const plan = planFor(manifest);
  const input = encodeInput(plan, values);
  return {
    model: manifest.name, features: plan.inputs.flatMap((i) => i.fields), values: [...values], input: hex(input), bytes: input.length,
    inputHash: hex(keccak_256(input)), api: { model: manifest.name, input: [...values] },
  };
}

export function registerEncode(models: Command): void {
  models
    .command('encode')
    .description("encode feature values (the manifest's order) into a model's request input: hex bytes for chains (eth request --input, Solana request_inference) and the /v1/infer body")
    .requiredOption('--model <name>', 'model name (models/<name>/manifest.json), e.g. liquidation-risk')
    .requiredOption('--values <list>', 'feature values in manifest order, comma-separated (destra models encode --model NAME --values x prints the names on error)', parseValues)
    .option('--models-dir <dir>', 'model zoo directory', MODELS_DIR)
    .option('--json', 'print one JSON object {model, features, values, input, bytes, inputHash, api}')
    .action(cliAction((o: { model: string; values: number[]; modelsDir: string; json?: boolean }) => {
      const manifest = manifestOf(o.model, o.modelsDir);
      const plan = planFor(manifest);
      if (o.values.length !== plan.valueCount) {
        throw new InvalidArgumentError(`model '${manifest.name}' takes ${plan.valueCount} values in this order: ${plan.inputs.flatMap((i) => i.fields).join(', ')}; got ${o.values.length}`);
      }
      const e = encodeModelInput(manifest, o.values);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(e)}\n`);
        return;
      }
      process.stdout.write(
        [
          `model:      ${e.model} (${e.features.length} values: ${e.features.join(', ')})`,
          `input:      ${e.input}`,
          `            ${e.bytes} bytes: int64 big-endian, round-half-even(value × scale) per feature`,
          `inputHash:  ${e.inputHash} (keccak256(input), the report's inputHash)`,
          `ethereum:   destra eth request --rpc URL --router ADDR --model ${e.model} --input ${e.input}`,
          `solana:     request_inference input = the same bytes (destra_client::RequestInference, OracleClient.requestInferenceIx)`,
          `api:        POST /v1/infer ${JSON.stringify(e.api)}   (or "input": "${e.input}")`,
        ].join('\n') + '\n',
      );
    }));
}
