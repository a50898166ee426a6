// The 32-byte DKG session id: binds a ceremony to the deployment, the epoch and the exact committee, so
// messages of another ceremony can never be mixed in.
import { keccak_256 } from '@noble/hashes/sha3.js';

export interface CommitteeMemberKeys {
  index: number;
  operatorKey: Uint8Array;
  encryptionKey: Uint8Array;
}

export function dkgSession(domain: Uint8Array, epoch: number, t: number, members: readonly CommitteeMemberKeys[]): Uint8Array {
  const parts: Uint8Array[] = [new TextEncoder().encode('destra-dkg-v1'), domain];
  const num = new Uint8Array(12);
  const dv = new DataView(num.buffer);
  dv.setBigUint64(0, BigInt(epoch));
  dv.setUint16(8, t);
  dv.setUint16(10, members.length);
  parts.push(num);
  for (const m of [...members].sort((a, b) => a.index - b.index)) parts.push(new Uint8Array([m.index >> 8, m.index & 0xff]), m.operatorKey, m.encryptionKey);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const buf = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return keccak_256(buf);
}
