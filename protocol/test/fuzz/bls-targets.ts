// Fuzz targets for BLS12-381 point encodings (protocol/src/bls/encoding.ts) on every backend that
// decodes outside bytes: noble (decodeG1/decodeG2, EIP-2537), the native addon (blst, behind
// g1ToEip2537 of compressed bytes) and mcl-wasm (mclG1, partial signatures). Accepted points must
// re-encode to the same bytes (one encoding per point), and the backends must agree on what they accept.
import * as fc from 'fast-check';
import { numberToBytesBE } from '@noble/curves/utils.js';
import {
  Fp,
  Fp2,
  G1,
  G2,
  InvalidPointError,
  P_MODULUS,
  decodeG1,
  decodeG2,
  g1Compressed,
  g1FromEip2537,
  g1ToEip2537,
  g1Uncompressed,
  g2Compressed,
  g2FromEip2537,
  g2ToEip2537,
  g2Uncompressed,
  type Fp2Element,
} from '../../src/bls/index.ts';
import { nativeBackend, nativeLoadError, withoutNative } from '../../src/native/index.ts';
import { loadMcl, mclG1 } from '../../src/threshold/mcl-backend.ts';
import { describeError, equalBytes, tally, target, verdict, type FuzzTarget } from './harness.ts';
import { mutatedBytes } from './mutators.ts';

const fp = (v: bigint) => numberToBytesBE(v, 48);
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const withFlags = (bytes: Uint8Array, flags: number) => {
  const out = bytes.slice();
  out[0] = (out[0]! & 0x1f) | flags;
  return out;
};

// Points on the curve but outside the prime-order subgroup (small x with a square root): they pass
// every check but the subgroup check, so that check is fuzzed too.
function g1Torsion(): { x: bigint; y: bigint } {
  for (let x = 0n; ; x++) {
    try {
      const y = Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 4n));
      if (!G1.fromAffine({ x, y }).isTorsionFree()) return { x, y };
    } catch {
      // not on the curve for this x
    }
  }
}
function g2Torsion(): { x: Fp2Element; y: Fp2Element } {
  for (let a = 0n; ; a++) {
    try {
      const x = { c0: a, c1: 1n };
      const y = Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), { c0: 4n, c1: 4n }));
      if (!G2.fromAffine({ x, y }).isTorsionFree()) return { x, y };
    } catch {
      // not on the curve for this x
    }
  }
}

const g1Points = [1n, 2n, 3n, 0xdead_beefn, (1n << 200n) + 7n].map((k) => G1.BASE.multiply(k));
const g2Points = [1n, 2n, 0xdead_beefn].map((k) => G2.BASE.multiply(k));
const t1 = g1Torsion();
const t2 = g2Torsion();

const G1_SEEDS: readonly Uint8Array[] = [
  ...g1Points.flatMap((p) => [g1Compressed(p), g1Uncompressed(p)]),
  withFlags(fp(t1.x), 0x80 | (t1.y > (P_MODULUS - 1n) / 2n ? 0x20 : 0)),
  cat(fp(t1.x), fp(t1.y)),
  withFlags(new Uint8Array(48), 0xc0), // compressed infinity
  withFlags(new Uint8Array(96), 0x40), // uncompressed infinity
  withFlags(fp(P_MODULUS), 0x80), // x = p (not canonical)
];

const G2_SEEDS: readonly Uint8Array[] = [
  ...g2Points.flatMap((p) => [g2Compressed(p), g2Uncompressed(p)]),
  withFlags(cat(fp(t2.x.c1), fp(t2.x.c0)), 0x80),
  cat(fp(t2.x.c1), fp(t2.x.c0), fp(t2.y.c1), fp(t2.y.c0)),
  withFlags(new Uint8Array(96), 0xc0),
  withFlags(new Uint8Array(192), 0x40),
  withFlags(cat(fp(P_MODULUS), fp(1n)), 0x80),
];

const eip = (v: bigint) => cat(new Uint8Array(16), fp(v));
const G1_EIP_SEEDS: readonly Uint8Array[] = [...g1Points.map((p) => g1ToEip2537(p)), cat(eip(t1.x), eip(t1.y)), new Uint8Array(128), cat(eip(P_MODULUS), eip(2n))];
const G2_EIP_SEEDS: readonly Uint8Array[] = [
  ...g2Points.map((p) => g2ToEip2537(p)),
  cat(eip(t2.x.c0), eip(t2.x.c1), eip(t2.y.c0), eip(t2.y.c1)),
  new Uint8Array(256),
  cat(eip(1n), eip(P_MODULUS), eip(1n), eip(1n)),
];

/** Point-specific mutations: the three flag bits, a field element set to p + small, halves swapped. */
function pointMutations(seeds: readonly Uint8Array[], fieldStarts: (length: number) => number[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({ seed: fc.nat(seeds.length - 1), flags: fc.option(fc.nat(7)), overflow: fc.option(fc.record({ field: fc.nat(), add: fc.bigInt({ min: 0n, max: 3n }) })), swap: fc.boolean() })
    .map(({ seed, flags, overflow, swap }) => {
      let out = seeds[seed]!.slice();
      if (overflow) {
        const starts = fieldStarts(out.length);
        const at = starts[overflow.field % starts.length]!;
        out.set(fp(P_MODULUS + overflow.add), at);
      }
      if (swap && out.length >= 96) out = cat(out.subarray(out.length / 2), out.subarray(0, out.length / 2));
      if (flags !== null) out[0] = (out[0]! & 0x1f) | (flags << 5);
      return out;
    });
}

const zcashStarts = (length: number) => Array.from({ length: length / 48 }, (_, i) => i * 48);
const eipStarts = (length: number) => Array.from({ length: length / 64 }, (_, i) => i * 64 + 16);

const pointInputs = (seeds: readonly Uint8Array[], limit: number, starts: (n: number) => number[]) =>
  fc.oneof({ weight: 3, arbitrary: mutatedBytes(seeds, { limit, maxRandomLength: limit + 8 }) }, { weight: 1, arbitrary: pointMutations(seeds, starts) });

const sameBytes = (actual: Uint8Array, input: Uint8Array, what: string) => (equalBytes(actual, input) ? undefined : `accepted, but ${what} re-encodes the point differently (two encodings of one point)`);

const decodeG1Target = target<Uint8Array>({
  name: 'bls decodeG1 (noble)',
  typedError: InvalidPointError,
  arbitrary: pointInputs(G1_SEEDS, 96, zcashStarts),
  check: (bytes) => verdict(InvalidPointError, () => decodeG1(bytes), (p) => sameBytes(bytes.length === 48 ? g1Compressed(p) : g1Uncompressed(p), bytes, 'ZCash encoding')),
});

const decodeG2Target = target<Uint8Array>({
  name: 'bls decodeG2 (noble)',
  typedError: InvalidPointError,
  arbitrary: pointInputs(G2_SEEDS, 192, zcashStarts),
  check: (bytes) => verdict(InvalidPointError, () => decodeG2(bytes), (p) => sameBytes(bytes.length === 96 ? g2Compressed(p) : g2Uncompressed(p), bytes, 'ZCash encoding')),
});

const g1EipTarget = target<Uint8Array>({
  name: 'bls g1FromEip2537 (noble)',
  typedError: InvalidPointError,
  arbitrary: pointInputs(G1_EIP_SEEDS, 128, eipStarts),
  check: (bytes) => verdict(InvalidPointError, () => g1FromEip2537(bytes), (p) => sameBytes(withoutNative(() => g1ToEip2537(p)), bytes, 'EIP-2537')),
});

const g2EipTarget = target<Uint8Array>({
  name: 'bls g2FromEip2537 (noble)',
  typedError: InvalidPointError,
  arbitrary: pointInputs(G2_EIP_SEEDS, 256, eipStarts),
  check: (bytes) => verdict(InvalidPointError, () => g2FromEip2537(bytes), (p) => sameBytes(g2ToEip2537(p), bytes, 'EIP-2537')),
});

/** Outcome of one decoder call, for comparing backends. */
function outcome(f: () => Uint8Array): { bytes: Uint8Array } | { error: unknown } {
  try {
    return { bytes: f() };
  } catch (error) {
    return { error };
  }
}

// Mostly cut to 48 bytes, the only length these decoders take; lengths divisible by 7 stay as they are.
const compressedG1 = pointInputs(G1_SEEDS.filter((s) => s.length === 48), 48, zcashStarts).map((b) => (b.length === 48 || b.length % 7 === 0 ? b : b.subarray(0, 48)));

// blst behind g1ToEip2537(bytes): same 128 bytes as noble for every input, or InvalidPointError from both.
const nativeTarget = target<Uint8Array>({
  name: 'bls g1ToEip2537 (native)',
  typedError: InvalidPointError,
  arbitrary: compressedG1,
  setup: async () => (nativeBackend() ? undefined : `native addon not available: ${nativeLoadError()}`),
  check: (bytes) => {
    const native = outcome(() => g1ToEip2537(bytes));
    const noble = outcome(() => withoutNative(() => g1ToEip2537(bytes)));
    for (const [name, o] of [['native', native], ['noble', noble]] as const) {
      if ('error' in o && !(o.error instanceof InvalidPointError)) return `${name} threw ${describeError(o.error)} (expected InvalidPointError only)`;
    }
    if ('bytes' in native !== 'bytes' in noble) return `native ${'bytes' in native ? 'accepted' : 'refused'} a point that noble ${'bytes' in noble ? 'accepted' : 'refused'}`;
    if ('bytes' in native && 'bytes' in noble && !equalBytes(native.bytes, noble.bytes)) return 'native and noble decode the point to different coordinates';
    if ('bytes' in native) tally.accepted++;
    return undefined;
  },
});

type Mcl = NonNullable<Awaited<ReturnType<typeof loadMcl>>>;
let mcl: Mcl | null = null;

// mcl decodes partial signatures: it must accept exactly what noble accepts (subgroup-checked), accept
// on-curve non-subgroup points only without the order check, re-serialize to the input, and never throw.
const mclTarget = target<Uint8Array>({
  name: 'bls mclG1 (mcl)',
  typedError: InvalidPointError,
  arbitrary: compressedG1,
  setup: async () => {
    mcl = await loadMcl();
    return mcl ? undefined : 'mcl-wasm did not load (or DESTRA_BLS_BACKEND=noble)';
  },
  check: (bytes) => {
    if (!mcl) return 'mcl not loaded (setup not run)';
    let checked, unchecked;
    try {
      checked = mclG1(mcl, bytes, true);
      unchecked = mclG1(mcl, bytes, false);
    } catch (err) {
      return `mclG1 threw ${describeError(err)} (it returns undefined for invalid points)`;
    }
    const noble = outcome(() => g1Compressed(withoutNative(() => decodeG1(bytes))));
    if ('error' in noble && !(noble.error instanceof InvalidPointError)) return `noble threw ${describeError(noble.error)}`;
    const nobleOk = 'bytes' in noble && bytes.length === 48;
    const torsion = 'error' in noble && (noble.error as InvalidPointError).reason === 'not-in-subgroup';
    if ((checked !== undefined) !== nobleOk) return `mcl (order-checked) ${checked ? 'accepted' : 'refused'} a point noble ${nobleOk ? 'accepted' : 'refused'}`;
    if ((unchecked !== undefined) !== (nobleOk || (torsion && bytes.length === 48))) return `mcl (unchecked) ${unchecked ? 'accepted' : 'refused'} a point noble ${nobleOk ? 'accepted' : torsion ? 'found off the subgroup' : 'refused'}`;
    if (checked && !equalBytes(checked.serialize(), bytes)) return 'mcl accepted a non-canonical encoding';
    if (checked) tally.accepted++;
    return undefined;
  },
});

export const blsTargets: readonly FuzzTarget<unknown>[] = [decodeG1Target, decodeG2Target, g1EipTarget, g2EipTarget, nativeTarget, mclTarget];
