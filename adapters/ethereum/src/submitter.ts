// Relays committee-signed reports to Ethereum: OracleRouter.fulfill / fulfillBatch and FeedStore.updateFeed
// / updateFeeds. Several aggregators may relay the same result, so "already fulfilled" (checked before
// sending, as an AlreadyFulfilled revert, or as a mined revert after which the request reads fulfilled)
// is success that someone else paid for, and retrying stops there.
import { bytesToHex, type Address, type Hex, type PublicClient, type WalletClient } from 'viem';
import { decodeReport, merkleRoot, reportLeaf, ReportKind, type Report } from '@destra/protocol';
import { feedStoreAbi, oracleRouterAbi } from '@destra/contracts';
import { classifyError } from './classify.ts';
import { AdapterConfigError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { bytesOf, toEip2537Signature } from './signature.ts';
import { TransactionSender, type Call, type Done, type SubmissionResult } from './tx-sender.ts';

export type { SubmissionResult, SubmissionStatus } from './tx-sender.ts';

export interface FulfillmentSubmitterOptions {
  publicClient: PublicClient;
  /** Must carry a local account (private key) and a chain. */
  walletClient: WalletClient;
  router: Address;
  feeds?: Address;
  /** Extra gas over the estimate, in basis points. Default 2000 (+20%). */
  gasMarginBps?: number;
  /** Retries after the first attempt on transient errors. Default 5. */
  retries?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  receiptTimeoutMs?: number;
  /** Share one manager between submitters that send from the same account. */
  nonceManager?: NonceManager;
  onRetry?: (info: { attempt: number; error: Error; retriesLeft: number }) => void;
}


export interface BatchInput {
  reports: readonly (Uint8Array | Hex)[];
  signature: Uint8Array | Hex;
  /** Signed Merkle root; computed from the reports when omitted (whole-batch mode only). */
  root?: Uint8Array | Hex;
  /** Per-report inclusion proofs; omit to send the whole batch in order (the contract rebuilds the root). */
  proofs?: readonly (readonly (Uint8Array | Hex)[])[];
}


const MAX_BATCH = 65_536;

export class FulfillmentSubmitter {
  readonly nonces: NonceManager;
  private readonly sender: TransactionSender;
  private readonly o: Required<Omit<FulfillmentSubmitterOptions, 'feeds' | 'onRetry' | 'nonceManager'>> & FulfillmentSubmitterOptions;

  constructor(options: FulfillmentSubmitterOptions) {
    const account = options.walletClient.account;
    if (!account) throw new AdapterConfigError('walletClient has no account: create it with { account: privateKeyToAccount(key) }');
    if (!options.walletClient.chain) throw new AdapterConfigError('walletClient has no chain: pass { chain } when creating it');
    const margin = options.gasMarginBps ?? 2000;
    if (!Number.isInteger(margin) || margin < 0 || margin > 100_000) throw new AdapterConfigError(`gasMarginBps must be an integer in 0..100000, got ${margin}`);
    this.o = {
      ...options,
      gasMarginBps: margin,
      retries: options.retries ?? 5,
      minRetryDelayMs: options.minRetryDelayMs ?? 250,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 8_000,
      receiptTimeoutMs: options.receiptTimeoutMs ?? 60_000,
    };
    this.nonces = options.nonceManager ?? new NonceManager(options.publicClient, account.address);
    this.sender = new TransactionSender({ ...this.o, nonces: this.nonces });
  }

  get account(): Address {
    return this.o.walletClient.account!.address;
  }

  /** Fulfils one request with a report whose leaf the committee signed. */
  async fulfill(report: Uint8Array | Hex, signature: Uint8Array | Hex): Promise<SubmissionResult> {
    const bytes = bytesOf(report, 'report');
    const id = requestIdOf(decodeRequestReport(bytes));
    const call: Call = { address: this.o.router, abi: oracleRouterAbi, functionName: 'fulfill', args: [bytesToHex(bytes), toEip2537Signature(signature)] };
    return this.sender.send(call, async () => ((await this.isFulfilled(id)) ? 'already-fulfilled' : undefined), []);
  }

  /**
   * Fulfils many requests under one signed root. With proofs, already-fulfilled requests are dropped from
   * the calldata; without, the whole batch is sent (the router skips settled ones itself).
   */
  async fulfillBatch(batch: BatchInput): Promise<SubmissionResult> {
    const { reports, ids, root, proofs } = this.prepareBatch(batch, (r) => decodeRequestReport(r));
    const fulfilled = await Promise.all(ids.map((id) => this.isFulfilled(id)));
    const skipped = ids.filter((_, i) => fulfilled[i]);
    if (skipped.length === ids.length) return { status: 'already-fulfilled', attempts: 0, skipped };
    const keep = proofs ? reports.map((_, i) => !fulfilled[i]) : reports.map(() => true);
    const call: Call = {
      address: this.o.router,
      abi: oracleRouterAbi,
      functionName: 'fulfillBatch',
      args: [root, toEip2537Signature(batch.signature), reports.filter((_, i) => keep[i]), proofs ? proofs.filter((_, i) => keep[i]) : []],
    };
    const allDone: Done = async () => ((await Promise.all(ids.map((id) => this.isFulfilled(id)))).every(Boolean) ? 'already-fulfilled' : undefined);
    return this.sender.send(call, allDone, proofs ? skipped : []);
  }

  /** Stores one feed round; a round at or below the stored one reports 'stale'. */
  async updateFeed(report: Uint8Array | Hex, signature: Uint8Array | Hex): Promise<SubmissionResult> {
    const feeds = this.feedsAddress();
    const bytes = bytesOf(report, 'report');
    const decoded = decodeFeedReport(bytes);
    const call: Call = { address: feeds, abi: feedStoreAbi, functionName: 'updateFeed', args: [bytesToHex(bytes), toEip2537Signature(signature)] };
    return this.sender.send(call, async () => ((await this.storedRound(bytesToHex(decoded.id))) >= decoded.round ? 'stale' : undefined), []);
  }

  /** Stores many feed rounds under one signed root (each report with its proof). */
  async updateFeeds(batch: BatchInput & { proofs: readonly (readonly (Uint8Array | Hex)[])[] }): Promise<SubmissionResult> {
    const feeds = this.feedsAddress();
    const decoded: Report[] = [];
    const { reports, root, proofs } = this.prepareBatch(batch, (r) => {
      const d = decodeFeedReport(r);
      decoded.push(d);
      return d;
    });
    const call: Call = { address: feeds, abi: feedStoreAbi, functionName: 'updateFeeds', args: [root, toEip2537Signature(batch.signature), reports, proofs ?? []] };
    const allStale: Done = async () => {
      const rounds = await Promise.all(decoded.map((d) => this.storedRound(bytesToHex(d.id))));
      return rounds.every((r, i) => r >= decoded[i]!.round) ? 'stale' : undefined;
    };
    return this.sender.send(call, allStale, []);
  }

  /**
   * Routes one signed report (as aggregators hold them: report, root, proof, signature) to the right call:
   * request answers to fulfill (single leaf) or fulfillBatch (with its proof), feed rounds to updateFeed(s).
   */
  async submitSigned(item: { report: Uint8Array; root: Uint8Array; proof: readonly Uint8Array[]; signature: Uint8Array }): Promise<SubmissionResult> {
    const kind = decodeReport(item.report).kind;
    const single = item.proof.length === 0;
    if (kind === ReportKind.Request) {
      return single ? this.fulfill(item.report, item.signature) : this.fulfillBatch({ reports: [item.report], proofs: [item.proof], root: item.root, signature: item.signature });
    }
    if (kind === ReportKind.Feed) {
      return single ? this.updateFeed(item.report, item.signature) : this.updateFeeds({ reports: [item.report], proofs: [item.proof], root: item.root, signature: item.signature });
    }
    throw new AdapterConfigError('on-demand reports (kind 3) are not stored on chain: check them with DestraEthereumClient.submitOnDemand (verifyReport)');
  }

  async isFulfilled(requestId: Hex): Promise<boolean> {
    return this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'isFulfilled', args: [requestId] });
  }

  private async storedRound(feedId: Hex): Promise<bigint> {
    try {
      const [, round] = await this.o.publicClient.readContract({ address: this.feedsAddress(), abi: feedStoreAbi, functionName: 'latestRound', args: [feedId] });
      return round;
    } catch (e) {
      const c = classifyError(e);
      if (c.kind === 'revert' && c.errorName === 'UnknownFeed') return -1n;
      throw e;
    }
  }

  private feedsAddress(): Address {
    if (!this.o.feeds) throw new AdapterConfigError('no FeedStore address configured: pass { feeds } to FulfillmentSubmitter');
    return this.o.feeds;
  }

  private prepareBatch(batch: BatchInput, decode: (r: Uint8Array) => Report) {
    if (batch.reports.length === 0) throw new AdapterConfigError('a batch needs at least one report');
    if (batch.reports.length > MAX_BATCH) throw new AdapterConfigError(`a batch holds at most ${MAX_BATCH} reports, got ${batch.reports.length}`);
    const raw = batch.reports.map((r, i) => bytesOf(r, `reports[${i}]`));
    const ids = raw.map((r) => requestIdOf(decode(r)));
    if (batch.proofs && batch.proofs.length !== raw.length) {
      throw new AdapterConfigError(`got ${batch.proofs.length} proofs for ${raw.length} reports: give one proof per report, or none for a whole batch`);
    }
    const proofs = batch.proofs?.map((p, i) => p.map((h, j) => {
      const b = bytesOf(h, `proofs[${i}][${j}]`);
      if (b.length !== 32) throw new AdapterConfigError(`proofs[${i}][${j}] must be 32 bytes, got ${b.length}`);
      return bytesToHex(b);
    }));
    let root: Hex;
    if (batch.root !== undefined) {
      const b = bytesOf(batch.root, 'root');
      if (b.length !== 32) throw new AdapterConfigError(`root must be 32 bytes, got ${b.length}`);
      root = bytesToHex(b);
    } else if (!proofs) root = bytesToHex(merkleRoot(raw.map(reportLeaf)));
    else throw new AdapterConfigError('root is required when proofs are given');
    return { reports: raw.map((r) => bytesToHex(r)), ids, root, proofs };
  }

}

function decodeRequestReport(bytes: Uint8Array): Report {
  const r = decodeReport(bytes);
  if (r.kind !== ReportKind.Request) throw new AdapterConfigError(`report kind ${r.kind} cannot fulfil a request: the router takes kind 1 (request answer) reports`);
  return r;
}

function decodeFeedReport(bytes: Uint8Array): Report {
  const r = decodeReport(bytes);
  if (r.kind !== ReportKind.Feed) throw new AdapterConfigError(`report kind ${r.kind} cannot update a feed: the feed store takes kind 2 (feed round) reports`);
  return r;
}

function requestIdOf(r: Report): Hex {
  return bytesToHex(r.id);
}
