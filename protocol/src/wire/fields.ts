// Field validators reused by the message schemas: exact byte lengths, bounded sizes, index ranges.
import { z } from 'zod';

export const MAX_MEMBERS = 256;

export const bytes = (length: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === length, { message: `expected ${length} bytes` });

export const bytesUpTo = (max: number, min = 0) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= min && v.length <= max, {
    message: `expected ${min}..${max} bytes`,
  });

export const bytes32 = bytes(32);
/** Compressed G1 point (signatures). Curve/subgroup checks happen where the point is used. */
export const g1Bytes = bytes(48);
/** Compressed G2 point (public keys). */
export const g2Bytes = bytes(96);

export const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const memberIndex = z.number().int().min(1).max(MAX_MEMBERS);
/** Registration index of a peer (u16 in the admission message): member index or operator registry position. */
export const peerIndex = z.number().int().min(1).max(65_535);
export const shortText = (max: number) => z.string().max(max);
