// BLS min-sig: signatures in G1 (48 bytes compressed), public keys in G2 (96 bytes compressed).
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { bls, Fp12, G1, G2, R_ORDER, type G1Point, type G2Point } from './curve.ts';
import { DESTRA_DST, SECRET_KEY_LENGTH } from './constants.ts';
import { decodeG1, decodeG2, g1Compressed, g2Compressed } from './encoding.ts';
import { InvalidScalarError } from './errors.ts';
import { dstBytes, hashToG1 } from './hash.ts';
import { nativeBackend } from '../native/index.ts';
import { mclFr, mclG1FromNoble, mclG2FromNoble, mclHashed, mclIfLoaded, mclPairingCheck, type MclG2 } from '../threshold/mcl-backend.ts';

export type SecretKey = bigint;

/** A 32-byte big-endian scalar in 1..r-1. */
export function secretKeyFromBytes(bytes: Uint8Array): SecretKey {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SECRET_KEY_LENGTH) {
    throw new InvalidScalarError(`secret key must be ${SECRET_KEY_LENGTH} bytes, got ${bytes?.length}`);
  }
  return checkScalar(bytesToNumberBE(bytes));
}

export function secretKeyToBytes(sk: SecretKey): Uint8Array {
  return numberToBytesBE(checkScalar(sk), SECRET_KEY_LENGTH);
}

export function checkScalar(sk: bigint): SecretKey {
  if (sk <= 0n || sk >= R_ORDER) throw new InvalidScalarError('secret key must be in 1..r-1 (the BLS12-381 group order)');
  return sk;
}

/** A uniformly random non-zero scalar (rejection-free: 48 random bytes reduced mod r, bias < 2^-128). */
export function randomScalar(rng: (n: number) => Uint8Array = randomBytes): bigint {
  for (;;) {
    const v = bytesToNumberBE(rng(48)) % R_ORDER;
    if (v !== 0n) return v;
  }
}

export const randomSecretKey = (): SecretKey => randomScalar();

export function publicKeyPoint(sk: SecretKey): G2Point {
  return G2.BASE.multiply(checkScalar(sk));
}

/** The 96-byte compressed G2 public key of a secret key. */
export function publicKeyOf(sk: SecretKey): Uint8Array {
  return g2Compressed(publicKeyPoint(sk));
}

export function signPoint(sk: SecretKey, hashed: G1Point): G1Point {
  return hashed.multiply(checkScalar(sk));
}

/** Signs msg under dst; returns the 48-byte compressed G1 signature. */
export function sign(sk: SecretKey, msg: Uint8Array, dst: string | Uint8Array = DESTRA_DST): Uint8Array {
  const native = nativeBackend();
  if (native) return new Uint8Array(native.sign(numberToBytesBE(checkScalar(sk), 32), msg, dstBytes(dst)));
  const mcl = mclIfLoaded();
  if (mcl) return mcl.mul(mclHashed(mcl, msg, dst), mclFr(mcl, checkScalar(sk))).serialize();
  return g1Compressed(signPoint(sk, hashToG1(msg, dst)));
}

const NEG_G2 = G2.BASE.negate();
const mclKeys = new WeakMap<G2Point, MclG2>();
const keyBytes = new WeakMap<G2Point, Uint8Array>();
function g2Bytes(pk: G2Point): Uint8Array {
  let b = keyBytes.get(pk);
  if (!b) keyBytes.set(pk, (b = g2Compressed(pk)));
  return b;
}
function mclKey(mcl: NonNullable<ReturnType<typeof mclIfLoaded>>, pk: G2Point): MclG2 {
  let key = mclKeys.get(pk);
  if (!key) mclKeys.set(pk, (key = mclG2FromNoble(mcl, pk)));
  return key;
}

/**
 * e(sig, -g2) · e(H, pk) == 1: one Miller loop over both pairs and one final exponentiation. Runs on the
 * mcl-wasm backend when it is loaded (about 4x faster); points are already validated by noble.
 */
export function verifyPoints(pk: G2Point, hashed: G1Point, sig: G1Point): boolean {
  const mcl = mclIfLoaded();
  if (mcl) return mclPairingCheck(mcl, mclKey(mcl, pk), mclG1FromNoble(mcl, hashed), mclG1FromNoble(mcl, sig));
  const f = bls.pairingBatch([
    { g1: sig, g2: NEG_G2 },
    { g1: hashed, g2: pk },
  ]);
  return Fp12.eql(f, Fp12.ONE);
}

/**
 * Verifies a signature. Returns false for a well-formed but wrong signature; throws InvalidPointError
 * for bytes that are not a valid (subgroup, non-identity) point, so callers can report malformed input.
 */
export function verify(
  pk: Uint8Array | G2Point,
  msg: Uint8Array,
  sig: Uint8Array | G1Point,
  dst: string | Uint8Array = DESTRA_DST,
): boolean {
  const pkPoint = pk instanceof Uint8Array ? decodeG2(pk) : pk;
  const native = nativeBackend();
  if (native) {
    // blst decodes and subgroup-checks the signature itself; noble decodes only to name malformed bytes.
    const sigBytes = sig instanceof Uint8Array ? sig : g1Compressed(sig);
    if (native.verify(g2Bytes(pkPoint), msg, dstBytes(dst), sigBytes)) return true;
    if (sig instanceof Uint8Array) decodeG1(sig);
    return false;
  }
  const sigPoint = sig instanceof Uint8Array ? decodeG1(sig) : sig;
  const mcl = mclIfLoaded();
  if (mcl) return mclPairingCheck(mcl, mclKey(mcl, pkPoint), mclHashed(mcl, msg, dst), mclG1FromNoble(mcl, sigPoint));
  return verifyPoints(pkPoint, hashToG1(msg, dst), sigPoint);
}

export { G1, G2 };
