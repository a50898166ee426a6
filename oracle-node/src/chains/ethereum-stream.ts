// The router's request stream read straight from the chain (range signing's gap recovery): the request
// counter at the end of a block, and a span of blocks' requests again. Loaded only by nodes that sign an
// Ethereum stream in ranges.
import { getAbiItem, type Address, type PublicClient } from 'viem';
import { blockRanges, parseRequestLog } from '@destra/adapter-ethereum';
import { oracleRouterAbi } from '@destra/contracts';
import type { StreamChainReader } from './chain-stream.ts';
import { sequencedFromEthereum } from './ethereum.ts';
import type { SequencedRequest } from './request-stream.ts';

const requestedEvent = getAbiItem({ abi: oracleRouterAbi, name: 'InferenceRequested' });

/** The router's request stream read straight from the chain: its counter at a block, and a block span's requests again. */
export function ethereumStreamReader(client: PublicClient, router: Address, chainId: number, models: Record<string, string>): StreamChainReader {
  return {
    async nextSeqAfter(block) {
      try {
        return Number(await client.readContract({ address: router, abi: oracleRouterAbi, functionName: 'nonce', blockNumber: block }));
      } catch (err) {
        // Before the router was deployed there is no code (and no request) at that block.
        if ((await client.getCode({ address: router, blockNumber: block })) === undefined) return 0;
        throw err;
      }
    },
    async requestsIn(from, to) {
      const out: SequencedRequest[] = [];
      const times = new Map<bigint, bigint>();
      for (const range of blockRanges(from, to, 1000n)) {
        const logs = await client.getLogs({ address: router, event: requestedEvent, fromBlock: range.fromBlock, toBlock: range.toBlock, strict: true });
        for (const log of logs) {
          if (log.removed || log.blockNumber === null) continue;
          let ts = times.get(log.blockNumber);
          if (ts === undefined) times.set(log.blockNumber, (ts = (await client.getBlock({ blockNumber: log.blockNumber })).timestamp));
          out.push(sequencedFromEthereum(parseRequestLog(log as never, { chainId, router, blockTimestamp: ts }), models));
        }
      }
      return out.sort((a, b) => a.seq - b.seq);
    },
  };
}

