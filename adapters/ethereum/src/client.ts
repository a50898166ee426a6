// Requester SDK: send a request and wait for its answer, or fetch an on-demand signed report from a node
// and verify it off chain or with the router's verifyReport.
import {
  bytesToHex, decodeEventLog, decodeFunctionData, getAbiItem, hexToBytes, hexToSignature, isHex, type Address, type Hex, type PublicClient,
  type WalletClient,
} from 'viem';
import { ReportStatus, decodeReport, reportStatusName, type Report } from '@destra/protocol';
import { destraTokenAbi, namehash, oracleRouterAbi } from '@destra/contracts';
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
  /** ModelRegistry node (bytes32), or a registered model name, namehashed: the devnet registers manifest names such as "liquidation-risk" (.devnet/env.json `models`). */
  modelId: Hex | string;
  /** Canonical input bytes, or int64 fixed-point values encoded big-endian in order. */
  input: Uint8Array | Hex | readonly bigint[];
  /** Gas for the requester's onInferenceResult callback; 0 for no callback (EOAs). */
  callbackGasLimit?: number;
  /** ETH to send in wei; default: the router's quote (the model's fee + the callback gas prepayment). */
  fee?: bigint;
  /**
   * How the model's DSYNC burn is authorised when the router's allowance is short: 'approve' (default)
   * sends an approval first (`approveAmount`), 'permit' signs an ERC-2612 permit and calls
   * requestWithPermit (one transaction; for one request at a time per account), 'none' sends as is.
   */
  dsyncAuth?: 'approve' | 'permit' | 'none';
  /** Allowance an approval sets (default 100 × the model's burn, topped up again when short). */
  approveAmount?: bigint;
}

export interface RequestReceipt {
  requestId: Hex;
  txHash: Hex;
  blockNumber: bigint;
  deadline: bigint;
  /** ETH fee the stakers get (the value sent minus the callback gas prepayment). */
  fee: bigint;
  /** ETH sent (fee + callback gas prepayment; the unused prepayment is refundable after the answer). */
  value: bigint;
  /** DSYNC (base units) burned from the requester. */
  burn: bigint;
  /** How the burn was authorised: the existing allowance, an approval sent first, or a permit. */
  dsyncAuth: 'allowance' | 'approve' | 'permit' | 'none';
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
  private tokenAddress: Address | undefined;
  /** Serialises the allowance check and approval among concurrent request() calls of this client. */
  private allowanceLock: Promise<unknown> = Promise.resolve();
  /** DSYNC burns of requests sent but not mined yet (they still count against the allowance). */
  private pendingBurn = 0n;

  constructor(private readonly o: DestraEthereumClientOptions) {}

  get router(): Address {
    return this.o.router;
  }

  /** What a request costs now: `value` wei to send (model fee + callback gas prepayment) and `burn` DSYNC. */
  async quote(modelId: Hex | string, callbackGasLimit = 0): Promise<{ value: bigint; burn: bigint }> {
    const [value, burn] = await this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'quote', args: [toModelId(modelId), callbackGasLimit] });
    return { value, burn };
  }

  /** The DSYNC token the router burns from requesters. */
  async token(): Promise<Address> {
    return (this.tokenAddress ??= await this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'token' }));
  }

  /**
   * Sends `request` with the quoted ETH (or `fee`) and returns the request id from the emitted event. The
   * model's DSYNC burn is authorised automatically: an approval first when the router's allowance is short
   * (default), or an ERC-2612 permit with requestWithPermit (`dsyncAuth: 'permit'`).
   */
  async request(params: RequestParams): Promise<RequestReceipt> {
    const wallet = this.o.walletClient;
    if (!wallet?.account || !wallet.chain) throw new AdapterConfigError('request() needs a walletClient with an account and a chain');
    const account = wallet.account;
    const modelId = toModelId(params.modelId);
    const input = toInput(params.input);
    const callbackGasLimit = params.callbackGasLimit ?? 0;
    if (!Number.isInteger(callbackGasLimit) || callbackGasLimit < 0 || callbackGasLimit > 0xffffffff) {
      throw new AdapterConfigError(`callbackGasLimit must be a uint32, got ${callbackGasLimit}`);
    }
    const mode = params.dsyncAuth ?? 'approve';
    if (!['approve', 'permit', 'none'].includes(mode)) throw new AdapterConfigError(`dsyncAuth must be approve, permit or none, got ${mode}`);
    let burn = 0n;
    let value: bigint;
    let hash: Hex;
    let auth: RequestReceipt['dsyncAuth'] = 'none';
    let reserved = 0n;
    try {
      const q = await this.quote(modelId, callbackGasLimit);
      value = params.fee ?? q.value;
      burn = q.burn;
      const args = [modelId, bytesToHex(input), callbackGasLimit] as const;
      let call: Parameters<WalletClient['writeContract']>[0];
      if (burn > 0n && mode !== 'none') {
        const token = await this.token();
        const prepared = await this.exclusive(async () => {
          const [balance, allowance] = await Promise.all([
            this.o.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'balanceOf', args: [account.address] }),
            this.o.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'allowance', args: [account.address, this.o.router] }),
          ]);
          if (balance < this.pendingBurn + burn) {
            throw new AdapterConfigError(`the requester ${account.address} holds ${balance} DSYNC base units; this model burns ${burn} per request (${this.pendingBurn} more are pending): get DSYNC first`);
          }
          this.pendingBurn += burn;
          reserved = burn;
          if (allowance >= this.pendingBurn) return { auth: 'allowance' as const };
          if (mode === 'permit') return { auth: 'permit' as const, permit: await this.signPermit(token, burn) };
          const amount = params.approveAmount ?? burn * 100n;
          if (amount < this.pendingBurn) throw new AdapterConfigError(`approveAmount ${amount} is below the DSYNC this client's pending requests burn (${this.pendingBurn})`);
          const approveHash = await this.send({ address: token, abi: destraTokenAbi, functionName: 'approve', args: [this.o.router, amount], account, chain: wallet.chain });
          const r = await this.o.publicClient.waitForTransactionReceipt({ hash: approveHash, pollingInterval: 100, timeout: this.o.receiptTimeoutMs ?? 120_000 });
          if (r.status !== 'success') throw new TransactionRejectedError(`DSYNC approval ${approveHash} reverted`, { txHash: approveHash });
          return { auth: 'approve' as const };
        });
        auth = prepared.auth;
        if (prepared.auth === 'permit') {
          const { deadline, v, r, s } = prepared.permit!;
          const { request } = await this.o.publicClient.simulateContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'requestWithPermit', args: [...args, burn, deadline, v, r, s], value, account });
          call = request as never;
        } else {
          const { request } = await this.o.publicClient.simulateContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'request', args, value, account });
          call = request as never;
        }
      } else {
        const { request } = await this.o.publicClient.simulateContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'request', args, value, account });
        call = request as never;
      }
      hash = await this.send({ ...(call as object), account, chain: wallet.chain } as never);
    } catch (e) {
      this.pendingBurn -= reserved;
      const c = classifyError(e);
      if (c.kind === 'revert') {
        throw new TransactionRejectedError(`request was rejected by the router${c.errorName ? ` with ${c.errorName}` : ''}: ${c.message}${REQUEST_HINTS[c.errorName ?? ''] ?? ''}`, { errorName: c.errorName, errorArgs: c.errorArgs, cause: e });
      }
      throw e;
    }
    let receipt;
    try {
      receipt = await this.o.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: this.o.receiptTimeoutMs ?? 120_000 });
    } finally {
      this.pendingBurn -= reserved;
    }
    if (receipt.status !== 'success') throw new TransactionRejectedError(`request transaction ${hash} reverted`, { txHash: hash });
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.o.router.toLowerCase()) continue;
      try {
        const ev = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics });
        if (ev.eventName !== 'InferenceRequested') continue;
        this.requestBlocks.set(ev.args.requestId, receipt.blockNumber);
        return { requestId: ev.args.requestId, txHash: hash, blockNumber: receipt.blockNumber, deadline: ev.args.deadline, fee: ev.args.fee, value, burn, dsyncAuth: burn > 0n ? auth : 'none' };
      } catch {
        /* another router event */
      }
    }
    throw new ResultUnavailableError(`request transaction ${hash} succeeded but emitted no InferenceRequested event: is ${this.o.router} an OracleRouter?`);
  }

  /**
   * Pulls the unused callback gas prepayment of an answered request (or the whole escrow of an expired
   * one) back to the requester: the router's refund(id).
   */
  async refund(requestId: Hex): Promise<{ txHash: Hex; amount: bigint }> {
    const wallet = this.o.walletClient;
    if (!wallet?.account || !wallet.chain) throw new AdapterConfigError('refund() needs a walletClient with an account and a chain');
    let hash: Hex;
    try {
      const { request } = await this.o.publicClient.simulateContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'refund', args: [requestId], account: wallet.account });
      hash = await this.send({ ...request, account: wallet.account, chain: wallet.chain } as never);
    } catch (e) {
      const c = classifyError(e);
      if (c.kind === 'revert') throw new TransactionRejectedError(`refund was rejected by the router${c.errorName ? ` with ${c.errorName}` : ''}: ${c.message}${REQUEST_HINTS[c.errorName ?? ''] ?? ''}`, { errorName: c.errorName, errorArgs: c.errorArgs, cause: e });
      throw e;
    }
    const receipt = await this.o.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: this.o.receiptTimeoutMs ?? 120_000 });
    if (receipt.status !== 'success') throw new TransactionRejectedError(`refund transaction ${hash} reverted`, { txHash: hash });
    for (const log of receipt.logs) {
      try {
        const ev = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics });
        if (ev.eventName === 'RequestRefunded') return { txHash: hash, amount: ev.args.amount };
      } catch {
        /* not a router event */
      }
    }
    return { txHash: hash, amount: 0n };
  }

  /** ERC-2612 permit for the router to burn `value` DSYNC of the requester, valid for an hour. */
  private async signPermit(token: Address, value: bigint): Promise<{ deadline: bigint; v: number; r: Hex; s: Hex }> {
    const wallet = this.o.walletClient!;
    const account = wallet.account!;
    const [[, name, version, chainId, verifyingContract], nonce, block] = await Promise.all([
      this.o.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'eip712Domain' }),
      this.o.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'nonces', args: [account.address] }),
      this.o.publicClient.getBlock(),
    ]);
    const deadline = block.timestamp + 3_600n;
    const signature = await wallet.signTypedData({
      account,
      domain: { name, version, chainId: Number(chainId), verifyingContract },
      types: { Permit: PERMIT_TYPES },
      primaryType: 'Permit',
      message: { owner: account.address, spender: this.o.router, value, nonce, deadline },
    });
    const { r, s, v, yParity } = hexToSignature(signature);
    return { deadline, r, s, v: Number(v ?? BigInt(27 + (yParity ?? 0))) };
  }

  /**
   * Sends with this client's local nonces: concurrent calls from one account do not collide; a nonce error
   * (the account was used elsewhere) resyncs and tries again, a bounded number of times.
   */
  private async send(call: Parameters<WalletClient['writeContract']>[0]): Promise<Hex> {
    const wallet = this.o.walletClient!;
    const nonces = (this.nonces ??= new NonceManager(this.o.publicClient, wallet.account!.address));
    for (let attempt = 1; ; attempt++) {
      const nonce = await nonces.take();
      try {
        return await wallet.writeContract({ ...call, nonce } as never);
      } catch (e) {
        await nonces.resync().catch(() => undefined);
        if (attempt >= 3 || classifyError(e).kind !== 'nonce') throw e;
      } finally {
        nonces.release();
      }
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.allowanceLock.then(fn);
    this.allowanceLock = run.catch(() => undefined);
    return run;
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

const PERMIT_TYPES = [
  { name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' },
  { name: 'deadline', type: 'uint256' },
] as const;

const REQUEST_HINTS: Record<string, string> = {
  FeeTooLow: "; pay at least the router's quote: the model's fee + the callback gas prepayment (omit `fee` to use it)",
  ERC20InsufficientAllowance: "; the router burns the model's DSYNC from the requester: approve the router for it, or use dsyncAuth 'approve' / 'permit'",
  ERC20InsufficientBalance: "; the requester must hold the model's DSYNC burn (see quote())",
  NotRequester: '; only the requester pulls the unused gas prepayment of an answered request',
  NothingToRefund: '; the prepayment was spent on the callback or already refunded',
  NotExpired: '; an unanswered request is refundable only after its deadline',
  AlreadyFulfilled: '; the request was answered (only its unused callback gas prepayment is refundable, to the requester) or already refunded; a failure report credited its refund at once (withdrawRefund)',
  UnknownRequest: '; no request with that id on this router',
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
