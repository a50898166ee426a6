// `models.ipfs` in the node config: follow ModelRegistry and get registered models by CID from peers.
// The rest of `models` stays the inference engine's options (intraOpThreads, ...; `dir` is then only
// the directory whose models seed the store).
import { z } from 'zod';
import { MAX_MANIFEST_BYTES, MAX_MODEL_BYTES } from '@destra/models';
import { ConfigError } from '../errors.ts';

export const modelsIpfsSchema = z.strictObject({
  /** ModelRegistry address on the governing chain. */
  registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address'),
  /** JSON-RPC endpoint of that chain (default: control.rpcUrl). */
  rpcUrl: z.string().url().optional(),
  /** Blockstore, datastore and package index (default: <dataDir>/ipfs). */
  storeDir: z.string().min(1).optional(),
  /** Import the models of `models.dir` (default: the shipped zoo) into the store at start. */
  seed: z.boolean().default(true),
  /**
   * Who may get model blocks from this node: 'operators' (admitted registered operators: the committee
   * and its candidates) or 'any' (also every other peer the host is connected to, e.g. aggregators).
   */
  serve: z.enum(['operators', 'any']).default('operators'),
  /** Largest ONNX file fetched or served, and largest manifest.json. */
  maxModelBytes: z.number().int().min(1).max(4 * 1024 ** 3).default(MAX_MODEL_BYTES),
  maxManifestBytes: z.number().int().min(1024).max(16 * 1024 ** 2).default(MAX_MANIFEST_BYTES),
  /** A fetch that has not completed in this time is abandoned and retried. */
  fetchTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
  /** First retry delay after a failed fetch (doubles up to 60 s). */
  retryMs: z.number().int().min(100).max(600_000).default(5000),
  pollIntervalMs: z.number().int().min(100).default(2000),
});
export type ModelsIpfsConfig = z.output<typeof modelsIpfsSchema>;

/** Splits config.models into the engine's options and the parsed `ipfs` section (ConfigError naming the field). */
export function splitModelsConfig(models: Record<string, unknown>): { engine: Record<string, unknown>; ipfs?: ModelsIpfsConfig } {
  const { ipfs, ...engine } = models;
  if (ipfs === undefined) return { engine };
  const r = modelsIpfsSchema.safeParse(ipfs);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(issue.message, ['models', 'ipfs', ...issue.path.map(String)].join('.'));
  }
  return { engine, ipfs: r.data };
}
