// RFC 9380 hash-to-curve for G1, suite BLS12381G1_XMD:SHA-256_SSWU_RO_, with the DST a parameter.
import { expand_message_xmd, hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { bls, P_MODULUS, type G1Point } from './curve.ts';
import { DESTRA_DST } from './constants.ts';

const utf8 = new TextEncoder();
const dstCache = new Map<string, Uint8Array>();
/** A DST as bytes (string DSTs are UTF-8 encoded once and cached). */
export function dstBytes(dst: string | Uint8Array): Uint8Array {
  if (typeof dst !== 'string') return dst;
  let b = dstCache.get(dst);
  if (!b) {
    if (dstCache.size > 64) dstCache.clear();
    dstCache.set(dst, (b = utf8.encode(dst)));
  }
  return b;
}

// A round hashes the same 33-byte message to sign its partial and again to check the combined signature;
// hashing is deterministic and costs ~2 ms in JS, so recent results are memoised (bounded).
const HASH_CACHE_LIMIT = 1024;
const hashCache = new Map<string, G1Point>();

/** hash_to_curve(msg) in G1 (random-oracle variant: two field elements, two maps, cofactor cleared). */
export function hashToG1(msg: Uint8Array, dst: string | Uint8Array = DESTRA_DST): G1Point {
  const d = dstBytes(dst);
  if (msg.length > 256) return bls.G1.hashToCurve(msg, { DST: d }) as G1Point;
  const key = `${bytesToHex(d)}:${bytesToHex(msg)}`;
  let p = hashCache.get(key);
  if (!p) {
    p = bls.G1.hashToCurve(msg, { DST: d }) as G1Point;
    if (hashCache.size >= HASH_CACHE_LIMIT) hashCache.delete(hashCache.keys().next().value as string);
    hashCache.set(key, p);
  }
  return p;
}

/** expand_message_xmd with SHA-256 (RFC 9380 §5.3.1); exposed for on-chain hint builders and tests. */
export function expandMessageXmd(msg: Uint8Array, dst: string | Uint8Array, lenInBytes: number): Uint8Array {
  return expand_message_xmd(msg, dstBytes(dst), lenInBytes, sha256);
}

/** hash_to_field(msg, 2) over Fp (L = 64): the two field elements that SSWU maps to G1. */
export function hashToFieldG1(msg: Uint8Array, dst: string | Uint8Array = DESTRA_DST): [bigint, bigint] {
  const [u0, u1] = hash_to_field(msg, 2, { DST: dstBytes(dst), p: P_MODULUS, m: 1, k: 128, expand: 'xmd', hash: sha256 });
  return [u0![0]!, u1![0]!];
}
