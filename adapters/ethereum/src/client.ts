// Requester SDK: send a request and wait for its answer, or fetch an on-demand signed report from a node
// and verify it off chain or with the router's verifyReport.
import {
  bytesToHex, decodeEventLog, decodeFunctionData, getAbiItem, hexToBytes, isHex, type Address, type Hex, type PublicClient, type WalletClient,
} from 'viem';
import { ReportStatus, decodeReport, reportStatusName, type Report } from '@destra/protocol';
import { namehash, oracleRouterAbi } from '@destra/contracts';
import { blockRanges } from './block-ranges.ts';
import { classifyError } from './classify.ts';
import { CommitteeReader, type GroupKey } from './committee-reader.ts';
import { AdapterConfigError, ResultTimeoutError, ResultUnavailableError, TransactionRejectedError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { fetchSignedReport, type InferRequest, type SignedReport } from './node-api.ts';
import { bytesOf, toEip2537Signature } from './signature.ts';
import { verifyReportOffchain } from './verify.ts';

export interface DestraEthereumClientOptions {
  publicClient: PublicClient;
  /** Needed for request(); reads and verification work without it. */
  walletClient?: WalletClient;
  router: Address;
  /** How long request() waits for its transaction to be mined. Default 120 s. */
  receiptTimeoutMs?: number;
}

export interface RequestParams {
  /** ModelRegistry node (bytes32), or a model name such as "risk-score.destra" (namehashed). */
  modelId: Hex | string;
  /** Canonical input bytes, or int64 fixed-point values encoded big-endian in order. */
  input: Uint8Array | Hex | readonly bigint[];
  /** Gas for the requester's onInferenceResult callback; 0 for no callback (EOAs). */
  callbackGasLimit?: number;
  /** Fee in wei; default: the router's current fee. */
  fee?: bigint;
}

export interface RequestReceipt {
  requestId: Hex;
  txHash: Hex;
  blockNumber: bigint;
  deadline: bigint;
  fee: bigint;
}

export interface RequestResult {
  requestId: Hex;
  /** The signed outputs; empty when the request failed. */
  output: bigint[];
  /**
   * ReportStatus of the signed report: 0 (OK) for an answer; otherwise the committee refused the request
   * (docs/report-format.md §1.1) and the router closed it, crediting the fee less its processing fee to
   * the requester (`withdrawRefund`).
   */
  status: number;
  /** `OK`, `UNKNOWN_MODEL`, `INPUT_LENGTH`, `INPUT_RANGE` or `OUTPUT_INVALID`. */
  statusName: string;
  failed: boolean;
  report: Report;
  reportBytes: Uint8Array;
  /** False for a failure (no callback is made). */
  callbackSucceeded: boolean;
  txHash: Hex;
  blockNumber: bigint;
}

const MAX_INPUT_BYTES = 8 * 512;
const fulfilledEvent = getAbiItem({ abi: oracleRouterAbi, name: 'RequestFulfilled' });
const failedEvent = getAbiItem({ abi: oracleRouterAbi, name: 'RequestFailed' });
/** OracleRouter's settled-request markers in the commitment slot; a failure is 0x100 + status. */
const FULFILLED = '0x0000000000000000000000000000000000000001';
const REFUNDED = '0x0000000000000000000000000000000000000002';
const FAILED_PREFIX = '0x00000000000000000000000000000000000001';
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/** Canonical input bytes from int64 values (big-endian two's complement). */
export function encodeInput(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new AdapterConfigError(`input[${i}] = ${v} does not fit in int64`);
    view.setBigInt64(8 * i, v);
  });
  return out;
}

export class DestraEthereumClient {
  private readonly requestBlocks = new Map<string, bigint>();
  private registryAddress: Address | undefined;
  private nonces: NonceManager | undefined;

  constructor(private readonly o: DestraEthereumClientOptions) {}

  get router(): Address {
    return this.o.router;
  }

  /** Sends `request` with the fee and returns the request id from the emitted event. */
  async request(params: RequestParams): Promise<RequestReceipt> {
    const wallet = this.o.walletClient;
    if (!wallet?.account || !wallet.chain) throw new AdapterConfigError('request() needs a walletClient with an account and a chain');
    const modelId = toModelId(params.modelId);
    const input = toInput(params.input);
    const callbackGasLimit = params.callbackGasLimit ?? 0;
    if (!Number.isInteger(callbackGasLimit) || callbackGasLimit < 0 || callbackGasLimit > 0xffffffff) {
      throw new AdapterConfigError(`callbackGasLimit must be a uint32, got ${callbackGasLimit}`);
    }
    const fee = params.fee ?? (await this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'fee' }));
    const args = [modelId, bytesToHex(input), callbackGasLimit] as const;
    let hash: Hex;
    try {
      const { request } = await this.o.publicClient.simulateContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'request', args, value: fee, account: wallet.account });
      const nonces = (this.nonces ??= new NonceManager(this.o.publicClient, wallet.account.address));
      // Local nonces keep concurrent request() calls from one account from colliding; a nonce error (the
      // account was used elsewhere) resyncs and tries again, a bounded number of times.
      for (let attempt = 1; ; attempt++) {
        const nonce = await nonces.take();
        try {
          hash = await wallet.writeContract({ ...request, nonce, chain: wallet.chain, account: wallet.account });
          break;
        } catch (e) {
          await nonces.resync().catch(() => undefined);
          if (attempt >= 3 || classifyError(e).kind !== 'nonce') throw e;
        } finally {
          nonces.release();
        }
      }
    } catch (e) {
      const c = classifyError(e);
      if (c.kind === 'revert') {
        throw new TransactionRejectedError(`request was rejected by the router${c.errorName ? ` with ${c.errorName}` : ''}: ${c.message}${REQUEST_HINTS[c.errorName ?? ''] ?? ''}`, { errorName: c.errorName, errorArgs: c.errorArgs, cause: e });
      }
      throw e;
    }
    const receipt = await this.o.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: this.o.receiptTimeoutMs ?? 120_000 });
    if (receipt.status !== 'success') throw new TransactionRejectedError(`request transaction ${hash} reverted`, { txHash: hash });
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.o.router.toLowerCase()) continue;
      try {
        const ev = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics });
        if (ev.eventName !== 'InferenceRequested') continue;
        this.requestBlocks.set(ev.args.requestId, receipt.blockNumber);
        return { requestId: ev.args.requestId, txHash: hash, blockNumber: receipt.blockNumber, deadline: ev.args.deadline, fee: ev.args.fee };
      } catch {
        /* another router event */
      }
    }
    throw new ResultUnavailableError(`request transaction ${hash} succeeded but emitted no InferenceRequested event: is ${this.o.router} an OracleRouter?`);
  }

  /**
   * Waits until the request is fulfilled and returns the signed output, recovered from the fulfilling
   * transaction's calldata (`fulfill` or `fulfillBatch`). Polls the cheap `requests(id)` view; logs are
   * searched once, newest range first, after the request reads settled.
   */
  async waitForResult(requestId: Hex, opts: { timeoutMs?: number; pollIntervalMs?: number; fromBlock?: bigint; maxBlockRange?: bigint } = {}): Promise<RequestResult> {
    if (!isHex(requestId) || requestId.length !== 66) throw new AdapterConfigError(`requestId must be 32-byte hex, got ${requestId}`);
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const pollMs = opts.pollIntervalMs ?? 500;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [requester, , , commitment] = await this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'requests', args: [requestId] });
      if (requester === ZERO_ADDRESS) throw new ResultUnavailableError(`router ${this.o.router} has no request ${requestId}: check the id and the router address`);
      if (commitment === FULFILLED) return this.findResult(requestId, opts.fromBlock ?? this.requestBlocks.get(requestId) ?? 0n, opts.maxBlockRange ?? 10_000n);
      if (commitment.toLowerCase().startsWith(FAILED_PREFIX)) return this.findResult(requestId, opts.fromBlock ?? this.requestBlocks.get(requestId) ?? 0n, opts.maxBlockRange ?? 10_000n, true);
      if (commitment === REFUNDED) throw new ResultUnavailableError(`request ${requestId} was refunded: nobody answered before its deadline; send it again`);
      if (Date.now() + pollMs > deadline) throw new ResultTimeoutError(requestId, timeoutMs);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private async findResult(requestId: Hex, fromBlock: bigint, maxRange: bigint, failed = false): Promise<RequestResult> {
    const latest = await this.o.publicClient.getBlockNumber({ cacheTime: 0 });
    for (const range of blockRanges(fromBlock, latest, maxRange).reverse()) {
      if (failed) {
        const [hit] = await this.o.publicClient.getLogs({ address: this.o.router, event: failedEvent, args: { requestId }, ...range, strict: true });
        if (hit) return this.resultFromTx(requestId, hit.transactionHash, hit.blockNumber, false);
        continue;
      }
      const [hit] = await this.o.publicClient.getLogs({ address: this.o.router, event: fulfilledEvent, args: { requestId }, ...range, strict: true });
      if (hit) return this.resultFromTx(requestId, hit.transactionHash, hit.blockNumber, hit.args.callbackSucceeded);
    }
    const event = failed ? 'RequestFailed' : 'RequestFulfilled';
    throw new ResultUnavailableError(`request ${requestId} reads ${failed ? 'failed' : 'fulfilled'} but no ${event} event was found from block ${fromBlock}: pass an earlier fromBlock`);
  }

  private async resultFromTx(requestId: Hex, txHash: Hex, blockNumber: bigint, callbackSucceeded: boolean): Promise<RequestResult> {
    const tx = await this.o.publicClient.getTransaction({ hash: txHash });
    let reports: readonly Hex[];
    try {
      const call = decodeFunctionData({ abi: oracleRouterAbi, data: tx.input });
      if (call.functionName === 'fulfill') reports = [call.args[0]];
      else if (call.functionName === 'fulfillBatch') reports = call.args[2];
      else throw new Error(`function ${call.functionName}`);
    } catch (e) {
      throw new ResultUnavailableError(
        `request ${requestId} was fulfilled by tx ${txHash}, which did not call the router directly (${(e as Error).message}); read the report from your consumer callback instead`,
        { cause: e },
      );
    }
    for (const hex of reports) {
      const bytes = hexToBytes(hex);
      if (bytes.length < 139 || bytesToHex(bytes.subarray(107, 139)) !== requestId.toLowerCase()) continue;
      const report = decodeReport(bytes);
      const status = report.status ?? ReportStatus.Ok;
      return { requestId, output: [...report.output], status, statusName: reportStatusName(status), failed: status !== ReportStatus.Ok, report, reportBytes: bytes, callbackSucceeded, txHash, blockNumber };
    }
    throw new ResultUnavailableError(`tx ${txHash} emitted RequestFulfilled for ${requestId} but carries no report with that id`);
  }

  /** The group key of an epoch (default: the current one) from the router's CommitteeRegistry. */
  async groupKey(epoch?: bigint): Promise<GroupKey> {
    return (await this.committee()).groupKey(epoch);
  }

  async committee(): Promise<CommitteeReader> {
    this.registryAddress ??= await this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'registry' });
    return new CommitteeReader(this.o.publicClient, this.registryAddress);
  }

  /** Asks a node for an on-demand signed report (`POST /v1/infer`). */
  fetchSignedReport(nodeUrl: string, req: InferRequest, opts?: { timeoutMs?: number }): Promise<SignedReport> {
    return fetchSignedReport(nodeUrl, req, opts);
  }

  verifyReportOffchain(report: Uint8Array | Hex, signature: Uint8Array | Hex, proof: readonly (Uint8Array | Hex)[], groupKey: Uint8Array | Hex): boolean {
    return verifyReportOffchain(report, signature, proof, groupKey);
  }

  /**
   * Checks an on-demand report with the router's `verifyReport` (the same check a consumer contract would
   * make on chain). Returns the router's verdict.
   */
  async submitOnDemand(signed: { report: Uint8Array | Hex; signature: Uint8Array | Hex; proof: readonly (Uint8Array | Hex)[]; root: Uint8Array | Hex }): Promise<boolean> {
    const root = bytesOf(signed.root, 'root');
    if (root.length !== 32) throw new AdapterConfigError(`root must be 32 bytes, got ${root.length}`);
    return this.o.publicClient.readContract({
      address: this.o.router,
      abi: oracleRouterAbi,
      functionName: 'verifyReport',
      args: [bytesToHex(bytesOf(signed.report, 'report')), toEip2537Signature(signed.signature), signed.proof.map((p) => bytesToHex(bytesOf(p, 'proof'))), bytesToHex(root)],
    });
  }
}

const REQUEST_HINTS: Record<string, string> = {
  FeeTooLow: '; pay at least the router fee (omit `fee` to use it)',
  InputTooLarge: `; input must be 8..${MAX_INPUT_BYTES} bytes, a multiple of 8`,
  CallbackGasTooHigh: '; lower callbackGasLimit to the router maxCallbackGas',
  UnknownModel: '; register the model in ModelRegistry or check the name',
};

function toModelId(modelId: Hex | string): Hex {
  if (isHex(modelId) && modelId.length === 66) return modelId;
  if (typeof modelId !== 'string' || modelId.length === 0) throw new AdapterConfigError('modelId must be a bytes32 hex node or a model name');
  return namehash(modelId);
}

function toInput(input: Uint8Array | Hex | readonly bigint[]): Uint8Array {
  const bytes = Array.isArray(input) ? encodeInput(input as readonly bigint[]) : bytesOf(input as Uint8Array | Hex, 'input');
  if (bytes.length === 0 || bytes.length % 8 !== 0 || bytes.length > MAX_INPUT_BYTES) {
    throw new AdapterConfigError(`input must be 8..${MAX_INPUT_BYTES} bytes and a multiple of 8 (int64 values), got ${bytes.length}`);
  }
  return bytes;
}
