// EIP-2335 (BLS12-381 keystore, version 4): scrypt or PBKDF2-HMAC-SHA256 → 32-byte key; AES-128-CTR with
// the first 16 bytes; checksum sha256(key[16..32] ‖ ciphertext). Operator keys and DKG key shares are
// stored this way so standard Ethereum tooling can read them.
import { ctr } from '@noble/ciphers/aes.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { KeystoreError } from '../errors.ts';

export interface KeystoreV4 {
  crypto: {
    kdf: { function: 'scrypt' | 'pbkdf2'; params: Record<string, unknown>; message: '' };
    checksum: { function: 'sha256'; params: Record<string, never>; message: string };
    cipher: { function: 'aes-128-ctr'; params: { iv: string }; message: string };
  };
  description?: string;
  pubkey: string;
  path: string;
  uuid: string;
  version: 4;
}

export type KdfChoice =
  | { function: 'scrypt'; n?: number; r?: number; p?: number }
  | { function: 'pbkdf2'; c?: number };

export interface EncryptOptions {
  kdf?: KdfChoice;
  /** Hex public key stored alongside (no 0x), e.g. the 96-byte compressed G2 key. */
  pubkey?: string;
  path?: string;
  description?: string;
  salt?: Uint8Array;
  iv?: Uint8Array;
  uuid?: string;
}

// Upper bounds so a hostile keystore cannot make us allocate gigabytes or spin for minutes.
const MAX_SCRYPT_N = 1 << 20;
const MAX_PBKDF2_C = 10_000_000;

/** EIP-2335 password processing: NFKD, then drop C0, C1 and DEL control codes. */
export function normalizePassword(password: string): Uint8Array {
  const cleaned = [...password.normalize('NFKD')]
    .filter((ch) => {
      const c = ch.codePointAt(0)!;
      return !(c <= 0x1f || (c >= 0x7f && c <= 0x9f));
    })
    .join('');
  return new TextEncoder().encode(cleaned);
}

function field<T>(v: unknown, path: string, check: (x: unknown) => boolean, what: string): T {
  if (!check(v)) throw new KeystoreError(`keystore field ${path} must be ${what}`, 'KEYSTORE_MALFORMED', path);
  return v as T;
}
const isObj = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);
const isHex = (x: unknown): boolean => typeof x === 'string' && /^([0-9a-fA-F]{2})*$/.test(x);
const isPosInt = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) > 0;

function deriveKey(kdf: { function: string; params: Record<string, unknown> }, password: Uint8Array): Uint8Array {
  const p = kdf.params;
  const salt = hexToBytes(field<string>(p.salt, 'crypto.kdf.params.salt', isHex, 'a hex string'));
  const dklen = field<number>(p.dklen, 'crypto.kdf.params.dklen', (x) => x === 32, '32');
  if (kdf.function === 'scrypt') {
    // n = 1 is a power of two (2^0) but scrypt needs n ≥ 2: without the lower bound the KDF library threw
    // a plain Error on it (found by protocol/test/fuzz/keystore.test.ts).
    const n = field<number>(p.n, 'crypto.kdf.params.n', (x) => isPosInt(x) && (x as number) >= 2 && (x as number) <= MAX_SCRYPT_N && ((x as number) & ((x as number) - 1)) === 0, `a power of two in 2..${MAX_SCRYPT_N}`);
    const r = field<number>(p.r, 'crypto.kdf.params.r', (x) => isPosInt(x) && (x as number) <= 32, 'an integer in 1..32');
    const pp = field<number>(p.p, 'crypto.kdf.params.p', (x) => isPosInt(x) && (x as number) <= 16, 'an integer in 1..16');
    return scrypt(password, salt, { N: n, r, p: pp, dkLen: dklen, maxmem: 1024 * n * r * pp + 1024 * 1024 * 64 });
  }
  if (kdf.function === 'pbkdf2') {
    field(p.prf, 'crypto.kdf.params.prf', (x) => x === 'hmac-sha256', '"hmac-sha256"');
    const c = field<number>(p.c, 'crypto.kdf.params.c', (x) => isPosInt(x) && (x as number) <= MAX_PBKDF2_C, `an integer ≤ ${MAX_PBKDF2_C}`);
    return pbkdf2(sha256, password, salt, { c, dkLen: dklen });
  }
  // Named without interpolating the value: an object without a prototype (a caller's parsed keystore)
  // cannot be turned into a string and would throw TypeError here.
  const name = typeof kdf.function === 'string' ? `"${kdf.function.slice(0, 32)}"` : `of type ${kdf.function === null ? 'null' : typeof kdf.function}`;
  throw new KeystoreError(`unsupported kdf ${name}; use scrypt or pbkdf2`, 'KEYSTORE_UNSUPPORTED', 'crypto.kdf.function');
}

function uuidV4(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = bytesToHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Encrypts a secret (e.g. a 32-byte BLS secret key or key share) into an EIP-2335 keystore. */
export function encryptKeystore(secret: Uint8Array, password: string, opts: EncryptOptions = {}): KeystoreV4 {
  const choice: KdfChoice = opts.kdf ?? { function: 'scrypt' };
  const salt = opts.salt ?? randomBytes(32);
  const params: Record<string, unknown> =
    choice.function === 'scrypt'
      ? { dklen: 32, n: choice.n ?? 262144, r: choice.r ?? 8, p: choice.p ?? 1, salt: bytesToHex(salt) }
      : { dklen: 32, c: choice.c ?? 262144, prf: 'hmac-sha256', salt: bytesToHex(salt) };
  const kdf = { function: choice.function, params, message: '' as const };
  const key = deriveKey(kdf, normalizePassword(password));
  const iv = opts.iv ?? randomBytes(16);
  const ciphertext = ctr(key.slice(0, 16), iv).encrypt(secret);
  const checksum = sha256(new Uint8Array([...key.slice(16, 32), ...ciphertext]));
  return {
    crypto: {
      kdf,
      checksum: { function: 'sha256', params: {}, message: bytesToHex(checksum) },
      cipher: { function: 'aes-128-ctr', params: { iv: bytesToHex(iv) }, message: bytesToHex(ciphertext) },
    },
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    pubkey: opts.pubkey ?? '',
    path: opts.path ?? '',
    uuid: opts.uuid ?? uuidV4(),
    version: 4,
  };
}

/** Opens a keystore (object or JSON text). Wrong password → KeystoreError code KEYSTORE_PASSWORD. */
export function decryptKeystore(keystore: unknown, password: string): Uint8Array {
  let ks: unknown = keystore;
  if (typeof keystore === 'string') {
    if (keystore.length > 64 * 1024) throw new KeystoreError('keystore JSON is larger than 64 KiB', 'KEYSTORE_MALFORMED');
    try {
      ks = JSON.parse(keystore);
    } catch (e) {
      throw new KeystoreError(`keystore is not valid JSON: ${(e as Error).message}`, 'KEYSTORE_MALFORMED');
    }
  }
  field(ks, '(root)', isObj, 'an object');
  const k = ks as Record<string, unknown>;
  field(k.version, 'version', (x) => x === 4, '4 (EIP-2335)');
  const crypto = field<Record<string, unknown>>(k.crypto, 'crypto', isObj, 'an object');
  const kdf = field<{ function: string; params: Record<string, unknown> }>(crypto.kdf, 'crypto.kdf', (x) => isObj(x) && isObj((x as Record<string, unknown>).params), 'an object with params');
  const checksum = field<Record<string, unknown>>(crypto.checksum, 'crypto.checksum', isObj, 'an object');
  field(checksum.function, 'crypto.checksum.function', (x) => x === 'sha256', '"sha256"');
  const expected = hexToBytes(field<string>(checksum.message, 'crypto.checksum.message', (x) => isHex(x) && (x as string).length === 64, '32 hex bytes'));
  const cipher = field<Record<string, unknown>>(crypto.cipher, 'crypto.cipher', isObj, 'an object');
  field(cipher.function, 'crypto.cipher.function', (x) => x === 'aes-128-ctr', '"aes-128-ctr"');
  const cparams = field<Record<string, unknown>>(cipher.params, 'crypto.cipher.params', isObj, 'an object');
  const iv = hexToBytes(field<string>(cparams.iv, 'crypto.cipher.params.iv', (x) => isHex(x) && (x as string).length === 32, '16 hex bytes'));
  const ciphertext = hexToBytes(field<string>(cipher.message, 'crypto.cipher.message', (x) => isHex(x) && (x as string).length <= 1024, 'hex (≤ 512 bytes)'));
  const key = deriveKey(kdf, normalizePassword(password));
  const actual = sha256(new Uint8Array([...key.slice(16, 32), ...ciphertext]));
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= actual[i]! ^ expected[i]!;
  if (diff !== 0) throw new KeystoreError('keystore checksum mismatch: wrong password (or a corrupted keystore)', 'KEYSTORE_PASSWORD');
  return ctr(key.slice(0, 16), iv).decrypt(ciphertext);
}
