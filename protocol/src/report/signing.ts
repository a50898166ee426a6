// The 33-byte BLS message, docs/report-format.md §3: a purpose byte keeps a report root and a
// handover digest from ever being the same signed message.
import { MerkleProofError } from './errors.ts';

export const SigningPurpose = { ReportRoot: 0x01, Handover: 0x02 } as const;
export type SigningPurpose = (typeof SigningPurpose)[keyof typeof SigningPurpose];

export function signingMessage(purpose: SigningPurpose, digest: Uint8Array): Uint8Array {
  if (purpose !== SigningPurpose.ReportRoot && purpose !== SigningPurpose.Handover) {
    throw new MerkleProofError(`unknown signing purpose ${purpose}`);
  }
  if (digest.length !== 32) throw new MerkleProofError(`digest is ${digest.length} bytes, expected 32`);
  const msg = new Uint8Array(33);
  msg[0] = purpose;
  msg.set(digest, 1);
  return msg;
}

/** Message the committee signs for a report root (a single report's leaf or a batch root). */
export const rootSigningMessage = (root: Uint8Array): Uint8Array => signingMessage(SigningPurpose.ReportRoot, root);
