// Fuzz properties of the EIP-2335 keystore reader (definitions in keystore-targets.ts, shared with
// `npm run bench -- fuzz`), plus the counterexample fuzzing found as a regression test.
import { describe, expect, it } from 'vitest';
import { KeystoreError } from '../../src/errors.ts';
import { decryptKeystore, encryptKeystore } from '../../src/keystore/index.ts';
import { assertTarget } from './harness.ts';
import { KEYSTORE_PASSWORD, KEYSTORE_SEEDS, keystoreTargets } from './keystore-targets.ts';

describe('fuzz: keystores throw only KeystoreError and decrypt to secrets that encrypt back identically', () => {
  for (const t of keystoreTargets) it(t.name, () => assertTarget(t, 2500));
});

describe('keystore regressions', () => {
  it('scrypt n = 1 is a KeystoreError naming the field, not a plain Error from the KDF library', () => {
    const ks = structuredClone(KEYSTORE_SEEDS[1]) as { crypto: { kdf: { params: { n: number } } } };
    ks.crypto.kdf.params.n = 1;
    const open = () => decryptKeystore(JSON.stringify(ks), KEYSTORE_PASSWORD);
    expect(open).toThrow(KeystoreError);
    expect(open).toThrow(/crypto\.kdf\.params\.n must be a power of two in 2\.\./);
    expect(() => encryptKeystore(new Uint8Array(32), 'pw', { kdf: { function: 'scrypt', n: 1, r: 1, p: 1 } })).toThrow(KeystoreError);
  });

  it('an unsupported kdf that cannot be turned into a string (null prototype) is a KeystoreError, not a TypeError', () => {
    const ks = structuredClone(KEYSTORE_SEEDS[0]) as { crypto: { kdf: { function: unknown } } };
    ks.crypto.kdf.function = Object.create(null);
    const open = () => decryptKeystore(ks, KEYSTORE_PASSWORD);
    expect(open).toThrow(KeystoreError);
    expect(open).toThrow(/unsupported kdf of type object/);
    ks.crypto.kdf.function = 'argon2id'.repeat(100);
    expect(open).toThrow(/unsupported kdf "argon2idargon2id.{16}"; use scrypt or pbkdf2/);
  });
});
