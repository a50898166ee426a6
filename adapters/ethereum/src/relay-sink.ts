// The aggregator's relay interface (`ChainSink`: chain, chainType, isFulfilled, submit) over the
// FulfillmentSubmitter, so an aggregator gets local nonces, gas margins, retries and race handling by
// constructing this instead of calling viem itself. Typed structurally: no dependency on the aggregator.
import { ChainType, ReportKind, decodeReport } from '@destra/protocol';
import { bytesToHex } from 'viem';
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

  constructor(options: FulfillmentSubmitterOptions) {
    this.submitter = new FulfillmentSubmitter(options);
    this.client = new DestraEthereumClient({ publicClient: options.publicClient, router: options.router });
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
      if (await this.client.submitOnDemand(item)) return 'verified-by-view-call';
      throw new TransactionRejectedError('verifyReport returned false: the report does not verify under its epoch group key on this router');
    }
    const r = await this.submitter.submitSigned(item);
    return r.status === 'submitted' ? r.txHash! : r.status;
  }
}

