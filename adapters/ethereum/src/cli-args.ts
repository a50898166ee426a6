// Argument checks shared by the `destra` commands. They run for every command line, so they stay light:
// no viem (loading it costs about a second of start-up under the TypeScript loader), only a Keccak.
import { InvalidArgumentError } from 'commander';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { Address, Hex } from 'viem';

/** A 20-byte 0x address; mixed case must carry a valid EIP-55 checksum (as viem's isAddress). */
export function isAddress(v: string): v is Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) return false;
  const body = v.slice(2);
  if (body === body.toLowerCase() || body === body.toUpperCase()) return true;
  const hash = keccak_256(new TextEncoder().encode(body.toLowerCase()));
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    const c = body[i]!;
    if (/[a-f]/.test(c) && nibble >= 8) return false;
    if (/[A-F]/.test(c) && nibble < 8) return false;
  }
  return true;
}

export const addressArg = (v: string): Address => {
  if (!isAddress(v)) throw new InvalidArgumentError('expected a 20-byte 0x address');
  return v;
};

export const hexArg = (v: string): Hex => {
  if (!/^0x[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0) throw new InvalidArgumentError('expected 0x-prefixed even-length hex');
  return v as Hex;
};
