// The aggregator's relay interface (`ChainSink`: chain, chainType, isFulfilled, submit) over the
// FulfillmentSubmitter, so an aggregator gets local nonces, gas margins, retries and race handling by
// constructing this instead of calling viem itself. Typed structurally: no dependency on the aggregator.
import { ChainType, ReportKind, decodeReport } from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import { bytesToHex, type Address, type PublicClient } from 'viem';
import { DestraEthereumClient } from './client.ts';
import { TransactionRejectedError } from './errors.ts';
import { FulfillmentSubmitter, type FulfillmentSubmitterOptions } from './submitter.ts';

export interface RelayItem {
  requestId: Uint8Array;
  report: Uint8Array;
  root: Uint8Array;
  proof: Uint8Array[];
  signature: Uint8Array;
}

export class EthereumRelaySink {
  readonly chain = 'ethereum' as const;
  readonly chainType = ChainType.Evm;
  readonly submitter: FulfillmentSubmitter;
  private readonly client: DestraEthereumClient;

  private readonly publicClient: PublicClient;
  private readonly router: Address;

  constructor(options: FulfillmentSubmitterOptions) {
    this.submitter = new FulfillmentSubmitter(options);
    this.client = new DestraEthereumClient({ publicClient: options.publicClient, router: options.router });
    this.publicClient = options.publicClient;
    this.router = options.router;
  }

  /** The router's verifyReport (a view call) on a signed report of any kind. */
  verify(item: RelayItem): Promise<boolean> {
    return this.client.submitOnDemand(item);
  }

  /** A contract rejection (decoded revert): retrying the same report cannot land it. */
  isPermanent(err: unknown): boolean {
    return err instanceof TransactionRejectedError;
  }

  /**
   * Until when (unix ms) relaying this report can still land it: a request answer until its request's
   * deadline on the router (after it the request is refundable, and a refund closes it); null for reports
   * without a deadline (on-demand, feeds).
   */
  async deadlineOf(item: RelayItem): Promise<number | null> {
    if (decodeReport(item.report).kind !== ReportKind.Request) return null;
    const r = (await this.publicClient.readContract({ address: this.router, abi: oracleRouterAbi, functionName: 'requests', args: [bytesToHex(item.requestId)] })) as readonly unknown[];
    return Number(r[2] as bigint) * 1000;
  }

  /** Only request answers are stored on chain; other kinds are never "already" there. */
  async isFulfilled(item: RelayItem): Promise<boolean> {
    if (decodeReport(item.report).kind !== ReportKind.Request) return false;
    return this.submitter.isFulfilled(bytesToHex(item.requestId));
  }

  /**
   * Lands the report; resolves with the tx hash, or with `already-fulfilled` / `stale` when another relayer
   * got there first. On-demand reports are checked with verifyReport and resolve `verified-by-view-call`.
   */
  async submit(item: RelayItem): Promise<string> {
    if (decodeReport(item.report).kind === ReportKind.OnDemand) {
      if (await this.verify(item)) return 'verified-by-view-call';
      throw new TransactionRejectedError('verifyReport returned false: the report does not verify under its epoch group key on this router');
    }
    const r = await this.submitter.submitSigned(item);
    return r.status === 'submitted' ? r.txHash! : r.status;
  }
}

