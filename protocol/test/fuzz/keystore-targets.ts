// Fuzz target for EIP-2335 keystores (protocol/src/keystore): JSON text (or the parsed object) mutated
// byte-wise and structurally, opened with the right or a random password. Seeds use the cheapest KDF
// parameters, and inputs whose KDF would be expensive are filtered out: the fuzzer explores the parser
// and its checks, not scrypt's running time (the cost ceiling itself is noted in the bench report).
import * as fc from 'fast-check';
import { KeystoreError } from '../../src/errors.ts';
import { decryptKeystore, encryptKeystore, type KdfChoice } from '../../src/keystore/index.ts';
import { target, verdict, type FuzzTarget } from './harness.ts';
import { jsonValues, mutatedBytes, mutatedTree } from './mutators.ts';

export const KEYSTORE_PASSWORD = 'correct horse';
/** decryptKeystore refuses JSON text longer than this. */
export const MAX_KEYSTORE_JSON = 64 * 1024;

const fixed = (n: number, fill: number) => new Uint8Array(n).fill(fill);

export const KEYSTORE_SEEDS: readonly object[] = [
  encryptKeystore(fixed(32, 7), KEYSTORE_PASSWORD, { kdf: { function: 'pbkdf2', c: 1 }, salt: fixed(32, 1), iv: fixed(16, 2), uuid: '00000000-0000-4000-8000-000000000000', pubkey: 'ab'.repeat(48) }),
  encryptKeystore(fixed(32, 9), KEYSTORE_PASSWORD, { kdf: { function: 'scrypt', n: 2, r: 1, p: 1 }, salt: fixed(32, 3), iv: fixed(16, 4), description: 'fuzz seed', path: 'm/12381/3600/0/0/0' }),
  encryptKeystore(fixed(48, 5), KEYSTORE_PASSWORD, { kdf: { function: 'scrypt', n: 4, r: 2, p: 1 }, salt: new Uint8Array(0), iv: fixed(16, 6) }),
];

const STRINGS = ['scrypt', 'pbkdf2', 'sha256', 'aes-128-ctr', 'hmac-sha256', 'hmac-sha512', 'ff'.repeat(16), 'ff'.repeat(32), 'FF'.repeat(32), 'abc', 'zz', '0'.repeat(1026)];
const KEYS = ['crypto', 'kdf', 'params', 'n', 'r', 'p', 'c', 'dklen', 'salt', 'prf', 'message', 'iv', 'version'];
const SIZES = [0, 1, 2, 15, 17, 31, 33, 64, 65, 513, 1025, MAX_KEYSTORE_JSON + 1];

interface KeystoreInput {
  /** JSON text, or (as some callers pass it) the parsed object. */
  keystore: string | object;
  password: string;
}

/**
 * KDF work (hash blocks) a keystore would cost if its parameters pass validation; parameters over the
 * limits cost nothing (refused before the KDF runs), so the limit checks stay fuzzed.
 */
function kdfWork(keystore: string | object): number {
  let ks: unknown = keystore;
  try {
    if (typeof keystore === 'string') ks = JSON.parse(keystore);
  } catch {
    return 0;
  }
  const params = (ks as { crypto?: { kdf?: { params?: Record<string, unknown> } } } | null)?.crypto?.kdf?.params;
  if (typeof params !== 'object' || params === null) return 0;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.abs(v) : 1);
  const [n, r, p, c] = [num(params.n), num(params.r), num(params.p), num(params.c)];
  const scrypt = n <= 2 ** 20 && r <= 32 && p <= 16 ? n * r * p : 0;
  const pbkdf2 = c <= 10_000_000 ? c : 0;
  return Math.max(scrypt, pbkdf2);
}
const FUZZ_KDF_CEILING = 1 << 12;

const texts = KEYSTORE_SEEDS.map((k) => JSON.stringify(k));
const utf8 = new TextDecoder();

const keystores: fc.Arbitrary<string | object> = fc.oneof(
  { weight: 3, arbitrary: mutatedTree(KEYSTORE_SEEDS, jsonValues(STRINGS), SIZES, KEYS).map((v) => JSON.stringify(v) ?? 'undefined') },
  { weight: 1, arbitrary: mutatedTree(KEYSTORE_SEEDS, jsonValues(STRINGS), SIZES, KEYS).map((v) => (typeof v === 'object' && v !== null ? v : { value: v })) },
  { weight: 3, arbitrary: mutatedBytes(texts.map((t) => new TextEncoder().encode(t)), { limit: MAX_KEYSTORE_JSON, maxRandomLength: 256 }).map((b) => utf8.decode(b)) },
);

const keystoreTarget = target<KeystoreInput>({
  name: 'keystore decryptKeystore',
  typedError: KeystoreError,
  arbitrary: fc
    .record({ keystore: keystores, password: fc.oneof({ weight: 4, arbitrary: fc.constant(KEYSTORE_PASSWORD) }, { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) }) })
    .filter(({ keystore }) => kdfWork(keystore) <= FUZZ_KDF_CEILING),
  check: ({ keystore, password }) =>
    verdict(KeystoreError, () => decryptKeystore(keystore, password), (secret) => {
      if (typeof keystore === 'string' && keystore.length > MAX_KEYSTORE_JSON) return `accepted ${keystore.length} characters of JSON (limit ${MAX_KEYSTORE_JSON})`;
      const ks = (typeof keystore === 'string' ? JSON.parse(keystore) : keystore) as { crypto: { kdf: { function: string; params: Record<string, number | string> }; cipher: { params: { iv: string }; message: string }; checksum: { message: string } } };
      if (ks.crypto.cipher.message.length > 1024) return 'accepted a ciphertext over 512 bytes';
      // Encrypting the secret again with the same parameters must give the same ciphertext and checksum.
      const p = ks.crypto.kdf.params;
      const kdf: KdfChoice = ks.crypto.kdf.function === 'scrypt' ? { function: 'scrypt', n: p.n as number, r: p.r as number, p: p.p as number } : { function: 'pbkdf2', c: p.c as number };
      const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
      const again = encryptKeystore(secret, password, { kdf, salt: hex(p.salt as string), iv: hex(ks.crypto.cipher.params.iv) });
      if (again.crypto.cipher.message !== ks.crypto.cipher.message.toLowerCase() || again.crypto.checksum.message !== ks.crypto.checksum.message.toLowerCase()) {
        return 'decrypted a secret that does not encrypt back to the same ciphertext and checksum';
      }
      return undefined;
    }),
});

export const keystoreTargets: readonly FuzzTarget<unknown>[] = [keystoreTarget];
