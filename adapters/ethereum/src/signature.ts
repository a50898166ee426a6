// Converts committee signatures to the 128-byte EIP-2537 G1 form the router's precompile calls take.
// Aggregators and nodes hand out compressed (48-byte) signatures; uncompressed (96) and already-converted
// (128) forms are accepted too. Every form is decoded and subgroup-checked, so junk never reaches a tx.
import { decodeG1, g1FromEip2537, g1ToEip2537 } from '@destra/protocol';
import { hexToBytes, isHex, toHex, type Hex } from 'viem';
import { SignatureEncodingError } from './errors.ts';

export const EIP2537_G1_LENGTH = 128;

export function bytesOf(value: Uint8Array | Hex, field: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string' && isHex(value, { strict: true }) && value.length % 2 === 0) return hexToBytes(value);
  throw new SignatureEncodingError(`${field} must be bytes or 0x-prefixed even-length hex`);
}

/** Returns the signature as EIP-2537 hex (128 bytes), validating the point whatever form it came in. */
export function toEip2537Signature(signature: Uint8Array | Hex): Hex {
  const bytes = bytesOf(signature, 'signature');
  try {
    if (bytes.length === EIP2537_G1_LENGTH) {
      g1FromEip2537(bytes); // validates on-curve, subgroup, padding
      return toHex(bytes);
    }
    if (bytes.length === 48 || bytes.length === 96) return toHex(g1ToEip2537(decodeG1(bytes)));
  } catch (e) {
    throw new SignatureEncodingError(`signature is not a valid BLS12-381 G1 point: ${(e as Error).message}`, { cause: e });
  }
  throw new SignatureEncodingError(
    `signature has ${bytes.length} bytes: expected 48 (compressed G1), 96 (uncompressed G1) or 128 (EIP-2537 G1)`,
  );
}
