// Hints that let the on-chain program evaluate RFC 9380 hash-to-G1 without inversions or square roots:
// every claimed inverse or square root is checked there with one multiplication, so a hint can only
// make verification fail, never change the hashed point.
import { Fp, G1, hashToFieldG1, DESTRA_DST, type G1Point } from '@destra/protocol';
import { ISO_X_DEN, ISO_X_NUM, ISO_Y_DEN, ISO_Y_NUM, SSWU_A, SSWU_B, SSWU_Z } from './constants.ts';

export const FP_BYTES = 48;
/** inv0, y0, inv1, y1, invDx, X, Y: seven field elements. */
export const H2C_HINT_LENGTH = 7 * FP_BYTES;

export interface H2cHints {
  /** inverse of Z²u⁴ + Zu² for u0 and u1 (0 when that is 0) */
  inv: [bigint, bigint];
  /** y coordinate of SSWU(u0), SSWU(u1) on the isogenous curve E' */
  y: [bigint, bigint];
  /** inverse of x(SSWU(u1)) − x(SSWU(u0)) */
  invDx: bigint;
  /** iso_map(SSWU(u0) + SSWU(u1)) on E, before cofactor clearing */
  x: bigint;
  yE: bigint;
}

const sgn0 = (v: bigint): bigint => v & 1n;
const isSquare = (v: bigint): boolean => Fp.is0(v) || Fp.eql(Fp.pow(v, (Fp.ORDER - 1n) / 2n), Fp.ONE);

function horner(coeffs: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let i = coeffs.length - 1; i >= 0; i--) acc = Fp.add(Fp.mul(acc, x), coeffs[i]!);
  return acc;
}

/** Simplified SWU onto E' (RFC 9380 §6.6.2), keeping the inverse it needed. */
function sswu(u: bigint): { x: bigint; y: bigint; inv: bigint } {
  const zu2 = Fp.mul(SSWU_Z, Fp.sqr(u));
  const den = Fp.add(Fp.sqr(zu2), zu2);
  const inv = Fp.is0(den) ? 0n : Fp.inv(den);
  const x1 = Fp.is0(den)
    ? Fp.div(SSWU_B, Fp.mul(SSWU_Z, SSWU_A))
    : Fp.mul(Fp.div(Fp.neg(SSWU_B), SSWU_A), Fp.add(1n, inv));
  const g = (x: bigint): bigint => Fp.add(Fp.add(Fp.mul(Fp.sqr(x), x), Fp.mul(SSWU_A, x)), SSWU_B);
  const gx1 = g(x1);
  let x: bigint;
  let y: bigint;
  if (isSquare(gx1)) {
    x = x1;
    y = Fp.sqrt(gx1);
  } else {
    x = Fp.mul(zu2, x1);
    y = Fp.sqrt(g(x));
  }
  if (sgn0(u) !== sgn0(y)) y = Fp.neg(y);
  return { x, y, inv };
}

/** The hints for hashing `msg` to G1 with `dst`. Throws on the (probability ~2⁻³⁸⁰) exceptional cases. */
export function computeH2cHints(msg: Uint8Array, dst: string | Uint8Array = DESTRA_DST): H2cHints {
  const [u0, u1] = hashToFieldG1(msg, dst);
  const p0 = sswu(u0);
  const p1 = sswu(u1);
  const dx = Fp.sub(p1.x, p0.x);
  if (Fp.is0(dx)) throw new Error('hash-to-G1 hint: SSWU points share an x coordinate; this message cannot be posted');
  const invDx = Fp.inv(dx);
  const lambda = Fp.mul(Fp.sub(p1.y, p0.y), invDx);
  const x3 = Fp.sub(Fp.sub(Fp.sqr(lambda), p0.x), p1.x);
  const y3 = Fp.sub(Fp.mul(lambda, Fp.sub(p0.x, x3)), p0.y);
  const xDen = horner(ISO_X_DEN, x3);
  const yDen = horner(ISO_Y_DEN, x3);
  if (Fp.is0(xDen) || Fp.is0(yDen)) throw new Error('hash-to-G1 hint: isogeny maps to the identity; this message cannot be posted');
  const x = Fp.div(horner(ISO_X_NUM, x3), xDen);
  const yE = Fp.mul(y3, Fp.div(horner(ISO_Y_NUM, x3), yDen));
  return { inv: [p0.inv, p1.inv], y: [p0.y, p1.y], invDx, x, yE };
}

const fpBytes = (v: bigint): Uint8Array => Fp.toBytes(v);
/** The program's Montgomery radix: 14 limbs of 29 bits. */
const MONT_R = 1n << 406n;
const montBytes = (v: bigint): Uint8Array => Fp.toBytes(Fp.create(v * MONT_R));

/**
 * Serialises hints in the order the program reads them: inv0, y0, inv1, y1, invDx, X, Y (48-byte big-endian
 * each). The three inverses are sent in the program's Montgomery form (v·2^406 mod p), which spares it a
 * conversion; y0, y1, X, Y are plain.
 */
export function encodeH2cHints(h: H2cHints): Uint8Array {
  const out = new Uint8Array(H2C_HINT_LENGTH);
  const parts = [montBytes(h.inv[0]), fpBytes(h.y[0]), montBytes(h.inv[1]), fpBytes(h.y[1]), montBytes(h.invDx), fpBytes(h.x), fpBytes(h.yE)];
  parts.forEach((b, i) => out.set(b, i * FP_BYTES));
  return out;
}

/** The point the hints describe after cofactor clearing: equals hashToG1(msg) for honest hints. */
export function hintedPoint(h: H2cHints): G1Point {
  return G1.fromAffine({ x: h.x, y: h.yE }).clearCofactor() as G1Point;
}
