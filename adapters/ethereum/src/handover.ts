// Committee handovers on Ethereum: submitting CommitteeRegistry.handover(h, signature), reading a landed
// handover back from its transaction's calldata, and watching for Handover events. Several parties may
// relay the same handover (every aggregator, any node): the registry accepts it once, so an epoch that
// already reached the handover's newEpoch is success that someone else paid for.
import { bytesToHex, decodeFunctionData, getAbiItem, type Address, type Hex, type PublicClient, type WalletClient } from 'viem';
import { decodeG2, decodeHandover, g1FromEip2537, g2ToEip2537, type Handover } from '@destra/protocol';
import { committeeRegistryAbi } from '@destra/contracts';
import { blockRanges } from './block-ranges.ts';
import { AdapterConfigError, EthereumAdapterError, TransactionRejectedError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { bytesOf, toEip2537Signature } from './signature.ts';
import { TransactionSender, type Call } from './tx-sender.ts';

/** A committee-signed handover: the 341-byte bytes (docs/report-format.md §4) and the group signature. */
export interface SignedHandover {
  handover: Uint8Array | Hex;
  /** Outgoing committee's signature over handoverSigningMessage(handover): 48-byte compressed G1 (96 / 128-byte forms accepted). */
  signature: Uint8Array | Hex;
}

export type HandoverStatus = 'submitted' | 'already-applied';

export interface HandoverResult {
  /** submitted: our transaction installed the epoch; already-applied: the registry was already at newEpoch or later. */
  status: HandoverStatus;
  newEpoch: bigint;
  txHash?: Hex;
  blockNumber?: bigint;
  gasUsed?: bigint;
  attempts: number;
}

export interface HandoverSubmitterOptions {
  publicClient: PublicClient;
  /** Must carry a local account (private key) and a chain. */
  walletClient: WalletClient;
  registry: Address;
  /** Share one manager with other submitters sending from the same account. */
  nonceManager?: NonceManager;
  /** Extra gas over the estimate, in basis points. Default 2000 (+20%). */
  gasMarginBps?: number;
  /** Retries after the first attempt on transient errors. Default 5. */
  retries?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  receiptTimeoutMs?: number;
  onRetry?: (info: { attempt: number; error: Error; retriesLeft: number }) => void;
}

/** The registry refused the handover for a reason no retry fixes; the message says what to do. */
export class HandoverRejectedError extends TransactionRejectedError {
  constructor(message: string, details: { errorName?: string; errorArgs?: readonly unknown[]; txHash?: Hex; cause?: unknown }) {
    super(message, details);
    this.name = 'HandoverRejectedError';
  }
}

/** A handover that cannot be recovered from a transaction (not a direct handover call, reverted, malformed). */
export class HandoverUnavailableError extends EthereumAdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ETH_HANDOVER_UNAVAILABLE', message, options);
    this.name = 'HandoverUnavailableError';
  }
}

/** What to do about each of the registry's handover errors. */
const HANDOVER_HINTS: Record<string, string> = {
  BadSignature: "the signature does not verify under the current epoch's group key: the outgoing committee (epoch oldEpoch) must threshold-sign handoverSigningMessage(handover) over exactly these bytes",
  HandoverWrongEpoch: 'the registry is at another epoch than the handover hands over from: relay the handovers in between first, or rebuild it from the current epoch',
  HandoverWrongCommittee: "committeeSize / membersRoot do not name the registry's nextCommittee(n) now: the stake ranking changed since the DKG; run the DKG again for the current top-n",
  HandoverWrongDomain: 'the handover is for another deployment (domain tag): check the network the committee signed for',
  HandoverMalformed: 'the bytes are not a 341-byte version-2 handover with newEpoch = oldEpoch + 1 and 1 ≤ t ≤ n ≤ 256',
  ThresholdTooLow: "the threshold is below governance's minThresholdBps of the committee size: run the DKG with a higher threshold",
  BlsPrecompileFailed: 'the new group key is not a valid G2 point in the subgroup: the DKG result is corrupt',
  BlsIdentityPoint: 'the new group key is the identity point: the DKG result is corrupt',
};

function decodeOrThrow(bytes: Uint8Array): Handover {
  try {
    return decodeHandover(bytes);
  } catch (e) {
    throw new AdapterConfigError(`handover is malformed (${(e as Error).message}): expected the 341-byte version-2 encoding of docs/report-format.md §4`);
  }
}

export class HandoverSubmitter {
  readonly nonces: NonceManager;
  private readonly sender: TransactionSender;

  constructor(private readonly o: HandoverSubmitterOptions) {
    const account = o.walletClient.account;
    if (!account) throw new AdapterConfigError('walletClient has no account: create it with { account: privateKeyToAccount(key) }');
    if (!o.walletClient.chain) throw new AdapterConfigError('walletClient has no chain: pass { chain } when creating it');
    const margin = o.gasMarginBps ?? 2000;
    if (!Number.isInteger(margin) || margin < 0 || margin > 100_000) throw new AdapterConfigError(`gasMarginBps must be an integer in 0..100000, got ${margin}`);
    this.nonces = o.nonceManager ?? new NonceManager(o.publicClient, account.address);
    this.sender = new TransactionSender({
      publicClient: o.publicClient,
      walletClient: o.walletClient,
      nonces: this.nonces,
      gasMarginBps: margin,
      retries: o.retries ?? 5,
      minRetryDelayMs: o.minRetryDelayMs ?? 250,
      maxRetryDelayMs: o.maxRetryDelayMs ?? 8_000,
      receiptTimeoutMs: o.receiptTimeoutMs ?? 60_000,
      onRetry: o.onRetry,
    });
  }

  get registry(): Address {
    return this.o.registry;
  }

  get account(): Address {
    return this.o.walletClient.account!.address;
  }

  currentEpoch(): Promise<bigint> {
    return this.o.publicClient.readContract({ address: this.o.registry, abi: committeeRegistryAbi, functionName: 'currentEpoch' }) as Promise<bigint>;
  }

  /**
   * True when the registry installed exactly this handover's group key for its new epoch: a handover
   * someone else landed first may have been another one (another DKG attempt or committee), and Solana
   * must receive the one Ethereum holds.
   */
  async installed(handover: Uint8Array): Promise<boolean> {
    const h = decodeHandover(handover);
    try {
      const key = (await this.o.publicClient.readContract({ address: this.o.registry, abi: committeeRegistryAbi, functionName: 'groupKey', args: [h.newEpoch] })) as Hex;
      return key.toLowerCase() === bytesToHex(g2ToEip2537(decodeG2(h.groupKey).toBytes(true))).toLowerCase();
    } catch {
      return false; // UnknownEpoch: not installed
    }
  }

  /**
   * Installs the handover's epoch (status 'submitted'), or finds the registry already there ('already-applied':
   * checked before sending, after a revert, and for a HandoverWrongEpoch lost in a race). Transient RPC
   * errors are retried (SubmissionFailedError when they persist); a refusal throws HandoverRejectedError.
   */
  async submit(p: SignedHandover): Promise<HandoverResult> {
    const bytes = bytesOf(p.handover, 'handover');
    const { newEpoch } = decodeOrThrow(bytes);
    const signature = toEip2537Signature(p.signature); // throws SignatureEncodingError before anything is sent
    const call: Call = { address: this.o.registry, abi: committeeRegistryAbi, functionName: 'handover', args: [bytesToHex(bytes), signature] };
    const applied = async () => (await this.currentEpoch()) >= newEpoch;
    try {
      const r = await this.sender.send(call, async () => ((await applied()) ? 'already-fulfilled' : undefined));
      const status: HandoverStatus = r.status === 'submitted' ? 'submitted' : 'already-applied';
      return { status, newEpoch, txHash: r.txHash, blockNumber: r.blockNumber, gasUsed: r.gasUsed, attempts: r.attempts };
    } catch (e) {
      if (!(e instanceof TransactionRejectedError)) throw e;
      // another relayer's handover landed between our check and our estimate
      if (e.errorName === 'HandoverWrongEpoch' && (await applied())) return { status: 'already-applied', newEpoch, attempts: 1 };
      throw this.rejected(e, newEpoch);
    }
  }

  private rejected(e: TransactionRejectedError, newEpoch: bigint): HandoverRejectedError {
    const name = e.errorName;
    const args = e.errorArgs?.length ? `(${e.errorArgs.map(String).join(', ')})` : '';
    const hint = name ? HANDOVER_HINTS[name] : undefined;
    return new HandoverRejectedError(
      `handover to epoch ${newEpoch} on registry ${this.o.registry} was rejected${name ? ` with ${name}${args}` : ''}${hint ? `: ${hint}` : `: ${e.message}`}`,
      { errorName: name, errorArgs: e.errorArgs, txHash: e.txHash, cause: e },
    );
  }
}

/** A handover as read back from the chain: its bytes and the signature in compressed form. */
export interface LandedHandover {
  handover: Uint8Array;
  /** 48-byte compressed G1 (what Solana's handoverIx takes). */
  signature: Uint8Array;
}

/**
 * Recovers the handover a transaction installed from its calldata (a direct `CommitteeRegistry.handover`
 * call). With `registry`, the transaction must be addressed to it. Throws HandoverUnavailableError when
 * the transaction is not such a call or did not succeed.
 */
export async function readHandoverFromTransaction(client: PublicClient, txHash: Hex, opts: { registry?: Address } = {}): Promise<LandedHandover> {
  const [tx, receipt] = await Promise.all([client.getTransaction({ hash: txHash }), client.getTransactionReceipt({ hash: txHash })]);
  if (receipt.status !== 'success') throw new HandoverUnavailableError(`transaction ${txHash} reverted: it installed no handover`);
  if (opts.registry && tx.to?.toLowerCase() !== opts.registry.toLowerCase()) {
    throw new HandoverUnavailableError(`transaction ${txHash} is addressed to ${tx.to ?? 'no contract'}, not the registry ${opts.registry}: the handover was made through another contract; take its bytes from whoever signed it`);
  }
  let h: Hex;
  let sig: Hex;
  try {
    const call = decodeFunctionData({ abi: committeeRegistryAbi, data: tx.input });
    if (call.functionName !== 'handover') throw new Error(`it calls ${call.functionName}`);
    [h, sig] = call.args as readonly [Hex, Hex];
  } catch (e) {
    throw new HandoverUnavailableError(`transaction ${txHash} is not a direct CommitteeRegistry.handover call (${(e as Error).message}): the handover was made through another contract; take its bytes from whoever signed it`, { cause: e });
  }
  const handover = bytesOf(h, 'handover');
  let signature: Uint8Array;
  try {
    decodeHandover(handover);
    signature = g1FromEip2537(bytesOf(sig, 'signature')).toBytes(true);
  } catch (e) {
    throw new HandoverUnavailableError(`transaction ${txHash} carries a handover that does not decode: ${(e as Error).message}`, { cause: e });
  }
  return { handover, signature };
}

/** One Handover event: the epoch it installed, where. */
export interface HandoverEvent {
  epoch: bigint;
  txHash: Hex;
  blockNumber: bigint;
}

export interface WatchHandoversOptions {
  client: PublicClient;
  registry: Address;
  /** First block to scan (inclusive), e.g. the registry's deploy block or the block of the last relayed handover. */
  fromBlock: bigint;
  /** Called once per event, in chain order; the scan moves past an event only after it resolves (a throw retries it next poll). */
  onHandover: (event: HandoverEvent) => void | Promise<void>;
  /** Default 2000 ms. */
  pollIntervalMs?: number;
  /** Blocks an event must be buried under before it is reported. Default 0. */
  confirmations?: number;
  /** Largest eth_getLogs range. Default 1000. */
  maxBlockRange?: bigint;
  /** RPC errors and handler failures (the watcher keeps going). */
  onError?: (error: Error) => void;
}

export interface HandoverWatch {
  /** Stops polling; resolves once a poll in progress has finished. */
  stop(): Promise<void>;
}

const handoverEvent = getAbiItem({ abi: committeeRegistryAbi, name: 'Handover' });

/**
 * Polls eth_getLogs for the registry's Handover events from `fromBlock` on. Handovers are rare (one per
 * epoch), so plain polling over bounded ranges is enough: no socket, no checkpoint store (the caller
 * persists the last block it handled if it must resume).
 */
export function watchHandovers(o: WatchHandoversOptions): HandoverWatch {
  const confirmations = BigInt(o.confirmations ?? 0);
  const maxRange = o.maxBlockRange ?? 1000n;
  if (confirmations < 0n) throw new AdapterConfigError(`confirmations must be ≥ 0, got ${confirmations}`);
  if (o.fromBlock < 0n) throw new AdapterConfigError(`fromBlock must be ≥ 0, got ${o.fromBlock}`);
  let next = o.fromBlock;
  // events of block `next` already reported (a block may hold several handovers, each signed by the
  // committee the previous one installed), so a handler failure retries only what is left
  const handled = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const poll = async () => {
    const head = (await o.client.getBlockNumber({ cacheTime: 0 })) - confirmations;
    for (const range of blockRanges(next, head, maxRange)) {
      const logs = await o.client.getLogs({ address: o.registry, event: handoverEvent, ...range, strict: true });
      for (const log of logs) {
        if (stopped) return;
        const key = `${log.transactionHash}:${log.logIndex}`;
        if (log.blockNumber !== next) {
          next = log.blockNumber;
          handled.clear();
        } else if (handled.has(key)) continue;
        await o.onHandover({ epoch: log.args.epoch!, txHash: log.transactionHash, blockNumber: log.blockNumber });
        handled.add(key);
      }
      if (stopped) return;
      next = range.toBlock + 1n;
      handled.clear();
    }
  };
  const tick = () => {
    running = poll()
      .catch((e: unknown) => o.onError?.(e instanceof Error ? e : new Error(String(e))))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, o.pollIntervalMs ?? 2000);
      });
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
