// Solana sink: posts a signed report to the destra_oracle program with post_report (signature checked
// on chain with the SIMD-0388 BLS syscalls; batched reports carry their Merkle proof). "Already
// fulfilled" = the report's result account exists. Request answers name the request account (the report
// id is that account's address).
import { ChainType, decodeReport, ReportKind } from '@destra/protocol';
import { PublicKey, SYSVAR_CLOCK_PUBKEY, type Keypair } from '@solana/web3.js';
import { SolanaTransactionError, type OracleClient } from '@destra/adapter-solana';
import { RelayError } from '../errors.ts';
import type { ChainSink, SignedReport } from './relayer.ts';

/** Slot length used to turn a deadline slot into wall-clock time (mainnet's target, 400 ms). */
const SLOT_MS = 400;
/** Program errors a later attempt can get past: the payer's lamports (a top-up fixes it). */
const TRANSIENT_PROGRAM_ERRORS = new Set(['InsufficientFunds']);

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

  /**
   * A request answer can land until its request's deadline slot (then the requester may refund it):
   * estimated as now + (deadline − current slot) × 400 ms from the Clock sysvar; a request that is no
   * longer pending (refunded, or closed otherwise) cannot land any more. Feeds and on-demand reports: none.
   */
  async deadlineOf(item: SignedReport): Promise<number | null> {
    if (decodeReport(item.report).kind !== ReportKind.Request) return null;
    const req = await this.o.client.fetchRequest(new PublicKey(item.requestId));
    if (!req) return null; // not on this cluster: the program will refuse it (a permanent error)
    if (req.status !== 'pending' || req.deadlineSlot === undefined) return req.status === 'pending' ? null : 0;
    const clock = await this.o.client.transport.getAccount(SYSVAR_CLOCK_PUBKEY);
    if (!clock) return null;
    const slot = Buffer.from(clock.data).readBigUInt64LE(0);
    return Date.now() + Number(req.deadlineSlot - slot) * SLOT_MS;
  }

  /**
   * The program refused the report (bad signature, request not pending, an epoch the program has left…):
   * no retry can land it. A report of an epoch the program has not reached yet (the handover is still on
   * its way to Solana) is not refused for good: see send.
   */
  isPermanent(err: unknown): boolean {
    return err instanceof SolanaTransactionError && err.programErrorName !== undefined && !TRANSIENT_PROGRAM_ERRORS.has(err.programErrorName);
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
    try {
      const sent = await this.o.client.send([ix], [this.o.payer]);
      return sent.signature;
    } catch (err) {
      if (err instanceof SolanaTransactionError && err.programErrorName === 'WrongEpoch') throw await this.wrongEpoch(err, item);
      throw err;
    }
  }

  /**
   * WrongEpoch: a report of an older epoch than the program's can never land (Solana has no grace window:
   * permanent, as the program said); one of a newer epoch waits for the handover to reach Solana, so it is
   * turned into a transient error the relayer retries (bounded by maxAttempts or the request's deadline).
   */
  private async wrongEpoch(err: SolanaTransactionError, item: SignedReport): Promise<Error> {
    const reportEpoch = decodeReport(item.report).epoch;
    const cfg = await this.o.client.fetchConfig().catch(() => null);
    if (!cfg || reportEpoch <= cfg.epoch) return err;
    return new RelayError('solana', `the oracle program is still at epoch ${cfg.epoch}, the report is of epoch ${reportEpoch}: retrying until the handover reaches Solana`);
  }
}
