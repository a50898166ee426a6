// Solana request source: polls the destra_oracle program for pending request accounts (the adapter's
// watchRequests) and feeds them to the round engine. The report timestamp is the request's slot time,
// which the embedder supplies (RPC getBlockTime on a cluster, the Clock sysvar on LiteSVM).
import type { InferenceRequestAccount, OracleClient } from '@destra/adapter-solana';
import { svmDestination } from '@destra/protocol';
import type { Logger } from 'pino';
import type { RequestSource } from './source.ts';
import type { ChainRequest } from '../round/engine.ts';

export interface SolanaSourceOptions {
  client: OracleClient;
  /** 32-byte cluster id the program was initialised with (report destChainId). */
  clusterId: Uint8Array;
  /** Unix seconds of a slot; every node must get the same answer for the same slot. */
  slotTime: (slot: bigint) => Promise<number>;
  /** Source name, also the SQLite cursor key. Default `solana`. */
  name?: string;
  intervalMs?: number;
  log: Logger;
}

/** Pure: the chain request a pending request account becomes. The model is addressed by its hash. */
export function chainRequestFromSolana(r: InferenceRequestAccount, clusterId: Uint8Array, programId: Uint8Array, timestamp: number, source = 'solana'): ChainRequest {
  return {
    source,
    requestId: r.address.toBytes(),
    model: `0x${Buffer.from(r.modelHash).toString('hex')}`,
    modelHash: new Uint8Array(r.modelHash),
    input: r.input,
    timestamp,
    destination: svmDestination(clusterId, programId),
    cursor: r.createdSlot,
  };
}

export function solanaSource(o: SolanaSourceOptions): RequestSource {
  const name = o.name ?? 'solana';
  let stop: (() => void) | undefined;
  return {
    name,
    async start(onRequest, fromCursor) {
      const { watchRequests } = await import('@destra/adapter-solana');
      const programId = o.client.programId.toBytes();
      const w = watchRequests(
        o.client,
        async (r) => {
          // Requests at or before the persisted slot were stored before a restart; the engine dedupes
          // by id anyway, so this only saves work.
          if (fromCursor !== undefined && r.createdSlot < fromCursor) return;
          onRequest(chainRequestFromSolana(r, o.clusterId, programId, await o.slotTime(r.createdSlot), name));
        },
        // Still-pending requests come again every 10 s: an answer the program refused (signed in the
        // epoch before its last handover) is then signed again under the current epoch.
        { intervalMs: o.intervalMs ?? 1000, redeliverAfterMs: 10_000, onError: (e) => o.log.warn({ err: (e as Error).message }, 'solana watcher problem') },
      );
      stop = () => w.stop();
      o.log.info({ program: o.client.programId.toBase58() }, 'solana watcher started');
    },
    async stop() {
      stop?.();
    },
  };
}
