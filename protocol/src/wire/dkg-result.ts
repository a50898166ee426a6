// The next committee's attestation of its DKG outcome: each member signs, with its registered operator
// key, the handover bytes its DKG produced and the commitments they derive from. A separate DST keeps
// these signatures from ever being report, handover or admission signatures.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { sign, verify, type SecretKey } from '../bls/signature.ts';

export const DESTRA_DKG_RESULT_DST = 'DESTRA_V1_DKG_RESULT_BLS12381G1_XMD:SHA-256_SSWU_RO_';
const PREFIX = utf8ToBytes('destra-dkg-result-v1');

/** keccak256("destra-dkg-result-v1" ‖ u32 attempt ‖ handover ‖ keccak256(commitment_1 ‖ … ‖ commitment_t)). */
export function dkgResultMessage(attempt: number, handover: Uint8Array, commitments: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(commitments.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of commitments) {
    all.set(c, o);
    o += c.length;
  }
  const buf = new Uint8Array(PREFIX.length + 4 + handover.length + 32);
  buf.set(PREFIX, 0);
  new DataView(buf.buffer).setUint32(PREFIX.length, attempt >>> 0);
  buf.set(handover, PREFIX.length + 4);
  buf.set(keccak_256(all), PREFIX.length + 4 + handover.length);
  return keccak_256(buf);
}

export function signDkgResult(operatorSecret: SecretKey, attempt: number, handover: Uint8Array, commitments: readonly Uint8Array[]): Uint8Array {
  return sign(operatorSecret, dkgResultMessage(attempt, handover, commitments), DESTRA_DKG_RESULT_DST);
}

export function verifyDkgResult(operatorKey: Uint8Array, attempt: number, handover: Uint8Array, commitments: readonly Uint8Array[], signature: Uint8Array): boolean {
  try {
    return verify(operatorKey, dkgResultMessage(attempt, handover, commitments), signature, DESTRA_DKG_RESULT_DST);
  } catch {
    return false;
  }
}
