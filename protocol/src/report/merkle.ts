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

/**
 * A 32-byte hash from outside input. Only a real Uint8Array passes: a plain array or a string of length
 * 32 would otherwise be copied into the hash input with its values silently truncated or turned into 0.
 */
function requireHash(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new MerkleProofError(`${what} is ${describeShape(value)}, expected 32 bytes`);
  if (value.length !== 32) throw new MerkleProofError(`${what} is ${value.length} bytes, expected 32`);
  return value;
}

function describeShape(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Folds a proof onto a leaf; validates shape so network input cannot make it misbehave. */
export function rootFromProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  requireHash(leaf, 'leaf');
  // Proofs arrive decoded from JSON/CBOR, so anything may stand where the array should be.
  if (!Array.isArray(proof)) throw new MerkleProofError(`proof is ${describeShape(proof)}, expected an array of 32-byte hashes`);
  if (proof.length > MAX_PROOF_DEPTH) throw new MerkleProofError(`proof has ${proof.length} levels, at most ${MAX_PROOF_DEPTH} allowed`);
  const scratch = new Uint8Array(65);
  let node = leaf;
  // Index loop, not forEach: a sparse array's holes must be rejected, not skipped.
  for (let i = 0; i < proof.length; i++) node = hashPair(node, requireHash(proof[i], `proof[${i}]`), scratch);
  return node;
}

export function verifyMerkleProof(leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const computed = rootFromProof(leaf, proof);
  return root instanceof Uint8Array && root.length === 32 && compare(computed, root) === 0;
}
