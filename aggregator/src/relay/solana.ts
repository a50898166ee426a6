// Solana sinks. SolanaSink: posts a signed report to the destra_oracle program with post_report (signature checked
// on chain with the SIMD-0388 BLS syscalls; batched reports carry their Merkle proof). "Already
// fulfilled" = the report's result account exists. Request answers name the request account (the report
// id is that account's address).
import { buildMerkleTree, ChainType, decodeReport, merkleProof, reportLeaf, ReportKind, requestStream, svmDestination } from '@destra/protocol';
import { PublicKey, SYSVAR_CLOCK_PUBKEY, type Keypair } from '@solana/web3.js';
import { SolanaTransactionError, type OracleClient } from '@destra/adapter-solana';
import { RelayError } from '../errors.ts';
import type { ChainSink, SignedReport } from './relayer.ts';
import type { SignedRange } from './range-relayer.ts';

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

/**
 * Certified ranges of the program's request stream (RangeSink): the root is verified once (verify_root:
 * one BLS verification, a root account the posts point at), then each open request of the range is
 * answered with post_batched_report and its Merkle proof (one small transaction each: Solana transactions
 * hold 1,232 bytes). A request answered or refunded meanwhile is left out; a root already verified (by
 * another aggregator, or before a restart) is not verified again.
 */
export class SolanaRangeSink {
  readonly chain = 'solana' as const;
  readonly chainType = ChainType.Svm;
  readonly stream: Uint8Array;

  constructor(private readonly o: SolanaSinkOptions & { clusterId: Uint8Array }) {
    this.stream = requestStream(svmDestination(o.clusterId, o.client.programId.toBytes()));
  }

  /** The request accounts of the range, and which of them are still pending. */
  private async states(range: SignedRange): Promise<{ request: PublicKey; pending: boolean; deadlineSlot: bigint | undefined }[]> {
    return Promise.all(
      range.reports.map(async (bytes) => {
        const request = new PublicKey(decodeReport(bytes).id);
        const q = await this.o.client.fetchRequest(request);
        return { request, pending: q?.status === 'pending', deadlineSlot: q?.deadlineSlot };
      }),
    );
  }

  async openCount(range: SignedRange): Promise<number> {
    return (await this.states(range)).filter((s) => s.pending).length;
  }

  /** The latest deadline slot of the pending requests, as wall-clock ms (400 ms a slot from the Clock sysvar); null when none is pending. */
  async deadlineOf(range: SignedRange): Promise<number | null> {
    const pending = (await this.states(range)).filter((s) => s.pending && s.deadlineSlot !== undefined);
    if (pending.length === 0) return null;
    const clock = await this.o.client.transport.getAccount(SYSVAR_CLOCK_PUBKEY);
    if (!clock) throw new RelayError('solana', 'the Clock sysvar is not readable');
    const slot = Buffer.from(clock.data).readBigUInt64LE(0);
    const last = pending.reduce((m, s) => (s.deadlineSlot! > m ? s.deadlineSlot! : m), 0n);
    return Date.now() + Number(last - slot) * SLOT_MS;
  }

  isPermanent(err: unknown): boolean {
    return err instanceof SolanaTransactionError && err.programErrorName !== undefined && !TRANSIENT_PROGRAM_ERRORS.has(err.programErrorName);
  }

  async submitRange(range: SignedRange): Promise<string[]> {
    const { client, payer } = this.o;
    const epoch = BigInt(range.epoch);
    const states = await this.states(range);
    if (!states.some((s) => s.pending)) return [];
    const sigs: string[] = [];
    if (!(await client.transport.getAccount(client.rootAddress(range.root, epoch)))) {
      try {
        sigs.push((await client.send([client.verifyRootIx({ payer: payer.publicKey, root: range.root, epoch, signature: range.signature })], [payer])).signature);
      } catch (err) {
        if (!(err instanceof SolanaTransactionError && err.programErrorName === 'Replay')) throw err; // verified meanwhile by someone else
      }
    }
    const tree = buildMerkleTree(range.reports.map(reportLeaf));
    for (const [i, s] of states.entries()) {
      if (!s.pending) continue;
      const report = range.reports[i]!;
      try {
        const ix = client.postBatchedReportIx({ payer: payer.publicKey, report, id: decodeReport(report).id, root: range.root, epoch, proof: merkleProof(tree, i), request: s.request });
        sigs.push((await client.send([ix], [payer])).signature);
      } catch (err) {
        // answered (another aggregator) or refunded since it was read: nothing to land for it any more
        if (err instanceof SolanaTransactionError && (err.programErrorName === 'Replay' || err.programErrorName === 'RequestNotPending')) continue;
        throw err;
      }
    }
    return sigs;
  }
}
