// A threshold-signing committee for local chains, tests and benches: runs a real DKG in process and signs
// report roots and handovers with t shares, encoded for the EIP-2537 precompiles.
import { toHex, type Hex } from 'viem';
import {
  PartialVerifier, decodeG2, g1ToEip2537, g2ToEip2537, handoverSigningMessage, rootSigningMessage, signPartial, simulateDkg,
  type DkgResult, type KeyShare,
} from '@destra/protocol';

export class LocalCommittee {
  private constructor(
    readonly n: number,
    readonly t: number,
    readonly results: DkgResult[],
    private readonly verifier: PartialVerifier,
  ) {}

  static async create(n: number, t: number): Promise<LocalCommittee> {
    const dkg = await simulateDkg({ n, t });
    const results = [...dkg.results.values()].sort((a, b) => a.index - b.index);
    return new LocalCommittee(n, t, results, await PartialVerifier.create(results[0]!.sharing));
  }

  get groupKey(): Uint8Array {
    return this.results[0]!.groupPublicKey;
  }
  get groupKeyEip2537(): Hex {
    return toHex(g2ToEip2537(this.groupKey));
  }
  get groupKeyUncompressed(): Uint8Array {
    return decodeG2(this.groupKey).toBytes(false);
  }
  /** Public shares, uncompressed G2 (as the handover's sharesRoot commits to them). */
  get publicSharesUncompressed(): Uint8Array[] {
    return this.results[0]!.sharing.publicShares().map((p) => p.toBytes(false));
  }
  share(index: number): KeyShare {
    return this.results[index - 1]!.share;
  }

  /** Signs a raw BLS message with the first t members; returns the compressed group signature. */
  signMessage(message: Uint8Array, signers: number[] = this.results.slice(0, this.t).map((r) => r.index)): Uint8Array {
    const partials = signers.map((i) => signPartial(this.share(i), message));
    return this.verifier.combine(partials);
  }

  /** Signature over a report root (a single report's leaf, or a Merkle root), EIP-2537 hex. */
  signRoot(root: Uint8Array): Hex {
    return toHex(g1ToEip2537(this.signMessage(rootSigningMessage(root))));
  }

  signHandover(handoverBytes: Uint8Array): Hex {
    return toHex(g1ToEip2537(this.signMessage(handoverSigningMessage(handoverBytes))));
  }
}
