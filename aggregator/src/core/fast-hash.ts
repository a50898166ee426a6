// Batch-path hashing with hash-wasm's Keccak (measured ~10x @noble/hashes on this box for report-sized
// inputs). Produces exactly protocol/src/report's leaf and tree bytes (checked in tests), so proofs from
// either verify against either root.
import { createKeccak } from 'hash-wasm';
import { MAX_BATCH_SIZE, MerkleProofError, type MerkleTree } from '@destra/protocol';

type Keccak = Awaited<ReturnType<typeof createKeccak>>;

export interface FastHasher {
  /** Plain keccak256 (e.g. a report's inputHash). */
  keccak(bytes: Uint8Array): Uint8Array;
  reportLeaf(report: Uint8Array): Uint8Array;
  merkleTree(leaves: readonly Uint8Array[]): MerkleTree;
}

let loading: Promise<FastHasher> | undefined;

export function loadFastHasher(): Promise<FastHasher> {
  loading ??= createKeccak(256).then(makeHasher);
  return loading;
}

function makeHasher(k: Keccak): FastHasher {
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
  return {
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
