// Operator keys: the BLS operator key (EIP-2335 keystore, unlocked at start), the X25519 key used to
// receive DKG shares (derived from the operator key, so one backup restores both), and the libp2p key.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { decryptKeystore, secretKeyFromBytes, secretKeyToBytes, type SecretKey } from '@destra/protocol';
import { ConfigError } from './errors.ts';

const ENC_LABEL = new TextEncoder().encode('destra-dkg-x25519-v1');

/** X25519 key pair for DKG share encryption: sha256(label ‖ operator secret) as the X25519 scalar. */
export function dkgEncryptionKeyPair(operatorSecret: SecretKey): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const sk = sha256(new Uint8Array([...ENC_LABEL, ...secretKeyToBytes(operatorSecret)]));
  return { secretKey: sk, publicKey: x25519.getPublicKey(sk) };
}

export type PasswordSource = { env: string } | { file: string };

export function readPassword(src: PasswordSource): string {
  if ('env' in src) {
    const v = process.env[src.env];
    if (v === undefined) throw new ConfigError(`environment variable ${src.env} is not set; export the keystore password in it`, 'password.env');
    return v;
  }
  try {
    return readFileSync(src.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`cannot read password file ${src.file}: ${(err as Error).message}`, 'password.file');
  }
}

/**
 * Refuses a key file that other users can read or write (as ssh does): the keystore is encrypted, but a
 * readable one invites an offline password search.
 */
export function checkPrivateFile(path: string, field: string): void {
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    throw new ConfigError(`cannot read operator keystore ${path}: ${(err as Error).message}`, field);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${path} is accessible by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`, field);
  }
}

/** Unlocks the operator's EIP-2335 keystore file. */
export function unlockOperatorKey(keystorePath: string, password: string): SecretKey {
  checkPrivateFile(keystorePath, 'operatorKeystore');
  let text: string;
  try {
    text = readFileSync(keystorePath, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read operator keystore ${keystorePath}: ${(err as Error).message}`, 'operatorKeystore');
  }
  return secretKeyFromBytes(decryptKeystore(text, password));
}

/** Loads the node's libp2p identity from `path`, creating (and persisting) a fresh Ed25519 key if absent. */
export async function loadOrCreateLibp2pKey(path: string): Promise<PrivateKey> {
  if (existsSync(path)) {
    try {
      return privateKeyFromProtobuf(readFileSync(path));
    } catch (err) {
      throw new ConfigError(`libp2p key file ${path} is not a protobuf-encoded private key (${(err as Error).message}); delete it to generate a new identity`, 'dataDir');
    }
  }
  const key = await generateKeyPair('Ed25519');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 });
  return key;
}
