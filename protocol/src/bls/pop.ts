// Proof of possession (rogue-key defence for operator keys): a signature over the compressed public key
// under its own DST, so it can never be replayed as a report signature.
import { DESTRA_POP_DST } from './constants.ts';
import { decodeG2, g2Compressed } from './encoding.ts';
import { publicKeyOf, sign, verify, type SecretKey } from './signature.ts';
import type { G2Point } from './curve.ts';

export function provePossession(sk: SecretKey): Uint8Array {
  return sign(sk, publicKeyOf(sk), DESTRA_POP_DST);
}

export function verifyPossession(pk: Uint8Array | G2Point, proof: Uint8Array): boolean {
  const point = pk instanceof Uint8Array ? decodeG2(pk) : pk;
  return verify(point, g2Compressed(point), proof, DESTRA_POP_DST);
}
