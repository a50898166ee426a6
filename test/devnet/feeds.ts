// Feeds on the live network: the aggregators' feed relay, governance proposals defining a timed feed and
// the tx-anomaly block feed, a watch counting what reaches the chains (FeedStore rounds, the Solana feed
// account's rounds, BlockScores roots), and the check of one transaction's score by proof — off chain
// (node API: report, proof, root, committee signature) and on chain (BlockScores.verifyTxScore).
import type { Logger } from 'pino';
import { hexToBytes, type Address, type Hex } from 'viem';
import { blockTxInputHash, feedId, reportLeaf, rootFromProof, rootSigningMessage, toHex, verify, decodeReport } from '@destra/protocol';
import { FeedDestination, FeedSource, addFeedCall, blockScoresAbi, feedIdOf, feedStoreAbi, namehash, removeFeedCall, updateFeedCall, type FeedDefinition } from '@destra/contracts';
import { FeedRelay, feedTargets } from '@destra/aggregator';
import type { Chains } from './chains.ts';

export const BLOCK_FEED_MODEL = 'tx-anomaly';
/** Governance on the devnet: a proposal passes in about 7 s (votes go out together; room for a busy machine). */
export const FEED_GOVERNANCE_SEC = { voting: 5, timelock: 1 };

/** The node inference config with tx-anomaly loaded as well. */
export function withBlockFeedModel(models: Record<string, unknown>): Record<string, unknown> {
  const list = Array.isArray(models.models) ? (models.models as string[]) : [];
  return { ...models, models: [...new Set([...list, BLOCK_FEED_MODEL])] };
}

/** The feed relay the in-process aggregators share (the relayer account, its nonces, the Solana payer). */
export async function devnetFeedRelay(chains: Chains, log: Logger): Promise<FeedRelay> {
  const { targets, destinations } = await feedTargets({
    publicClient: chains.relayerClients.publicClient,
    feedRegistry: chains.deployed.addresses.feedRegistry,
    ethereum: { feeds: chains.ethSink.submitter, blockScores: { walletClient: chains.relayerClients.walletClient, nonceManager: chains.ethSink.submitter.nonces } },
    solana: { client: chains.solana, payer: chains.solPayer },
  });
  return new FeedRelay({ targets, destinations, log, baseDelayMs: 250, maxDelayMs: 4000 });
}

export interface DevnetFeeds {
  timed: Extract<FeedDefinition, { source: 0 }>;
  block: Extract<FeedDefinition, { source: 1 }>;
}

/** A timed feed of the network model (both chains) and the tx-anomaly block feed, as governance defines them. */
export function devnetFeeds(o: { modelName: string; input: Uint8Array; heartbeatSec?: number; deviationBps?: number; confirmations?: number }): DevnetFeeds {
  return {
    timed: {
      name: `${o.modelName}-feed`, model: namehash(o.modelName), source: FeedSource.Fixed, input: o.input, heartbeatSec: o.heartbeatSec ?? 10,
      deviationBps: o.deviationBps ?? 50, destinations: FeedDestination.Ethereum | FeedDestination.Solana,
    },
    block: { name: 'tx-anomaly-blocks', model: namehash(BLOCK_FEED_MODEL), source: FeedSource.BlockTransactions, confirmations: o.confirmations ?? 1 },
  };
}

/** Passes the proposals adding (or changing, or removing) feeds, with the votes of `voters` staked operators. */
export async function governFeeds(chains: Chains, voters: number, action: 'add' | 'update' | 'remove', defs: readonly FeedDefinition[]): Promise<void> {
  const registry = chains.deployed.addresses.feedRegistry;
  for (const d of defs) {
    const call = action === 'add' ? addFeedCall(registry, d) : action === 'update' ? updateFeedCall(registry, d) : removeFeedCall(registry, d.name);
    await chains.govern(call, voters);
  }
}

/** What reached the chains, counted from the chains themselves. */
export interface FeedTally {
  /** FeedUpdated events of the timed feed on Ethereum. */
  ethereumRounds: number;
  /** Distinct rounds the Solana feed account held while watched. */
  solanaRounds: number;
  /** BlockScored events (block roots stored) of the block feed. */
  blocksScored: number;
  latestBlock: bigint;
}

/** Polls the Solana feed account (its rounds are only visible while they are the latest) and counts the rest from events. */
export class FeedWatch {
  private readonly solana = new Set<bigint>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly chains: Chains, private readonly feeds: DevnetFeeds) {}

  start(everyMs = 500): this {
    const poll = async () => {
      const r = await this.chains.solana.fetchResult(feedId(this.feeds.timed.name)).catch(() => null);
      if (r) this.solana.add(r.round);
    };
    this.timer = setInterval(() => void poll(), everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async tally(): Promise<FeedTally> {
    const c = this.chains.clients.publicClient;
    const { feeds, blockScores } = this.chains.deployed.addresses;
    const [updated, scored, latestBlock] = await Promise.all([
      c.getContractEvents({ address: feeds, abi: feedStoreAbi, eventName: 'FeedUpdated', args: { feedId: feedIdOf(this.feeds.timed.name) }, fromBlock: 0n }),
      c.getContractEvents({ address: blockScores, abi: blockScoresAbi, eventName: 'BlockScored', args: { feedId: feedIdOf(this.feeds.block.name) }, fromBlock: 0n }),
      c.readContract({ address: blockScores, abi: blockScoresAbi, functionName: 'latestBlock', args: [feedIdOf(this.feeds.block.name)] }) as Promise<bigint>,
    ]);
    return { ethereumRounds: updated.length, solanaRounds: this.solana.size, blocksScored: scored.length, latestBlock };
  }
}

/** The timed feed's round on each chain (null: none yet). */
export async function feedRounds(chains: Chains, name: string): Promise<{ ethereum: { round: bigint; values: readonly bigint[] } | null; solana: { round: bigint; values: readonly bigint[] } | null }> {
  const eth = await (chains.clients.publicClient.readContract({ address: chains.deployed.addresses.feeds, abi: feedStoreAbi, functionName: 'latestRound', args: [feedIdOf(name)] }) as Promise<readonly [readonly bigint[], bigint, bigint, bigint]>).catch(() => null);
  const sol = await chains.solana.fetchResult(feedId(name)).catch(() => null);
  return { ethereum: eth ? { round: eth[1], values: eth[0] } : null, solana: sol ? { round: sol.round, values: sol.output } : null };
}

/** GET /v1/feeds/blocks/:number/tx/:hash of a node. */
export interface TxScoreView {
  feed: { id: string; name: string };
  block: string;
  blockHash: Hex;
  txHash: Hex;
  input: Hex;
  report: Hex;
  proof: Hex[];
  root: Hex;
  epoch: number;
  signature: Hex | null;
  groupKey: Hex | null;
  score: string[];
  certified: boolean;
}

export async function txScoreOf(api: string, block: bigint, txHash: Hex): Promise<TxScoreView | undefined> {
  const r = await fetch(`${api}/v1/feeds/blocks/${block}/tx/${txHash}`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  return r?.ok ? ((await r.json()) as TxScoreView) : undefined;
}

/**
 * Checks a transaction's score as a consumer would: the leaf's inputHash names the block and transaction,
 * its proof leads to the root, the committee's signature verifies under the epoch's group key, and
 * BlockScores.verifyTxScore accepts it against the root stored on chain. Returns what failed, or undefined.
 */
export async function checkTxScore(chains: Chains, feedName: string, v: TxScoreView): Promise<string | undefined> {
  const report = hexToBytes(v.report);
  const r = decodeReport(report);
  if (toHex(r.inputHash) !== toHex(blockTxInputHash(BigInt(v.block), hexToBytes(v.blockHash), hexToBytes(v.txHash), hexToBytes(v.input)))) return "the report's inputHash does not name this block and transaction";
  if (toHex(rootFromProof(reportLeaf(report), v.proof.map((p) => hexToBytes(p)))) !== v.root.toLowerCase()) return 'the proof does not lead to the root';
  if (!v.signature || !v.groupKey) return 'not certified yet';
  if (!verify(hexToBytes(v.groupKey), rootSigningMessage(hexToBytes(v.root)), hexToBytes(v.signature))) return "the root's signature does not verify under the group key";
  const onChain = (await chains.clients.publicClient.readContract({
    address: chains.deployed.addresses.blockScores as Address, abi: blockScoresAbi, functionName: 'verifyTxScore',
    args: [feedIdOf(feedName), BigInt(v.block), v.blockHash, v.txHash, v.input, v.report, v.proof],
  }).catch((err: Error) => err)) as readonly bigint[] | Error;
  if (onChain instanceof Error) return `BlockScores.verifyTxScore refused it: ${onChain.message.split('\n')[0]}`;
  if (onChain.map(String).join(',') !== v.score.join(',')) return `on chain the score is ${onChain.join(',')}, the node says ${v.score.join(',')}`;
  return undefined;
}


