// Key shares and the public side of a sharing: commitments, group key, per-member public shares.
import { R_ORDER, type G2Point } from '../bls/curve.ts';
import { decodeG2, g2Compressed } from '../bls/encoding.ts';
import { ThresholdError } from '../errors.ts';
import { MAX_COMMITTEE_SIZE } from '../report/handover.ts';
import { commitPolynomial, evaluateCommitments, evaluatePolynomial, randomPolynomial, type Rng } from './polynomial.ts';

export interface KeyShare {
  /** Member index, 1..n. */
  readonly index: number;
  /** f(index) mod r. */
  readonly value: bigint;
}


export function assertIndex(index: number, n: number = MAX_COMMITTEE_SIZE): void {
  if (!Number.isInteger(index) || index < 1 || index > n) throw new ThresholdError(`member index ${index} is outside 1..${n}`);
}

export function assertThresholdParams(t: number, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_COMMITTEE_SIZE) throw new ThresholdError(`committee size ${n} is outside 1..${MAX_COMMITTEE_SIZE}`);
  if (!Number.isInteger(t) || t < 1 || t > n) throw new ThresholdError(`threshold ${t} is outside 1..${n}`);
}

/**
 * The public view of a t-of-n sharing, built from the (summed) Feldman commitments. Public shares are
 * derived lazily and cached because every partial verification needs one.
 */
export class PublicSharing {
  readonly threshold: number;
  readonly size: number;
  readonly commitments: readonly G2Point[];
  private readonly cache = new Map<number, G2Point>();

  constructor(commitments: readonly G2Point[], size: number) {
    assertThresholdParams(commitments.length, size);
    this.threshold = commitments.length;
    this.size = size;
    this.commitments = commitments;
  }

  static fromBytes(commitments: readonly Uint8Array[], size: number): PublicSharing {
    return new PublicSharing(commitments.map((c) => decodeG2(c)), size);
  }

  get groupKey(): G2Point {
    return this.commitments[0]!;
  }

  get groupKeyBytes(): Uint8Array {
    return g2Compressed(this.groupKey);
  }

  publicShare(index: number): G2Point {
    assertIndex(index, this.size);
    let p = this.cache.get(index);
    if (!p) {
      p = evaluateCommitments(this.commitments, index);
      this.cache.set(index, p);
    }
    return p;
  }

  publicShares(): G2Point[] {
    return Array.from({ length: this.size }, (_, k) => this.publicShare(k + 1));
  }

  commitmentBytes(): Uint8Array[] {
    return this.commitments.map((c) => g2Compressed(c));
  }
}

/**
 * Splits a secret among n members with threshold t (a single dealer). The protocol's keys come from the
 * DKG, where every member deals with this function; it is also what resharing and tests use.
 */
export function dealShares(t: number, n: number, secret?: bigint, rng?: Rng): { shares: KeyShare[]; sharing: PublicSharing; coefficients: bigint[] } {
  assertThresholdParams(t, n);
  if (secret !== undefined && (secret <= 0n || secret >= R_ORDER)) throw new ThresholdError('secret must be in 1..r-1');
  const coefficients = randomPolynomial(t, secret, rng);
  const shares = Array.from({ length: n }, (_, k) => ({ index: k + 1, value: evaluatePolynomial(coefficients, k + 1) }));
  return { shares, sharing: new PublicSharing(commitPolynomial(coefficients), n), coefficients };
}
