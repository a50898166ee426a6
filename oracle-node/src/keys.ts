// Operator keys: the BLS operator key (EIP-2335 keystore, unlocked at start), the X25519 key used to
// receive DKG shares (derived from the operator key, so one backup restores both), and the libp2p key.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import {
  decryptKeystore, encryptKeystore, g1ToEip2537, g2ToEip2537, provePossession, publicKeyOf, randomSecretKey, secretKeyFromBytes, secretKeyToBytes, toHex,
  type SecretKey,
} from '@destra/protocol';
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

/** What an operator publishes to join: its keys in every encoding peers and the chain need. */
export interface OperatorRegistration {
  /** BLS operator key, compressed G2 (96 bytes). */
  operatorKey: string;
  /** The same key in the EIP-2537 encoding `CommitteeRegistry.registerOperator` takes (256 bytes). */
  operatorKeyEip2537: string;
  /** Proof of possession: the key's signature over its compressed form under the PoP DST, EIP-2537 G1 (128 bytes). */
  proofOfPossession: string;
  /** X25519 key receiving DKG shares, derived from the operator key (dkgEncryptionKeyPair). */
  encryptionKey: string;
  /** libp2p peer id of the node's identity key (libp2p.key). */
  peerId: string;
}

/** The registration of an operator key and a libp2p identity. */
export function operatorRegistration(secret: SecretKey, libp2pKey: PrivateKey): OperatorRegistration {
  const operatorKey = publicKeyOf(secret);
  return {
    operatorKey: toHex(operatorKey),
    operatorKeyEip2537: toHex(g2ToEip2537(operatorKey)),
    proofOfPossession: toHex(g1ToEip2537(provePossession(secret))),
    encryptionKey: toHex(dkgEncryptionKeyPair(secret).publicKey),
    peerId: peerIdFromPrivateKey(libp2pKey).toString(),
  };
}

/**
 * Creates an operator's data directory (`destra node init`, `destra operator init`): a fresh BLS operator
 * key in an EIP-2335 keystore (`operator.json`, mode 0600, scrypt cost `scryptN`) and the libp2p identity
 * (`libp2p.key`, kept if present). Refuses an empty password and an existing keystore. The X25519 DKG key is
 * derived from the operator key, so the keystore backs up both.
 */
export async function initOperatorDir(o: { dir: string; password: string; passwordFrom?: string; passwordField?: string; scryptN?: number }): Promise<{ keystore: string; libp2pKey: string; registration: OperatorRegistration }> {
  const dir = resolve(o.dir);
  const keystore = join(dir, 'operator.json');
  if (existsSync(keystore)) throw new ConfigError(`${keystore} already exists; refusing to overwrite an operator key`, 'dir');
  if (o.password.length === 0) throw new ConfigError(`the keystore password is empty; set a non-empty password${o.passwordFrom ? ` in ${o.passwordFrom}` : ''}`, o.passwordField ?? 'password');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomSecretKey();
  const pubkey = toHex(publicKeyOf(secret)).slice(2);
  writeFileSync(keystore, JSON.stringify(encryptKeystore(secretKeyToBytes(secret), o.password, { kdf: { function: 'scrypt', n: o.scryptN ?? 262144 }, pubkey }), null, 2), { mode: 0o600, flag: 'wx' });
  const libp2pKey = join(dir, 'libp2p.key');
  const p2p = await loadOrCreateLibp2pKey(libp2pKey);
  return { keystore, libp2pKey, registration: operatorRegistration(secret, p2p) };
}

/** A libp2p peer id (text) → its multihash bytes, what `CommitteeRegistry.setNodeInfo` stores; throws naming what is wrong. */
export function peerIdBytes(peerId: string): Uint8Array {
  try {
    return peerIdFromString(peerId).toMultihash().bytes;
  } catch (err) {
    throw new ConfigError(`'${peerId}' is not a libp2p peer id (${(err as Error).message})`, 'peer-id');
  }
}

/** The peer id of the libp2p identity in `path` (a data directory's libp2p.key); never creates one. */
export function peerIdOfKeyFile(path: string): string {
  if (!existsSync(path)) throw new ConfigError(`no libp2p key at ${path}: run destra operator init (or give --peer-id)`, 'peer-id');
  try {
    return peerIdFromPrivateKey(privateKeyFromProtobuf(readFileSync(path))).toString();
  } catch (err) {
    throw new ConfigError(`libp2p key file ${path} is not a protobuf-encoded private key (${(err as Error).message})`, 'peer-id');
  }
}

/** Checks a multiaddr's syntax (e.g. /ip4/203.0.113.7/tcp/4001, /dns4/node.example/tcp/4001); returns it normalised. */
export function checkMultiaddr(addr: string): string {
  try {
    return multiaddr(addr).toString();
  } catch (err) {
    throw new ConfigError(`'${addr}' is not a multiaddr, e.g. /ip4/203.0.113.7/tcp/4001 (${(err as Error).message})`, 'multiaddr');
  }
}
