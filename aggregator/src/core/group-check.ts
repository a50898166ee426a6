// Optimistic aggregation: combine the first t partials and check the result once against the group key
// (two pairings, group key decoded once) instead of batch-verifying every partial first. Only when that
// check fails does the collector fall back to batch verification, which names the bad partials.
import { DESTRA_DST, hashToG1, loadMcl, mclHashToG1, nativeBackend, PartialVerifier, type BatchVerifyResult, type PartialSignature, type PublicSharing } from '@destra/protocol';
import { G2 } from '@destra/protocol';
import type { ShareVerifier } from './types.ts';

const DST_BYTES = new TextEncoder().encode(DESTRA_DST);

type Mcl = NonNullable<Awaited<ReturnType<typeof loadMcl>>>;

export class AggregatorVerifier implements ShareVerifier {
  private constructor(
    private readonly inner: PartialVerifier,
    private readonly mcl: Mcl | null,
    private readonly groupKey: unknown,
    private readonly negG2: unknown,
  ) {}

  static async create(sharing: PublicSharing): Promise<AggregatorVerifier> {
    const inner = await PartialVerifier.create(sharing);
    const mcl = await loadMcl();
    if (!mcl) return new AggregatorVerifier(inner, null, null, null);
    const gk = new mcl.G2();
    gk.deserialize(sharing.groupKey.toBytes(true));
    const g2 = new mcl.G2();
    g2.deserialize(G2.BASE.toBytes(true));
    return new AggregatorVerifier(inner, mcl, gk, mcl.neg(g2));
  }

  private get groupKeyBytes(): Uint8Array {
    return (this.keyBytes ??= this.inner.sharing.groupKey.toBytes(true));
  }
  private keyBytes: Uint8Array | undefined;

  get threshold(): number {
    return this.inner.threshold;
  }

  get sharing(): PublicSharing {
    return this.inner.sharing;
  }

  verifyBatch(msg: Uint8Array, partials: readonly PartialSignature[]): BatchVerifyResult {
    return this.inner.verifyBatch(msg, partials);
  }

  verifyMany(items: readonly { msg: Uint8Array; partial: PartialSignature }[]): boolean[] {
    return this.inner.verifyMany(items);
  }

  prepare(msg: Uint8Array): void {
    if (nativeBackend()) return; // blst hashes in ~0.05 ms: nothing to win by hashing early
    if (!mclHashToG1(msg, DST_BYTES)) hashToG1(msg);
  }

  combine(partials: readonly PartialSignature[]): Uint8Array {
    return this.inner.combine(partials);
  }

  /** e(sig, -g2)·e(H(msg), groupKey) == 1; false for malformed signature bytes. */
  verifyCombined(signature: Uint8Array, msg: Uint8Array): boolean {
    const native = nativeBackend();
    if (native) return native.verify(this.groupKeyBytes, msg, DST_BYTES, signature);
    const mcl = this.mcl;
    if (!mcl) return false; // no fast backend: the collector batch-verifies instead
    try {
      const s = new mcl.G1();
      s.deserialize(signature);
      let h = mclHashToG1(msg, DST_BYTES);
      if (!h) {
        h = new mcl.G1();
        h.deserialize(hashToG1(msg).toBytes(true));
      }
      return mcl.finalExp(mcl.mul(mcl.millerLoop(s, this.negG2 as never), mcl.millerLoop(h, this.groupKey as never))).isOne();
    } catch {
      return false;
    }
  }
}
