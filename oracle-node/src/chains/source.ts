// What a chain watcher offers the node: requests in chain order, resumable after a cursor.
import type { ChainRequest } from '../round/engine.ts';

/** A chain watcher feeding requests (implemented over the Ethereum / Solana adapters). */
export interface RequestSource {
  readonly name: string;
  /** Starts delivering requests after `fromCursor` (the last processed block/slot, if any). */
  start(onRequest: (r: ChainRequest) => void, fromCursor: bigint | undefined): Promise<void>;
  stop(): Promise<void>;
}
