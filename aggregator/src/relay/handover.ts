// Relaying a committee handover (docs/report-format.md §4) to every chain the aggregator serves: Ethereum's
// CommitteeRegistry.handover and the Solana oracle program's handover instruction. Each chain accepts a
// handover once, so a chain already at the handover's newEpoch is done (someone else relayed it), and
// any number of aggregators and nodes may relay the same one. followEthereum carries handovers that
// landed on Ethereum (by anyone) over to Solana, so Solana's epoch follows Ethereum's.
import type { Keypair } from '@solana/web3.js';
import type { Logger } from 'pino';
import type { Address, PublicClient } from 'viem';
import { decodeHandover } from '@destra/protocol';
import {
  AdapterConfigError, HandoverUnavailableError, SignatureEncodingError, TransactionRejectedError, readHandoverFromTransaction, watchHandovers,
  type HandoverSubmitter, type HandoverWatch,
} from '@destra/adapter-ethereum';
import { SolanaTransactionError, type OracleClient } from '@destra/adapter-solana';
import { AggregatorConfigError, MalformedInputError, RelayError } from '../errors.ts';

export type HandoverChain = 'ethereum' | 'solana';

/** Per chain relayed to: the transaction (hash / signature) that installed the epoch, or 'already-applied'. */
export interface HandoverRelayResult {
  ethereum?: string;
  solana?: string;
}

export const ALREADY_APPLIED = 'already-applied';

/** A committee-signed handover as nodes hand it out. */
export interface HandoverToRelay {
  /** 341 bytes, docs/report-format.md §4. */
  handover: Uint8Array;
  /** The outgoing committee's group signature over handoverSigningMessage(handover): 48-byte compressed G1. */
  signature: Uint8Array;
}

export interface HandoverRelayOptions {
  /** Relays to Ethereum's CommitteeRegistry when set. */
  ethereum?: HandoverSubmitter;
  /** Relays to the Solana oracle program when set; `payer` signs and pays the transaction. */
  solana?: { client: OracleClient; payer: Keypair };
  logger: Logger;
  /** How long one relay keeps retrying transient failures (RPC down, empty payer). Default 10 minutes. */
  deadlineMs?: number;
  /** First retry delay, doubling per attempt up to maxDelayMs, with ±50% jitter. Defaults 500 ms / 30 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** One chain's failure: `permanent` when the chain refused the handover (no retry can land it). */
export interface HandoverChainFailure {
  chain: HandoverChain;
  permanent: boolean;
  message: string;
  cause?: unknown;
}

/** Some chain(s) did not take the handover; `landed` holds what the other chains did. */
export class HandoverRelayError extends RelayError {
  readonly failures: HandoverChainFailure[];
  readonly landed: HandoverRelayResult;
  constructor(failures: HandoverChainFailure[], landed: HandoverRelayResult = {}) {
    super(failures.map((f) => f.chain).join(', '), `handover not relayed — ${failures.map((f) => `${f.chain}: ${f.message}`).join('; ')}`);
    this.name = 'HandoverRelayError';
    this.failures = failures;
    this.landed = landed;
  }
  get permanent(): boolean {
    return this.failures.every((f) => f.permanent);
  }
}

/** Program errors a later attempt can get past: the payer's lamports (a top-up fixes it). */
const TRANSIENT_PROGRAM_ERRORS = new Set(['InsufficientFunds']);

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A failure of one attempt that no retry fixes. */
class Permanent extends Error {}

export class HandoverRelay {
  private readonly log: Logger;
  private readonly deadlineMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: HandoverRelayOptions) {
    if (!o.ethereum && !o.solana) throw new AggregatorConfigError('HandoverRelay needs at least one chain: pass ethereum (a HandoverSubmitter) and/or solana ({ client, payer })');
    this.log = o.logger.child({ component: 'handover-relay' });
    this.deadlineMs = o.deadlineMs ?? 10 * 60_000;
    this.baseDelayMs = o.baseDelayMs ?? 500;
    this.maxDelayMs = o.maxDelayMs ?? 30_000;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? defaultSleep;
  }

  /** The chains this relay serves. */
  get chains(): HandoverChain[] {
    return [...(this.o.ethereum ? (['ethereum'] as const) : []), ...(this.o.solana ? (['solana'] as const) : [])];
  }

  /**
   * Lands the handover: on Ethereum first, where the registry checks that its committee is still the one
   * current stakes select; on Solana (which cannot check that) only once Ethereum holds this very
   * handover — otherwise a stake landing between signing and relaying would leave the two chains on
   * different keys. Each chain is skipped when already at newEpoch; transient failures are retried with
   * backoff until the deadline. Throws HandoverRelayError naming each chain that did not take it.
   */
  async relay(h: HandoverToRelay): Promise<HandoverRelayResult> {
    const newEpoch = checkHandover(h);
    const deadline = this.now() + this.deadlineMs;
    const landed: HandoverRelayResult = {};
    const ethereum = this.o.ethereum;
    if (ethereum) {
      try {
        landed.ethereum = await this.relayTo('ethereum', h, newEpoch, deadline);
      } catch (err) {
        const failures = [...(err as HandoverRelayError).failures];
        // Solana only ever gets what Ethereum installs: when Ethereum refused this handover for good (e.g. a
        // stake changed the committee since the DKG), so is Solana's copy. Calling that transient made every
        // republished copy of a stale handover relay again and starve the newer one queued behind them.
        const refusedForGood = failures.every((f) => f.permanent);
        if (this.o.solana) failures.push({ chain: 'solana', permanent: refusedForGood, message: 'not relayed: Ethereum did not take this handover (Solana follows what Ethereum installs)' });
        throw new HandoverRelayError(failures, landed);
      }
      if (landed.ethereum === ALREADY_APPLIED && this.o.solana && !(await ethereum.installed(h.handover))) {
        throw new HandoverRelayError(
          [{ chain: 'solana', permanent: true, message: `Ethereum installed another handover for epoch ${newEpoch}; Solana gets that one (followEthereum), not this` }],
          landed,
        );
      }
    }
    if (this.o.solana) {
      try {
        landed.solana = await this.relayTo('solana', h, newEpoch, deadline);
      } catch (err) {
        throw new HandoverRelayError((err as HandoverRelayError).failures, landed);
      }
    }
    return landed;
  }

  /**
   * Watches the registry's Handover events from `fromBlock` and relays each landed handover (read from its
   * transaction's calldata) to Solana, in epoch order. A handover Solana refuses is logged and skipped; one
   * that could not land before the deadline is tried again on the next poll.
   */
  followEthereum(p: { client: PublicClient; registry: Address; fromBlock: bigint; pollIntervalMs?: number; confirmations?: number }): HandoverWatch {
    const solana = this.o.solana;
    if (!solana) throw new AggregatorConfigError('followEthereum relays Ethereum handovers to Solana: pass solana ({ client, payer }) to HandoverRelay');
    return watchHandovers({
      client: p.client,
      registry: p.registry,
      fromBlock: p.fromBlock,
      pollIntervalMs: p.pollIntervalMs,
      confirmations: p.confirmations,
      onError: (err) => this.log.warn({ err: err.message }, 'following Ethereum handovers: retrying on the next poll'),
      onHandover: async (ev) => {
        const cfg = await solana.client.fetchConfig();
        if (cfg && cfg.epoch >= ev.epoch) {
          this.log.debug({ epoch: ev.epoch.toString(), solanaEpoch: cfg.epoch.toString() }, 'Solana already has this handover');
          return;
        }
        let h: HandoverToRelay;
        try {
          h = await readHandoverFromTransaction(p.client, ev.txHash, { registry: p.registry });
        } catch (err) {
          if (!(err instanceof HandoverUnavailableError)) throw err; // RPC trouble: next poll
          this.log.error({ epoch: ev.epoch.toString(), tx: ev.txHash, err: err.message }, 'cannot relay this Ethereum handover to Solana');
          return;
        }
        try {
          const tx = await this.relayTo('solana', h, ev.epoch, this.now() + this.deadlineMs);
          this.log.info({ epoch: ev.epoch.toString(), ethereumTx: ev.txHash, solana: tx }, 'relayed an Ethereum handover to Solana');
        } catch (err) {
          const e = err as HandoverRelayError;
          if (!e.permanent) throw e;
          this.log.error({ epoch: ev.epoch.toString(), ethereumTx: ev.txHash, err: e.message }, 'Solana refused an Ethereum handover; skipping it');
        }
      },
    });
  }

  private relayTo(chain: HandoverChain, h: HandoverToRelay, newEpoch: bigint, deadline: number): Promise<string> {
    const attempt = chain === 'ethereum' ? () => this.ethereumAttempt(h) : () => this.solanaAttempt(h, newEpoch);
    return this.untilDeadline(chain, newEpoch, attempt, deadline);
  }

  private async untilDeadline(chain: HandoverChain, newEpoch: bigint, attempt: () => Promise<string>, deadline: number): Promise<string> {
    for (let n = 1; ; n++) {
      try {
        const tx = await attempt();
        this.log.info({ chain, epoch: newEpoch.toString(), tx, attempts: n }, tx === ALREADY_APPLIED ? 'handover already applied' : 'handover landed');
        return tx;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof Permanent) throw new HandoverRelayError([{ chain, permanent: true, message, cause: err.cause }]);
        const left = deadline - this.now();
        if (left <= 0) {
          throw new HandoverRelayError([{
            chain, permanent: false, cause: err,
            message: `gave up after ${n} attempts at the deadline: ${message}; check the RPC endpoint and the relayer's balance, then relay it again`,
          }]);
        }
        this.log.warn({ chain, epoch: newEpoch.toString(), attempt: n, err: message }, 'handover relay attempt failed; retrying');
        const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n - 1, 20)) * (0.5 + Math.random());
        await this.sleep(Math.min(delay, left));
      }
    }
  }

  /** The submitter checks the registry's epoch itself (before sending and after a lost race). */
  private async ethereumAttempt(h: HandoverToRelay): Promise<string> {
    try {
      const r = await this.o.ethereum!.submit(h);
      return r.status === 'submitted' ? r.txHash! : ALREADY_APPLIED;
    } catch (err) {
      // the registry refused it, or the input cannot be sent: retrying cannot help
      if (err instanceof TransactionRejectedError || err instanceof AdapterConfigError || err instanceof SignatureEncodingError) {
        throw new Permanent(`rejected: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  private async solanaAttempt(h: HandoverToRelay, newEpoch: bigint): Promise<string> {
    const { client, payer } = this.o.solana!;
    const epoch = await this.solanaEpoch(client);
    if (epoch >= newEpoch) return ALREADY_APPLIED;
    if (epoch < newEpoch - 1n) {
      throw new Permanent(
        `the oracle program is at epoch ${epoch} but this handover is from epoch ${newEpoch - 1n}: relay the handovers to epochs ${epoch + 1n}..${newEpoch - 1n} first (followEthereum from an earlier block)`,
      );
    }
    try {
      return (await client.send([client.handoverIx(h)], [payer])).signature;
    } catch (err) {
      // a relayer that landed it first makes ours fail with WrongEpoch: that is success
      if ((await this.solanaEpoch(client).catch(() => -1n)) >= newEpoch) return ALREADY_APPLIED;
      if (err instanceof SolanaTransactionError && err.programErrorName !== undefined && !TRANSIENT_PROGRAM_ERRORS.has(err.programErrorName)) {
        throw new Permanent(`the oracle program rejected it with ${err.programErrorName}: ${SOLANA_HINTS[err.programErrorName] ?? err.message}`, { cause: err });
      }
      throw err;
    }
  }

  private async solanaEpoch(client: OracleClient): Promise<bigint> {
    const cfg = await client.fetchConfig();
    if (!cfg) throw new Permanent(`the oracle program ${client.programId.toBase58()} has no config account: initialise it (or check the program id and cluster)`);
    return cfg.epoch;
  }
}

/** What to do about the oracle program's handover errors. */
const SOLANA_HINTS: Record<string, string> = {
  InvalidSignature: "the signature does not verify under the program's current group key: it must be the outgoing committee's signature over these bytes",
  WrongDomain: 'the handover is for another deployment (domain tag): check that this program serves the same network as the committee',
  WrongEpoch: 'the program is at another epoch than the handover hands over from',
  InvalidGroupKey: 'the new group key is not a valid G2 point: the DKG result is corrupt',
  MalformedHandover: 'the bytes are not a 341-byte version-2 handover',
};

/** Checks the shape before any chain is asked; returns newEpoch. */
function checkHandover(h: HandoverToRelay): bigint {
  if (!(h.signature instanceof Uint8Array) || h.signature.length !== 48) {
    throw new MalformedInputError(`handover signature must be a 48-byte compressed G1 point, got ${h.signature?.length ?? 'none'} bytes`);
  }
  try {
    return decodeHandover(h.handover).newEpoch;
  } catch (err) {
    throw new MalformedInputError(`handover does not decode (${(err as Error).message}): expected the 341-byte version-2 encoding of docs/report-format.md §4`);
  }
}

