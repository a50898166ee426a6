// Relays a block feed's signed root to BlockScores.submitRoot (one report of the block with its proof names
// the feed and the block). A root already stored for that block (another relayer, or the same block signed
// again in a later epoch) is success: 'already-fulfilled'.
import { bytesToHex, type Address, type Hex, type PublicClient, type WalletClient } from 'viem';
import { ReportKind, decodeReport } from '@destra/protocol';
import { blockScoresAbi } from '@destra/contracts';
import { classifyError } from './classify.ts';
import { AdapterConfigError, TransactionRejectedError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { toEip2537Signature } from './signature.ts';
import { TransactionSender, type SubmissionResult } from './tx-sender.ts';

export interface BlockScoresSubmitterOptions {
  publicClient: PublicClient;
  walletClient: WalletClient;
  blockScores: Address;
  /** Share the relayer account's nonce sequence with its other submitters. */
  nonceManager?: NonceManager;
  gasMarginBps?: number;
  retries?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  receiptTimeoutMs?: number;
}

export interface BlockRootSubmission {
  root: Uint8Array;
  signature: Uint8Array;
  /** Any one report of the block's tree, and its proof to `root`. */
  report: Uint8Array;
  proof: readonly Uint8Array[];
}

export class BlockScoresSubmitter {
  private readonly sender: TransactionSender;

  constructor(private readonly o: BlockScoresSubmitterOptions) {
    const account = o.walletClient.account;
    if (!account) throw new AdapterConfigError('walletClient has no account: create it with { account: privateKeyToAccount(key) }');
    this.sender = new TransactionSender({
      publicClient: o.publicClient,
      walletClient: o.walletClient,
      nonces: o.nonceManager ?? new NonceManager(o.publicClient, account.address),
      gasMarginBps: o.gasMarginBps ?? 2000,
      retries: o.retries ?? 3,
      minRetryDelayMs: o.minRetryDelayMs ?? 250,
      maxRetryDelayMs: o.maxRetryDelayMs ?? 4_000,
      receiptTimeoutMs: o.receiptTimeoutMs ?? 60_000,
    });
  }

  /** True once BlockScores holds a root for the block the report names. */
  async stored(report: Uint8Array): Promise<boolean> {
    const r = decodeReport(report);
    try {
      await this.o.publicClient.readContract({ address: this.o.blockScores, abi: blockScoresAbi, functionName: 'rootOf', args: [bytesToHex(r.id), r.round] });
      return true;
    } catch (e) {
      const c = classifyError(e);
      if (c.kind === 'revert' && c.errorName === 'UnknownBlock') return false;
      throw e;
    }
  }

  async submitRoot(s: BlockRootSubmission): Promise<SubmissionResult> {
    const r = decodeReport(s.report);
    if (r.kind !== ReportKind.Feed) throw new AdapterConfigError(`report kind ${r.kind} is not a block feed leaf (kind 2)`);
    const call = {
      address: this.o.blockScores,
      abi: blockScoresAbi,
      functionName: 'submitRoot',
      args: [bytesToHex(s.root), toEip2537Signature(s.signature), bytesToHex(s.report), s.proof.map((p) => bytesToHex(p)) as Hex[]],
    };
    try {
      return await this.sender.send(call, async () => ((await this.stored(s.report)) ? 'already-fulfilled' : undefined));
    } catch (e) {
      if (e instanceof TransactionRejectedError && e.errorName === 'BlockKnown') return { status: 'already-fulfilled', attempts: 1, skipped: [] };
      throw e;
    }
  }
}
