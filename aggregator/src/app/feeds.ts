// The feed relay of a CLI-started aggregator, from config.chains: FeedStore through the Ethereum sink's
// submitter, BlockScores (its address read from FeedRegistry), Solana feed accounts through the Solana
// connection, each feed's destinations read from FeedRegistry (cached), and a SQLite journal.
import { join } from 'node:path';
import type { Address, Hex, PublicClient } from 'viem';
import { BlockScoresSubmitter, FeedRegistryReader } from '@destra/adapter-ethereum';
import type { AggregatorConfig } from './config.ts';
import type { ChainConnections } from './chains.ts';
import { FeedRelay, type FeedDestinations, type FeedRelayTargets } from '../relay/feeds.ts';
import { SqliteFeedRelayJournal } from '../relay/feed-journal.ts';
import type { Log } from '../net/service.ts';

/** Each feed's destinations from FeedRegistry, re-read at most every `ttlMs` (a removed feed: undefined). */
export function registryDestinations(reader: FeedRegistryReader, ttlMs = 10_000): FeedDestinations {
  let cache: { at: number; map: Map<string, { ethereum: boolean; solana: boolean }> } | undefined;
  let loading: Promise<Map<string, { ethereum: boolean; solana: boolean }>> | undefined;
  const load = async () => {
    const snap = await reader.snapshot();
    const map = new Map<string, { ethereum: boolean; solana: boolean }>();
    for (const f of snap.feeds) map.set(f.id.toLowerCase(), f.source === 'fixed' ? f.destinations : { ethereum: true, solana: false });
    cache = { at: Date.now(), map };
    return map;
  };
  return async (feedId) => {
    if (!cache || Date.now() - cache.at > ttlMs) {
      loading ??= load().finally(() => (loading = undefined));
      try {
        await loading;
      } catch {
        /* keep the last known table (or none) while the chain is unreachable */
      }
    }
    return cache?.map.get(feedId.toLowerCase());
  };
}

/** Targets for a FeedRelay over already-connected Ethereum clients and a FeedRegistry. */
export async function feedTargets(p: {
  publicClient: PublicClient;
  feedRegistry: Address;
  ethereum?: { feeds?: NonNullable<FeedRelayTargets['ethereum']>['feeds']; blockScores?: Omit<ConstructorParameters<typeof BlockScoresSubmitter>[0], 'blockScores' | 'publicClient'> };
  solana?: FeedRelayTargets['solana'];
}): Promise<{ targets: FeedRelayTargets; destinations: FeedDestinations; blockScores: Hex }> {
  const reader = new FeedRegistryReader(p.publicClient, p.feedRegistry);
  const snap = await reader.snapshot();
  const targets: FeedRelayTargets = {};
  if (p.ethereum) {
    targets.ethereum = {
      ...(p.ethereum.feeds ? { feeds: p.ethereum.feeds } : {}),
      ...(p.ethereum.blockScores ? { blockScores: new BlockScoresSubmitter({ ...p.ethereum.blockScores, publicClient: p.publicClient, blockScores: snap.blockScores }) } : {}),
    };
  }
  if (p.solana) targets.solana = p.solana;
  return { targets, destinations: registryDestinations(reader), blockScores: snap.blockScores };
}

/** The relay config.chains asks for (needs chains.ethereum.feedRegistry); undefined without. */
export async function feedRelayFrom(config: AggregatorConfig, chains: ChainConnections | undefined, log: Log): Promise<{ relay: FeedRelay; journal: SqliteFeedRelayJournal } | undefined> {
  const registry = config.chains.ethereum?.feedRegistry as Address | undefined;
  if (!registry || !chains?.ethereum) return undefined;
  const eth = chains.ethereum;
  const { targets, destinations } = await feedTargets({
    publicClient: eth.publicClient,
    feedRegistry: registry,
    ethereum: { ...(config.chains.ethereum?.feeds ? { feeds: eth.sink.submitter } : {}), blockScores: { walletClient: eth.walletClient, nonceManager: eth.sink.submitter.nonces } },
    ...(chains.solana ? { solana: { client: chains.solana.client, payer: chains.solana.payer } } : {}),
  });
  const journal = new SqliteFeedRelayJournal(join(config.dataDir, 'feed-relay.db'));
  const relay = new FeedRelay({ targets, destinations, journal, log, rank: config.index - 1, staggerMs: config.relay.staggerMs });
  return { relay, journal };
}
