// Relays a committee-signed range of the router's request stream (docs/ethereum.md "Request stream"):
// every report of the range under one root signature, with OracleRouter.fulfillBatch. A range that fits
// one transaction goes whole, in order and without proofs (the router rebuilds the root: one BLS
// verification, no proof calldata); a larger one is cut into chunks by gas and calldata, each carrying
// its reports' proofs and verifying the same root. Requests already settled (answered by another relayer,
// failed, refunded) are left out of chunks, and the router skips them inside a whole range, so racing
// relayers and expired requests never revert a range.
import { bytesToHex, hexToBytes, type Address, type Hex, type PublicClient, type WalletClient } from 'viem';
import { buildMerkleTree, ChainType, decodeReport, evmDestination, merkleProof, reportLeaf, ReportKind, requestStream, type MerkleTree } from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import { AdapterConfigError, SubmissionFailedError, TransactionRejectedError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { toEip2537Signature } from './signature.ts';
import { TransactionSender, type Call } from './tx-sender.ts';

/** A certified range as the aggregator holds it: the reports (tree leaves, in sequence order) and the root signature. */
export interface SignedRange {
  root: Uint8Array;
  /** Compressed (48), uncompressed (96) or EIP-2537 (128) G1. */
  signature: Uint8Array;
  reports: readonly Uint8Array[];
}

/** What the router holds for one request of the range. */
export interface RangeRequestState {
  /** Still waiting for an answer: a report for it would land. */
  open: boolean;
  /** Unix seconds after which the requester may refund it. */
  deadline: number;
  callbackGasLimit: number;
}

export interface RangeChunk {
  /** Indices (into the range) of the reports the chunk carries. */
  indices: number[];
  /** The whole range in order, without proofs. */
  whole: boolean;
  /** Planned gas ceiling (the transaction is still estimated before sending). */
  gas: number;
}

export interface RangeSubmission {
  status: 'submitted' | 'already-fulfilled';
  txHashes: Hex[];
  /** Reports that were open when the range was planned. */
  open: number;
  chunks: number;
  gasUsed: bigint;
}

export interface RangeLimits {
  /** Planned gas per transaction: settlement per report plus every callback at its full limit (a consumer may burn it all). Default 15,000,000 (half a 30M block). */
  maxGasPerTx: number;
  /** Calldata bytes per transaction. Default 96,000. */
  maxCalldataBytes: number;
}

export const DEFAULT_RANGE_LIMITS: RangeLimits = { maxGasPerTx: 15_000_000, maxCalldataBytes: 96_000 };

/** Gas of fulfillBatch besides the reports: the transaction, one BLS verification (EIP-2537 pairing), root rebuild. */
const BATCH_BASE_GAS = 260_000;
/** Gas to settle one open report without its callback (leaf hash, storage, event) and to skip a settled one. */
const OPEN_REPORT_GAS = 45_000;
const SETTLED_REPORT_GAS = 6_000;
/** A callback's gas beyond its limit: the router's 64/63 rule, measurement and reimbursement. */
const CALLBACK_EXTRA_GAS = 60_000;
/** Calldata per report besides its bytes (offset, length, padding) and per proof node. */
const REPORT_CALLDATA_OVERHEAD = 96;

/**
 * Pure: the transactions a range goes out in, given what the router holds for each request. Gas per open
 * report is `measuredGas` when the caller estimated the real cost (a callback's limit still reserved for
 * the one running), else the worst case: settlement plus the callback's full limit.
 */
export function planRange(reports: readonly Uint8Array[], states: readonly RangeRequestState[], limits: RangeLimits = DEFAULT_RANGE_LIMITS, measuredGas?: number): RangeChunk[] {
  if (states.length !== reports.length) throw new AdapterConfigError(`${states.length} request states for ${reports.length} reports`);
  const gasOf = (i: number): number => {
    const s = states[i]!;
    if (!s.open) return SETTLED_REPORT_GAS;
    if (measuredGas !== undefined) return measuredGas;
    return OPEN_REPORT_GAS + (s.callbackGasLimit > 0 ? Math.ceil((s.callbackGasLimit * 64) / 63) + CALLBACK_EXTRA_GAS : 0);
  };
  const open = states.flatMap((s, i) => (s.open ? [i] : []));
  if (open.length === 0) return [];
  let wholeGas = BATCH_BASE_GAS;
  let wholeBytes = 0;
  reports.forEach((r, i) => {
    wholeGas += gasOf(i);
    wholeBytes += r.length + REPORT_CALLDATA_OVERHEAD;
  });
  if (wholeGas <= limits.maxGasPerTx && wholeBytes <= limits.maxCalldataBytes) {
    return [{ indices: reports.map((_, i) => i), whole: true, gas: wholeGas }];
  }
  const depth = Math.ceil(Math.log2(Math.max(2, reports.length)));
  const chunks: RangeChunk[] = [];
  let cur: RangeChunk = { indices: [], whole: false, gas: BATCH_BASE_GAS };
  let bytes = 0;
  for (const i of open) {
    const g = gasOf(i);
    const b = reports[i]!.length + REPORT_CALLDATA_OVERHEAD + 32 * (depth + 2);
    if (cur.indices.length > 0 && (cur.gas + g > limits.maxGasPerTx || bytes + b > limits.maxCalldataBytes)) {
      chunks.push(cur);
      cur = { indices: [], whole: false, gas: BATCH_BASE_GAS };
      bytes = 0;
    }
    cur.indices.push(i);
    cur.gas += g;
    bytes += b;
  }
  chunks.push(cur);
  if (measuredGas !== undefined) {
    // the callback running last in a chunk needs its whole limit available (the router's 64/63 check)
    const headroom = Math.max(0, ...open.map((i) => Math.ceil((states[i]!.callbackGasLimit * 64) / 63)));
    for (const c of chunks) c.gas += headroom;
  }
  return chunks;
}

/** Ids per `requestStates` call (the router takes up to 4096; 1024 keeps one call near 5M gas). */
const STATES_PER_CALL = 1024;

export interface RangeFulfillerOptions {
  publicClient: PublicClient;
  /** Must carry a local account (private key) and a chain. */
  walletClient: WalletClient;
  router: Address;
  /** Share the nonce sequence with the other submitters of the same account. */
  nonceManager?: NonceManager;
  limits?: Partial<RangeLimits>;
  gasMarginBps?: number;
  retries?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  receiptTimeoutMs?: number;
}

export class RangeFulfiller {
  readonly nonces: NonceManager;
  private readonly sender: TransactionSender;
  private readonly limits: RangeLimits;

  constructor(private readonly o: RangeFulfillerOptions) {
    const account = o.walletClient.account;
    if (!account) throw new AdapterConfigError('walletClient has no account: create it with { account: privateKeyToAccount(key) }');
    if (!o.walletClient.chain) throw new AdapterConfigError('walletClient has no chain: pass { chain } when creating it');
    this.limits = { ...DEFAULT_RANGE_LIMITS, ...o.limits };
    if (!(this.limits.maxGasPerTx >= BATCH_BASE_GAS + OPEN_REPORT_GAS)) throw new AdapterConfigError(`limits.maxGasPerTx must be at least ${BATCH_BASE_GAS + OPEN_REPORT_GAS}`);
    this.nonces = o.nonceManager ?? new NonceManager(o.publicClient, account.address);
    this.sender = new TransactionSender({
      publicClient: o.publicClient,
      walletClient: o.walletClient,
      nonces: this.nonces,
      gasMarginBps: o.gasMarginBps ?? 2000,
      retries: o.retries ?? 3,
      minRetryDelayMs: o.minRetryDelayMs ?? 250,
      maxRetryDelayMs: o.maxRetryDelayMs ?? 8_000,
      receiptTimeoutMs: o.receiptTimeoutMs ?? 60_000,
    });
  }

  /** The router's state of every request the range answers (`requestStates`, one call per STATES_PER_CALL ids). */
  async states(range: SignedRange): Promise<RangeRequestState[]> {
    return this.readStates(range.reports.map((r, i) => requestIdOf(r, i)));
  }

  private async readStates(ids: Hex[]): Promise<RangeRequestState[]> {
    const chunks: Hex[][] = [];
    for (let i = 0; i < ids.length; i += STATES_PER_CALL) chunks.push(ids.slice(i, i + STATES_PER_CALL));
    const answers = await Promise.all(
      chunks.map((chunk) => this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'requestStates', args: [chunk] })),
    );
    return answers.flatMap(([open, deadlines, gas], c) => {
      if (open.length !== chunks[c]!.length || deadlines.length !== open.length || gas.length !== open.length) {
        throw new SubmissionFailedError(`router answered requestStates for ${open.length} of ${chunks[c]!.length} ids: is it an older router?`, 1);
      }
      return open.map((o, i) => ({ open: o, deadline: Number(deadlines[i]!), callbackGasLimit: gas[i]! }));
    });
  }

  /**
   * Lands every open request of the range. Resolves `already-fulfilled` when nothing was open; rejects
   * with TransactionRejectedError when the router refuses the range (a bad signature or root: no retry
   * lands it) and with SubmissionFailedError when the chain could not be reached after retries (call
   * again: settled requests are re-read and left out).
   */
  async fulfillRange(range: SignedRange): Promise<RangeSubmission> {
    if (range.reports.length === 0) throw new AdapterConfigError('a range needs at least one report');
    const signature = toEip2537Signature(range.signature);
    const states = await this.states(range);
    const open = states.filter((s) => s.open).length;
    if (open === 0) return { status: 'already-fulfilled', txHashes: [], open: 0, chunks: 0, gasUsed: 0n };
    const root = bytesToHex(range.root);
    const hex = range.reports.map((r) => bytesToHex(r));
    // The worst-case plan counts every callback at its full limit; most use far less. When the whole range
    // fits the calldata bound, the node's estimate of the real transaction decides instead (one BLS
    // verification for the range), and the plan applies only when that estimate is over the gas bound.
    let chunks = planRange(range.reports, states, this.limits);
    if (chunks.length > 1 && (await this.wholeFits(root, signature, hex))) chunks = [{ indices: range.reports.map((_, i) => i), whole: true, gas: this.limits.maxGasPerTx }];
    else if (chunks.length > 1) chunks = await this.replanMeasured(range, states, chunks[0]!, root, signature, hex, chunks);
    const ids = range.reports.map((r, i) => requestIdOf(r, i));
    let tree: MerkleTree | undefined;
    const txHashes: Hex[] = [];
    let gasUsed = 0n;
    for (const chunk of chunks) {
      let proofs: Hex[][] = [];
      if (!chunk.whole) {
        tree ??= buildMerkleTree(range.reports.map(reportLeaf));
        proofs = chunk.indices.map((i) => merkleProof(tree!, i).map((p) => bytesToHex(p)));
      }
      const call: Call = { address: this.o.router, abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [root, signature, chunk.indices.map((i) => hex[i]!), proofs] };
      const mine = chunk.indices.filter((i) => states[i]!.open).map((i) => ids[i]!);
      const done = async () => ((await this.readStates(mine)).every((st) => !st.open) ? ('already-fulfilled' as const) : undefined);
      const r = await this.sender.send(call, done);
      if (r.txHash) txHashes.push(r.txHash);
      gasUsed += r.gasUsed ?? 0n;
    }
    return { status: txHashes.length > 0 ? 'submitted' : 'already-fulfilled', txHashes, open, chunks: chunks.length, gasUsed };
  }

  /** True when the whole range, in order and without proofs, is within the calldata and (estimated) gas bounds. */
  private async wholeFits(root: Hex, signature: Hex, reports: Hex[]): Promise<boolean> {
    const bytes = reports.reduce((a, r) => a + (r.length - 2) / 2 + REPORT_CALLDATA_OVERHEAD, 0);
    if (bytes > this.limits.maxCalldataBytes) return false;
    try {
      const gas = await this.o.publicClient.estimateContractGas({ address: this.o.router, abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [root, signature, reports, []], account: this.o.walletClient.account! });
      return gas <= BigInt(this.limits.maxGasPerTx);
    } catch {
      return false; // the chunked plan is sent (and estimated) instead; a refusal surfaces there
    }
  }

  /**
   * Re-plans a chunked range with the real gas per report, measured by estimating its first worst-case
   * chunk (+25%); keeps the worst-case plan when the estimate fails.
   */
  private async replanMeasured(range: SignedRange, states: RangeRequestState[], first: RangeChunk, root: Hex, signature: Hex, hex: Hex[], fallback: RangeChunk[]): Promise<RangeChunk[]> {
    try {
      const tree = buildMerkleTree(range.reports.map(reportLeaf));
      const proofs = first.indices.map((i) => merkleProof(tree, i).map((p) => bytesToHex(p)));
      const gas = await this.o.publicClient.estimateContractGas({ address: this.o.router, abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [root, signature, first.indices.map((i) => hex[i]!), proofs], account: this.o.walletClient.account! });
      const perReport = Math.ceil((Math.max(0, Number(gas) - BATCH_BASE_GAS) / first.indices.length) * 1.25);
      const plan = planRange(range.reports, states, this.limits, Math.max(perReport, SETTLED_REPORT_GAS));
      return plan.length < fallback.length ? plan : fallback;
    } catch {
      return fallback;
    }
  }
}

function requestIdOf(report: Uint8Array, i: number): Hex {
  const r = decodeReport(report);
  if (r.kind !== ReportKind.Request) throw new AdapterConfigError(`report ${i} of the range has kind ${r.kind}: the router takes kind 1 (request answer) reports`);
  return bytesToHex(r.id);
}

/**
 * The aggregator's range relay interface (RangeSink: chain, chainType, openCount, submitRange, deadlineOf,
 * isPermanent) over RangeFulfiller. Typed structurally: no dependency on the aggregator.
 */
export class EthereumRangeSink {
  readonly chain = 'ethereum' as const;
  readonly chainType = ChainType.Evm;
  /** requestStream of the router on the wallet's chain: the stream whose ranges this sink lands. */
  readonly stream: Uint8Array;
  readonly fulfiller: RangeFulfiller;

  constructor(options: RangeFulfillerOptions) {
    this.fulfiller = new RangeFulfiller(options);
    this.stream = requestStream(evmDestination(BigInt(options.walletClient.chain!.id), hexToBytes(options.router)));
  }

  async openCount(range: SignedRange): Promise<number> {
    return (await this.fulfiller.states(range)).filter((s) => s.open).length;
  }

  /** The latest deadline (unix ms) of the range's open requests; null when none is open. */
  async deadlineOf(range: SignedRange): Promise<number | null> {
    const open = (await this.fulfiller.states(range)).filter((s) => s.open);
    return open.length === 0 ? null : Math.max(...open.map((s) => s.deadline)) * 1000;
  }

  async submitRange(range: SignedRange): Promise<string[]> {
    return (await this.fulfiller.fulfillRange(range)).txHashes;
  }

  /** A decoded router revert (BadSignature, MerkleProofInvalid, WrongChain…): the same range can never land. */
  isPermanent(err: unknown): boolean {
    return err instanceof TransactionRejectedError;
  }
}
