// One interface over a real cluster (web3.js Connection) and the in-process LiteSVM, so the client,
// watcher and tests run the same code against both.
import {
  ComputeBudgetProgram, Connection, Keypair, PublicKey, Transaction, type Commitment, type TransactionInstruction,
} from '@solana/web3.js';
import { FeatureSet, LiteSVM, FailedTransactionMetadata } from 'litesvm';
import { getTransactionDecoder } from '@solana/kit';
import { SolanaTransactionError } from './errors.ts';

export interface AccountData {
  address: PublicKey;
  owner: PublicKey;
  lamports: bigint;
  data: Uint8Array;
  executable: boolean;
}

export interface SentTransaction {
  signature: string;
  logs: string[];
  /** compute units consumed (LiteSVM: exact; RPC: from transaction meta) */
  computeUnits: bigint;
}

export interface SendOptions {
  /** compute unit limit requested for the transaction (default 1.4M, the maximum) */
  computeUnits?: number;
}

/** `memcmp` filter for account listing: `bytes` at `offset`. */
export interface BytesFilter {
  offset: number;
  bytes: Uint8Array;
}

export interface SolanaTransport {
  send(instructions: TransactionInstruction[], signers: Keypair[], opts?: SendOptions): Promise<SentTransaction>;
  getAccount(address: PublicKey): Promise<AccountData | null>;
  getProgramAccounts(programId: PublicKey, filters?: BytesFilter[]): Promise<AccountData[]>;
}

const MAX_CU = 1_400_000;
const CUSTOM_ERROR = /custom program error: 0x([0-9a-f]+)/i;

function buildTx(instructions: TransactionInstruction[], signers: Keypair[], blockhash: string, opts?: SendOptions): Transaction {
  if (signers.length === 0) throw new SolanaTransactionError('a transaction needs at least the fee payer as signer', []);
  const tx = new Transaction();
  tx.add(ComputeBudgetProgram.setComputeUnitLimit({ units: opts?.computeUnits ?? MAX_CU }));
  tx.add(...instructions);
  tx.recentBlockhash = blockhash;
  tx.feePayer = signers[0]!.publicKey;
  tx.sign(...signers);
  return tx;
}

const matches = (data: Uint8Array, filters: BytesFilter[] = []): boolean =>
  filters.every((f) => f.offset + f.bytes.length <= data.length && f.bytes.every((b, i) => data[f.offset + i] === b));

/** The in-process SVM with the SIMD-0388 BLS12-381 syscalls active. */
export class LiteSvmTransport implements SolanaTransport {
  readonly svm: LiteSVM;

  constructor(svm?: LiteSVM) {
    this.svm = svm ?? LiteSvmTransport.createSvm();
  }

  /** A LiteSVM with every feature active (enable_bls12_381_syscall included), builtins and sysvars. */
  static createSvm(): LiteSVM {
    return new LiteSVM().withFeatureSet(FeatureSet.allEnabled()).withBuiltins().withSysvars().withDefaultPrograms();
  }

  addProgram(programId: PublicKey, elf: Uint8Array): void {
    this.svm.addProgram(programId.toBase58() as never, elf);
  }

  /**
   * Deploys `elf` under the upgradeable loader with `authority` as upgrade authority, as a real deployment
   * would (LiteSVM's addProgram writes a ProgramData account without authority; its header is rewritten).
   */
  addUpgradeableProgram(programId: PublicKey, elf: Uint8Array, authority: PublicKey): void {
    this.addProgram(programId, elf);
    this.setUpgradeAuthority(programId, authority);
  }

  /** Rewrites the upgrade authority in a deployed program's ProgramData header (null: immutable). */
  setUpgradeAuthority(programId: PublicKey, authority: PublicKey | null): void {
    const program = this.svm.getAccount(programId.toBase58() as never);
    if (!program.exists || program.data.length !== 36) throw new SolanaTransactionError(`${programId.toBase58()} is not an upgradeable program`, []);
    const address = new PublicKey((program.data as Uint8Array).subarray(4, 36));
    const pd = this.svm.getAccount(address.toBase58() as never);
    if (!pd.exists) throw new SolanaTransactionError(`ProgramData ${address.toBase58()} is missing`, []);
    // UpgradeableLoaderState::ProgramData: tag u32 = 3, slot u64, Option<Pubkey> at byte 12, ELF from byte 45
    const data = Uint8Array.from(pd.data as Uint8Array);
    data[12] = authority ? 1 : 0;
    data.set(authority ? authority.toBytes() : new Uint8Array(32), 13);
    this.svm.setAccount({ ...pd, data } as never);
  }

  airdrop(to: PublicKey, lamports: bigint): void {
    const r = this.svm.airdrop(to.toBase58() as never, lamports as never);
    if (r instanceof FailedTransactionMetadata) throw new SolanaTransactionError(`airdrop failed: ${String(r.err())}`, r.meta().logs());
  }

  async send(instructions: TransactionInstruction[], signers: Keypair[], opts?: SendOptions): Promise<SentTransaction> {
    const tx = buildTx(instructions, signers, this.svm.latestBlockhash(), opts);
    const r = this.svm.sendTransaction(getTransactionDecoder().decode(tx.serialize()) as never);
    this.svm.expireBlockhash(); // identical follow-up transactions must not be rejected as duplicates
    if (r instanceof FailedTransactionMetadata) {
      const logs = r.meta().logs();
      const err = String(r.err());
      const custom = logs.map((l) => CUSTOM_ERROR.exec(l)).find(Boolean);
      const code = custom ? Number.parseInt(custom[1]!, 16) : undefined;
      throw new SolanaTransactionError(`transaction failed: ${err}${code !== undefined ? ` (program error ${code})` : ''}`, logs, code);
    }
    return { signature: Buffer.from(r.signature()).toString('hex'), logs: r.logs(), computeUnits: r.computeUnitsConsumed() };
  }

  async getAccount(address: PublicKey): Promise<AccountData | null> {
    const a = this.svm.getAccount(address.toBase58() as never);
    if (!a.exists) return null;
    return {
      address,
      owner: new PublicKey(a.programAddress),
      lamports: BigInt(a.lamports),
      data: new Uint8Array(a.data),
      executable: a.executable,
    };
  }

  async getProgramAccounts(programId: PublicKey, filters?: BytesFilter[]): Promise<AccountData[]> {
    return this.svm
      .getProgramAccounts(programId.toBase58() as never)
      .filter((a) => matches(a.data as Uint8Array, filters))
      .map((a) => ({
        address: new PublicKey(a.address),
        owner: new PublicKey(a.programAddress),
        lamports: BigInt(a.lamports),
        data: new Uint8Array(a.data),
        executable: a.executable,
      }));
  }
}

/** A real cluster over JSON-RPC; `commitment` applies to reads (transactions are confirmed at 'confirmed'). */
export class RpcTransport implements SolanaTransport {
  constructor(readonly connection: Connection, readonly commitment: Commitment = 'confirmed') {}

  async send(instructions: TransactionInstruction[], signers: Keypair[], opts?: SendOptions): Promise<SentTransaction> {
    const { blockhash, lastValidBlockHeight } = await this.connection.getLatestBlockhash('confirmed');
    const tx = buildTx(instructions, signers, blockhash, opts);
    const signature = await this.connection.sendRawTransaction(tx.serialize(), { skipPreflight: false });
    const conf = await this.connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight }, 'confirmed');
    const info = await this.connection.getTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    const logs = info?.meta?.logMessages ?? [];
    if (conf.value.err) {
      const custom = logs.map((l) => CUSTOM_ERROR.exec(l)).find(Boolean);
      const code = custom ? Number.parseInt(custom[1]!, 16) : undefined;
      throw new SolanaTransactionError(`transaction ${signature} failed: ${JSON.stringify(conf.value.err)}`, logs, code);
    }
    return { signature, logs, computeUnits: BigInt(info?.meta?.computeUnitsConsumed ?? 0) };
  }

  async getAccount(address: PublicKey): Promise<AccountData | null> {
    const a = await this.connection.getAccountInfo(address, this.commitment);
    if (!a) return null;
    return { address, owner: a.owner, lamports: BigInt(a.lamports), data: new Uint8Array(a.data), executable: a.executable };
  }

  async getProgramAccounts(programId: PublicKey, filters: BytesFilter[] = []): Promise<AccountData[]> {
    const res = await this.connection.getProgramAccounts(programId, {
      commitment: this.commitment,
      filters: filters.map((f) => ({ memcmp: { offset: f.offset, bytes: Buffer.from(f.bytes).toString('base64'), encoding: 'base64' as const } })),
    });
    return res.map(({ pubkey, account }) => ({
      address: pubkey,
      owner: account.owner,
      lamports: BigInt(account.lamports),
      data: new Uint8Array(account.data),
      executable: account.executable,
    }));
  }
}
