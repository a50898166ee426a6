// What the feed service reads from Ethereum: FeedRegistry (definitions and their events), FeedStore's
// rounds, models, the head and blocks with their transactions. Loaded lazily (viem and the adapter), like
// the control plane's registry reader.
import type { Address, Hex } from 'viem';
import { FeedInputError } from './errors.ts';
import type { BlockTx } from './tx-features.ts';

type Adapter = typeof import('@destra/adapter-ethereum');
export type FeedRegistrySnapshot = import('@destra/adapter-ethereum').FeedRegistrySnapshot;
export type FeedRegistryEvent = import('@destra/adapter-ethereum').FeedRegistryEvent;
export type StoredFeedRound = import('@destra/adapter-ethereum').StoredFeedRound;

export interface ChainBlock {
  number: bigint;
  hash: Uint8Array;
  timestamp: bigint;
  txs: BlockTx[];
}

export interface FeedChain {
  chainId(): Promise<bigint>;
  head(): Promise<bigint>;
  snapshot(): Promise<FeedRegistrySnapshot>;
  events(fromBlock: bigint, toBlock: bigint): Promise<FeedRegistryEvent[]>;
  latestRound(feedStore: Address, feedId: Hex): Promise<StoredFeedRound | null>;
  blockRoot(blockScores: Address, feedId: Hex, block: bigint): Promise<{ root: Hex } | null>;
  model(node: Hex): Promise<{ name: string; modelHash: Hex }>;
  block(number: bigint): Promise<ChainBlock>;
}

const bytes = (h: string, what: string, len?: number): Uint8Array => {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(h) || (len !== undefined && h.length !== 2 + 2 * len)) throw new FeedInputError(`block data: ${what} is not ${len ?? 'even-length'}-byte hex`);
  return new Uint8Array(Buffer.from(h.slice(2), 'hex'));
};

/** Most transactions a block may carry here (a block's tree must fit one batch; Ethereum blocks hold far fewer). */
export const MAX_BLOCK_TXS = 8192;

/** FeedChain over JSON-RPC (viem) and the adapter's FeedRegistryReader. */
export async function rpcFeedChain(rpcUrl: string, feedRegistry: Address): Promise<FeedChain> {
  const [adapter, viem]: [Adapter, typeof import('viem')] = await Promise.all([import('@destra/adapter-ethereum'), import('viem')]);
  const client = viem.createPublicClient({ transport: viem.http(rpcUrl) });
  const reader = new adapter.FeedRegistryReader(client as never, feedRegistry);
  return {
    chainId: async () => BigInt(await client.getChainId()),
    head: () => client.getBlockNumber({ cacheTime: 0 }),
    snapshot: () => reader.snapshot(),
    events: (from, to) => reader.events(from, to),
    latestRound: (store, id) => reader.latestRound(store, id),
    blockRoot: (bs, id, block) => reader.blockRoot(bs, id, block),
    model: (node) => reader.model(node),
    async block(number) {
      const b = await client.getBlock({ blockNumber: number, includeTransactions: true });
      if (b.number !== number || !b.hash) throw new FeedInputError(`block ${number}: the node returned block ${b.number} (${b.hash ?? 'no hash'})`);
      if (b.transactions.length > MAX_BLOCK_TXS) throw new FeedInputError(`block ${number} holds ${b.transactions.length} transactions, more than ${MAX_BLOCK_TXS}`);
      const txs: BlockTx[] = b.transactions.map((t, i) => {
        if (typeof t === 'string') throw new FeedInputError(`block ${number}: transaction ${i} came without its body`);
        return {
          hash: bytes(t.hash, `transaction ${i} hash`, 32),
          from: bytes(t.from, `transaction ${i} sender`, 20),
          to: t.to ? bytes(t.to, `transaction ${i} recipient`, 20) : null,
          value: t.value,
          gasPrice: t.gasPrice ?? t.maxFeePerGas ?? 0n,
          input: bytes(t.input, `transaction ${i} input`),
        };
      });
      return { number, hash: bytes(b.hash, 'block hash', 32), timestamp: b.timestamp, txs };
    },
  };
}
