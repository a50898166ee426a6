// The node's side of models.ipfs (startNode calls these): the section checked against the rest of the
// config, and the model service started on the node's host.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { NodeMetrics } from '../metrics.ts';
import type { DestraHost } from '../p2p/host.ts';
import { splitModelsConfig, type ModelsIpfsConfig } from './config.ts';
import { ModelService } from './service.ts';

export interface NodeModelsConfig {
  ipfs: ModelsIpfsConfig;
  engine: Record<string, unknown>;
  storeDir: string;
  rpcUrl: string;
}

/** models.ipfs of a parsed node config with its defaults resolved, or undefined when absent. */
export function nodeModelsConfig(config: NodeConfig): NodeModelsConfig | undefined {
  const { engine, ipfs } = splitModelsConfig(config.models);
  if (!ipfs) return undefined;
  const rpcUrl = ipfs.rpcUrl ?? config.control?.rpcUrl;
  if (!rpcUrl) throw new ConfigError('models.ipfs needs the chain that holds ModelRegistry: set models.ipfs.rpcUrl, or use control (the committee on chain)', 'models.ipfs.rpcUrl');
  return { ipfs, engine, storeDir: ipfs.storeDir ?? join(config.dataDir, 'ipfs'), rpcUrl };
}

export async function startNodeModels(c: NodeModelsConfig, host: DestraHost, metrics: NodeMetrics, log: Logger): Promise<ModelService> {
  return ModelService.start({ config: c.ipfs, storeDir: c.storeDir, engine: c.engine, host, rpcUrl: c.rpcUrl, log, metrics: metrics.registry });
}
