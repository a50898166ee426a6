// Inputs and outputs of the pure aggregation core. No I/O here: the shell feeds decoded wire messages in
// and acts on the events that come out.
import type { BatchVerifyResult, G1Point, PartialSignature } from '@destra/protocol';

/** What the core needs from the epoch's key material (PartialVerifier fits this shape). */
export interface ShareVerifier {
  readonly threshold: number;
  readonly sharing: { readonly size: number };
  verifyBatch(msg: Uint8Array, partials: readonly PartialSignature[]): BatchVerifyResult;
  combine(partials: readonly PartialSignature[]): Uint8Array;
  /** Optional fast path: checks a combined signature over msg against the group key (see AggregatorVerifier). */
  verifyCombined?(signature: Uint8Array, msg: Uint8Array): boolean;
  /** Optional: verifies partials over different messages in one go (per item: valid?). */
  verifyMany?(items: readonly { msg: Uint8Array; partial: PartialSignature }[]): boolean[];
  /** Optional: hash msg to G1 now (memoised), while the remaining partials are still on their way. */
  prepare?(msg: Uint8Array): void;
}

/** One member's partial signature over `signingMessage(0x01, digest)` for one request. */
export interface PartialIn {
  member: number; // 1..n
  requestId: Uint8Array; // 32 bytes
  /** Report round (feeds sign one report per round under one id); conflicts key on (requestId, round). */
  round?: number;
  digest: Uint8Array; // 32 bytes: report leaf (single report) or batch root
  signature: Uint8Array; // 48-byte compressed G1
  /** The signed report bytes, when the sender included them (evidence and relaying). */
  report?: Uint8Array;
}

export type MisbehaviourKind = 'invalid-partial' | 'conflicting-digest' | 'equivocation';

/** A signed message: the 33-byte BLS message and the signature over it. */
export interface SignedMessage {
  message: Uint8Array;
  signature: Uint8Array;
  report?: Uint8Array;
}

export interface Evidence {
  kind: MisbehaviourKind;
  /** The member's index in the epoch's committee. */
  member: number;
  /** The epoch whose key share the member signed with (set by the service; the core does not know it). */
  epoch?: number;
  requestId: Uint8Array;
  /** What the member sent (for invalid-partial: the bytes that failed to verify). */
  offending: SignedMessage;
  /** conflicting-digest: the committee-signed message the member disagreed with (group signature);
   *  equivocation: the member's own valid partial on the other digest. */
  counter?: SignedMessage;
}

export interface CombinedResult {
  requestId: Uint8Array;
  round: number;
  digest: Uint8Array;
  /** 48-byte compressed group signature over signingMessage(0x01, digest). */
  signature: Uint8Array;
  /** Members whose partials were combined, in arrival order. */
  signers: number[];
  report?: Uint8Array;
}

export type CoreEvent =
  | { type: 'combined'; result: CombinedResult }
  | { type: 'misbehaviour'; evidence: Evidence }
  | { type: 'rejected'; member: number; reason: string }
  | { type: 'expired'; requestId: Uint8Array; digests: number; partials: number };
