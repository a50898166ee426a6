// The native addon (protocol/native) must give the protocol's bytes exactly: checked against the shared
// vectors and against the noble path on random inputs. Bootstrap builds the addon, so its absence is a
// failure here unless DESTRA_NATIVE=0 disabled it on purpose.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { randomBytes } from '@noble/hashes/utils.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { DESTRA_DST, G1, InvalidPointError, g1ToEip2537, hashToG1, randomSecretKey, publicKeyOf, sign, verify } from '../src/bls/index.ts';
import { fromHex, buildMerkleTree, reportLeaf } from '../src/report/index.ts';
import { PartialVerifier, combinePartials, dealShares, lagrangeAtZero, signPartial, withNobleOnly } from '../src/threshold/index.ts';
import { nativeBackend, nativeLoadError, withoutNative } from '../src/native/index.ts';

const enabled = process.env.DESTRA_NATIVE !== '0';
const enc = new TextEncoder();
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/bls/signatures.json', import.meta.url), 'utf8'));
const rfc = JSON.parse(readFileSync(new URL('../../test/vectors/bls/rfc9380_g1.json', import.meta.url), 'utf8'));

describe.runIf(enabled)('native backend (blst + sha3 addon)', () => {
  const native = nativeBackend()!;

  it('is built and loads', () => {
    expect(nativeLoadError()).toBeUndefined();
    expect(native).not.toBeNull();
  });

  it('hash-to-G1 reproduces RFC 9380 J.9.1 and the protocol vectors', () => {
    for (const v of rfc.vectors) {
      const want = G1.fromAffine({ x: BigInt(`0x${v.P.x}`), y: BigInt(`0x${v.P.y}`) }).toBytes(true);
      expect(new Uint8Array(native.hashToG1(enc.encode(v.msg), enc.encode(rfc.dst)))).toEqual(want);
    }
    for (const v of vectors.hashToG1) expect(new Uint8Array(native.hashToG1(fromHex(v.msg), enc.encode(v.dst)))).toEqual(fromHex(v.point.compressed));
  });

  it('signs the committed signature vectors byte for byte and verifies them', () => {
    for (const v of vectors.signatures) {
      const sig = new Uint8Array(native.sign(fromHex(v.secretKey), fromHex(v.msg), enc.encode(v.dst)));
      expect(sig).toEqual(fromHex(v.signature.compressed));
      expect(native.verify(fromHex(v.publicKey.compressed), fromHex(v.msg), enc.encode(v.dst), sig)).toBe(true);
    }
    for (const v of vectors.wrongSignatures) expect(native.verify(fromHex(v.publicKey), fromHex(v.msg), enc.encode(v.dst), fromHex(v.signature))).toBe(false);
  });

  it('rejects every malformed G1 signature encoding of the shared vectors', () => {
    const key = fromHex(vectors.signatures[0].publicKey.compressed);
    for (const p of vectors.invalidPoints.filter((x: { group: string; encoding: string }) => x.group === 'G1' && x.encoding === 'compressed')) {
      expect(native.verify(key, new Uint8Array(0), enc.encode(DESTRA_DST), fromHex(p.bytes)), p.name).toBe(false);
    }
  });

  it('refuses out-of-range scalars with a clear error', () => {
    expect(() => native.sign(new Uint8Array(32), new Uint8Array(1), enc.encode(DESTRA_DST))).toThrow(/scalar/);
    expect(() => native.sign(new Uint8Array(31).fill(1), new Uint8Array(1), enc.encode(DESTRA_DST))).toThrow(/scalar/);
  });

  it('sign / verify / partials / combination agree with noble on random keys and messages', async () => {
    for (let i = 0; i < 5; i++) {
      const sk = randomSecretKey();
      const msg = randomBytes(i * 17);
      const sig = sign(sk, msg);
      expect(sig).toEqual(withNobleOnly(() => sign(sk, msg)));
      expect(verify(publicKeyOf(sk), msg, sig)).toBe(true);
      expect(verify(publicKeyOf(sk), randomBytes(5), sig)).toBe(false);
    }
    const { shares, sharing } = dealShares(3, 5);
    const msg = randomBytes(33);
    const partials = shares.map((s) => signPartial(s, msg));
    expect(partials).toEqual(withNobleOnly(() => shares.map((s) => signPartial(s, msg))));
    const v = await PartialVerifier.create(sharing, { backend: 'native' });
    expect(v.backend).toBe('native');
    const tampered = [...partials];
    tampered[1] = { index: 2, signature: partials[0]!.signature };
    tampered[3] = { index: 4, signature: new Uint8Array(48) };
    expect(v.verifyBatch(msg, tampered).invalid).toEqual([2, 4]);
    expect(v.verifyBatch(msg, partials).invalid).toEqual([]);
    const combined = v.combine(partials.slice(2));
    expect(combined).toEqual(withNobleOnly(() => combinePartials(partials.slice(2), 3)));
    expect(verify(sharing.groupKey, msg, combined)).toBe(true);
    // A point outside the subgroup is refused by the native combination and named by the fallback.
    const scalars = lagrangeAtZero([1, 2, 3]).map((l) => numberToBytesBE(l, 32));
    expect(native.g1LinearCombination([new Uint8Array(48), partials[1]!.signature, partials[2]!.signature], scalars)).toBeNull();
    expect(hashToG1(msg).toBytes(true)).toEqual(new Uint8Array(native.hashToG1(msg, enc.encode(DESTRA_DST))));
  });

  it('EIP-2537 encoding of G1 points is the same natively, and bad points still raise named errors', () => {
    for (let i = 0; i < 5; i++) {
      const sig = sign(randomSecretKey(), enc.encode(`eip2537 ${i}`));
      expect(g1ToEip2537(sig)).toEqual(withoutNative(() => g1ToEip2537(sig)));
      expect(new Uint8Array(native.g1Uncompress(sig)!)).toHaveLength(96);
    }
    const identity = new Uint8Array(48);
    identity[0] = 0xc0;
    expect(native.g1Uncompress(identity)).toBeNull();
    expect(() => g1ToEip2537(identity)).toThrow(InvalidPointError);
    const offCurve = new Uint8Array(48).fill(0x11);
    offCurve[0] = 0x80 | 0x11;
    expect(native.g1Uncompress(offCurve)).toBeNull();
    expect(() => g1ToEip2537(offCurve)).toThrow(InvalidPointError);
  });

  it('verifyMany checks partials over different messages and names exactly the bad ones, natively and not', async () => {
    const { shares, sharing } = dealShares(3, 4);
    const msgs = [1, 2, 3, 4, 5].map((i) => enc.encode(`late partial ${i}`));
    const items = msgs.map((msg, i) => ({ msg, partial: signPartial(shares[i % 4]!, msg) }));
    items[3] = { msg: msgs[3]!, partial: { index: items[3]!.partial.index, signature: signPartial(shares[0]!, msgs[3]!).signature } }; // someone else's
    items.push({ msg: msgs[0]!, partial: { index: 9, signature: items[0]!.partial.signature } }); // no such member
    const want = [true, true, true, false, true, false];
    const native = await PartialVerifier.create(sharing, { backend: 'native' });
    expect(native.verifyMany(items)).toEqual(want);
    expect(native.verifyMany(items.slice(0, 3))).toEqual([true, true, true]);
    const noble = await PartialVerifier.create(sharing, { backend: 'noble' });
    expect(noble.verifyMany(items)).toEqual(want);
  });

  it('verifyMultiple with repeated keys (one Miller loop per key) accepts only when every signature is right', () => {
    // Combined results of many rounds share the group key; late partials of many rounds repeat members.
    const dst = enc.encode(DESTRA_DST);
    const keys = [randomSecretKey(), randomSecretKey(), randomSecretKey()];
    const pks = keys.map((k) => publicKeyOf(k));
    const entries = Array.from({ length: 9 }, (_, i) => {
      const msg = enc.encode(`round ${i}`);
      const k = i % 3 === 2 ? 1 : 0; // keys 0 and 1 repeat; key 2 once
      const key = i === 8 ? 2 : k;
      return { pk: pks[key]!, msg, sig: sign(keys[key]!, msg) };
    });
    const check = (es: typeof entries): boolean =>
      native.verifyMultiple(es.map((e) => e.pk), es.map((e) => e.sig), es.map((e) => e.msg), dst, randomBytes(8 * es.length));
    expect(check(entries)).toBe(true);
    expect(check(entries.filter((_, i) => i % 3 !== 2 && i !== 8))).toBe(true); // one key only
    // Two signatures of one key swapped between their messages: each is a valid signature, on the wrong message.
    const swapped = entries.map((e) => ({ ...e }));
    [swapped[0]!.sig, swapped[1]!.sig] = [swapped[1]!.sig, swapped[0]!.sig];
    expect(check(swapped)).toBe(false);
    // A signature that cancels another's error in the sum: σ0 + X and σ1 − X (the random weights catch it).
    const x = G1.BASE.multiply(12345n);
    const cancel = entries.map((e) => ({ ...e }));
    cancel[0]!.sig = G1.fromBytes(entries[0]!.sig).add(x).toBytes(true);
    cancel[1]!.sig = G1.fromBytes(entries[1]!.sig).subtract(x).toBytes(true);
    expect(check(cancel)).toBe(false);
    // Another key's signature under a repeated key's entry.
    const other = entries.map((e) => ({ ...e }));
    other[3]!.sig = sign(keys[2]!, other[3]!.msg);
    expect(check(other)).toBe(false);
    // Malformed signature bytes.
    const junk = entries.map((e) => ({ ...e }));
    junk[4]!.sig = new Uint8Array(48).fill(0x11);
    expect(check(junk)).toBe(false);
  });

  it('batched Keccak and Merkle levels equal the protocol hashing', () => {
    const reports = Array.from({ length: 7 }, () => randomBytes(229));
    const flat = new Uint8Array(7 * 229);
    reports.forEach((r, i) => flat.set(r, i * 229));
    const leaves = new Uint8Array(native.keccakMany(flat, 229, new Uint8Array([0])));
    reports.forEach((r, i) => expect(leaves.subarray(i * 32, i * 32 + 32)).toEqual(reportLeaf(r)));
    expect(new Uint8Array(native.keccakMany(flat, 229, new Uint8Array(0))).subarray(32, 64)).toEqual(keccak_256(reports[1]!));
    let level = leaves;
    while (level.length > 32) level = new Uint8Array(native.merkleLevel(level));
    expect(level).toEqual(buildMerkleTree(reports.map(reportLeaf)).root);
    expect(() => native.keccakMany(flat, 230, new Uint8Array(0))).toThrow(/multiple/);
    expect(() => native.merkleLevel(new Uint8Array(33))).toThrow(/32-byte/);
  });

  it('the 8-way (AVX-512) and one-at-a-time Keccak paths agree at every length and count', () => {
    // Lengths around the 136-byte rate (padding in the same block, a block of its own, several blocks);
    // counts that leave a remainder for the scalar path. DESTRA_KECCAK_LANES=1 forces the scalar path.
    const withLanes = <T,>(f: () => T, scalar: boolean): T => {
      const before = process.env.DESTRA_KECCAK_LANES;
      if (scalar) process.env.DESTRA_KECCAK_LANES = '1';
      try {
        return f();
      } finally {
        if (before === undefined) delete process.env.DESTRA_KECCAK_LANES;
        else process.env.DESTRA_KECCAK_LANES = before;
      }
    };
    const outputs = (f: () => Uint8Array, scalar: boolean) => withLanes(() => new Uint8Array(f()), scalar);
    expect(withLanes(() => native.keccakWidth(), true)).toBe(1);
    // Both paths are exercised only where the CPU has AVX-512 (this project's CI box does).
    console.info(`native keccak width: ${native.keccakWidth()}`);
    for (const len of [1, 32, 134, 135, 136, 137, 229, 300]) {
      for (const count of [1, 7, 8, 9, 17]) {
        const data = randomBytes(len * count);
        for (const prefix of [new Uint8Array(0), new Uint8Array([0])]) {
          const expected = new Uint8Array(32 * count);
          for (let i = 0; i < count; i++) expected.set(keccak_256(new Uint8Array([...prefix, ...data.subarray(i * len, (i + 1) * len)])), i * 32);
          expect(outputs(() => native.keccakMany(data, len, prefix), false)).toEqual(expected);
          expect(outputs(() => native.keccakMany(data, len, prefix), true)).toEqual(expected);
        }
      }
    }
    for (const nodes of [2, 3, 16, 17, 33]) {
      const level = randomBytes(32 * nodes);
      expect(outputs(() => native.merkleLevel(level), false)).toEqual(outputs(() => native.merkleLevel(level), true));
      const leaves = Array.from({ length: nodes }, (_, i) => level.slice(i * 32, i * 32 + 32));
      const tree = buildMerkleTree(leaves);
      expect(outputs(() => native.merkleLevel(level), false)).toEqual(new Uint8Array(tree.levels[1]!.flatMap((n) => [...n])));
    }
  });
});
