// Ethereum sink: lands request reports on the OracleRouter (single report: fulfill; batched report:
// fulfillBatch with its Merkle proof) and answers "already fulfilled?" from isFulfilled. Written over
// viem against the router ABI; the Ethereum adapter's FulfillmentSubmitter can replace the calls.
import { decodeReport, g1ToEip2537, ChainType, ReportKind, toHex } from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import type { Address, Hex, PublicClient, WalletClient, Chain } from 'viem';
import type { ChainSink, SignedReport } from './relayer.ts';

export interface EthereumSinkOptions {
  publicClient: PublicClient;
  walletClient: WalletClient;
  chain: Chain;
  router: Address;
}

const hex = (b: Uint8Array): Hex => toHex(b) as Hex;

export class EthereumSink implements ChainSink {
  readonly chain = 'ethereum' as const;
  readonly chainType = ChainType.Evm;
  /** Submissions from one account go one at a time, so concurrent relays never race for a nonce. */
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly o: EthereumSinkOptions) {}

  async isFulfilled(item: SignedReport): Promise<boolean> {
    if (decodeReport(item.report).kind !== ReportKind.Request) return false; // nothing stored for those
    return this.o.publicClient.readContract({ address: this.o.router, abi: oracleRouterAbi, functionName: 'isFulfilled', args: [hex(item.requestId)] }) as Promise<boolean>;
  }

  submit(item: SignedReport): Promise<string> {
    const run = this.queue.then(() => this.send(item));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** On-demand/feed reports are not stored by the router: they are checked with verifyReport (a view). */
  async verify(item: SignedReport): Promise<boolean> {
    return (await this.o.publicClient.readContract({
      address: this.o.router,
      abi: oracleRouterAbi,
      functionName: 'verifyReport',
      args: [hex(item.report), hex(g1ToEip2537(item.signature)), item.proof.map(hex), hex(item.root)],
    })) as boolean;
  }

  private async send(item: SignedReport): Promise<string> {
    if (decodeReport(item.report).kind !== ReportKind.Request) {
      if (!(await this.verify(item))) throw new Error('verifyReport returned false: the report does not verify under the current group key');
      return 'verified-by-view-call';
    }
    const signature = hex(g1ToEip2537(item.signature));
    const account = this.o.walletClient.account!;
    // Simulate first: a revert (e.g. AlreadyFulfilled) surfaces with its decoded error name, costs no gas.
    const call =
      item.proof.length === 0
        ? ({ functionName: 'fulfill', args: [hex(item.report), signature] } as const)
        : ({ functionName: 'fulfillBatch', args: [hex(item.root), signature, [hex(item.report)], [item.proof.map(hex)]] } as const);
    const base = { address: this.o.router, abi: oracleRouterAbi, account, chain: this.o.chain };
    await this.o.publicClient.simulateContract({ ...base, ...call } as Parameters<PublicClient['simulateContract']>[0]);
    const hash = await this.o.walletClient.writeContract({ ...base, ...call } as Parameters<WalletClient['writeContract']>[0]);
    const receipt = await this.o.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`fulfil transaction ${hash} reverted`);
    return hash;
  }
}
