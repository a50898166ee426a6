import { nativeBackend } from '../src/native/index.ts';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { DESTRA_DST, Fp, G1, R_ORDER, decodeG1, hashToG1, verify, type G1Point } from '../src/bls/index.ts';
import { ThresholdError } from '../src/errors.ts';
import { fromHex } from '../src/report/index.ts';
import {
  PartialVerifier, PublicSharing, batchVerifyPartials, loadMcl, mclHashToG1, withNobleOnly, combinePartials, dealShares, lagrangeAtZero, signPartial, verifyPartial,
  type PartialSignature,
} from '../src/threshold/index.ts';
import { VECTORS_PATH } from './bls-vectors.gen.ts';

const msg = utf8ToBytes('destra threshold test');

describe('Shamir + Feldman', () => {
  it('public shares from commitments match the secret shares', () => {
    const { shares, sharing } = dealShares(3, 5);
    const h = hashToG1(msg);
    for (const s of shares) expect(verifyPartial(signPartial(s, msg, { hashed: h }), sharing.publicShare(s.index), msg)).toBe(true);
  });

  it('Lagrange coefficients at 0 sum to 1 and reject duplicates', () => {
    const l = lagrangeAtZero([1, 2, 3]);
    expect(l.reduce((a, b) => a + b, 0n) % 52435875175126190479447740508185965837690552500527637822603658699938581184513n).toBe(1n);
    expect(() => lagrangeAtZero([1, 1])).toThrow(ThresholdError);
  });

  it('rejects bad parameters with typed errors', () => {
    expect(() => dealShares(0, 3)).toThrow(ThresholdError);
    expect(() => dealShares(4, 3)).toThrow(ThresholdError);
    expect(() => dealShares(2, 300)).toThrow(/committee size/);
  });
});

describe.each(['noble', 'mcl'] as const)('partial signatures (%s backend)', (backend) => {
  it('any t partials combine to a signature valid under the group key; t-1 cannot', async () => {
    const { shares, sharing } = dealShares(5, 7);
    const v = await PartialVerifier.create(sharing, { backend });
    expect(v.backend).toBe(backend);
    const partials = shares.map((s) => signPartial(s, msg));
    for (const subset of [[0, 1, 2, 3, 4], [2, 3, 4, 5, 6], [6, 0, 4, 2, 1]]) {
      const sig = v.combine(subset.map((i) => partials[i]!));
      expect(verify(sharing.groupKey, msg, sig)).toBe(true);
    }
    expect(() => v.combine(partials.slice(0, 4))).toThrow(ThresholdError);
    // Four real partials plus a fifth share's partial on another message: the result must not verify.
    const forged = signPartial(shares[4]!, utf8ToBytes('other'));
    expect(verify(sharing.groupKey, msg, v.combine([...partials.slice(0, 4), forged]))).toBe(false);
    expect(() => v.combine([partials[0]!, partials[0]!, ...partials.slice(1)])).toThrow(/duplicate/);
  });

  it('batch verification names every bad partial (wrong, swapped, malformed, unknown index)', async () => {
    const { shares, sharing } = dealShares(4, 10);
    const v = await PartialVerifier.create(sharing, { backend });
    const good = shares.map((s) => signPartial(s, msg));
    const bad: PartialSignature[] = [...good];
    bad[1] = { index: 2, signature: signPartial(shares[1]!, utf8ToBytes('x')).signature }; // wrong message
    bad[4] = { index: 5, signature: good[6]!.signature }; // someone else's partial
    bad[7] = { index: 8, signature: new Uint8Array(48) }; // malformed
    bad.push({ index: 11, signature: good[0]!.signature }); // not a member
    expect(v.verifyBatch(msg, good)).toEqual({ valid: good, invalid: [] });
    const r = v.verifyBatch(msg, bad);
    expect(r.invalid).toEqual([2, 5, 8, 11]);
    expect(r.valid.map((p) => p.index).sort((a, b) => a - b)).toEqual([1, 3, 4, 6, 7, 9, 10]);
    expect(verify(sharing.groupKey, msg, v.combine(r.valid))).toBe(true);
  });
});

/** σ + T with T a small-order point: passes any pairing check, but is not a canonical signature. */
function withTorsion(sig: Uint8Array): Uint8Array {
  let off: G1Point | undefined;
  for (let x = 5n; !off; x++) {
    try {
      const y = Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 4n));
      const p = G1.fromAffine({ x, y });
      if (!p.isTorsionFree()) off = p;
    } catch {
      /* not on the curve: next x */
    }
  }
  const torsion = off.multiplyUnsafe(R_ORDER - 1n).add(off); // r·P: order divides the cofactor
  const { x, y } = decodeG1(sig).add(torsion).toAffine();
  const out = numberToBytesBE(x, 48);
  out[0] = out[0]! | 0x80 | (y > (Fp.ORDER - 1n) / 2n ? 0x20 : 0);
  return out;
}

describe.each([...(nativeBackend() ? (['native'] as const) : []), 'noble', 'mcl'] as const)('non-subgroup partials (%s backend)', (backend) => {
  it('a partial with a torsion component is named and never reaches the group signature', async () => {
    const { shares, sharing } = dealShares(3, 5);
    const v = await PartialVerifier.create(sharing, { backend });
    const partials = shares.map((s) => signPartial(s, msg));
    const evil = { index: 1, signature: withTorsion(partials[0]!.signature) };
    const batch = v.verifyBatch(msg, [evil, ...partials.slice(1)]);
    const combined = v.combineDetailed(batch.valid);
    expect([...batch.invalid, ...combined.invalid]).toEqual([1]);
    expect(verify(sharing.groupKey, msg, combined.signature!)).toBe(true);
    // Handed straight to the combination (no pairing check first), the torsion is caught there.
    const direct = v.combineDetailed([evil, ...partials.slice(1)]);
    expect(direct.invalid).toEqual([1]);
    expect(verify(sharing.groupKey, msg, direct.signature!)).toBe(true);
  });
});

describe('backends agree', () => {
  it('mcl hash-to-G1 reproduces the RFC 9380 J.9.1 vectors and the noble hash under the protocol DST', async () => {
    const mcl = await loadMcl();
    expect(mcl).not.toBeNull();
    const rfc = JSON.parse(readFileSync(new URL('../../test/vectors/bls/rfc9380_g1.json', import.meta.url), 'utf8'));
    const enc = new TextEncoder();
    for (const v of rfc.vectors) {
      const p = mclHashToG1(enc.encode(v.msg), enc.encode(rfc.dst))!;
      expect(p).toBeDefined();
      const want = G1.fromAffine({ x: BigInt(`0x${v.P.x}`), y: BigInt(`0x${v.P.y}`) });
      expect(p.serialize()).toEqual(want.toBytes(true));
    }
    for (let i = 0; i < 20; i++) {
      const m = randomBytes(i * 13);
      expect(mclHashToG1(m, enc.encode(DESTRA_DST))!.serialize()).toEqual(hashToG1(m).toBytes(true));
    }
  });

  it('partial signing gives the same bytes with and without the mcl backend', async () => {
    const { shares } = dealShares(2, 3);
    await PartialVerifier.create(dealShares(1, 1).sharing, { backend: 'mcl' });
    for (const s of shares) expect(signPartial(s, msg)).toEqual(withNobleOnly(() => signPartial(s, msg)));
  });

  it('mcl and noble combine to identical bytes; free functions agree with the verifier', async () => {
    const { shares, sharing } = dealShares(3, 4);
    const partials = shares.map((s) => signPartial(s, msg));
    const a = (await PartialVerifier.create(sharing, { backend: 'mcl' })).combine(partials);
    const b = (await PartialVerifier.create(sharing, { backend: 'noble' })).combine(partials);
    expect(a).toEqual(b);
    expect(combinePartials(partials, 3)).toEqual(a);
    expect(batchVerifyPartials(msg, partials, (i) => sharing.publicShare(i)).invalid).toEqual([]);
  });

  it('reproduces the committed threshold vectors', () => {
    const v = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')).threshold;
    const sharing = PublicSharing.fromBytes(v.commitments.map((c: string) => fromHex(c)), v.n);
    const partials = v.partials.map((p: any) => ({ index: p.index, signature: fromHex(p.signature.compressed) }));
    expect(batchVerifyPartials(fromHex(v.msg), partials, (i) => sharing.publicShare(i)).invalid).toEqual([]);
    expect(combinePartials(partials.slice(2), v.t)).toEqual(fromHex(v.combined.compressed));
    expect(verify(fromHex(v.groupKey.compressed), fromHex(v.msg), fromHex(v.combined.compressed))).toBe(true);
  });
});
