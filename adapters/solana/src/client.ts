// Builds, sends and reads everything the destra_oracle program does. Instruction data comes from the Anchor
// IDL coder; hash-to-G1 hints are computed here so the program never inverts or takes square roots.
import anchor from '@coral-xyz/anchor';
const { BN } = anchor;
type BN = InstanceType<typeof BN>;
import { Keypair, PublicKey, SystemProgram, TransactionInstruction, type AccountMeta } from '@solana/web3.js';
import {
  buildMerkleTree, handoverSigningMessage, merkleProof, payoutsRoot, reportLeaf, reportStatusName, rootSigningMessage, type PayoutEntry,
} from '@destra/protocol';
import { computeH2cHints, encodeH2cHints } from './h2c/hints.ts';
import { ORACLE_IDL, ORACLE_PROGRAM_ID, oracleCoder, oracleErrorName } from './idl.ts';
import { SolanaAccountError, SolanaTransactionError } from './errors.ts';
import type { AccountData, SentTransaction, SolanaTransport } from './transport.ts';

const enc = new TextEncoder();
const u64le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};
const arr = (b: Uint8Array, n: number, what: string): number[] => {
  if (b.length !== n) throw new SolanaAccountError(`${what} must be ${n} bytes, got ${b.length}`);
  return Array.from(b);
};

/** Hints for the 33-byte BLS message, in the program's layout. */
export const hintsFor = (msg: Uint8Array): Uint8Array => encodeH2cHints(computeH2cHints(msg));

export interface OracleConfigAccount {
  admin: PublicKey;
  domain: Uint8Array;
  clusterId: Uint8Array;
  epoch: bigint;
  threshold: number;
  committeeSize: number;
  groupKey: Uint8Array;
  requestFee: bigint;
  reportsPosted: bigint;
  sharesRoot: Uint8Array;
  membersRoot: Uint8Array;
  requestTimeoutSlots: bigint;
  /** Processing fee kept from a failed request's fee, in basis points (admin: setFailureFeeIx). */
  failureFeeBps: number;
  /** keccak256 of the current epoch's fee payout table (docs/report-format.md §4) */
  payoutsRoot: Uint8Array;
  /** Requests made so far: the sequence number the next request gets (the request stream, docs/solana.md). */
  requestSeq: bigint;
}

export interface FeeVaultAccount {
  /** lamports on the account (rent-exempt minimum included) */
  lamports: bigint;
  totalCollected: bigint;
  totalDistributed: bigint;
}

/** Entries one `distribute_fees` call accepts (the program's MAX_PAYOUTS). */
export const MAX_PAYOUT_ENTRIES = 32;

export interface ReportResultAccount {
  id: Uint8Array;
  kind: number;
  epoch: bigint;
  modelHash: Uint8Array;
  inputHash: Uint8Array;
  timestamp: bigint;
  round: bigint;
  output: bigint[];
  postedSlot: bigint;
  reportLeaf: Uint8Array;
  /** ReportStatus: 0 for an answer; otherwise a failure report closed the request (no outputs). */
  status: number;
  /** `OK`, `UNKNOWN_MODEL`, `INPUT_LENGTH`, `INPUT_RANGE`, `OUTPUT_INVALID`. */
  statusName: string;
}

export interface InferenceRequestAccount {
  address: PublicKey;
  requester: PublicKey;
  nonce: bigint;
  modelHash: Uint8Array;
  inputHash: Uint8Array;
  fee: bigint;
  status: RequestStatus;
  createdSlot: bigint;
  /** from this slot on the requester may refund the request if it is still pending (always set by the decoders) */
  deadlineSlot?: bigint;
  /** position in the program's request stream: consecutive from 0 in execution order (always set by the decoders) */
  seq?: bigint;
  input: Uint8Array;
}

/** Byte offsets of InferenceRequest fields the listing filters on (programs/oracle/src/state.rs). */
const REQUEST_STATUS_OFFSET = 120;
const REQUEST_SEQ_OFFSET = 652;

/** `failed`: closed by a failure report; `fee` is then what the requester may still take back (refundIx). */
export type RequestStatus = 'pending' | 'fulfilled' | 'refunded' | 'failed';
const REQUEST_STATUS: readonly RequestStatus[] = ['pending', 'fulfilled', 'refunded', 'failed'];
const requestStatus = (v: number, address: PublicKey): RequestStatus => {
  const s = REQUEST_STATUS[v];
  if (!s) throw new SolanaAccountError(`${address.toBase58()}: unknown request status ${v}`);
  return s;
};

/** Owner of ProgramData accounts; `initialize` reads the upgrade authority from the oracle's. */
export const BPF_LOADER_UPGRADEABLE_ID = new PublicKey('BPFLoaderUpgradeab1e11111111111111111111111');
/** Slots an unanswered request waits before its fee can be refunded (9,000 ≈ one hour at 400 ms slots). */
export const DEFAULT_REQUEST_TIMEOUT_SLOTS = 9_000n;

/** The 8-byte Anchor discriminator of an oracle account type. */
export function accountDiscriminator(name: string): Uint8Array {
  const a = ORACLE_IDL.accounts?.find((x) => x.name === name);
  if (!a) throw new SolanaAccountError(`unknown oracle account type ${name}`);
  return Uint8Array.from(a.discriminator);
}

const big = (v: BN): bigint => BigInt(v.toString());
const bytes = (v: number[] | Uint8Array): Uint8Array => Uint8Array.from(v);

export class OracleClient {
  constructor(readonly transport: SolanaTransport, readonly programId: PublicKey = ORACLE_PROGRAM_ID) {}

  // ---- addresses ----
  private pda(seeds: Uint8Array[]): PublicKey {
    return PublicKey.findProgramAddressSync(seeds, this.programId)[0];
  }
  configAddress(): PublicKey { return this.pda([enc.encode('config')]); }
  vaultAddress(): PublicKey { return this.pda([enc.encode('vault')]); }
  resultAddress(id: Uint8Array): PublicKey { return this.pda([enc.encode('result'), id]); }
  requestAddress(requester: PublicKey, nonce: bigint): PublicKey {
    return this.pda([enc.encode('request'), requester.toBytes(), u64le(nonce)]);
  }
  rootAddress(root: Uint8Array, epoch: bigint): PublicKey { return this.pda([enc.encode('root'), root, u64le(epoch)]); }
  /** The loader's ProgramData account of the oracle program (holds its upgrade authority). */
  programDataAddress(): PublicKey {
    return PublicKey.findProgramAddressSync([this.programId.toBytes()], BPF_LOADER_UPGRADEABLE_ID)[0];
  }

  private ix(name: string, keys: AccountMeta[], args: Record<string, unknown>): TransactionInstruction {
    return new TransactionInstruction({ programId: this.programId, keys, data: oracleCoder.instruction.encode(name, args) });
  }
  private static w = (pubkey: PublicKey, isSigner = false): AccountMeta => ({ pubkey, isSigner, isWritable: true });
  private static r = (pubkey: PublicKey, isSigner = false): AccountMeta => ({ pubkey, isSigner, isWritable: false });
  private static sys: AccountMeta = { pubkey: SystemProgram.programId, isSigner: false, isWritable: false };

  // ---- instructions ----
  /** `admin` must be the program's upgrade authority (the program refuses anyone else). */
  initializeIx(p: {
    admin: PublicKey; domain: Uint8Array; clusterId: Uint8Array; epoch: bigint; threshold: number;
    committeeSize: number; groupKey: Uint8Array; requestFee: bigint; requestTimeoutSlots?: bigint;
    /** payoutsRoot of the genesis committee's fee payout table (`payoutsRoot(entries)` from @destra/protocol) */
    payoutsRoot: Uint8Array;
  }): TransactionInstruction {
    const { w, r, sys } = OracleClient;
    return this.ix('initialize', [w(p.admin, true), w(this.configAddress()), w(this.vaultAddress()), sys, r(this.programDataAddress())], {
      domain: arr(p.domain, 32, 'domain'), cluster_id: arr(p.clusterId, 32, 'clusterId'), epoch: new BN(p.epoch.toString()),
      threshold: p.threshold, committee_size: p.committeeSize, group_key: arr(p.groupKey, 192, 'groupKey'),
      request_fee: new BN(p.requestFee.toString()),
      request_timeout_slots: new BN((p.requestTimeoutSlots ?? DEFAULT_REQUEST_TIMEOUT_SLOTS).toString()),
      payouts_root: arr(p.payoutsRoot, 32, 'payoutsRoot'),
    });
  }

  handoverIx(p: { handover: Uint8Array; signature: Uint8Array }): TransactionInstruction {
    return this.ix('handover', [OracleClient.w(this.configAddress())], {
      handover: Buffer.from(p.handover), signature: arr(p.signature, 48, 'signature'),
      hints: Array.from(hintsFor(handoverSigningMessage(p.handover))),
    });
  }

  /** A request answer names the request and the vault its escrowed fee moves to. */
  private requestKeys(request: PublicKey | undefined): AccountMeta[] {
    return request ? [OracleClient.w(request), OracleClient.w(this.vaultAddress())] : [];
  }

  /** A report signed on its own (proof empty) or as part of a batch (proof to the signed root). */
  postReportIx(p: {
    payer: PublicKey; report: Uint8Array; id: Uint8Array; signature: Uint8Array; root: Uint8Array;
    proof?: Uint8Array[]; request?: PublicKey;
  }): TransactionInstruction {
    const { w, sys } = OracleClient;
    const keys = [w(p.payer, true), w(this.configAddress()), w(this.resultAddress(p.id)), sys, ...this.requestKeys(p.request)];
    return this.ix('post_report', keys, {
      report: Buffer.from(p.report), signature: arr(p.signature, 48, 'signature'),
      hints: Array.from(hintsFor(rootSigningMessage(p.root))), proof: (p.proof ?? []).map((h) => arr(h, 32, 'proof node')),
    });
  }

  verifyRootIx(p: { payer: PublicKey; root: Uint8Array; epoch: bigint; signature: Uint8Array }): TransactionInstruction {
    const { w, r, sys } = OracleClient;
    return this.ix('verify_root', [w(p.payer, true), r(this.configAddress()), w(this.rootAddress(p.root, p.epoch)), sys], {
      root: arr(p.root, 32, 'root'), epoch: new BN(p.epoch.toString()), signature: arr(p.signature, 48, 'signature'),
      hints: Array.from(hintsFor(rootSigningMessage(p.root))),
    });
  }

  postBatchedReportIx(p: {
    payer: PublicKey; report: Uint8Array; id: Uint8Array; root: Uint8Array; epoch: bigint; proof: Uint8Array[]; request?: PublicKey;
  }): TransactionInstruction {
    const { w, r, sys } = OracleClient;
    const keys = [
      w(p.payer, true), w(this.configAddress()), r(this.rootAddress(p.root, p.epoch)), w(this.resultAddress(p.id)), sys,
      ...this.requestKeys(p.request),
    ];
    return this.ix('post_batched_report', keys, {
      report: Buffer.from(p.report), proof: p.proof.map((h) => arr(h, 32, 'proof node')),
    });
  }

  requestInferenceIx(p: { requester: PublicKey; nonce: bigint; modelHash: Uint8Array; input: Uint8Array }): TransactionInstruction {
    const { w, sys } = OracleClient;
    return this.ix('request_inference', [
      w(p.requester, true), w(this.configAddress()), w(this.requestAddress(p.requester, p.nonce)), w(this.vaultAddress()), sys,
    ], { nonce: new BN(p.nonce.toString()), model_hash: arr(p.modelHash, 32, 'modelHash'), input: Buffer.from(p.input) });
  }

  verifySignatureIx(p: { message: Uint8Array; signature: Uint8Array }): TransactionInstruction {
    return this.ix('verify_signature', [OracleClient.r(this.configAddress())], {
      message: arr(p.message, 33, 'message'), signature: arr(p.signature, 48, 'signature'), hints: Array.from(hintsFor(p.message)),
    });
  }

  /**
   * Pays the vault's fees to the current epoch's committee pro rata to weight. `payouts` is the epoch's
   * table in committee order (it must hash to the config's payoutsRoot); anyone may send it. Each entry
   * with a non-zero payee adds its payee as a writable account, in table order.
   */
  distributeFeesIx(p: { epoch: bigint; payouts: readonly PayoutEntry[] }): TransactionInstruction {
    const { w, r } = OracleClient;
    if (p.payouts.length === 0 || p.payouts.length > MAX_PAYOUT_ENTRIES) {
      throw new SolanaAccountError(`a payout table has 1..${MAX_PAYOUT_ENTRIES} entries, got ${p.payouts.length}`);
    }
    payoutsRoot(p.payouts); // checks every payee is 32 bytes and every weight a u64
    const payees = p.payouts.filter((e) => e.payee.some((x) => x !== 0)).map((e) => w(new PublicKey(e.payee)));
    return this.ix('distribute_fees', [r(this.configAddress()), w(this.vaultAddress()), ...payees], {
      epoch: new BN(p.epoch.toString()),
      payouts: p.payouts.map((e) => ({ payee: new PublicKey(e.payee), weight: new BN(e.weight.toString()) })),
    });
  }

  /**
   * Takes back the fee of a request nobody answered by its deadline slot, or at once the fee less the
   * processing fee of a request closed by a failure report; only the requester can, to itself.
   */
  refundIx(p: { requester: PublicKey; request: PublicKey }): TransactionInstruction {
    const { w } = OracleClient;
    return this.ix('refund', [w(p.requester, true), w(p.request)], {});
  }

  /** Sets the processing fee kept from a failed request's fee (basis points, at most 10,000); admin only. */
  setFailureFeeIx(p: { admin: PublicKey; failureFeeBps: number }): TransactionInstruction {
    const { w, r } = OracleClient;
    return this.ix('set_failure_fee', [r(p.admin, true), w(this.configAddress())], { failure_fee_bps: p.failureFeeBps });
  }

  // ---- sending ----
  async send(ixs: TransactionInstruction[], signers: Keypair[]): Promise<SentTransaction> {
    try {
      return await this.transport.send(ixs, signers);
    } catch (e) {
      if (e instanceof SolanaTransactionError && e.programError !== undefined) {
        const name = oracleErrorName(e.programError);
        throw new SolanaTransactionError(`${e.message}${name ? `: ${name}` : ''}`, e.logs, e.programError, name);
      }
      throw e;
    }
  }

  /**
   * Posts a signed batch: verify_root once, then one post_batched_report per report with its proof.
   * `ids[i]` is the id field of `reports[i]`; `requests[i]` the request account for request answers.
   */
  async postBatch(p: {
    payer: Keypair; reports: Uint8Array[]; ids: Uint8Array[]; epoch: bigint; signature: Uint8Array; requests?: (PublicKey | undefined)[];
  }): Promise<{ verify: SentTransaction; posts: SentTransaction[] }> {
    const tree = buildMerkleTree(p.reports.map(reportLeaf));
    const root = tree.root;
    const verify = await this.send([this.verifyRootIx({ payer: p.payer.publicKey, root, epoch: p.epoch, signature: p.signature })], [p.payer]);
    const posts: SentTransaction[] = [];
    for (let i = 0; i < p.reports.length; i++) {
      posts.push(await this.send([this.postBatchedReportIx({
        payer: p.payer.publicKey, report: p.reports[i]!, id: p.ids[i]!, root, epoch: p.epoch, proof: merkleProof(tree, i),
        request: p.requests?.[i],
      })], [p.payer]));
    }
    return { verify, posts };
  }

  // ---- reading ----
  private async decode<T>(address: PublicKey, name: string): Promise<T | null> {
    const a = await this.transport.getAccount(address);
    if (!a || OracleClient.notCreated(a)) return null;
    if (!a.owner.equals(this.programId)) throw new SolanaAccountError(`${address.toBase58()} is not owned by the oracle program`);
    try {
      return oracleCoder.accounts.decode(name, Buffer.from(a.data)) as T;
    } catch (e) {
      throw new SolanaAccountError(`${address.toBase58()} does not decode as ${name}: ${(e as Error).message}`);
    }
  }

  /**
   * Anyone can send lamports to an address the program has not created yet: such an account is still
   * system-owned and empty, and counts as absent (the program creates it over the lamports).
   */
  private static notCreated(a: AccountData): boolean {
    return a.owner.equals(SystemProgram.programId) && a.data.length === 0;
  }

  async fetchConfig(): Promise<OracleConfigAccount | null> {
    const c = await this.decode<Record<string, never>>(this.configAddress(), 'OracleConfig');
    if (!c) return null;
    const x = c as unknown as Record<string, BN & number[] & PublicKey & number>;
    return {
      admin: x.admin, domain: bytes(x.domain), clusterId: bytes(x.cluster_id), epoch: big(x.epoch), threshold: x.threshold as number,
      committeeSize: x.committee_size as number, groupKey: bytes(x.group_key), requestFee: big(x.request_fee),
      reportsPosted: big(x.reports_posted), sharesRoot: bytes(x.shares_root), membersRoot: bytes(x.members_root),
      requestTimeoutSlots: big(x.request_timeout_slots), failureFeeBps: x.failure_fee_bps as number, payoutsRoot: bytes(x.payouts_root),
      requestSeq: big(x.request_seq),
    };
  }

  async fetchVault(): Promise<FeeVaultAccount | null> {
    const address = this.vaultAddress();
    const c = await this.decode<Record<string, BN>>(address, 'FeeVault');
    const a = await this.transport.getAccount(address);
    if (!c || !a) return null;
    return { lamports: BigInt(a.lamports), totalCollected: big(c.total_collected!), totalDistributed: big(c.total_distributed!) };
  }

  async fetchResult(id: Uint8Array): Promise<ReportResultAccount | null> {
    const c = await this.decode<Record<string, never>>(this.resultAddress(id), 'ReportResult');
    if (!c) return null;
    const x = c as unknown as Record<string, BN & number[] & BN[] & number>;
    const count = x.output_count as number;
    return {
      id: bytes(x.id), kind: x.kind as number, epoch: big(x.epoch), modelHash: bytes(x.model_hash), inputHash: bytes(x.input_hash),
      timestamp: big(x.timestamp), round: big(x.round), output: (x.outputs as BN[]).slice(0, count).map(big),
      postedSlot: big(x.posted_slot), reportLeaf: bytes(x.report_leaf),
      status: x.status as number, statusName: reportStatusName(x.status as number),
    };
  }

  static decodeRequest(a: AccountData): InferenceRequestAccount {
    const x = oracleCoder.accounts.decode('InferenceRequest', Buffer.from(a.data)) as Record<string, BN & number[] & PublicKey & number>;
    const len = x.input_len as number;
    return {
      address: a.address, requester: x.requester, nonce: big(x.nonce), modelHash: bytes(x.model_hash), inputHash: bytes(x.input_hash),
      fee: big(x.fee), status: requestStatus(x.status as number, a.address), createdSlot: big(x.created_slot),
      deadlineSlot: big(x.deadline_slot), seq: big(x.seq), input: bytes(x.input).slice(0, len),
    };
  }

  async fetchRequest(address: PublicKey): Promise<InferenceRequestAccount | null> {
    const a = await this.transport.getAccount(address);
    if (!a || OracleClient.notCreated(a)) return null;
    if (!a.owner.equals(this.programId)) throw new SolanaAccountError(`${address.toBase58()} is not owned by the oracle program`);
    return OracleClient.decodeRequest(a);
  }

  /** Request accounts still waiting for an answer (discriminator + status filters). */
  async listPendingRequests(): Promise<InferenceRequestAccount[]> {
    const disc = accountDiscriminator('InferenceRequest');
    const accounts = await this.transport.getProgramAccounts(this.programId, [{ offset: 0, bytes: disc }, { offset: REQUEST_STATUS_OFFSET, bytes: new Uint8Array([0]) }]);
    return accounts.map(OracleClient.decodeRequest);
  }

  /**
   * The request with sequence number `seq`, whatever its status (a node that missed it re-reads the request
   * stream by position); null when no request has that number yet.
   */
  async requestBySeq(seq: bigint): Promise<InferenceRequestAccount | null> {
    if (seq < 0n || seq >= 2n ** 64n) throw new SolanaAccountError(`request sequence number ${seq} is outside u64`);
    const disc = accountDiscriminator('InferenceRequest');
    const accounts = await this.transport.getProgramAccounts(this.programId, [{ offset: 0, bytes: disc }, { offset: REQUEST_SEQ_OFFSET, bytes: u64le(seq) }]);
    const found = accounts.map(OracleClient.decodeRequest).filter((r) => r.seq === seq);
    if (found.length > 1) throw new SolanaAccountError(`${found.length} request accounts claim sequence number ${seq}: the program numbers each request once`);
    return found[0] ?? null;
  }
}
