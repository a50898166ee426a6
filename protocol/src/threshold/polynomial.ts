// Shamir polynomials over Fr and their Feldman commitments in G2. Member indices are 1..n; share i = f(i).
import { pippenger } from '@noble/curves/abstract/curve.js';
import { Fr, G2, R_ORDER, type G2Point } from '../bls/curve.ts';
import { randomScalar } from '../bls/signature.ts';
import { ThresholdError } from '../errors.ts';

export type Rng = (n: number) => Uint8Array;

/** A random polynomial of degree t-1 (t coefficients); `secret` fixes f(0) when given. */
export function randomPolynomial(t: number, secret?: bigint, rng?: Rng): bigint[] {
  if (!Number.isInteger(t) || t < 1) throw new ThresholdError(`threshold must be a positive integer, got ${t}`);
  const coeffs = Array.from({ length: t }, () => randomScalar(rng));
  if (secret !== undefined) coeffs[0] = Fr.create(secret);
  return coeffs;
}

export function evaluatePolynomial(coeffs: readonly bigint[], x: number | bigint): bigint {
  const xx = Fr.create(BigInt(x));
  let acc = 0n;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = Fr.add(Fr.mul(acc, xx), coeffs[k]!);
  return acc;
}

/** Feldman commitments C_k = a_k · g2. */
export function commitPolynomial(coeffs: readonly bigint[]): G2Point[] {
  return coeffs.map((a) => (a === 0n ? G2.ZERO : G2.BASE.multiply(a)));
}

/** Σ_k C_k · x^k by Horner's rule (x is a small member index, so each step is a short multiplication). */
export function evaluateCommitments(commitments: readonly G2Point[], x: number | bigint): G2Point {
  const xx = BigInt(x);
  let acc = G2.ZERO;
  for (let k = commitments.length - 1; k >= 0; k--) {
    acc = mulSmall(acc, xx).add(commitments[k]!);
  }
  return acc;
}

/** Double-and-add for the small public multipliers (member indices) used in Horner steps. */
function mulSmall(p: G2Point, s: bigint): G2Point {
  if (s > 0xffffn) return p.multiplyUnsafe(s);
  if (p.is0() || s === 0n) return G2.ZERO;
  let acc = p;
  for (let bit = BigInt(s.toString(2).length - 2); bit >= 0n; bit--) {
    acc = acc.double();
    if ((s >> bit) & 1n) acc = acc.add(p);
  }
  return acc;
}

/** g2^share == Σ C_k · index^k: the Feldman check of one share. */
export function verifyShareAgainstCommitments(share: bigint, index: number, commitments: readonly G2Point[]): boolean {
  if (share <= 0n || share >= R_ORDER) return false;
  return G2.BASE.multiply(share).equals(evaluateCommitments(commitments, index));
}

/** Lagrange coefficients at x = 0 for the given distinct member indices. */
export function lagrangeAtZero(indices: readonly number[]): bigint[] {
  const xs = indices.map((i) => BigInt(i));
  if (new Set(indices).size !== indices.length) throw new ThresholdError('duplicate member index in Lagrange interpolation');
  // Batch the denominators into one inversion.
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  for (let a = 0; a < xs.length; a++) {
    let num = 1n;
    let den = 1n;
    for (let b = 0; b < xs.length; b++) {
      if (a === b) continue;
      num = Fr.mul(num, xs[b]!);
      den = Fr.mul(den, Fr.sub(xs[b]!, xs[a]!));
    }
    nums.push(num);
    dens.push(den);
  }
  const inv = Fr.invertBatch(dens);
  return nums.map((n, k) => Fr.mul(n, inv[k]!));
}

/** Σ scalars_i · points_i in G2. */
export function g2Msm(points: G2Point[], scalars: bigint[]): G2Point {
  return points.length === 0 ? G2.ZERO : pippenger(G2, points, scalars);
}
