// Rebuilds the public side of a t-of-n sharing (Feldman commitments) from members' public key shares,
// as nodes publish them on /v1/committee: C = V⁻¹·PK "in the exponent" (Lagrange basis coefficients
// over Fr applied to G2 points). Every given share is then checked against the result, so an
// inconsistent committee view is refused rather than used to verify partials.
import { decodeG2, Fr, g2Msm, PublicSharing, type G2Point } from '@destra/protocol';
import { AggregatorConfigError } from '../errors.ts';

/** Coefficients (degree 0..t-1) of the Lagrange basis polynomial L_i over the points xs. */
function basisCoefficients(xs: readonly bigint[], i: number): bigint[] {
  let coeffs = [1n]; // polynomial Π_{j≠i} (x - x_j), lowest degree first
  let denom = 1n;
  xs.forEach((xj, j) => {
    if (j === i) return;
    const next = new Array<bigint>(coeffs.length + 1).fill(0n);
    coeffs.forEach((c, k) => {
      next[k + 1] = Fr.add(next[k + 1]!, c);
      next[k] = Fr.sub(next[k]!, Fr.mul(c, xj));
    });
    coeffs = next;
    denom = Fr.mul(denom, Fr.sub(xs[i]!, xj));
  });
  const inv = Fr.inv(denom);
  return coeffs.map((c) => Fr.mul(c, inv));
}

export interface PublicShareEntry {
  index: number;
  /** Compressed G2 public key share (or an already decoded point). */
  publicShare: Uint8Array | G2Point;
}

export function sharingFromPublicShares(entries: readonly PublicShareEntry[], t: number, n: number): PublicSharing {
  if (!Number.isInteger(t) || t < 1 || t > n) throw new AggregatorConfigError(`threshold ${t} must be in 1..${n}`);
  const seen = new Set<number>();
  const points = entries.map((e) => {
    if (!Number.isInteger(e.index) || e.index < 1 || e.index > n) throw new AggregatorConfigError(`public share index ${e.index} outside 1..${n}`);
    if (seen.has(e.index)) throw new AggregatorConfigError(`duplicate public share for member ${e.index}`);
    seen.add(e.index);
    return { index: e.index, pk: e.publicShare instanceof Uint8Array ? decodeG2(e.publicShare) : e.publicShare };
  });
  if (points.length < t) throw new AggregatorConfigError(`need at least ${t} public shares to rebuild the commitments, got ${points.length}`);
  const chosen = points.slice(0, t);
  const xs = chosen.map((p) => BigInt(p.index));
  const basis = chosen.map((_, i) => basisCoefficients(xs, i));
  const commitments = Array.from({ length: t }, (_, k) => g2Msm(chosen.map((p) => p.pk), basis.map((b) => b[k]!)));
  const sharing = new PublicSharing(commitments, n);
  for (const p of points) {
    if (!sharing.publicShare(p.index).equals(p.pk)) {
      throw new AggregatorConfigError(`public share of member ${p.index} is inconsistent with the others (not on one degree-${t - 1} polynomial); re-read the committee from a node that finished the DKG`);
    }
  }
  return sharing;
}
