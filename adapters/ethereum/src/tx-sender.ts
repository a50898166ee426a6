// Sends one contract call the way a relayer must: estimate (a revert surfaces with its decoded custom
// error and costs nothing), local nonces shared per account, backoff with jitter on transient errors,
// and a race-aware outcome: work another relayer already landed ("done") is success, not failure.
// Used by the fulfilment submitter and the evidence submitter.
import pRetry from 'p-retry';
import type { Abi, Address, Hex, PublicClient, WalletClient } from 'viem';
import { classifyError } from './classify.ts';
import { AdapterConfigError, SubmissionFailedError, TransactionRejectedError } from './errors.ts';
import type { NonceManager } from './nonce.ts';

export interface Call {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

export type SubmissionStatus = 'submitted' | 'already-fulfilled' | 'stale';

export interface SubmissionResult {
  /** submitted: our tx landed; already-fulfilled: another relayer landed it (or the evidence was already used); stale: a newer feed round is stored. */
  status: SubmissionStatus;
  txHash?: Hex;
  blockNumber?: bigint;
  gasUsed?: bigint;
  attempts: number;
  /** Request ids left out of a batch because they were already fulfilled. */
  skipped: Hex[];
}

/** Resolves to a status when the work is already on chain (checked before each attempt and after a revert). */
export type Done = () => Promise<SubmissionStatus | undefined>;

export interface TransactionSenderOptions {
  publicClient: PublicClient;
  walletClient: WalletClient;
  nonces: NonceManager;
  gasMarginBps: number;
  retries: number;
  minRetryDelayMs: number;
  maxRetryDelayMs: number;
  receiptTimeoutMs: number;
  onRetry?: (info: { attempt: number; error: Error; retriesLeft: number }) => void;
}

export class TransactionSender {
  constructor(private readonly o: TransactionSenderOptions) {}

  /** One submission with estimation, local nonces, backoff with jitter, and race-aware outcome. */
  async send(call: Call, done: Done, skipped: Hex[] = []): Promise<SubmissionResult> {
    let attempts = 0;
    const wallet = this.o.walletClient;
    const pub = this.o.publicClient;
    const attempt = async (): Promise<SubmissionResult> => {
      attempts++;
      const already = await done();
      if (already) return { status: already, attempts, skipped };
      let gas: bigint;
      try {
        gas = await pub.estimateContractGas({ ...call, account: wallet.account! } as Parameters<PublicClient['estimateContractGas']>[0]);
      } catch (e) {
        const c = classifyError(e);
        if (c.kind === 'already-fulfilled' || c.kind === 'stale') return { status: c.kind, attempts, skipped };
        if (c.kind === 'revert') throw rejected(call, c.errorName, c.errorArgs, c.message, undefined, e);
        throw e;
      }
      gas += (gas * BigInt(this.o.gasMarginBps)) / 10_000n;
      const nonce = await this.o.nonces.take();
      let hash: Hex;
      try {
        hash = await wallet.writeContract({ ...call, gas, nonce, account: wallet.account!, chain: wallet.chain } as Parameters<WalletClient['writeContract']>[0]);
      } catch (e) {
        await this.o.nonces.resync().catch(() => undefined); // the nonce may or may not be used now
        throw e;
      } finally {
        this.o.nonces.release();
      }
      const receipt = await pub.waitForTransactionReceipt({ hash, timeout: this.o.receiptTimeoutMs, pollingInterval: 100 });
      if (receipt.status === 'success') return { status: 'submitted', txHash: hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, attempts, skipped };
      // Mined but reverted: usually a race lost to another relayer in the same block.
      const after = await done();
      if (after) return { status: after, txHash: hash, blockNumber: receipt.blockNumber, attempts, skipped };
      const reason = await this.revertReason(call, receipt.blockNumber);
      throw rejected(call, reason.errorName, reason.errorArgs, reason.message, hash);
    };
    try {
      return await pRetry(attempt, {
        retries: this.o.retries,
        minTimeout: this.o.minRetryDelayMs,
        maxTimeout: this.o.maxRetryDelayMs,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => !(error instanceof TransactionRejectedError || error instanceof AdapterConfigError),
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (classifyError(error).kind === 'nonce') await this.o.nonces.resync().catch(() => undefined);
          this.o.onRetry?.({ attempt: attemptNumber, error, retriesLeft });
        },
      });
    } catch (e) {
      if (e instanceof TransactionRejectedError || e instanceof AdapterConfigError) throw e;
      throw new SubmissionFailedError(
        `${call.functionName} failed after ${attempts} attempts: ${(e as Error).message}; check the RPC endpoint and the account's ETH balance`,
        attempts,
        { cause: e },
      );
    }
  }

  /** Replays the call at the block where it reverted to recover the custom error. */
  private async revertReason(call: Call, blockNumber: bigint) {
    try {
      await this.o.publicClient.simulateContract({ ...call, account: this.o.walletClient.account!, blockNumber } as Parameters<PublicClient['simulateContract']>[0]);
      return { errorName: undefined, errorArgs: undefined, message: 'reverted on chain but succeeds when replayed (state changed within the block)' };
    } catch (e) {
      const c = classifyError(e);
      return c.kind === 'revert' ? c : { errorName: 'errorName' in c ? c.errorName : undefined, errorArgs: undefined, message: c.kind };
    }
  }
}

function rejected(call: Call, errorName: string | undefined, errorArgs: readonly unknown[] | undefined, message: string, txHash?: Hex, cause?: unknown) {
  const hint = errorName ? HINTS[errorName] ?? '' : '';
  return new TransactionRejectedError(
    `${call.functionName} on ${call.address} was rejected${errorName ? ` with ${errorName}` : ''}: ${message}${hint ? `; ${hint}` : ''}`,
    { errorName, errorArgs, txHash, cause },
  );
}

/** What to do about the router's and feed store's custom errors. */
const HINTS: Record<string, string> = {
  BadSignature: 'the signature does not verify under the epoch group key: check the report bytes, the signed root and the epoch',
  WrongEpoch: 'the report was signed for another epoch: re-sign it with the current committee',
  WrongDomain: 'the report is for another deployment (domain tag): check the network name',
  WrongChain: 'the report names another chain id',
  WrongContract: 'the report names another router address',
  UnknownRequest: 'no such request on this router',
  InputMismatch: 'the report model/input hash does not match the request',
  MerkleProofInvalid: 'a proof or the root does not match the reports',
  InsufficientGasForCallback: 'raise the gas limit (the callback needs its reserved gas)',
  EvidenceInvalid: 'the evidence does not prove a double-sign: two different reports for the same (id, round, epoch, kind), each signed by the member’s own key share',
  EvidenceExpired: 'the evidence window of that epoch has closed',
  UnknownEpoch: 'the registry has no committee for that epoch',
  EpochRetired: 'the report names a retired epoch (past its handover grace window): re-sign it under the current committee',
  StakeLocked: 'the stake backs a committee epoch whose evidence window is still open: withdraw after releaseAt',
  NotRequester: 'only the requester pulls the unused callback gas prepayment of an answered request',
  NothingToRefund: 'the callback gas prepayment was spent or already refunded',
};

