// FeedRegistry definitions as governance calls: what a proposal to add, change or remove a feed carries.
import { keccak256, toHex, type Address, type Hex } from 'viem';
import { feedRegistryAbi } from './abi.ts';
import type { ProposalCall } from './governance.ts';

export const FeedSource = { Fixed: 0, BlockTransactions: 1 } as const;
export type FeedSource = (typeof FeedSource)[keyof typeof FeedSource];
/** Destination bits of FeedRegistry.Feed.destinations. */
export const FeedDestination = { Ethereum: 1, Solana: 2 } as const;

export interface FixedFeedDefinition {
  name: string;
  /** ModelRegistry node (namehash of the registered model name). */
  model: Hex;
  source: typeof FeedSource.Fixed;
  /** Canonical input row (int64 big-endian values). */
  input: Uint8Array;
  heartbeatSec: number;
  deviationBps: number;
  destinations: number;
}

export interface BlockFeedDefinition {
  name: string;
  model: Hex;
  source: typeof FeedSource.BlockTransactions;
  /** Blocks are read this deep below the head, so every node sees the same transaction list. */
  confirmations: number;
}

export type FeedDefinition = FixedFeedDefinition | BlockFeedDefinition;

/** keccak256(utf8(name)): the feed id FeedRegistry assigns and the reports carry. */
export const feedIdOf = (name: string): Hex => keccak256(toHex(name));

/** The (source, params, heartbeat, deviationBps, destinations) arguments of addFeed / updateFeed. */
export function feedArgs(d: FeedDefinition): [number, Hex, number, number, number] {
  if (d.source === FeedSource.BlockTransactions) {
    if (!Number.isInteger(d.confirmations) || d.confirmations < 0 || d.confirmations > 0xffff) throw new RangeError(`confirmations must be 0..65535, got ${d.confirmations}`);
    return [d.source, toHex(d.confirmations, { size: 2 }), 0, 0, FeedDestination.Ethereum];
  }
  return [d.source, toHex(d.input), d.heartbeatSec, d.deviationBps, d.destinations];
}

export function addFeedCall(feedRegistry: Address, d: FeedDefinition): ProposalCall {
  return { target: feedRegistry, abi: feedRegistryAbi, functionName: 'addFeed', args: [d.name, d.model, ...feedArgs(d)], description: `add feed ${d.name}` };
}

export function updateFeedCall(feedRegistry: Address, d: FeedDefinition): ProposalCall {
  return { target: feedRegistry, abi: feedRegistryAbi, functionName: 'updateFeed', args: [feedIdOf(d.name), d.model, ...feedArgs(d)], description: `change feed ${d.name}` };
}

export function removeFeedCall(feedRegistry: Address, name: string): ProposalCall {
  return { target: feedRegistry, abi: feedRegistryAbi, functionName: 'removeFeed', args: [feedIdOf(name)], description: `remove feed ${name}` };
}
