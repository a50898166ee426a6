// Feldman commitment sets as the DKG uses them: decode (fully validated), check a share, and sum the
// qualified dealers' sets. Uses the mcl-wasm backend when it has been loaded (~5-10x faster G2 math,
// which dominates a DKG), otherwise noble; both give identical results.
import { G2, R_ORDER, type G2Point } from '../bls/curve.ts';
import { decodeG2, g2Compressed } from '../bls/encoding.ts';
import { bytesToHex } from '@noble/curves/utils.js';
import { commitPolynomial, evaluateCommitments } from '../threshold/polynomial.ts';
import { mclFr, mclIfLoaded, type MclG2 } from '../threshold/mcl-backend.ts';

export interface CommitmentSet {
  readonly bytes: readonly Uint8Array[];
  /** g2^share == Σ C_k · index^k */
  verifyShare(share: bigint, index: number): boolean;
}

class NobleCommitments implements CommitmentSet {
  constructor(readonly bytes: readonly Uint8Array[], readonly points: G2Point[]) {}
  verifyShare(share: bigint, index: number): boolean {
    if (share <= 0n || share >= R_ORDER) return false;
    return G2.BASE.multiply(share).equals(evaluateCommitments(this.points, index));
  }
}

type Mcl = NonNullable<ReturnType<typeof mclIfLoaded>>;
let mclGen: { mcl: Mcl; gen: MclG2 } | undefined;

function mclGenerator(mcl: Mcl): MclG2 {
  if (!mclGen || mclGen.mcl !== mcl) {
    const gen = new mcl.G2();
    gen.deserialize(G2.BASE.toBytes(true));
    mclGen = { mcl, gen };
  }
  return mclGen.gen;
}

class MclCommitments implements CommitmentSet {
  constructor(readonly bytes: readonly Uint8Array[], readonly points: MclG2[], private readonly mcl: Mcl) {}
  verifyShare(share: bigint, index: number): boolean {
    if (share <= 0n || share >= R_ORDER) return false;
    const mcl = this.mcl;
    const x = mclFr(mcl, BigInt(index));
    let acc = this.points[this.points.length - 1]!;
    for (let k = this.points.length - 2; k >= 0; k--) acc = mcl.add(mcl.mul(acc, x), this.points[k]!);
    return mcl.mul(mclGenerator(mcl), mclFr(mcl, share)).isEqual(acc);
  }
}

// Every member decodes every dealer's commitments; in a single process (simulation, tests) the same
// bytes arrive many times, so validated sets are memoised (bounded).
const cache = new Map<string, CommitmentSet>();
const CACHE_LIMIT = 1024;

/** Decodes and validates a dealer's commitments; throws on any invalid point. */
export function decodeCommitments(bytes: readonly Uint8Array[]): CommitmentSet {
  const key = bytes.map((b) => bytesToHex(b)).join('');
  const hit = cache.get(key);
  if (hit) return hit;
  const set = decodeUncached(bytes);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, set);
  return set;
}

/** Feldman commitments a_k · g2 as compressed bytes. */
export function commitToBytes(coefficients: readonly bigint[]): Uint8Array[] {
  const mcl = mclIfLoaded();
  if (!mcl) return commitPolynomial(coefficients).map((c) => g2Compressed(c));
  const gen = mclGenerator(mcl);
  return coefficients.map((a) => mcl.mul(gen, mclFr(mcl, a)).serialize());
}

function decodeUncached(bytes: readonly Uint8Array[]): CommitmentSet {
  const mcl = mclIfLoaded();
  if (!mcl) return new NobleCommitments(bytes, bytes.map((b) => decodeG2(b)));
  const points = bytes.map((b) => {
    const g = new mcl.G2();
    g.deserialize(b); // throws on bad encoding, off-curve or off-subgroup points
    if (g.isZero()) throw new Error('identity commitment');
    return g;
  });
  return new MclCommitments(bytes, points, mcl);
}

/** Σ over sets of each commitment C_k, as noble points (the result is small: t points). */
export function sumCommitments(sets: readonly CommitmentSet[], t: number): G2Point[] {
  const mcl = mclIfLoaded();
  if (mcl && sets.every((s) => s instanceof MclCommitments)) {
    return Array.from({ length: t }, (_, k) => {
      let acc = (sets[0] as MclCommitments).points[k]!;
      for (let i = 1; i < sets.length; i++) acc = mcl.add(acc, (sets[i] as MclCommitments).points[k]!);
      return acc.isZero() ? G2.ZERO : decodeG2(acc.serialize());
    });
  }
  return Array.from({ length: t }, (_, k) =>
    sets.reduce((acc, s) => acc.add(s instanceof NobleCommitments ? s.points[k]! : decodeG2(s.bytes[k]!)), G2.ZERO),
  );
}

