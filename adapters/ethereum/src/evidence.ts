// Submits equivocation evidence to CommitteeRegistry.slashEquivocation: two different reports for the same
// (id, round, epoch, kind), each carrying the same member's valid partial signature. Several parties may
// hold the same evidence; whoever lands it first slashes, the rest see AlreadySlashed, which is success.
import { bytesToHex, encodeAbiParameters, keccak256, type Address, type Hex, type PublicClient, type WalletClient } from 'viem';
import { decodeReport, reportLeaf } from '@destra/protocol';
import { committeeRegistryAbi } from '@destra/contracts';
import { AdapterConfigError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { toEip2537Signature } from './signature.ts';
import { TransactionSender, type SubmissionResult } from './tx-sender.ts';

/** A member's two conflicting partial signatures, as an aggregator collects them. */
export interface EquivocationProof {
  epoch: bigint;
  /** The member's 1-based index in the epoch's committee. */
  index: number;
  reportA: Uint8Array;
  /** The member's partial over 0x01 ‖ leaf(reportA): compressed (48 bytes) or EIP-2537 (128 bytes) G1. */
  signatureA: Uint8Array;
  reportB: Uint8Array;
  signatureB: Uint8Array;
}

/** What the registry needs to check a member's key share: the epoch's committee as the handover committed to it. */
export interface EpochCommittee {
  /** Public shares in index order, uncompressed G2 (192 bytes each): keccak256 of their concatenation is the sharesRoot. */
  publicShares: readonly Uint8Array[];
  /** Member ids (operator addresses) in index order: they hash to the membersRoot. */
  members: readonly Address[];
}

export interface EvidenceSubmitterOptions {
  publicClient: PublicClient;
  walletClient: WalletClient;
  registry: Address;
  nonceManager?: NonceManager;
  retries?: number;
  receiptTimeoutMs?: number;
}

/** Checks the proof's shape before anything is sent; throws AdapterConfigError naming what is wrong. */
export function checkEquivocation(p: EquivocationProof): void {
  const a = decodeReport(p.reportA);
  const b = decodeReport(p.reportB);
  if (a.epoch !== p.epoch || b.epoch !== p.epoch) throw new AdapterConfigError(`both reports must be of epoch ${p.epoch}; got ${a.epoch} and ${b.epoch}`);
  if (bytesToHex(a.id) !== bytesToHex(b.id) || a.round !== b.round || a.kind !== b.kind) {
    throw new AdapterConfigError('the reports differ in id, round or kind: that is two answers to two questions, not a double-sign');
  }
  if (bytesToHex(reportLeaf(p.reportA)) === bytesToHex(reportLeaf(p.reportB))) throw new AdapterConfigError('the two reports are identical');
  if (!Number.isInteger(p.index) || p.index < 1) throw new AdapterConfigError(`member index must be ≥ 1, got ${p.index}`);
}

/** The registry's key for one piece of evidence (its `slashedEvidence` mapping). */
export function evidenceKey(p: EquivocationProof): Hex {
  const r = decodeReport(p.reportA);
  return keccak256(
    encodeAbiParameters([{ type: 'uint64' }, { type: 'uint16' }, { type: 'uint8' }, { type: 'bytes32' }, { type: 'uint64' }], [p.epoch, p.index, r.kind, bytesToHex(r.id), r.round]),
  );
}

export class EvidenceSubmitter {
  private readonly sender: TransactionSender;

  constructor(private readonly o: EvidenceSubmitterOptions) {
    const account = o.walletClient.account;
    if (!account) throw new AdapterConfigError('walletClient has no account: create it with { account: privateKeyToAccount(key) }');
    this.sender = new TransactionSender({
      publicClient: o.publicClient,
      walletClient: o.walletClient,
      nonces: o.nonceManager ?? new NonceManager(o.publicClient, account.address),
      gasMarginBps: 2000,
      retries: o.retries ?? 5,
      minRetryDelayMs: 250,
      maxRetryDelayMs: 8000,
      receiptTimeoutMs: o.receiptTimeoutMs ?? 60_000,
    });
  }

  async alreadySlashed(p: EquivocationProof): Promise<boolean> {
    return this.o.publicClient.readContract({ address: this.o.registry, abi: committeeRegistryAbi, functionName: 'slashedEvidence', args: [evidenceKey(p)] }) as Promise<boolean>;
  }

  /** Lands the evidence (status 'submitted'), or finds it already used ('already-fulfilled'). */
  async submitEquivocation(p: EquivocationProof, committee: EpochCommittee): Promise<SubmissionResult> {
    checkEquivocation(p);
    if (committee.publicShares.length !== committee.members.length) throw new AdapterConfigError(`${committee.publicShares.length} public shares for ${committee.members.length} members`);
    if (p.index > committee.members.length) throw new AdapterConfigError(`member index ${p.index} is beyond the committee of ${committee.members.length}`);
    const shares = new Uint8Array(192 * committee.publicShares.length);
    committee.publicShares.forEach((s, i) => {
      if (s.length !== 192) throw new AdapterConfigError(`public share ${i + 1} must be 192 bytes (uncompressed G2), got ${s.length}`);
      shares.set(s, 192 * i);
    });
    const call = {
      address: this.o.registry,
      abi: committeeRegistryAbi,
      functionName: 'slashEquivocation',
      args: [p.epoch, p.index, bytesToHex(shares), committee.members, bytesToHex(p.reportA), toEip2537Signature(p.signatureA), bytesToHex(p.reportB), toEip2537Signature(p.signatureB)],
    };
    return this.sender.send(call, async () => ((await this.alreadySlashed(p)) ? 'already-fulfilled' : undefined));
  }
}
