import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  DESTRA_DST, DESTRA_POP_DST, InvalidPointError, InvalidScalarError, decodeG1, decodeG2, g1FromEip2537, g1ToEip2537, g2FromEip2537,
  g2ToEip2537, hashToFieldG1, hashToG1, provePossession, publicKeyOf, randomSecretKey, secretKeyFromBytes, sign, verify, verifyPossession,
} from '../src/bls/index.ts';
import { fromHex } from '../src/report/index.ts';
import { generate, VECTORS_PATH } from './bls-vectors.gen.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const rfc = JSON.parse(readFileSync(here('../../test/vectors/bls/rfc9380_g1.json'), 'utf8'));
const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8'));

describe('hash-to-G1 (RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_)', () => {
  it.each<[string, any]>(rfc.vectors.map((v: { msg: string }) => [v.msg.slice(0, 16), v]))('matches the RFC vector for msg %s', (_name: string, v: any) => {
    const p = hashToG1(utf8ToBytes(v.msg), rfc.dst).toAffine();
    expect(p.x.toString(16).padStart(96, '0')).toBe(v.P.x);
    expect(p.y.toString(16).padStart(96, '0')).toBe(v.P.y);
  });

  it('depends on the DST (protocol DST differs from the RFC test DST)', () => {
    const m = utf8ToBytes('abc');
    expect(hashToG1(m).equals(hashToG1(m, rfc.dst))).toBe(false);
    expect(hashToG1(m).equals(hashToG1(m, DESTRA_DST))).toBe(true);
  });

  it('exposes hash_to_field (u0, u1 of RFC 9380 J.9.1) for on-chain hint builders', () => {
    const withU = rfc.vectors.filter((v: { u?: string[] }) => v.u);
    expect(withU.length).toBeGreaterThanOrEqual(2);
    for (const v of withU) {
      const [u0, u1] = hashToFieldG1(utf8ToBytes(v.msg), rfc.dst);
      expect([u0.toString(16).padStart(96, '0'), u1.toString(16).padStart(96, '0')]).toEqual(v.u);
    }
  });
});

describe('signatures and encodings', () => {
  it('committed vectors equal the generator output', () => {
    expect(JSON.parse(JSON.stringify(generate()))).toEqual(vectors);
  });

  it.each<[string, any]>(vectors.signatures.map((v: { name: string }) => [v.name, v]))('vector %s verifies in every encoding', (_n: string, v: any) => {
    const msg = fromHex(v.msg);
    expect(bytesToHex(publicKeyOf(secretKeyFromBytes(fromHex(v.secretKey))))).toBe(v.publicKey.compressed.slice(2));
    expect(verify(fromHex(v.publicKey.compressed), msg, fromHex(v.signature.compressed))).toBe(true);
    expect(verify(fromHex(v.publicKey.uncompressed), msg, fromHex(v.signature.uncompressed))).toBe(true);
    expect(verify(g2FromEip2537(fromHex(v.publicKey.eip2537)), msg, g1FromEip2537(fromHex(v.signature.eip2537)))).toBe(true);
  });

  it.each<[string, any]>(vectors.wrongSignatures.map((v: { name: string }) => [v.name, v]))('wrong signature %s is rejected', (_n: string, v: any) => {
    expect(verify(fromHex(v.publicKey), fromHex(v.msg), fromHex(v.signature), v.dst)).toBe(false);
  });

  it.each<[string, any]>(vectors.invalidPoints.map((v: { name: string }) => [v.name, v]))('invalid point %s is a typed error', (_n: string, v: any) => {
    const bytes = fromHex(v.bytes);
    const decode = v.encoding === 'eip2537' ? (v.group === 'G1' ? g1FromEip2537 : g2FromEip2537) : v.group === 'G1' ? decodeG1 : decodeG2;
    let err: unknown;
    try {
      decode(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidPointError);
    expect((err as InvalidPointError).reason).toBe(v.reason);
  });

  it('verify throws a typed error (never true) for malformed signature or key bytes', () => {
    const sk = randomSecretKey();
    const m = utf8ToBytes('x');
    expect(() => verify(publicKeyOf(sk), m, new Uint8Array(48))).toThrow(InvalidPointError);
    expect(() => verify(new Uint8Array(96), m, sign(sk, m))).toThrow(InvalidPointError);
    expect(() => verify(publicKeyOf(sk), m, new Uint8Array(7))).toThrow(/48 or 96 bytes/);
  });

  it('round-trips EIP-2537 encodings and rejects wrong lengths', () => {
    const sk = randomSecretKey();
    const sig = sign(sk, utf8ToBytes('m'));
    expect(g1FromEip2537(g1ToEip2537(sig)).equals(decodeG1(sig))).toBe(true);
    expect(g2FromEip2537(g2ToEip2537(publicKeyOf(sk))).equals(decodeG2(publicKeyOf(sk)))).toBe(true);
    expect(() => g1FromEip2537(new Uint8Array(127))).toThrow(InvalidPointError);
    expect(() => g2FromEip2537(new Uint8Array(255))).toThrow(InvalidPointError);
  });

  it('memoises EIP-2537 G2 decodings (registry polls decode the same keys) but never failures', () => {
    const enc = g2ToEip2537(publicKeyOf(randomSecretKey()));
    expect(g2FromEip2537(Uint8Array.from(enc))).toBe(g2FromEip2537(Uint8Array.from(enc)));
    const notOnCurve = Uint8Array.from(enc);
    notOnCurve[255] = notOnCurve[255]! ^ 1;
    expect(() => g2FromEip2537(notOnCurve)).toThrow(InvalidPointError);
    expect(() => g2FromEip2537(notOnCurve)).toThrow(InvalidPointError);
  });

  it('decodes Node Buffers without touching the caller bytes (Buffer#slice is a view)', () => {
    for (let i = 0; i < 8; i++) {
      const sk = randomSecretKey();
      const sig = sign(sk, utf8ToBytes(`m${i}`));
      const pk = publicKeyOf(sk);
      const sigBuf = Buffer.from(sig);
      const pkBuf = Buffer.from(pk);
      expect(decodeG1(sigBuf).equals(decodeG1(Uint8Array.from(sig)))).toBe(true);
      expect(decodeG2(pkBuf).equals(decodeG2(Uint8Array.from(pk)))).toBe(true);
      expect(Uint8Array.from(sigBuf)).toEqual(sig);
      expect(Uint8Array.from(pkBuf)).toEqual(pk);
      expect(verify(pkBuf, utf8ToBytes(`m${i}`), sigBuf)).toBe(true);
    }
  });

  it('rejects out-of-range secret keys', () => {
    expect(() => secretKeyFromBytes(new Uint8Array(32))).toThrow(InvalidScalarError);
    expect(() => secretKeyFromBytes(new Uint8Array(32).fill(0xff))).toThrow(InvalidScalarError);
    expect(() => secretKeyFromBytes(new Uint8Array(31))).toThrow(InvalidScalarError);
  });
});

describe('proof of possession', () => {
  it('accepts the owner proof and rejects a proof for another key or a report-DST signature', () => {
    const a = randomSecretKey();
    const b = randomSecretKey();
    expect(verifyPossession(publicKeyOf(a), provePossession(a))).toBe(true);
    expect(verifyPossession(publicKeyOf(b), provePossession(a))).toBe(false);
    expect(verifyPossession(publicKeyOf(a), sign(a, publicKeyOf(a), DESTRA_DST))).toBe(false);
    for (const v of vectors.proofsOfPossession) {
      expect(v.dst).toBe(DESTRA_POP_DST);
      expect(verifyPossession(fromHex(v.publicKey.compressed), fromHex(v.proof.compressed))).toBe(true);
    }
  });
});
