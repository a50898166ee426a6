// Per-epoch partial-signature verifier: caches each member's public share in the fastest backend and
// batch-verifies / combines partials. Use `PartialVerifier.create` (async: loads the wasm backend once);
// the synchronous constructor with backend 'noble' needs no loading.
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DESTRA_DST } from '../bls/constants.ts';
import { dstBytes, hashToG1 } from '../bls/hash.ts';
import { nativeBackend, nativeLoadError, type NativeBackend } from '../native/index.ts';
import type { G1Point } from '../bls/curve.ts';
import { decodeG1 } from '../bls/encoding.ts';
import { ThresholdError } from '../errors.ts';
import { loadMcl, withNobleOnly, mclFr, mclG1, mclG1FromNoble, mclHashed, mclG2FromNoble, mclPairingCheck, type MclG1, type MclG2 } from './mcl-backend.ts';
import { batchVerifyPartials, combinePartials, distinctPartials, type BatchVerifyResult, type PartialSignature } from './partial.ts';
import { lagrangeAtZero, type Rng } from './polynomial.ts';
import { assertIndex, type PublicSharing } from './shares.ts';
import { bisectValid } from './bisect.ts';

type Mcl = NonNullable<Awaited<ReturnType<typeof loadMcl>>>;
export type BlsBackendName = 'native' | 'mcl' | 'noble';

export interface VerifyOptions {
  dst?: string | Uint8Array;
  hashed?: G1Point;
  rng?: Rng;
}

export class PartialVerifier {
  readonly sharing: PublicSharing;
  readonly backend: BlsBackendName;
  private readonly mcl: Mcl | null;
  private readonly native: NativeBackend | null;
  private readonly mclShares = new Map<number, MclG2>();
  private readonly shareBytes = new Map<number, Uint8Array>();

  constructor(sharing: PublicSharing, mcl: Mcl | null = null, native: NativeBackend | null = null) {
    this.sharing = sharing;
    this.mcl = mcl;
    this.native = native;
    this.backend = native ? 'native' : mcl ? 'mcl' : 'noble';
  }

  /**
   * Uses the fastest backend available: native (blst addon), then mcl-wasm (also kept loaded to name
   * bad partials), then noble. `backend` forces one; asking for one that cannot load throws.
   */
  static async create(sharing: PublicSharing, opts: { backend?: BlsBackendName | 'auto' } = {}): Promise<PartialVerifier> {
    const want = opts.backend ?? 'auto';
    const mcl = want === 'noble' ? null : await loadMcl();
    if (want === 'mcl' && !mcl) throw new ThresholdError('the mcl-wasm backend failed to load; use backend "noble"');
    const native = want === 'auto' || want === 'native' ? nativeBackend() : null;
    if (want === 'native' && !native) throw new ThresholdError(`the native backend is unavailable: ${nativeLoadError()}`);
    return new PartialVerifier(sharing, mcl, native);
  }

  get threshold(): number {
    return this.sharing.threshold;
  }

  private shareOf(mcl: Mcl, index: number): MclG2 {
    let p = this.mclShares.get(index);
    if (!p) {
      p = mclG2FromNoble(mcl, this.sharing.publicShare(index));
      this.mclShares.set(index, p);
    }
    return p;
  }

  private shareBytesOf(index: number): Uint8Array {
    let b = this.shareBytes.get(index);
    if (!b) this.shareBytes.set(index, (b = this.sharing.publicShare(index).toBytes(true)));
    return b;
  }

  /** The member's compressed public share when the partial can go to blst (known index, 48 bytes). */
  private nativeKeyFor(partial: PartialSignature): Uint8Array | undefined {
    if (!(partial.signature instanceof Uint8Array) || partial.signature.length !== 48) return undefined;
    try {
      assertIndex(partial.index, this.sharing.size);
      return this.shareBytesOf(partial.index);
    } catch {
      return undefined;
    }
  }

  /** Batch-verifies partials over one message; names every invalid member (see batchVerifyPartials). */
  verifyBatch(msg: Uint8Array, partials: readonly PartialSignature[], opts: VerifyOptions = {}): BatchVerifyResult {
    const native = this.native && !opts.hashed ? this.native : null;
    if (native) return this.verifyBatchNative(native, msg, partials, opts);
    const mcl = this.mcl;
    if (!mcl) {
      const hashed = opts.hashed ?? hashToG1(msg, opts.dst ?? DESTRA_DST);
      return withNobleOnly(() => batchVerifyPartials(msg, partials, (i) => this.sharing.publicShare(i), { ...opts, hashed }));
    }
    const rng = opts.rng ?? randomBytes;
    const h = mclHashed(mcl, msg, opts.dst ?? DESTRA_DST, opts.hashed);
    const invalid: number[] = [];
    const items: { partial: PartialSignature; sig: MclG1; pk: MclG2 }[] = [];
    for (const partial of partials) {
      let pk: MclG2 | undefined;
      try {
        assertIndex(partial.index, this.sharing.size);
        pk = this.shareOf(mcl, partial.index);
      } catch {
        pk = undefined;
      }
      const sig = partial.signature instanceof Uint8Array ? mclG1(mcl, partial.signature) : undefined;
      if (!sig || !pk) invalid.push(partial.index);
      else items.push({ partial, sig, pk });
    }
    const result = bisectValid(items, (group) => {
      if (group.length === 1) return mclPairingCheck(mcl, group[0]!.pk, h, group[0]!.sig);
      const w = group.map(() => mclFr(mcl, bytesToNumberBE(rng(8)) | 1n));
      return mclPairingCheck(mcl, mcl.mulVec(group.map((g) => g.pk), w), h, mcl.mulVec(group.map((g) => g.sig), w));
    });
    invalid.push(...result.invalid.map((it) => it.partial.index));
    const valid = result.valid.map((it) => it.partial);
    return { valid, invalid: invalid.sort((a, b) => a - b) };
  }

  private verifyBatchNative(native: NativeBackend, msg: Uint8Array, partials: readonly PartialSignature[], opts: VerifyOptions): BatchVerifyResult {
    const rng = opts.rng ?? randomBytes;
    const dst = dstBytes(opts.dst ?? DESTRA_DST);
    const invalid: number[] = [];
    const items: { partial: PartialSignature; pk: Uint8Array }[] = [];
    for (const partial of partials) {
      const pk = this.nativeKeyFor(partial);
      if (!pk) invalid.push(partial.index);
      else items.push({ partial, pk });
    }
    const result = bisectValid(items, (group) => {
      if (group.length === 1) return native.verify(group[0]!.pk, msg, dst, group[0]!.partial.signature);
      return native.verifySameMessage(group.map((g) => g.pk), group.map((g) => g.partial.signature), msg, dst, rng(8 * group.length));
    });
    invalid.push(...result.invalid.map((it) => it.partial.index));
    return { valid: result.valid.map((it) => it.partial), invalid: invalid.sort((a, b) => a - b) };
  }

  /**
   * Verifies partials over different messages at once (late partials of many rounds; Combined results
   * under a one-member "sharing" of the group key): returns, per item, whether it verified. Natively
   * one Miller loop per item and one final exponentiation overall, bisecting only on failure; the other
   * backends verify message by message.
   */
  verifyMany(items: readonly { msg: Uint8Array; partial: PartialSignature }[], opts: Omit<VerifyOptions, 'hashed'> = {}): boolean[] {
    const ok = new Array<boolean>(items.length).fill(false);
    const native = this.native;
    if (!native) {
      items.forEach((it, i) => (ok[i] = this.verifyBatch(it.msg, [it.partial], opts).invalid.length === 0));
      return ok;
    }
    const rng = opts.rng ?? randomBytes;
    const dst = dstBytes(opts.dst ?? DESTRA_DST);
    const usable: { i: number; pk: Uint8Array; msg: Uint8Array; sig: Uint8Array }[] = [];
    items.forEach((it, i) => {
      const pk = this.nativeKeyFor(it.partial);
      if (pk) usable.push({ i, pk, msg: it.msg, sig: it.partial.signature });
    });
    const { valid } = bisectValid(usable, (group) => {
      if (group.length === 1) return native.verify(group[0]!.pk, group[0]!.msg, dst, group[0]!.sig);
      return native.verifyMultiple(group.map((g) => g.pk), group.map((g) => g.sig), group.map((g) => g.msg), dst, rng(8 * group.length));
    });
    for (const v of valid) ok[v.i] = true;
    return ok;
  }

  /**
   * Combines the first t distinct partials (already verified) into the 48-byte group signature.
   * Throws ThresholdError when fewer than t usable partials remain.
   */
  combine(partials: readonly PartialSignature[]): Uint8Array {
    const { signature, invalid } = this.combineDetailed(partials);
    if (!signature) throw new ThresholdError(`need ${this.threshold} valid partial signatures from distinct members; invalid: [${invalid.join(', ')}]`);
    return signature;
  }

  /**
   * Like combine, but also names members whose partial turned out unusable (a point outside the
   * prime-order subgroup is invisible to the pairing check, so it surfaces here: the combined point is
   * subgroup-checked once, and only on failure is each partial checked). Skips them and uses the next.
   */
  combineDetailed(partials: readonly PartialSignature[]): { signature: Uint8Array | undefined; invalid: number[] } {
    const mcl = this.mcl;
    const t = this.threshold;
    const unique = distinctPartials(partials, this.sharing.size);
    if (this.native && unique.length >= t) {
      // Fast path; on any unusable partial fall through to the path below, which names it.
      const chosen = unique.slice(0, t);
      const scalars = lagrangeAtZero(chosen.map((p) => p.index)).map((l) => numberToBytesBE(l, 32));
      const signature = this.native.g1LinearCombination(chosen.map((p) => p.signature), scalars);
      if (signature) return { signature: new Uint8Array(signature), invalid: [] };
    }
    if (!mcl) {
      // noble decodes with the subgroup check, so an unusable partial is named here and skipped.
      const usable: PartialSignature[] = [];
      const invalid: number[] = [];
      for (const p of unique) {
        try {
          decodeG1(p.signature);
          usable.push(p);
        } catch {
          invalid.push(p.index);
        }
        if (usable.length === t) break;
      }
      if (usable.length < t) return { signature: undefined, invalid };
      return { signature: withNobleOnly(() => combinePartials(usable, t)), invalid };
    }
    const invalid: number[] = [];
    const points = new Map<number, MclG1>();
    for (const p of unique) {
      const g = mclG1(mcl, p.signature);
      if (g) points.set(p.index, g);
      else invalid.push(p.index);
    }
    for (;;) {
      const chosen = unique.filter((p) => points.has(p.index)).slice(0, t);
      if (chosen.length < t) return { signature: undefined, invalid: invalid.sort((a, b) => a - b) };
      const lambdas = lagrangeAtZero(chosen.map((p) => p.index)).map((l) => mclFr(mcl, l));
      const combined = mcl.mulVec(chosen.map((p) => points.get(p.index)!), lambdas);
      if (combined.isValidOrder() && !combined.isZero()) return { signature: combined.serialize(), invalid: invalid.sort((a, b) => a - b) };
      for (const p of chosen) {
        if (!points.get(p.index)!.isValidOrder()) {
          points.delete(p.index);
          invalid.push(p.index);
        }
      }
      if (chosen.every((p) => points.has(p.index))) {
        // Every chosen partial is canonical yet the result is not: impossible for valid inputs.
        throw new ThresholdError('combined signature is not in the prime-order subgroup; partials were not verified first');
      }
    }
  }
}
