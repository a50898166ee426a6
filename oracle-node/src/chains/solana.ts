// Solana request source: polls the destra_oracle program for pending request accounts (the adapter's
// watchRequests) and feeds them to the round engine. The report timestamp is the request's slot time:
// RPC getBlockTime on a cluster (`chains.solana` in the node config), or whatever an embedder supplies
// (`solanaSource` in `overrides.sources`, e.g. the Clock sysvar on LiteSVM).
import type { InferenceRequestAccount, OracleClient } from '@destra/adapter-solana';
import { requestStream, svmDestination } from '@destra/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { RequestSource } from './source.ts';
import type { ChainRequest } from '../round/engine.ts';
import { ChainRequestStream, type ChainRequestStreamOptions } from './chain-stream.ts';
import type { SequencedRequest } from './request-stream.ts';
import { solanaStreamReader } from './solana-stream.ts';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Bytes of a base58 string (Bitcoin alphabet, as Solana addresses use); undefined if it is not one. */
export function base58Decode(s: string): Uint8Array | undefined {
  if (s.length === 0 || s.length > 64) return undefined;
  let n = 0n;
  for (const ch of s) {
    const v = BASE58.indexOf(ch);
    if (v < 0) return undefined;
    n = n * 58n + BigInt(v);
  }
  const body: number[] = [];
  for (; n > 0n; n >>= 8n) body.unshift(Number(n & 0xffn));
  let zeros = 0;
  while (s[zeros] === '1') zeros++;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

/** `chains.solana` of the node config: watch one destra_oracle program on a cluster over JSON-RPC. */
export const solanaSourceSchema = z.strictObject({
  rpcUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** The destra_oracle program id (base58). */
  programId: z.string().refine((s) => base58Decode(s)?.length === 32, 'expected a base58 program id (32 bytes)'),
  /** The 32-byte cluster id the program was initialised with: reports name it as destChainId. */
  clusterId: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'expected the 32-byte cluster id as hex'),
  /** Commitment of the account reads (default confirmed). */
  commitment: z.enum(['processed', 'confirmed', 'finalized']).optional(),
  pollIntervalMs: z.number().int().min(50).default(1000),
  /** Model hash (bytes32 hex) → model name for the inference engine; unmapped hashes are passed as hex. */
  models: z.record(z.string().regex(/^0x[0-9a-fA-F]{64}$/), z.string().min(1)).default({}),
  /** 'round': one threshold round per request; 'range': the program's request stream in ranges (one slot each). */
  signing: z.enum(['round', 'range']).default('round'),
  maxRangeSize: z.number().int().min(1).max(4096).default(1024),
  certifyTimeoutMs: z.number().int().min(1000).default(30_000),
});
export type SolanaSourceConfig = z.output<typeof solanaSourceSchema>;

export interface SolanaSourceOptions {
  client: OracleClient;
  /** 32-byte cluster id the program was initialised with (report destChainId). */
  clusterId: Uint8Array;
  /** Unix seconds of a slot; every node must get the same answer for the same slot. */
  slotTime: (slot: bigint) => Promise<number>;
  /** Source name, also the SQLite cursor key. Default `solana`. */
  name?: string;
  intervalMs?: number;
  /** Model hash (0x-prefixed hex) → model name; unmapped hashes are passed as hex. */
  models?: Record<string, string>;
  /**
   * Sign the program's request stream in ranges (one slot per range) through the node's range service
   * instead of one round per request (docs/node.md "Chain requests in ranges").
   */
  range?: Omit<ChainRequestStreamOptions, 'stream' | 'reader' | 'fallback' | 'log'>;
  log: Logger;
}

/** Range mode: a request still pending this long after it was first seen goes to the round path too (e.g. its range's answer was refused after a handover). */
const STALE_PENDING_MS = 30_000;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Pure: the chain request a pending request account becomes. The model is addressed by its hash. */
export function chainRequestFromSolana(
  r: InferenceRequestAccount,
  clusterId: Uint8Array,
  programId: Uint8Array,
  timestamp: number,
  source = 'solana',
  models: Record<string, string> = {},
): ChainRequest {
  const hash = `0x${hex(r.modelHash)}`;
  return {
    source,
    requestId: r.address.toBytes(),
    model: models[hash] ?? hash,
    modelHash: new Uint8Array(r.modelHash),
    input: r.input,
    timestamp,
    destination: svmDestination(clusterId, programId),
    cursor: r.createdSlot,
  };
}

/** Slot times from a cluster's getBlockTime, cached per slot. A slot without a time is an error. */
export function rpcSlotTime(connection: { getBlockTime(slot: number): Promise<number | null> }): (slot: bigint) => Promise<number> {
  const cache = new Map<bigint, number>();
  return async (slot) => {
    const hit = cache.get(slot);
    if (hit !== undefined) return hit;
    const t = await connection.getBlockTime(Number(slot));
    if (t === null || !Number.isFinite(t)) throw new Error(`the cluster returned no block time for slot ${slot}`);
    if (cache.size >= 4096) cache.delete(cache.keys().next().value!);
    cache.set(slot, t);
    return t;
  };
}

export function solanaSource(o: SolanaSourceOptions): RequestSource & { stream?: ChainRequestStream } {
  const name = o.name ?? 'solana';
  const models = Object.fromEntries(Object.entries(o.models ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  let stop: (() => void) | undefined;
  const source: RequestSource & { stream?: ChainRequestStream } = {
    name,
    async start(onRequest, fromCursor) {
      if (o.range) {
        stop = await startSolanaStream(o, name, models, onRequest, (s) => (source.stream = s));
        return;
      }
      // Every pending request is delivered, also after a restart: listPendingRequests returns only
      // open requests, the engine dedupes by id, and one answered under an older epoch (then refused by
      // the program) must come again to be re-signed. The stored cursor is the highest request slot
      // seen (pending requests come in no particular order, so it never moves back).
      let high = fromCursor;
      const { watchRequests } = await import('@destra/adapter-solana');
      const programId = o.client.programId.toBytes();
      const w = watchRequests(
        o.client,
        async (r) => {
          let t: number;
          try {
            t = await o.slotTime(r.createdSlot);
          } catch (err) {
            // e.g. a slot the cluster has not finalised yet: the request comes again with the next re-delivery
            o.log.warn({ request: r.address.toBase58(), slot: r.createdSlot.toString(), err: (err as Error).message }, 'no slot time for a solana request yet; retried in 10 s');
            return;
          }
          const req = chainRequestFromSolana(r, o.clusterId, programId, t, name, models);
          if (high !== undefined && high > r.createdSlot) req.cursor = high;
          else high = r.createdSlot;
          onRequest(req);
        },
        // Still-pending requests come again every 10 s: an answer the program refused (signed in the
        // epoch before its last handover) is then signed again under the current epoch.
        { intervalMs: o.intervalMs ?? 1000, redeliverAfterMs: 10_000, onError: (e) => o.log.warn({ err: (e as Error).message }, 'solana watcher problem') },
      );
      stop = () => w.stop();
      o.log.info({ program: o.client.programId.toBase58(), source: name }, 'solana watcher started');
    },
    async stop() {
      stop?.();
      source.stream?.stop();
    },
  };
  return source;
}

/**
 * Range mode: each poll reads the current slot (Clock sysvar), then the pending requests; every slot
 * before the current one is complete, so the stream may cut up to it (requests answered or refunded
 * meanwhile are missing from the pending list and re-read by number). A request whose slot has no time
 * yet holds the cut before its slot. Requests pending for long also go to the round path (it re-signs an
 * answer the program refused after a handover).
 */
async function startSolanaStream(
  o: SolanaSourceOptions,
  name: string,
  models: Record<string, string>,
  onRequest: (r: ChainRequest) => void,
  expose: (s: ChainRequestStream) => void,
): Promise<() => void> {
  const { SYSVAR_CLOCK_PUBKEY } = await import('@solana/web3.js');
  const programId = o.client.programId.toBytes();
  const toRequest = async (r: InferenceRequestAccount): Promise<SequencedRequest> => ({
    ...chainRequestFromSolana(r, o.clusterId, programId, await o.slotTime(r.createdSlot), name, models),
    seq: Number(r.seq),
    block: r.createdSlot,
  });
  const stream = new ChainRequestStream({
    ...o.range!,
    stream: requestStream(svmDestination(o.clusterId, programId)),
    reader: solanaStreamReader({ client: o.client, toRequest }),
    fallback: onRequest,
    log: o.log.child({ stream: 'solana' }),
  });
  expose(stream);
  const firstSeen = new Map<string, { at: number; last?: number }>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    const clock = await o.client.transport.getAccount(SYSVAR_CLOCK_PUBKEY);
    if (!clock) throw new Error('the Clock sysvar is not readable');
    const slot = Buffer.from(clock.data).readBigUInt64LE(0);
    const pending = (await o.client.listPendingRequests()).sort((a, b) => (a.seq! < b.seq! ? -1 : 1));
    let upTo = slot - 1n;
    const now = Date.now();
    const live = new Set<string>();
    for (const r of pending) {
      const key = r.address.toBase58();
      live.add(key);
      let req: SequencedRequest;
      try {
        req = await toRequest(r);
      } catch (err) {
        if (r.createdSlot - 1n < upTo) upTo = r.createdSlot - 1n;
        o.log.debug({ request: key, slot: String(r.createdSlot), err: (err as Error).message }, 'no slot time for a solana request yet');
        continue;
      }
      stream.add(req);
      const seen = firstSeen.get(key) ?? { at: now };
      firstSeen.set(key, seen);
      if (now - seen.at >= STALE_PENDING_MS && (seen.last === undefined || now - seen.last >= 10_000)) {
        seen.last = now;
        onRequest(req);
      }
    }
    for (const k of firstSeen.keys()) if (!live.has(k)) firstSeen.delete(k);
    if (upTo >= 0n) await stream.synced(upTo);
  };
  const loop = (): void => {
    if (stopped) return;
    poll()
      .catch((err: Error) => o.log.warn({ err: err.message }, 'solana request stream poll failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, o.intervalMs ?? 1000);
      });
  };
  loop();
  o.log.info({ program: o.client.programId.toBase58(), source: name }, 'solana request stream followed in ranges');
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    stream.stop();
  };
}

/**
 * The watcher `chains.solana` configures: OracleClient over RpcTransport (web3.js Connection), slot
 * times from getBlockTime. Throws ConfigError naming `chains.solana.<field>`. web3.js and the adapter
 * are loaded at start, so nodes without a Solana watcher never load them.
 */
export function solanaSourceFromConfig(raw: unknown, log: Logger, range?: Omit<NonNullable<SolanaSourceOptions['range']>, 'maxRangeSize' | 'certifyTimeoutMs'>): RequestSource {
  const parsed = solanaSourceSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(issue.message, ['chains', 'solana', ...issue.path.map(String)].join('.'));
  }
  const cfg = parsed.data;
  if (cfg.signing === 'range' && !range) throw new ConfigError("signing 'range' needs the node's range service", 'chains.solana.signing');
  const clusterId = new Uint8Array(Buffer.from(cfg.clusterId.replace(/^0x/, ''), 'hex'));
  const name = `solana:${hex(clusterId)}`;
  let inner: RequestSource | undefined;
  let stopped = false;
  return {
    name,
    async start(onRequest, fromCursor) {
      const [{ OracleClient, RpcTransport }, { Connection, PublicKey }] = await Promise.all([import('@destra/adapter-solana'), import('@solana/web3.js')]);
      const commitment = cfg.commitment ?? 'confirmed';
      const connection = new Connection(cfg.rpcUrl, { commitment, disableRetryOnRateLimit: true });
      const client = new OracleClient(new RpcTransport(connection, commitment), new PublicKey(cfg.programId));
      // A program initialised with another cluster id refuses every report this node would sign.
      try {
        const onChain = await client.fetchConfig();
        if (!onChain) log.warn({ program: cfg.programId, rpc: cfg.rpcUrl }, 'the solana program has no config account (not initialised yet, or another programId)');
        else if (hex(onChain.clusterId) !== hex(clusterId)) {
          throw new ConfigError(`program ${cfg.programId} was initialised with cluster id 0x${hex(onChain.clusterId)}, not 0x${hex(clusterId)}`, 'chains.solana.clusterId');
        }
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        log.warn({ rpc: cfg.rpcUrl, err: (err as Error).message }, 'cannot read the solana program config yet; watching anyway');
      }
      if (stopped) return;
      inner = solanaSource({
        client, clusterId, slotTime: rpcSlotTime(connection), name, intervalMs: cfg.pollIntervalMs, models: cfg.models, log,
        ...(cfg.signing === 'range' && range ? { range: { ...range, maxRangeSize: cfg.maxRangeSize, certifyTimeoutMs: cfg.certifyTimeoutMs } } : {}),
      });
      await inner.start(onRequest, fromCursor);
      log.info({ rpc: cfg.rpcUrl, commitment }, 'solana watcher reads over JSON-RPC');
    },
    async stop() {
      stopped = true;
      await inner?.stop();
    },
  };
}
