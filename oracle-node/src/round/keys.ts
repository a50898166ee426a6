// The active epoch's threshold key material, as the round engine uses it.
import { PartialVerifier, PublicSharing, decodeG2, type KeyShare } from '@destra/protocol';

export interface ActiveKey {
  epoch: number;
  index: number;
  n: number;
  t: number;
  share: KeyShare;
  sharing: PublicSharing;
  /** Compressed G2 group public key. */
  groupKey: Uint8Array;
  /** Verifies group signatures (as the single share of a 1-of-1 sharing whose key is the group key). */
  groupVerifier: PartialVerifier;
}

/** A verifier for signatures under the group key, using the fastest backend the protocol offers. */
export function groupKeyVerifier(groupKey: Uint8Array): Promise<PartialVerifier> {
  return PartialVerifier.create(new PublicSharing([decodeG2(groupKey)], 1));
}

/** True if `signature` is the group's signature over `msg`. */
export function verifyGroupSignature(key: ActiveKey, msg: Uint8Array, signature: Uint8Array): boolean {
  return key.groupVerifier.verifyBatch(msg, [{ index: 1, signature }]).invalid.length === 0;
}
