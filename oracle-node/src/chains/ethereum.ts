// Ethereum request source: the adapter's RequestWatcher (eth_getLogs over bounded ranges, reorg-aware
// checkpoints) feeding the round engine, or — with `signing: 'range'` — the router's request stream signed
// in ranges (chain-stream.ts; the round engine only for what a range cannot take). Checkpoints live in the
// node's SQLite file, so a restarted node resumes exactly after the last request it persisted.
import type { Address, PublicClient } from 'viem';
import type { Checkpoint, CheckpointStore, OracleRequest } from '@destra/adapter-ethereum';
import { evmDestination, requestStream, type Destination } from '@destra/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { RequestSource } from './source.ts';
import { ChainRequestStream, type ChainRequestStreamOptions } from './chain-stream.ts';
import type { SequencedRequest } from './request-stream.ts';
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
  /**
   * 'round': one threshold round per request. 'range': the router's request stream is signed in ranges
   * (one root per block's requests, relayed with fulfillBatch); requests a range cannot take fall back to
   * rounds. Needs aggregators that relay ranges (docs/node.md "Chain requests in ranges").
   */
  signing: z.enum(['round', 'range']).default('round'),
  /** Range mode: requests per range at most (a block with more is split). */
  maxRangeSize: z.number().int().min(1).max(4096).default(1024),
  /** Range mode: a committed range not certified within this goes to the round path. */
  certifyTimeoutMs: z.number().int().min(1000).default(30_000),
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

const hexBytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** One destination object per router (requests of a burst share it; building it per request showed in profiles). */
const destinations = new Map<string, Destination>();
function routerDestination(chainId: number, router: string): Destination {
  const key = `${chainId}:${router.toLowerCase()}`;
  let d = destinations.get(key);
  if (!d) {
    if (destinations.size > 64) destinations.clear();
    destinations.set(key, (d = evmDestination(BigInt(chainId), hexBytes(router))));
  }
  return d;
}

/** Pure: the chain request a router event becomes. */
export function chainRequestFromEthereum(r: OracleRequest, models: Record<string, string>): ChainRequest {
  return {
    source: `ethereum:${r.chainId}`,
    requestId: hexBytes(r.requestId),
    model: models[r.modelId] ?? models[r.modelId.toLowerCase()] ?? r.modelId,
    modelHash: hexBytes(r.modelHash),
    input: r.input,
    timestamp: Number(r.blockTimestamp),
    destination: routerDestination(r.chainId, r.router),
    cursor: r.blockNumber,
  };
}

/** Pure: a router event with its place in the request stream. */
export function sequencedFromEthereum(r: OracleRequest, models: Record<string, string>): SequencedRequest {
  if (r.seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`request ${r.requestId} has sequence number ${r.seq}, beyond 2^53`);
  const q = chainRequestFromEthereum(r, models) as SequencedRequest;
  q.seq = Number(r.seq);
  q.block = r.blockNumber;
  return q;
}

/** What range signing needs from the node (its range service, inference, keys, host, round path). */
export type RangeSigning = Omit<ChainRequestStreamOptions, 'stream' | 'reader' | 'fallback' | 'maxRangeSize' | 'certifyTimeoutMs' | 'log'>;

export function ethereumSource(raw: unknown, store: NodeStore, log: Logger, range?: RangeSigning): RequestSource & { stream?: ChainRequestStream } {
  const parsed = ethereumSourceSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(issue.message, ['chains', 'ethereum', ...issue.path.map(String)].join('.'));
  }
  const cfg = parsed.data;
  if (cfg.signing === 'range' && !range) throw new ConfigError("signing 'range' needs the node's range service", 'chains.ethereum.signing');
  let watcher: { stop(): Promise<void> } | undefined;
  const source: RequestSource & { stream?: ChainRequestStream } = {
    name: 'ethereum',
    async start(onRequest) {
      // Loaded on demand: nodes without an Ethereum watcher never load viem.
      const [{ RequestWatcher }, viem, { ethereumStreamReader }] = await Promise.all([import('@destra/adapter-ethereum'), import('viem'), import('./ethereum-stream.ts')]);
      const client = viem.createPublicClient({ transport: viem.http(cfg.rpcUrl) });
      let stream: ChainRequestStream | undefined;
      if (cfg.signing === 'range' && range) {
        const chainId = cfg.chainId ?? (await client.getChainId());
        stream = new ChainRequestStream({
          ...range,
          stream: requestStream(evmDestination(BigInt(chainId), new Uint8Array(Buffer.from(cfg.router.slice(2), 'hex')))),
          reader: ethereumStreamReader(client as PublicClient, cfg.router as Address, chainId, cfg.models),
          fallback: onRequest,
          maxRangeSize: cfg.maxRangeSize,
          certifyTimeoutMs: cfg.certifyTimeoutMs,
          log: log.child({ stream: 'ethereum' }),
        });
        source.stream = stream;
      }
      const s = stream;
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
        onRequest: (r) => (s ? s.add(sequencedFromEthereum(r, cfg.models)) : onRequest(chainRequestFromEthereum(r, cfg.models))),
        // Cutting and signing run behind the watcher (the stream serialises them), not inside its sync.
        ...(s ? { onSynced: (block: bigint) => void s.synced(block) } : {}),
        onError: (err) => log.warn({ err: err.message }, 'ethereum watcher problem'),
      });
      await w.start();
      watcher = w;
      log.info({ router: cfg.router, rpc: cfg.rpcUrl, signing: cfg.signing }, 'ethereum watcher started');
    },
    async stop() {
      await watcher?.stop();
      source.stream?.stop();
    },
  };
  return source;
}
