// Admission binding: a committee member (or aggregator) signs its libp2p peer id with its registered
// operator BLS key. Noise already proves the peer holds the libp2p key, so the pair proves "this
// connection is operator X". A separate DST keeps these signatures from ever being report signatures.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { sign, verify, type SecretKey } from '../bls/signature.ts';
import type { Hello, PeerRole } from './messages.ts';
import { WireError } from './errors.ts';

export const DESTRA_ADMISSION_DST = 'DESTRA_V1_ADMISSION_BLS12381G1_XMD:SHA-256_SSWU_RO_';
const PREFIX = utf8ToBytes('destra-admission-v1');

/** keccak256("destra-admission-v1" ‖ domain ‖ role ‖ u16 index ‖ peerId). */
export function admissionMessage(domain: Uint8Array, role: PeerRole, index: number, peerId: Uint8Array): Uint8Array {
  if (domain.length !== 32) throw new WireError('hello', 'domain must be 32 bytes', 'domain');
  const buf = new Uint8Array(PREFIX.length + 32 + 1 + 2 + peerId.length);
  buf.set(PREFIX, 0);
  buf.set(domain, PREFIX.length);
  buf[PREFIX.length + 32] = role === 'member' ? 1 : 2;
  buf[PREFIX.length + 33] = (index >> 8) & 0xff;
  buf[PREFIX.length + 34] = index & 0xff;
  buf.set(peerId, PREFIX.length + 35);
  return keccak_256(buf);
}

export function signAdmission(operatorSecret: SecretKey, domain: Uint8Array, role: PeerRole, index: number, peerId: Uint8Array): Uint8Array {
  return sign(operatorSecret, admissionMessage(domain, role, index, peerId), DESTRA_ADMISSION_DST);
}

/** The registered operator key for (role, index), or undefined if there is no such registration. */
export type RegistrationLookup = (role: PeerRole, index: number) => Uint8Array | undefined;

export type AdmissionVerdict = { ok: true } | { ok: false; reason: string };

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Checks a Hello received on a connection from `remotePeerId`: same deployment, registered operator key,
 * peer id matches the connection, and a valid binding signature. Returns the reason on refusal.
 */
export function checkHello(hello: Hello, remotePeerId: Uint8Array, domain: Uint8Array, lookup: RegistrationLookup): AdmissionVerdict {
  if (!eq(hello.domain, domain)) return { ok: false, reason: 'hello is for another network (domain mismatch)' };
  if (!eq(hello.peerId, remotePeerId)) return { ok: false, reason: 'hello binds a different peer id than the connection' };
  const registered = lookup(hello.role, hello.index);
  if (!registered) return { ok: false, reason: `no registered ${hello.role} with index ${hello.index}` };
  if (!eq(registered, hello.operatorKey)) return { ok: false, reason: `operator key does not match the registration of ${hello.role} ${hello.index}` };
  try {
    const msg = admissionMessage(hello.domain, hello.role, hello.index, hello.peerId);
    if (!verify(hello.operatorKey, msg, hello.signature, DESTRA_ADMISSION_DST)) return { ok: false, reason: 'binding signature does not verify' };
  } catch (err) {
    return { ok: false, reason: `binding signature malformed: ${(err as Error).message}` };
  }
  return { ok: true };
}
