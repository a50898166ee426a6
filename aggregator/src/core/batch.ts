// Merkle batches: ready leaves are cut into batches by the policy, the committee signs the root (one
// partial per member per batch), and each report is relayed with the root signature and its proof.
import { buildMerkleTree, merkleProof, signingMessage, SigningPurpose, type MerkleTree, type PartialSignature } from '@destra/protocol';
import { AggregatorConfigError } from '../errors.ts';
import { batchCut, checkBatchPolicy, type BatchPolicy } from './batch-policy.ts';
import type { ReadyLeaf } from './leaf-quorum.ts';
import type { Evidence, ShareVerifier } from './types.ts';

export interface Batch {
  /** Report bytes per leaf when known (relaying needs them). */
  reports: (Uint8Array | undefined)[];
  epoch: bigint;
  batchId: bigint;
  requestIds: Uint8Array[];
  leaves: Uint8Array[];
  tree: MerkleTree;
  root: Uint8Array;
  createdAt: number;
}

/** Queue of ready leaves → batches, cut by size or deadline. */
export class BatchPlanner {
  private queue: ReadyLeaf[] = [];
  private head = 0;
  private nextId: bigint;
  private readonly policy: BatchPolicy;

  constructor(
    policy: BatchPolicy,
    private readonly epoch: bigint,
    firstBatchId = 1n,
    /** Tree builder: protocol's by default; the service passes the hash-wasm one. */
    private readonly buildTree: (leaves: readonly Uint8Array[]) => MerkleTree = buildMerkleTree,
  ) {
    this.policy = checkBatchPolicy(policy);
    this.nextId = firstBatchId;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  oldestAge(now: number): number {
    return this.pending === 0 ? 0 : now - this.queue[this.head]!.readyAt;
  }

  push(leaf: ReadyLeaf): void {
    this.queue.push(leaf);
  }

  /** Cuts a batch when the policy says so; undefined means wait. */
  take(now: number): Batch | undefined {
    const count = batchCut(this.pending, this.oldestAge(now), this.policy);
    if (count === 0) return undefined;
    const slice = this.queue.slice(this.head, this.head + count);
    this.head += count;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    const leaves = slice.map((s) => s.leaf);
    const tree = this.buildTree(leaves);
    return { epoch: this.epoch, batchId: this.nextId++, requestIds: slice.map((s) => s.requestId), leaves, reports: slice.map((s) => s.report), tree, root: tree.root, createdAt: now };
  }
}

export interface BatchSignature {
  batch: Batch;
  signature: Uint8Array;
  signers: number[];
}

export type BatchRoundEvent = { type: 'signed'; result: BatchSignature } | { type: 'misbehaviour'; evidence: Evidence };

/** Collects BatchPartials for one batch root; verifies once t are in, combines the first t valid. */
export class BatchRound {
  private pending: PartialSignature[] = [];
  private valid: PartialSignature[] = [];
  private readonly seen = new Set<number>();
  private readonly message: Uint8Array;
  result?: BatchSignature;
  /** Members that declined to sign (a leaf they did not compute), as reported by them. */
  readonly declined = new Set<number>();

  constructor(
    readonly batch: Batch,
    private readonly verifier: ShareVerifier,
  ) {
    if (batch.leaves.length === 0) throw new AggregatorConfigError('a batch round needs at least one leaf');
    this.message = signingMessage(SigningPurpose.ReportRoot, batch.root);
  }

  add(member: number, signature: Uint8Array): BatchRoundEvent[] {
    const n = this.verifier.sharing.size;
    if (!Number.isInteger(member) || member < 1 || member > n || this.seen.has(member)) return [];
    if (!(signature instanceof Uint8Array) || signature.length !== 48) return [];
    this.seen.add(member);
    this.pending.push({ index: member, signature });
    const t = this.verifier.threshold;
    if (!this.result && this.valid.length + this.pending.length < t) return [];
    const events: BatchRoundEvent[] = [];
    const { valid, invalid } = this.verifier.verifyBatch(this.message, this.pending);
    const bad = new Set(invalid);
    for (const p of this.pending) {
      if (bad.has(p.index)) {
        events.push({
          type: 'misbehaviour',
          evidence: { kind: 'invalid-partial', member: p.index, requestId: this.batch.root, offending: { message: this.message, signature: p.signature } },
        });
      }
    }
    this.pending = [];
    this.valid.push(...valid);
    if (!this.result && this.valid.length >= t) {
      const chosen = this.valid.slice(0, t);
      this.result = { batch: this.batch, signature: this.verifier.combine(chosen), signers: chosen.map((c) => c.index) };
      events.push({ type: 'signed', result: this.result });
    }
    return events;
  }

  decline(member: number): void {
    this.declined.add(member);
  }

  /** True when so many members declined that t signatures can no longer arrive. */
  hopeless(): boolean {
    const n = this.verifier.sharing.size;
    return !this.result && n - this.declined.size < this.verifier.threshold;
  }
}

/** What a relayer needs for one report of a signed batch. */
export interface BatchedReport {
  requestId: Uint8Array;
  leaf: Uint8Array;
  root: Uint8Array;
  proof: Uint8Array[];
  signature: Uint8Array;
}

export function batchedReport(signed: BatchSignature, index: number): BatchedReport {
  const b = signed.batch;
  return { requestId: b.requestIds[index]!, leaf: b.leaves[index]!, root: b.root, proof: merkleProof(b.tree, index), signature: signed.signature };
}
