// Splits [from, to] into consecutive inclusive ranges of at most `maxRange` blocks, because RPC providers
// cap eth_getLogs ranges (and large ranges time out).
import { AdapterConfigError } from './errors.ts';

export interface BlockRange {
  fromBlock: bigint;
  toBlock: bigint;
}

export function blockRanges(from: bigint, to: bigint, maxRange: bigint): BlockRange[] {
  if (maxRange < 1n) throw new AdapterConfigError(`maxBlockRange must be at least 1, got ${maxRange}`);
  if (from < 0n) throw new AdapterConfigError(`fromBlock must be non-negative, got ${from}`);
  const out: BlockRange[] = [];
  for (let start = from; start <= to; start += maxRange) {
    const end = start + maxRange - 1n;
    out.push({ fromBlock: start, toBlock: end < to ? end : to });
  }
  return out;
}
