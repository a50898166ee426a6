// Ethereum request source: the adapter's RequestWatcher (eth_getLogs over bounded ranges, reorg-aware
// checkpoints) feeding the round engine. Checkpoints live in the node's SQLite file, so a restarted node
// resumes exactly after the last request it persisted.
import type { Address } from 'viem';
import type { Checkpoint, CheckpointStore, OracleRequest } from '@destra/adapter-ethereum';
import { evmDestination } from '@destra/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { RequestSource } from './source.ts';
import type { ChainRequest } from '../round/engine.ts';
import type { NodeStore } from '../store/store.ts';

export const ethereumSourceSchema = z.strictObject({
  rpcUrl: z.string().url(),
  wsUrl: z.string().url().optional(),
  router: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address'),
  chainId: z.number().int().positive().optional(),
  confirmations: z.number().int().nonnegative().default(0),
  startBlock: z.number().int().nonnegative().optional(),
  pollIntervalMs: z.number().int().min(50).default(1000),
  /** Router model id (bytes32 hex) → model name for the inference engine; unmapped ids are passed as hex. */
  models: z.record(z.string().regex(/^0x[0-9a-fA-F]{64}$/), z.string().min(1)).default({}),
});
export type EthereumSourceConfig = z.output<typeof ethereumSourceSchema>;

/** SQLite-backed checkpoints (meta table), one key per chain/router. */
export class SqliteCheckpointStore implements CheckpointStore {
  constructor(private readonly store: NodeStore) {}
  async load(key: string): Promise<Checkpoint | undefined> {
    const v = this.store.getMeta(`eth-checkpoint:${key}`);
    if (!v) return undefined;
    const o = JSON.parse(v) as { blockNumber: string; blockHash: `0x${string}`; logIndex: number | null };
    return { blockNumber: BigInt(o.blockNumber), blockHash: o.blockHash, logIndex: o.logIndex };
  }
  async save(key: string, cp: Checkpoint): Promise<void> {
    this.store.setMeta(`eth-checkpoint:${key}`, JSON.stringify({ blockNumber: cp.blockNumber.toString(), blockHash: cp.blockHash, logIndex: cp.logIndex }));
  }
}

/** Pure: the chain request a router event becomes. */
export function chainRequestFromEthereum(r: OracleRequest, models: Record<string, string>): ChainRequest {
  return {
    source: `ethereum:${r.chainId}`,
    requestId: new Uint8Array(Buffer.from(r.requestId.slice(2), 'hex')),
    model: models[r.modelId.toLowerCase()] ?? models[r.modelId] ?? r.modelId,
    modelHash: new Uint8Array(Buffer.from(r.modelHash.slice(2), 'hex')),
    input: r.input,
    timestamp: Number(r.blockTimestamp),
    destination: evmDestination(BigInt(r.chainId), new Uint8Array(Buffer.from(r.router.slice(2), 'hex'))),
    cursor: r.blockNumber,
  };
}

export function ethereumSource(raw: unknown, store: NodeStore, log: Logger): RequestSource {
  const parsed = ethereumSourceSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(issue.message, ['chains', 'ethereum', ...issue.path.map(String)].join('.'));
  }
  const cfg = parsed.data;
  let watcher: { stop(): Promise<void> } | undefined;
  return {
    name: 'ethereum',
    async start(onRequest) {
      // Loaded on demand: nodes without an Ethereum watcher never load viem.
      const [{ RequestWatcher }, viem] = await Promise.all([import('@destra/adapter-ethereum'), import('viem')]);
      const client = viem.createPublicClient({ transport: viem.http(cfg.rpcUrl) });
      const wsClient = cfg.wsUrl ? viem.createPublicClient({ transport: viem.webSocket(cfg.wsUrl) }) : undefined;
      const w = new RequestWatcher({
        client: client as never,
        ...(wsClient ? { wsClient: wsClient as never } : {}),
        router: cfg.router as Address,
        ...(cfg.chainId !== undefined ? { chainId: cfg.chainId } : {}),
        confirmations: cfg.confirmations,
        ...(cfg.startBlock !== undefined ? { startBlock: BigInt(cfg.startBlock) } : {}),
        pollIntervalMs: cfg.pollIntervalMs,
        checkpointStore: new SqliteCheckpointStore(store),
        onRequest: (r) => onRequest(chainRequestFromEthereum(r, cfg.models)),
        onError: (err) => log.warn({ err: err.message }, 'ethereum watcher problem'),
      });
      await w.start();
      watcher = w;
      log.info({ router: cfg.router, rpc: cfg.rpcUrl }, 'ethereum watcher started');
    },
    async stop() {
      await watcher?.stop();
    },
  };
}
