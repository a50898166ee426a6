// Point codecs. Every decoder checks, in order: length, flag bits and canonical field elements (< p),
// on-curve, prime-order subgroup, not the identity; each failure is an InvalidPointError with a reason.
// Encodings: ZCash/IETF compressed (48/96) and uncompressed (96/192); EIP-2537 (128/256: each Fp as
// 16 zero bytes + 48 big-endian bytes; G2 as x.c0, x.c1, y.c0, y.c1).
import { bytesToHex, bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { Fp, Fp2, G1, G2, P_MODULUS, type Fp2Element, type G1Point, type G2Point } from './curve.ts';
import {
  G1_COMPRESSED_LENGTH,
  G1_EIP2537_LENGTH,
  G1_UNCOMPRESSED_LENGTH,
  G2_COMPRESSED_LENGTH,
  G2_EIP2537_LENGTH,
  G2_UNCOMPRESSED_LENGTH,
} from './constants.ts';
import { InvalidPointError } from './errors.ts';
import { nativeBackend } from '../native/index.ts';

const FLAG_COMPRESSED = 0x80;
const FLAG_INFINITY = 0x40;
const FLAG_SIGN = 0x20;
const HALF_P = (P_MODULUS - 1n) / 2n;
const B1 = 4n;
const B2: Fp2Element = { c0: 4n, c1: 4n };

// Decoding with subgroup checks costs ~1 ms per G2 point; committees reuse the same keys and commitments,
// so successful decodings are memoised (bounded, insertion-ordered eviction). Failures are never cached.
const CACHE_LIMIT = 8192;
const g1Cache = new Map<string, G1Point>();
const g2Cache = new Map<string, G2Point>();
function remember<P>(cache: Map<string, P>, key: string, point: P): P {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, point);
  return point;
}

// Buffer#slice returns a view, so copy explicitly before clearing flag bits (never touch caller bytes).
const copyOf = (b: Uint8Array, from: number, to: number): Uint8Array => Uint8Array.from(b.subarray(from, to));

function fieldElement(group: 'G1' | 'G2', bytes: Uint8Array, what: string): bigint {
  const v = bytesToNumberBE(bytes);
  if (v >= P_MODULUS) throw new InvalidPointError(group, 'encoding', `${what} is not a canonical field element (>= p)`);
  return v;
}

function g1SignOf(y: bigint): boolean {
  return y > HALF_P;
}
function g2SignOf(y: Fp2Element): boolean {
  return y.c1 !== 0n ? y.c1 > HALF_P : y.c0 > HALF_P;
}

function finishG1(x: bigint, y: bigint): G1Point {
  if (!Fp.eql(Fp.sqr(y), Fp.add(Fp.mul(Fp.sqr(x), x), B1))) throw new InvalidPointError('G1', 'not-on-curve', 'y^2 != x^3 + 4');
  const p = G1.fromAffine({ x, y });
  if (!p.isTorsionFree()) throw new InvalidPointError('G1', 'not-in-subgroup', 'point is not in the prime-order subgroup');
  return p;
}

function finishG2(x: Fp2Element, y: Fp2Element): G2Point {
  const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), B2);
  if (!Fp2.eql(Fp2.sqr(y), rhs)) throw new InvalidPointError('G2', 'not-on-curve', 'y^2 != x^3 + 4(1+u)');
  const p = G2.fromAffine({ x, y });
  if (!p.isTorsionFree()) throw new InvalidPointError('G2', 'not-in-subgroup', 'point is not in the prime-order subgroup');
  return p;
}

function checkFlags(group: 'G1' | 'G2', bytes: Uint8Array, compressed: boolean): void {
  const flags = bytes[0]! & 0xe0;
  if (((flags & FLAG_COMPRESSED) !== 0) !== compressed) {
    throw new InvalidPointError(group, 'encoding', `compression flag does not match a ${bytes.length}-byte encoding`);
  }
  if (flags & FLAG_INFINITY) {
    const rest = copyOf(bytes, 0, bytes.length);
    rest[0] = rest[0]! & 0x1f;
    if (rest.some((b) => b !== 0) || flags & FLAG_SIGN) throw new InvalidPointError(group, 'encoding', 'infinity flag with non-zero payload');
    throw new InvalidPointError(group, 'identity', 'the point at infinity is not allowed');
  }
  if (!compressed && flags & FLAG_SIGN) throw new InvalidPointError(group, 'encoding', 'sign flag set on an uncompressed encoding');
}

function sqrtOrThrow<T>(group: 'G1' | 'G2', f: () => T): T {
  try {
    return f();
  } catch {
    throw new InvalidPointError(group, 'not-on-curve', 'x is not the x-coordinate of a curve point');
  }
}

/** Decodes a G1 point from 48-byte compressed or 96-byte uncompressed ZCash encoding, fully checked. */
export function decodeG1(bytes: Uint8Array): G1Point {
  if (!(bytes instanceof Uint8Array)) throw new InvalidPointError('G1', 'encoding', 'expected bytes');
  if (bytes.length !== G1_COMPRESSED_LENGTH && bytes.length !== G1_UNCOMPRESSED_LENGTH) {
    throw new InvalidPointError('G1', 'length', `expected 48 or 96 bytes, got ${bytes.length}`);
  }
  const key = bytesToHex(bytes);
  const hit = g1Cache.get(key);
  if (hit) return hit;
  const compressed = bytes.length === G1_COMPRESSED_LENGTH;
  checkFlags('G1', bytes, compressed);
  const xBytes = copyOf(bytes, 0, 48);
  xBytes[0] = xBytes[0]! & 0x1f;
  const x = fieldElement('G1', xBytes, 'x');
  let y: bigint;
  if (compressed) {
    const root = sqrtOrThrow('G1', () => Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), B1)));
    const wantSign = (bytes[0]! & FLAG_SIGN) !== 0;
    y = g1SignOf(root) === wantSign ? root : Fp.neg(root);
  } else {
    y = fieldElement('G1', bytes.subarray(48, 96), 'y');
  }
  return remember(g1Cache, key, finishG1(x, y));
}

/** Decodes a G2 point from 96-byte compressed or 192-byte uncompressed ZCash encoding, fully checked. */
export function decodeG2(bytes: Uint8Array): G2Point {
  if (!(bytes instanceof Uint8Array)) throw new InvalidPointError('G2', 'encoding', 'expected bytes');
  if (bytes.length !== G2_COMPRESSED_LENGTH && bytes.length !== G2_UNCOMPRESSED_LENGTH) {
    throw new InvalidPointError('G2', 'length', `expected 96 or 192 bytes, got ${bytes.length}`);
  }
  const key = bytesToHex(bytes);
  const hit = g2Cache.get(key);
  if (hit) return hit;
  const compressed = bytes.length === G2_COMPRESSED_LENGTH;
  checkFlags('G2', bytes, compressed);
  const x1Bytes = copyOf(bytes, 0, 48);
  x1Bytes[0] = x1Bytes[0]! & 0x1f;
  const x: Fp2Element = { c1: fieldElement('G2', x1Bytes, 'x.c1'), c0: fieldElement('G2', bytes.subarray(48, 96), 'x.c0') };
  let y: Fp2Element;
  if (compressed) {
    const root = sqrtOrThrow('G2', () => Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), B2)));
    const wantSign = (bytes[0]! & FLAG_SIGN) !== 0;
    y = g2SignOf(root) === wantSign ? root : Fp2.neg(root);
  } else {
    y = { c1: fieldElement('G2', bytes.subarray(96, 144), 'y.c1'), c0: fieldElement('G2', bytes.subarray(144, 192), 'y.c0') };
  }
  return remember(g2Cache, key, finishG2(x, y));
}

function assertUsable(group: 'G1' | 'G2', p: G1Point | G2Point): void {
  if (p.is0()) throw new InvalidPointError(group, 'identity', 'cannot encode the point at infinity');
}

export const g1Compressed = (p: G1Point): Uint8Array => (assertUsable('G1', p), p.toBytes(true));
export const g1Uncompressed = (p: G1Point): Uint8Array => (assertUsable('G1', p), p.toBytes(false));
export const g2Compressed = (p: G2Point): Uint8Array => (assertUsable('G2', p), p.toBytes(true));
export const g2Uncompressed = (p: G2Point): Uint8Array => (assertUsable('G2', p), p.toBytes(false));

/** An Fp element as EIP-2537's 64-byte big-endian word (16 zero bytes of padding). */
export function fpToEip2537(v: bigint): Uint8Array {
  const out = new Uint8Array(64);
  out.set(numberToBytesBE(v, 48), 16);
  return out;
}

function fpFromEip2537(group: 'G1' | 'G2', bytes: Uint8Array, what: string): bigint {
  for (let i = 0; i < 16; i++) {
    if (bytes[i] !== 0) throw new InvalidPointError(group, 'encoding', `${what}: the 16 padding bytes must be zero`);
  }
  return fieldElement(group, bytes.subarray(16, 64), what);
}

const asG1 = (p: G1Point | Uint8Array): G1Point => (p instanceof Uint8Array ? decodeG1(p) : p);
const asG2 = (p: G2Point | Uint8Array): G2Point => (p instanceof Uint8Array ? decodeG2(p) : p);

/** 128-byte EIP-2537 encoding of a G1 point (as the precompiles take it). */
export function g1ToEip2537(point: G1Point | Uint8Array): Uint8Array {
  // Natively ~100x faster (square root and subgroup check in blst); on failure noble names the fault.
  const xy = point instanceof Uint8Array && point.length === 48 ? nativeBackend()?.g1Uncompress(point) : undefined;
  if (xy) {
    const out = new Uint8Array(G1_EIP2537_LENGTH);
    out.set(xy.subarray(0, 48), 16);
    out.set(xy.subarray(48, 96), 80);
    return out;
  }
  const p = asG1(point);
  assertUsable('G1', p);
  const { x, y } = p.toAffine();
  const out = new Uint8Array(G1_EIP2537_LENGTH);
  out.set(fpToEip2537(x), 0);
  out.set(fpToEip2537(y), 64);
  return out;
}

/** 256-byte EIP-2537 encoding of a G2 point: x.c0, x.c1, y.c0, y.c1. */
export function g2ToEip2537(point: G2Point | Uint8Array): Uint8Array {
  const p = asG2(point);
  assertUsable('G2', p);
  const { x, y } = p.toAffine();
  const out = new Uint8Array(G2_EIP2537_LENGTH);
  out.set(fpToEip2537(x.c0), 0);
  out.set(fpToEip2537(x.c1), 64);
  out.set(fpToEip2537(y.c0), 128);
  out.set(fpToEip2537(y.c1), 192);
  return out;
}

function allZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

export function g1FromEip2537(bytes: Uint8Array): G1Point {
  if (!(bytes instanceof Uint8Array) || bytes.length !== G1_EIP2537_LENGTH) {
    throw new InvalidPointError('G1', 'length', `expected 128 bytes (EIP-2537), got ${bytes?.length}`);
  }
  if (allZero(bytes)) throw new InvalidPointError('G1', 'identity', 'the point at infinity is not allowed');
  return finishG1(fpFromEip2537('G1', bytes.subarray(0, 64), 'x'), fpFromEip2537('G1', bytes.subarray(64, 128), 'y'));
}

export function g2FromEip2537(bytes: Uint8Array): G2Point {
  if (!(bytes instanceof Uint8Array) || bytes.length !== G2_EIP2537_LENGTH) {
    throw new InvalidPointError('G2', 'length', `expected 256 bytes (EIP-2537), got ${bytes?.length}`);
  }
  if (allZero(bytes)) throw new InvalidPointError('G2', 'identity', 'the point at infinity is not allowed');
  // Memoised like decodeG2: registry readers decode every operator's and epoch's key on each poll.
  const key = `eip2537:${bytesToHex(bytes)}`;
  const hit = g2Cache.get(key);
  if (hit) return hit;
  const x = { c0: fpFromEip2537('G2', bytes.subarray(0, 64), 'x.c0'), c1: fpFromEip2537('G2', bytes.subarray(64, 128), 'x.c1') };
  const y = { c0: fpFromEip2537('G2', bytes.subarray(128, 192), 'y.c0'), c1: fpFromEip2537('G2', bytes.subarray(192, 256), 'y.c1') };
  return remember(g2Cache, key, finishG2(x, y));
}
