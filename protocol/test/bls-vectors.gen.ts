// Deterministic generator for test/vectors/bls/signatures.json: keys, hash-to-G1 points, signatures,
// a threshold committee and invalid encodings, in every encoding the chains use. Solidity and Rust tests
// read the same file. Run: npx tsx protocol/test/bls-vectors.gen.ts
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import {
  DESTRA_DST, DESTRA_POP_DST, Fp, Fp2, G1, G2, P_MODULUS, R_ORDER, g1ToEip2537, g2ToEip2537, hashToFieldG1, hashToG1,
  provePossession, publicKeyOf, publicKeyPoint, sign, type G1Point, type G2Point,
} from '../src/bls/index.ts';
import { combinePartials, evaluatePolynomial, commitPolynomial, signPartial, PublicSharing } from '../src/threshold/index.ts';
import { toHex } from '../src/report/index.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const scalar = (label: string): bigint => (bytesToNumberBE(sha256(utf8ToBytes(label))) % (R_ORDER - 1n)) + 1n;

function g1Encodings(p: G1Point) {
  return { compressed: toHex(p.toBytes(true)), uncompressed: toHex(p.toBytes(false)), eip2537: toHex(g1ToEip2537(p)) };
}
function g2Encodings(p: G2Point) {
  return { compressed: toHex(p.toBytes(true)), uncompressed: toHex(p.toBytes(false)), eip2537: toHex(g2ToEip2537(p)) };
}

/** A point on E(Fp) outside the r-torsion subgroup: the first x (counting up from a seed) that works. */
function g1OffSubgroup(): Uint8Array {
  for (let x = 5n; ; x++) {
    const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), 4n);
    let y: bigint;
    try { y = Fp.sqrt(rhs); } catch { continue; }
    if (!G1.fromAffine({ x, y }).isTorsionFree()) return concat(numberToBytesBE(x, 48), numberToBytesBE(y, 48));
  }
}
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
function g1OffCurve(): Uint8Array {
  const out = new Uint8Array(96);
  out.set(numberToBytesBE(1n, 48), 0);
  out.set(numberToBytesBE(1n, 48), 48); // (1, 1): 1 != 1 + 4
  return out;
}
function g1CompressedNoSqrt(): Uint8Array {
  for (let x = 1n; ; x++) {
    try { Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 4n)); } catch {
      const b = numberToBytesBE(x, 48);
      b[0] = b[0]! | 0x80;
      return b;
    }
  }
}
function g2OffSubgroup(): Uint8Array {
  for (let c0 = 1n; ; c0++) {
    const x = { c0, c1: 1n };
    const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), { c0: 4n, c1: 4n });
    let y;
    try { y = Fp2.sqrt(rhs); } catch { continue; }
    if (!G2.fromAffine({ x, y }).isTorsionFree()) {
      return concat(numberToBytesBE(x.c1, 48), numberToBytesBE(x.c0, 48), numberToBytesBE(y.c1, 48), numberToBytesBE(y.c0, 48));
    }
  }
}
function nonCanonicalG1(): Uint8Array {
  const b = numberToBytesBE(P_MODULUS + 1n, 48); // x = p + 1 ≡ 1: not a canonical field element
  b[0] = b[0]! | 0x80;
  return b;
}
function eipOf(uncompressedG1: Uint8Array): Uint8Array {
  const out = new Uint8Array(128);
  out.set(uncompressedG1.subarray(0, 48), 16);
  out.set(uncompressedG1.subarray(48, 96), 80);
  return out;
}

export function generate() {
  const reports = JSON.parse(readFileSync(here('../../test/vectors/report/reports.json'), 'utf8')) as { valid: { name: string; signingMessage: string }[] };
  const messages = [
    { name: 'empty', msg: new Uint8Array() },
    { name: 'abc', msg: utf8ToBytes('abc') },
    ...reports.valid.map((r) => ({ name: `report:${r.name}`, msg: Uint8Array.from(Buffer.from(r.signingMessage.slice(2), 'hex')) })),
  ];
  const hashToG1Vectors = messages.map(({ name, msg }) => {
    const [u0, u1] = hashToFieldG1(msg, DESTRA_DST);
    return { name, msg: toHex(msg), dst: DESTRA_DST, u0: '0x' + u0.toString(16).padStart(96, '0'), u1: '0x' + u1.toString(16).padStart(96, '0'), point: g1Encodings(hashToG1(msg)) };
  });
  const signatures = [1, 2].flatMap((k) => {
    const sk = scalar(`destra-vector-key-${k}`);
    return messages.map(({ name, msg }) => ({
      name: `key${k}:${name}`,
      secretKey: toHex(numberToBytesBE(sk, 32)),
      publicKey: g2Encodings(publicKeyPoint(sk)),
      msg: toHex(msg),
      dst: DESTRA_DST,
      signature: g1Encodings(G1.fromBytes(sign(sk, msg))),
    }));
  });
  const sk1 = scalar('destra-vector-key-1');
  const sk2 = scalar('destra-vector-key-2');
  const wrong = [
    { name: 'signature-by-other-key', publicKey: toHex(publicKeyOf(sk1)), msg: toHex(utf8ToBytes('abc')), signature: toHex(sign(sk2, utf8ToBytes('abc'))), dst: DESTRA_DST },
    { name: 'other-message', publicKey: toHex(publicKeyOf(sk1)), msg: toHex(utf8ToBytes('abd')), signature: toHex(sign(sk1, utf8ToBytes('abc'))), dst: DESTRA_DST },
    { name: 'other-dst', publicKey: toHex(publicKeyOf(sk1)), msg: toHex(utf8ToBytes('abc')), signature: toHex(sign(sk1, utf8ToBytes('abc'), DESTRA_POP_DST)), dst: DESTRA_DST },
  ];
  // A 3-of-5 committee with fixed polynomial, for partial-signature and combination vectors.
  const coeffs = [1, 2, 3].map((k) => scalar(`destra-vector-poly-${k}`));
  const sharing = new PublicSharing(commitPolynomial(coeffs), 5);
  const shares = [1, 2, 3, 4, 5].map((index) => ({ index, value: evaluatePolynomial(coeffs, index) }));
  const tmsg = messages[2]!.msg;
  const partials = shares.map((s) => signPartial(s, tmsg));
  const threshold = {
    t: 3,
    n: 5,
    groupKey: g2Encodings(sharing.groupKey),
    commitments: sharing.commitments.map((c) => toHex(c.toBytes(true))),
    shares: shares.map((s) => ({ index: s.index, secret: toHex(numberToBytesBE(s.value, 32)), publicShare: g2Encodings(sharing.publicShare(s.index)) })),
    msg: toHex(tmsg),
    partials: partials.map((p) => ({ index: p.index, signature: g1Encodings(G1.fromBytes(p.signature)) })),
    combined: g1Encodings(G1.fromBytes(combinePartials(partials.slice(2), 3))),
  };
  const pop = [1, 2].map((k) => {
    const sk = scalar(`destra-vector-key-${k}`);
    return { publicKey: g2Encodings(publicKeyPoint(sk)), proof: g1Encodings(G1.fromBytes(provePossession(sk))), dst: DESTRA_POP_DST };
  });
  const offG1 = g1OffSubgroup();
  const offG2 = g2OffSubgroup();
  const identityG1c = new Uint8Array(48); identityG1c[0] = 0xc0;
  const identityG1u = new Uint8Array(96); identityG1u[0] = 0x40;
  const identityG2c = new Uint8Array(96); identityG2c[0] = 0xc0;
  const goodSig = G1.fromBytes(sign(sk1, utf8ToBytes('abc'))).toBytes(true);
  const invalidPoints = [
    { name: 'g1-short', group: 'G1', encoding: 'compressed', bytes: toHex(goodSig.slice(0, 47)), reason: 'length' },
    { name: 'g1-no-compression-flag', group: 'G1', encoding: 'compressed', bytes: toHex(Uint8Array.from(goodSig, (b, i) => (i === 0 ? b & 0x7f : b))), reason: 'encoding' },
    { name: 'g1-non-canonical-x', group: 'G1', encoding: 'compressed', bytes: toHex(nonCanonicalG1()), reason: 'encoding' },
    { name: 'g1-x-not-on-curve', group: 'G1', encoding: 'compressed', bytes: toHex(g1CompressedNoSqrt()), reason: 'not-on-curve' },
    { name: 'g1-off-curve', group: 'G1', encoding: 'uncompressed', bytes: toHex(g1OffCurve()), reason: 'not-on-curve' },
    { name: 'g1-off-subgroup', group: 'G1', encoding: 'uncompressed', bytes: toHex(offG1), reason: 'not-in-subgroup' },
    { name: 'g1-identity-compressed', group: 'G1', encoding: 'compressed', bytes: toHex(identityG1c), reason: 'identity' },
    { name: 'g1-identity-uncompressed', group: 'G1', encoding: 'uncompressed', bytes: toHex(identityG1u), reason: 'identity' },
    { name: 'g1-eip2537-off-subgroup', group: 'G1', encoding: 'eip2537', bytes: toHex(eipOf(offG1)), reason: 'not-in-subgroup' },
    { name: 'g1-eip2537-off-curve', group: 'G1', encoding: 'eip2537', bytes: toHex(eipOf(g1OffCurve())), reason: 'not-on-curve' },
    { name: 'g1-eip2537-identity', group: 'G1', encoding: 'eip2537', bytes: toHex(new Uint8Array(128)), reason: 'identity' },
    { name: 'g1-eip2537-dirty-padding', group: 'G1', encoding: 'eip2537', bytes: toHex(Uint8Array.from(g1ToEip2537(goodSig), (b, i) => (i === 3 ? 1 : b))), reason: 'encoding' },
    { name: 'g2-off-subgroup', group: 'G2', encoding: 'uncompressed', bytes: toHex(offG2), reason: 'not-in-subgroup' },
    { name: 'g2-identity-compressed', group: 'G2', encoding: 'compressed', bytes: toHex(identityG2c), reason: 'identity' },
    { name: 'g2-eip2537-identity', group: 'G2', encoding: 'eip2537', bytes: toHex(new Uint8Array(256)), reason: 'identity' },
  ];
  return {
    description: 'BLS12-381 min-sig vectors (signatures in G1, keys in G2); see docs/crypto.md. Hex is 0x-prefixed.',
    dst: DESTRA_DST,
    popDst: DESTRA_POP_DST,
    hashToG1: hashToG1Vectors,
    signatures,
    wrongSignatures: wrong,
    threshold,
    proofsOfPossession: pop,
    invalidPoints,
  };
}

export const VECTORS_PATH = here('../../test/vectors/bls/signatures.json');
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(VECTORS_PATH, JSON.stringify(generate(), null, 2) + '\n');
  console.log(`wrote ${VECTORS_PATH}`);
}
