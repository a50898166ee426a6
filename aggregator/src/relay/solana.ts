// Solana sink: posts a signed report to the destra_oracle program with post_report (signature checked
// on chain with the SIMD-0388 BLS syscalls; batched reports carry their Merkle proof). "Already
// fulfilled" = the report's result account exists. Request answers name the request account (the report
// id is that account's address).
import { ChainType, decodeReport, ReportKind } from '@destra/protocol';
import { PublicKey, type Keypair } from '@solana/web3.js';
import type { OracleClient } from '@destra/adapter-solana';
import type { ChainSink, SignedReport } from './relayer.ts';

export interface SolanaSinkOptions {
  client: OracleClient;
  payer: Keypair;
}

export class SolanaSink implements ChainSink {
  readonly chain = 'solana' as const;
  readonly chainType = ChainType.Svm;
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly o: SolanaSinkOptions) {}

  async isFulfilled(item: SignedReport): Promise<boolean> {
    return (await this.o.client.fetchResult(item.requestId)) !== null;
  }

  submit(item: SignedReport): Promise<string> {
    const run = this.queue.then(() => this.send(item));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async send(item: SignedReport): Promise<string> {
    const kind = decodeReport(item.report).kind;
    const ix = this.o.client.postReportIx({
      payer: this.o.payer.publicKey,
      report: item.report,
      id: item.requestId,
      signature: item.signature,
      root: item.root,
      proof: item.proof,
      ...(kind === ReportKind.Request ? { request: new PublicKey(item.requestId) } : {}),
    });
    const sent = await this.o.client.send([ix], [this.o.payer]);
    return sent.signature;
  }
}
