import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { KeystoreError } from '../src/errors.ts';
import { decryptKeystore, encryptKeystore, normalizePassword } from '../src/keystore/index.ts';

const v = JSON.parse(readFileSync(fileURLToPath(new URL('../../test/vectors/keystore/eip2335.json', import.meta.url)), 'utf8'));
const fast = { function: 'scrypt', n: 1024, r: 8, p: 1 } as const;

describe('EIP-2335 keystores', () => {
  it('normalises the password as the EIP says (NFKD, control codes stripped)', () => {
    expect(bytesToHex(normalizePassword(v.password))).toBe(v.normalizedPasswordHex);
    expect(normalizePassword('a\u0000b\u007fc\u0085d')).toEqual(new TextEncoder().encode('abcd'));
  });

  it.each(['scrypt', 'pbkdf2'])('opens the official %s test vector', (kdf) => {
    expect(bytesToHex(decryptKeystore(v.keystores[kdf], v.password))).toBe(v.secret);
  }, 30_000);

  it('rejects the wrong password with a typed error', () => {
    const err = (() => {
      try {
        decryptKeystore(v.keystores.pbkdf2, 'not the password');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KeystoreError);
    expect((err as KeystoreError).code).toBe('KEYSTORE_PASSWORD');
  }, 30_000);

  it('round-trips with both KDFs and reproduces the official ciphertext from the same salt and iv', () => {
    const secret = hexToBytes(v.secret);
    for (const kdf of [fast, { function: 'pbkdf2', c: 1000 } as const]) {
      const ks = encryptKeystore(secret, 'pw', { kdf, pubkey: 'ab' });
      expect(ks.version).toBe(4);
      expect(decryptKeystore(JSON.stringify(ks), 'pw')).toEqual(secret);
    }
    const official = v.keystores.pbkdf2;
    const again = encryptKeystore(secret, v.password, {
      kdf: { function: 'pbkdf2', c: official.crypto.kdf.params.c },
      salt: hexToBytes(official.crypto.kdf.params.salt),
      iv: hexToBytes(official.crypto.cipher.params.iv),
    });
    expect(again.crypto.cipher.message).toBe(official.crypto.cipher.message);
    expect(again.crypto.checksum.message).toBe(official.crypto.checksum.message);
  }, 30_000);

  it('names the malformed field and refuses hostile KDF parameters', () => {
    const ks = encryptKeystore(new Uint8Array(32).fill(7), 'pw', { kdf: fast });
    const broken = (f: (k: any) => void) => {
      const copy = JSON.parse(JSON.stringify(ks));
      f(copy);
      try {
        decryptKeystore(copy, 'pw');
      } catch (e) {
        return (e as KeystoreError).field;
      }
      return 'no error';
    };
    expect(broken((k) => delete k.crypto.cipher.params.iv)).toBe('crypto.cipher.params.iv');
    expect(broken((k) => (k.crypto.kdf.params.n = 1 << 30))).toBe('crypto.kdf.params.n');
    expect(broken((k) => (k.version = 3))).toBe('version');
    expect(broken((k) => (k.crypto.checksum.message = 'zz'))).toBe('crypto.checksum.message');
    expect(() => decryptKeystore('{not json', 'pw')).toThrow(/not valid JSON/);
  });
});
