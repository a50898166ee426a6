// Batch-path hashing: the native addon's batch Keccak when built (one call per thousands of hashes),
// otherwise hash-wasm's Keccak (~10x @noble/hashes for report-sized inputs). Produces exactly
// protocol/src/report's leaf and tree bytes (checked in tests), so proofs from either verify against
// either root.
import { createKeccak } from 'hash-wasm';
import { MAX_BATCH_SIZE, MerkleProofError, nativeBackend, type MerkleTree, type NativeBackend } from '@destra/protocol';

/** A Merkle tree kept as flat levels (32·k bytes each, leaves first): no per-node objects. */
export interface FlatTree {
  readonly levels: readonly Uint8Array[];
  readonly root: Uint8Array;
  readonly size: number;
}

type Keccak = Awaited<ReturnType<typeof createKeccak>>;

export interface FastHasher {
  /** Plain keccak256 (e.g. a report's inputHash). */
  keccak(bytes: Uint8Array): Uint8Array;
  reportLeaf(report: Uint8Array): Uint8Array;
  merkleTree(leaves: readonly Uint8Array[]): MerkleTree;
  /** keccak256 of each of the back-to-back `len`-byte messages in `data`: 32 bytes per message. */
  keccakFlat(data: Uint8Array, len: number): Uint8Array;
  /** reportLeaf of each of the back-to-back `len`-byte reports in `reports`. */
  leavesFlat(reports: Uint8Array, len: number): Uint8Array;
  /** The tree over back-to-back 32-byte leaves. */
  flatTree(leaves: Uint8Array): FlatTree;
  /** True when the native addon does the flat paths. */
  readonly native: boolean;
}

/** Sibling hashes from leaf `index` up to the root of a flat tree (same bytes as merkleProof). */
export function flatProof(tree: FlatTree, index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= tree.size) throw new MerkleProofError(`leaf index ${index} outside 0..${tree.size - 1}`);
  const proof: Uint8Array[] = [];
  let i = index;
  for (const level of tree.levels.slice(0, -1)) {
    const sibling = i ^ 1;
    if (sibling * 32 < level.length) proof.push(level.subarray(sibling * 32, sibling * 32 + 32));
    i >>= 1;
  }
  return proof;
}

function checkFlat(data: Uint8Array, len: number, what: string): number {
  if (!Number.isInteger(len) || len < 1 || data.length === 0 || data.length % len !== 0) {
    throw new MerkleProofError(`${what}: ${data.length} bytes is not a non-empty sequence of ${len}-byte items`);
  }
  return data.length / len;
}

let loading: Promise<FastHasher> | undefined;

/** The shared hasher; `{ native: false }` builds a separate hash-wasm-only one (tests, comparisons). */
export function loadFastHasher(options: { native?: boolean } = {}): Promise<FastHasher> {
  if (options.native === false) return createKeccak(256).then((k) => makeHasher(k, null));
  loading ??= createKeccak(256).then((k) => makeHasher(k, nativeBackend()));
  return loading;
}

function makeHasher(k: Keccak, native: NativeBackend | null): FastHasher {
  const prefix0 = new Uint8Array([0x00]);
  const pair = new Uint8Array(65);
  pair[0] = 0x01;
  const hashPair = (a: Uint8Array, b: Uint8Array): Uint8Array => {
    let lo = a;
    let hi = b;
    for (let i = 0; i < 32; i++) {
      if (a[i] !== b[i]) {
        if (a[i]! > b[i]!) [lo, hi] = [b, a];
        break;
      }
    }
    pair.set(lo, 1);
    pair.set(hi, 33);
    k.init();
    k.update(pair);
    return k.digest('binary');
  };
  const none = new Uint8Array(0);
  const manyWasm = (data: Uint8Array, len: number, prefix: Uint8Array): Uint8Array => {
    const count = data.length / len;
    const out = new Uint8Array(count * 32);
    for (let i = 0; i < count; i++) {
      k.init();
      if (prefix.length) k.update(prefix);
      k.update(data.subarray(i * len, (i + 1) * len));
      out.set(k.digest('binary'), i * 32);
    }
    return out;
  };
  const many = native ? (data: Uint8Array, len: number, prefix: Uint8Array) => native.keccakMany(data, len, prefix) : manyWasm;
  const levelUp = native
    ? (level: Uint8Array) => native.merkleLevel(level)
    : (level: Uint8Array): Uint8Array => {
        const nodes = level.length / 32;
        const out = new Uint8Array(Math.ceil(nodes / 2) * 32);
        for (let i = 0; i + 1 < nodes; i += 2) out.set(hashPair(level.subarray(i * 32, i * 32 + 32), level.subarray(i * 32 + 32, i * 32 + 64)), (i / 2) * 32);
        if (nodes % 2 === 1) out.set(level.subarray(level.length - 32), out.length - 32);
        return out;
      };
  return {
    native: native !== null,
    keccakFlat(data, len) {
      checkFlat(data, len, 'keccakFlat');
      return many(data, len, none);
    },
    leavesFlat(reports, len) {
      checkFlat(reports, len, 'leavesFlat');
      return many(reports, len, prefix0);
    },
    flatTree(leaves) {
      const size = checkFlat(leaves, 32, 'flatTree');
      if (size > MAX_BATCH_SIZE) throw new MerkleProofError(`a batch holds at most ${MAX_BATCH_SIZE} reports, got ${size}`);
      const levels = [leaves];
      while (levels.at(-1)!.length > 32) levels.push(levelUp(levels.at(-1)!));
      return { levels, root: levels.at(-1)!, size };
    },
    keccak(bytes) {
      k.init();
      k.update(bytes);
      return k.digest('binary');
    },
    reportLeaf(report) {
      k.init();
      k.update(prefix0);
      k.update(report);
      return k.digest('binary');
    },
    merkleTree(leaves) {
      if (leaves.length === 0) throw new MerkleProofError('a batch needs at least one report');
      if (leaves.length > MAX_BATCH_SIZE) throw new MerkleProofError(`a batch holds at most ${MAX_BATCH_SIZE} reports, got ${leaves.length}`);
      leaves.forEach((l, i) => {
        if (l.length !== 32) throw new MerkleProofError(`leaf ${i} is ${l.length} bytes, expected 32`);
      });
      const levels: Uint8Array[][] = [leaves.slice()];
      let level = levels[0]!;
      while (level.length > 1) {
        const next: Uint8Array[] = [];
        for (let i = 0; i + 1 < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!));
        if (level.length % 2 === 1) next.push(level[level.length - 1]!);
        levels.push(next);
        level = next;
      }
      return { levels, root: level[0]! };
    },
  };
}
