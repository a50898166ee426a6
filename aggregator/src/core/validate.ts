// Shape checks for decoded network input, before any curve arithmetic is spent on it.
import { reportLeaf } from '@destra/protocol';
import { equalBytes } from './hex.ts';
import type { PartialIn } from './types.ts';

const isBytes = (v: unknown, len: number): v is Uint8Array => v instanceof Uint8Array && v.length === len;

/** Returns a reason string when the partial cannot be processed, undefined when its shape is right. */
export function validatePartialShape(p: PartialIn, n: number): string | undefined {
  if (!Number.isInteger(p.member) || p.member < 1 || p.member > n) return `member index ${p.member} outside 1..${n}`;
  if (!isBytes(p.requestId, 32)) return 'requestId must be 32 bytes';
  if (p.round !== undefined && (!Number.isSafeInteger(p.round) || p.round < 0)) return `round ${p.round} must be a non-negative integer`;
  if (!isBytes(p.digest, 32)) return 'digest must be 32 bytes';
  if (!isBytes(p.signature, 48)) return 'signature must be a 48-byte compressed G1 point';
  if (p.report !== undefined) {
    if (!(p.report instanceof Uint8Array)) return 'report must be bytes';
    // The report travels only as evidence/relay payload: it must be the preimage of the signed leaf.
    if (!equalBytes(reportLeaf(p.report), p.digest)) return 'report bytes do not hash to the signed digest';
  }
  return undefined;
}
