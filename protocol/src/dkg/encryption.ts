// Share encryption: static-static X25519 between dealer and recipient, HKDF-SHA256 bound to the session
// and to the (dealer, recipient) pair, XChaCha20-Poly1305 with a random 24-byte nonce.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DKG_NONCE_LENGTH } from './messages.ts';

const INFO = new TextEncoder().encode('destra-dkg-v1-share');

function context(session: Uint8Array, dealer: number, recipient: number): Uint8Array {
  const out = new Uint8Array(session.length + 4);
  out.set(session);
  new DataView(out.buffer).setUint16(session.length, dealer);
  new DataView(out.buffer).setUint16(session.length + 2, recipient);
  return out;
}

function shareKey(mySecret: Uint8Array, theirPublic: Uint8Array, session: Uint8Array, dealer: number, recipient: number): Uint8Array {
  const shared = x25519.getSharedSecret(mySecret, theirPublic);
  const info = new Uint8Array(INFO.length + 4);
  info.set(INFO);
  info.set(context(session, dealer, recipient).subarray(session.length), INFO.length);
  return hkdf(sha256, shared, session, info, 32);
}

export function encryptShare(
  dealerSecret: Uint8Array,
  recipientPublic: Uint8Array,
  session: Uint8Array,
  dealer: number,
  recipient: number,
  share: Uint8Array,
  rng: (n: number) => Uint8Array = randomBytes,
): { nonce: Uint8Array; ciphertext: Uint8Array } {
  const nonce = rng(DKG_NONCE_LENGTH);
  const key = shareKey(dealerSecret, recipientPublic, session, dealer, recipient);
  return { nonce, ciphertext: xchacha20poly1305(key, nonce, context(session, dealer, recipient)).encrypt(share) };
}

/** Returns the plaintext share, or undefined when authentication fails. */
export function decryptShare(
  recipientSecret: Uint8Array,
  dealerPublic: Uint8Array,
  session: Uint8Array,
  dealer: number,
  recipient: number,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  try {
    const key = shareKey(recipientSecret, dealerPublic, session, dealer, recipient);
    return xchacha20poly1305(key, nonce, context(session, dealer, recipient)).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}

export function generateEncryptionKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}
