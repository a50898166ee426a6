// Test helpers: loggers that capture JSON lines, committee fixtures with real keys.
import { Writable } from 'node:stream';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { pino, type Logger } from 'pino';
import { domainTag, publicKeyOf, randomSecretKey, type SecretKey } from '@destra/protocol';

export interface CapturedLog {
  log: Logger;
  lines: Record<string, unknown>[];
}

export function captureLog(level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level }, sink), lines };
}

export interface Operator {
  index: number;
  secret: SecretKey;
  operatorKey: Uint8Array;
  privateKey: PrivateKey;
  peerId: string;
}

export async function makeOperators(n: number): Promise<Operator[]> {
  const out: Operator[] = [];
  for (let i = 1; i <= n; i++) {
    const secret = randomSecretKey();
    const privateKey = await generateKeyPair('Ed25519');
    out.push({ index: i, secret, operatorKey: publicKeyOf(secret), privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() });
  }
  return out;
}

export const TEST_NETWORK = 'testnet';
export const TEST_DOMAIN = domainTag(TEST_NETWORK);
