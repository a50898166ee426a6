// Lands certified feed batches on chain (docs/aggregator.md "Feeds"): a window of timed feeds with one
// signature check per chain — FeedStore.updateFeeds(root, …) on Ethereum, verify_root once and then
// post_batched_report per feed account on Solana — and a block's root in BlockScores. Each (batch, chain)
// is journaled before the first attempt and retried with backoff until it lands, a newer round is already
// there (StaleRound / BlockKnown count as done), the chain refuses it for good, or it is too old to matter.
import { EventEmitter } from 'node:events';
import { ChainType, decodeReport, toHex, type Report } from '@destra/protocol';
import type { Keypair } from '@solana/web3.js';
import { SolanaTransactionError, type OracleClient } from '@destra/adapter-solana';
import { TransactionRejectedError, type BlockRootSubmission, type SubmissionResult } from '@destra/adapter-ethereum';
import type { CertifiedFeedBatch } from '../net/feed-commits.ts';
import type { Log } from '../net/service.ts';

export type FeedChain = 'ethereum' | 'solana';

/** Where a feed's rounds go (FeedRegistry destinations); undefined: unknown feed, every configured chain. */
export type FeedDestinations = (feedId: string) => Promise<{ ethereum: boolean; solana: boolean } | undefined>;

export interface FeedRelayTargets {
  ethereum?: {
    /** FeedStore.updateFeeds (the adapter's FulfillmentSubmitter with `feeds` set). */
    feeds?: { updateFeeds(b: { reports: Uint8Array[]; proofs: Uint8Array[][]; root: Uint8Array; signature: Uint8Array }): Promise<SubmissionResult> };
    /** BlockScores.submitRoot (the adapter's BlockScoresSubmitter). */
    blockScores?: { submitRoot(s: BlockRootSubmission): Promise<SubmissionResult> };
  };
  solana?: { client: OracleClient; payer: Keypair };
}

/** Where certified feed batches wait until they landed, so a restarted aggregator lands them still. */
export interface FeedRelayJournal {
  add(chain: FeedChain, batch: CertifiedFeedBatch): void;
  remove(chain: FeedChain, stream: Uint8Array): void;
  pending(): { chain: FeedChain; batch: CertifiedFeedBatch; addedAt: number }[];
}

export type FeedRelayOutcome =
  | { chain: FeedChain; kind: 'window' | 'block'; round: bigint; status: 'landed' | 'stale'; detail: string; attempts: number }
  | { chain: FeedChain; kind: 'window' | 'block'; round: bigint; status: 'failed'; error: string; attempts: number };

export interface FeedRelayOptions {
  targets: FeedRelayTargets;
  destinations?: FeedDestinations;
  journal?: FeedRelayJournal;
  log: Log;
  /** This aggregator's rank: later ranks wait rank × staggerMs, so the first usually lands alone. */
  rank?: number;
  staggerMs?: number;
  /** First retry delay (doubles up to maxDelayMs, ±50% jitter); a batch older than maxAgeMs is given up. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAgeMs?: number;
  now?: () => number;
}

/** Solana program errors a later attempt can get past. */
const SOLANA_TRANSIENT = new Set(['InsufficientFunds']);

class Permanent extends Error {}

export class FeedRelay extends EventEmitter<{ outcome: [FeedRelayOutcome] }> {
  private readonly inflight = new Set<Promise<void>>();
  /** Batches relayed in the last minute, by stream and root. */
  private readonly recent = new Map<string, Promise<FeedRelayOutcome[]>>();
  private stopped = false;
  readonly stats = { landed: 0, stale: 0, failed: 0, retries: 0 };

  constructor(private readonly o: FeedRelayOptions) {
    super();
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Chains the batch goes to, given what is configured and the feeds' destinations. */
  async chainsFor(b: CertifiedFeedBatch): Promise<FeedChain[]> {
    const first = decodeReport(b.reports[0]!);
    if (first.destination.chainType === ChainType.Evm) return this.o.targets.ethereum?.blockScores ? ['ethereum'] : [];
    const want = { ethereum: false, solana: false };
    for (const r of b.reports) {
      const d = (await this.o.destinations?.(toHex(decodeReport(r).id).toLowerCase())) ?? { ethereum: true, solana: true };
      want.ethereum ||= d.ethereum;
      want.solana ||= d.solana;
    }
    const out: FeedChain[] = [];
    if (want.ethereum && this.o.targets.ethereum?.feeds) out.push('ethereum');
    if (want.solana && this.o.targets.solana) out.push('solana');
    return out;
  }

  /**
   * Journals the batch for each chain it goes to and lands it there (resolves when every chain is done).
   * The same certified batch handed in again (two aggregators sharing this relay) joins the first relay.
   */
  relay(b: CertifiedFeedBatch): Promise<FeedRelayOutcome[]> {
    const key = `${toHex(b.stream)}:${toHex(b.root)}`;
    const running = this.recent.get(key);
    if (running) return running;
    const p = this.relayOnce(b);
    this.recent.set(key, p);
    const forget = () => void setTimeout(() => this.recent.delete(key), 60_000).unref();
    p.then(forget, forget);
    return p;
  }

  private async relayOnce(b: CertifiedFeedBatch): Promise<FeedRelayOutcome[]> {
    const chains = await this.chainsFor(b);
    for (const c of chains) this.o.journal?.add(c, b);
    const stagger = (this.o.rank ?? 0) * (this.o.staggerMs ?? 500);
    if (stagger > 0) await sleep(stagger);
    return Promise.all(chains.map((c) => this.track(this.land(c, b, this.now))));
  }

  /** Lands what a previous run left in the journal. */
  async resume(): Promise<FeedRelayOutcome[]> {
    const pending = this.o.journal?.pending() ?? [];
    return Promise.all(pending.map((p) => this.track(this.land(p.chain, p.batch, p.addedAt))));
  }

  /** Resolves once nothing is being relayed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  stop(): void {
    this.stopped = true;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const done = p.then(() => undefined, () => undefined);
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
    return p;
  }

  private async land(chain: FeedChain, b: CertifiedFeedBatch, since: number): Promise<FeedRelayOutcome> {
    const first = decodeReport(b.reports[0]!);
    const kind = first.destination.chainType === ChainType.Evm ? ('block' as const) : ('window' as const);
    const base = { chain, kind, round: first.round };
    let outcome: FeedRelayOutcome;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.attempt(chain, kind, b);
        outcome = { ...base, ...r, attempts: attempt };
        break;
      } catch (err) {
        const msg = (err as Error).message;
        const old = this.now - since > (this.o.maxAgeMs ?? 10 * 60_000);
        if (err instanceof Permanent || old || this.stopped) {
          outcome = { ...base, status: 'failed', error: old && !(err instanceof Permanent) ? `not landed within ${(this.o.maxAgeMs ?? 600_000) / 1000} s: ${msg}` : msg, attempts: attempt };
          break;
        }
        this.stats.retries++;
        this.o.log.debug({ chain, kind, round: first.round.toString(), attempt, err: msg }, 'feed relay attempt failed; retrying');
        const delay = Math.min(this.o.maxDelayMs ?? 15_000, (this.o.baseDelayMs ?? 500) * 2 ** Math.min(attempt - 1, 16)) * (0.5 + Math.random());
        await sleep(delay);
      }
    }
    this.o.journal?.remove(chain, b.stream);
    if (outcome.status === 'failed') {
      this.stats.failed++;
      this.o.log.warn({ chain, kind, round: first.round.toString(), err: outcome.error }, 'feed batch not landed');
    } else {
      this.stats[outcome.status === 'landed' ? 'landed' : 'stale']++;
      this.o.log.info({ chain, kind, round: first.round.toString(), status: outcome.status, detail: outcome.detail, feeds: b.reports.length }, 'feed batch on chain');
    }
    this.emit('outcome', outcome);
    return outcome;
  }

  private async attempt(chain: FeedChain, kind: 'window' | 'block', b: CertifiedFeedBatch): Promise<{ status: 'landed' | 'stale'; detail: string }> {
    if (chain === 'ethereum') return kind === 'block' ? this.ethereumBlock(b) : this.ethereumWindow(b);
    return this.solanaWindow(b);
  }

  private async select(b: CertifiedFeedBatch, chain: FeedChain): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < b.reports.length; i++) {
      const d = await this.o.destinations?.(toHex(decodeReport(b.reports[i]!).id).toLowerCase());
      if (!d || d[chain]) out.push(i);
    }
    return out;
  }

  private async ethereumWindow(b: CertifiedFeedBatch): Promise<{ status: 'landed' | 'stale'; detail: string }> {
    const idx = await this.select(b, 'ethereum');
    if (idx.length === 0) return { status: 'stale', detail: 'no feed of the batch goes to Ethereum' };
    const r = await ethereumCall(() => this.o.targets.ethereum!.feeds!.updateFeeds({ reports: idx.map((i) => b.reports[i]!), proofs: idx.map((i) => b.proofs[i]!), root: b.root, signature: b.signature }));
    return r.status === 'submitted' ? { status: 'landed', detail: r.txHash ?? '' } : { status: 'stale', detail: r.status };
  }

  private async ethereumBlock(b: CertifiedFeedBatch): Promise<{ status: 'landed' | 'stale'; detail: string }> {
    const r = await ethereumCall(() => this.o.targets.ethereum!.blockScores!.submitRoot({ root: b.root, signature: b.signature, report: b.reports[0]!, proof: b.proofs[0]! }));
    return r.status === 'submitted' ? { status: 'landed', detail: r.txHash ?? '' } : { status: 'stale', detail: r.status };
  }

  /** verify_root once (skipped when the root account exists), then each feed account by proof. */
  private async solanaWindow(b: CertifiedFeedBatch): Promise<{ status: 'landed' | 'stale'; detail: string }> {
    const { client, payer } = this.o.targets.solana!;
    const idx = await this.select(b, 'solana');
    const decoded: Report[] = idx.map((i) => decodeReport(b.reports[i]!));
    const epoch = decoded[0]?.epoch ?? BigInt(b.epoch);
    const todo: number[] = [];
    for (const [j, i] of idx.entries()) {
      const stored = await client.fetchResult(decoded[j]!.id);
      if (!stored || stored.round < decoded[j]!.round) todo.push(i);
    }
    if (todo.length === 0) return { status: 'stale', detail: 'every feed account holds this round or a newer one' };
    if (!(await client.transport.getAccount(client.rootAddress(b.root, epoch)))) {
      await this.solanaSend(b, () => client.send([client.verifyRootIx({ payer: payer.publicKey, root: b.root, epoch, signature: b.signature })], [payer]), 'Replay');
    }
    const sigs: string[] = [];
    for (const i of todo) {
      const id = decodeReport(b.reports[i]!).id;
      const sent = await this.solanaSend(b, () => client.send([client.postBatchedReportIx({ payer: payer.publicKey, report: b.reports[i]!, id, root: b.root, epoch, proof: b.proofs[i]! })], [payer]), 'StaleRound');
      if (sent) sigs.push(sent);
    }
    return sigs.length > 0 ? { status: 'landed', detail: `${sigs.length} feed account(s)` } : { status: 'stale', detail: 'newer rounds landed meanwhile' };
  }

  /** One Solana transaction; `done` is the program error meaning someone else did it already. */
  private async solanaSend(b: CertifiedFeedBatch, send: () => Promise<{ signature: string }>, done: string): Promise<string | undefined> {
    try {
      return (await send()).signature;
    } catch (err) {
      if (!(err instanceof SolanaTransactionError) || err.programErrorName === undefined) throw err;
      if (err.programErrorName === done) return undefined;
      if (SOLANA_TRANSIENT.has(err.programErrorName)) throw err;
      if (err.programErrorName === 'WrongEpoch') {
        // ahead of the program: the handover is on its way to Solana (retry); behind it: never lands
        const cfg = await this.o.targets.solana!.client.fetchConfig().catch(() => null);
        if (cfg && BigInt(b.epoch) > cfg.epoch) throw err;
      }
      throw new Permanent(`the oracle program refused it: ${err.programErrorName}`);
    }
  }
}

/** A contract rejection is final; anything else (RPC, funds) is retried. */
async function ethereumCall(f: () => Promise<SubmissionResult>): Promise<SubmissionResult> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof TransactionRejectedError) throw new Permanent(err.message);
    throw err;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
