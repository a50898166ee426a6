// Merkle batch of reports, docs/report-format.md §2: sorted-pair inner nodes with 0x00/0x01 prefixes.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { MerkleProofError } from './errors.ts';

export const MAX_PROOF_DEPTH = 16;
export const MAX_BATCH_SIZE = 1 << MAX_PROOF_DEPTH;

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** `keccak256(0x01 ‖ min(a,b) ‖ max(a,b))`. `scratch` lets tree building reuse one buffer. */
export function hashPair(a: Uint8Array, b: Uint8Array, scratch = new Uint8Array(65)): Uint8Array {
  scratch[0] = 0x01;
  const [lo, hi] = compare(a, b) <= 0 ? [a, b] : [b, a];
  scratch.set(lo, 1);
  scratch.set(hi, 33);
  return keccak_256(scratch);
}

/** All levels of the tree, leaves first; `levels.at(-1)[0]` is the root. */
export interface MerkleTree {
  readonly levels: readonly (readonly Uint8Array[])[];
  readonly root: Uint8Array;
}

export function buildMerkleTree(leaves: readonly Uint8Array[]): MerkleTree {
  if (leaves.length === 0) throw new MerkleProofError('a batch needs at least one report');
  if (leaves.length > MAX_BATCH_SIZE) throw new MerkleProofError(`a batch holds at most ${MAX_BATCH_SIZE} reports, got ${leaves.length}`);
  leaves.forEach((l, i) => {
    if (l.length !== 32) throw new MerkleProofError(`leaf ${i} is ${l.length} bytes, expected 32`);
  });
  const scratch = new Uint8Array(65);
  const levels: Uint8Array[][] = [leaves.slice()];
  let level = levels[0]!;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!, scratch));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!); // odd node carried up unchanged
    levels.push(next);
    level = next;
  }
  return { levels, root: level[0]! };
}

export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return buildMerkleTree(leaves).root;
}

/** Sibling hashes from the leaf at `index` up to the root (a carried-up node contributes none). */
export function merkleProof(tree: MerkleTree, index: number): Uint8Array[] {
  const count = tree.levels[0]!.length;
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new MerkleProofError(`leaf index ${index} outside 0..${count - 1}`);
  }
  const proof: Uint8Array[] = [];
  let i = index;
  for (const level of tree.levels.slice(0, -1)) {
    const sibling = i ^ 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    i >>= 1;
  }
  return proof;
}

/** Folds a proof onto a leaf; validates shape so network input cannot make it misbehave. */
export function rootFromProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  if (leaf.length !== 32) throw new MerkleProofError(`leaf is ${leaf.length} bytes, expected 32`);
  if (proof.length > MAX_PROOF_DEPTH) throw new MerkleProofError(`proof has ${proof.length} levels, at most ${MAX_PROOF_DEPTH} allowed`);
  const scratch = new Uint8Array(65);
  let node = leaf;
  proof.forEach((sibling, i) => {
    if (sibling.length !== 32) throw new MerkleProofError(`proof[${i}] is ${sibling.length} bytes, expected 32`);
    node = hashPair(node, sibling, scratch);
  });
  return node;
}

export function verifyMerkleProof(leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const computed = rootFromProof(leaf, proof);
  return root.length === 32 && compare(computed, root) === 0;
}
