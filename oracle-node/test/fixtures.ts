// Committee fixtures: real operator keystores, libp2p keys and configs for nodes on 127.0.0.1.
import { mkdirSync, writeFileSync } from 'node:fs';
import { freePort } from '../../scripts/free-port.ts';
import { join } from 'node:path';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { dealShares, encryptKeystore, g2Compressed, secretKeyToBytes, toHex, type KeyShare, type PublicSharing } from '@destra/protocol';
import type { NodeConfigInput } from '../src/config.ts';
import { dkgEncryptionKeyPair } from '../src/keys.ts';
import type { InferenceResult, Inferencer } from '../src/round/inference.ts';
import { InferenceInputError, UnknownModelError } from '../src/inference/errors.ts';
import { groupKeyVerifier, type ActiveKey } from '../src/round/keys.ts';
import { makeOperators, type Operator } from './helpers.ts';

export const PASSWORD = 'correct horse battery staple';


export interface CommitteeFixture {
  members: Operator[];
  aggregator: Operator & { port: number; addr: string };
  configs: NodeConfigInput[];
}

/** n members with t threshold and one aggregator; each member gets a data dir with its libp2p key. */
export async function makeCommittee(dir: string, n: number, t: number, network = 'testnet'): Promise<CommitteeFixture> {
  const ops = await makeOperators(n + 1);
  const members = ops.slice(0, n);
  const aggOp = { ...ops[n]!, index: 1 };
  const ports = await Promise.all(members.map(() => freePort()));
  const aggPort = await freePort();
  const aggregator = { ...aggOp, port: aggPort, addr: `/ip4/127.0.0.1/tcp/${aggPort}/p2p/${aggOp.peerId}` };
  const memberRegs = members.map((m, i) => ({
    index: m.index,
    operatorKey: toHex(m.operatorKey),
    encryptionKey: toHex(dkgEncryptionKeyPair(m.secret).publicKey),
    peerId: m.peerId,
    addrs: [`/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${m.peerId}`],
  }));
  const configs = members.map((m, i): NodeConfigInput => {
    const dataDir = join(dir, `node${m.index}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'libp2p.key'), privateKeyToProtobuf(m.privateKey));
    const keystorePath = join(dataDir, 'operator.json');
    writeFileSync(keystorePath, JSON.stringify(encryptKeystore(secretKeyToBytes(m.secret), PASSWORD, { kdf: { function: 'pbkdf2', c: 1000 } })), { mode: 0o600 });
    return {
      network,
      dataDir,
      listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`],
      api: { host: '127.0.0.1', port: 0 },
      operatorKeystore: keystorePath,
      password: { env: 'DESTRA_TEST_PASSWORD' },
      committee: {
        epoch: 1,
        threshold: t,
        members: memberRegs,
        aggregators: [{ index: 1, operatorKey: toHex(aggOp.operatorKey), peerId: aggOp.peerId, addrs: [aggregator.addr] }],
      },
      dkg: { phaseTimeoutMs: 8000 },
      rounds: { maxSkewSeconds: 30, timeoutMs: 20_000 },
      shareKdf: { function: 'pbkdf2', c: 1000 },
      logLevel: 'warn',
    };
  });
  return { members, aggregator, configs };
}

/**
 * A deterministic stand-in model for network tests (until the ONNX engine is wired in): output is
 * [sum of input bytes, input length, first byte × `bias`], hashes are keccak256 like the real engine's.
 */
export const ARITH_MODEL_HASH = keccak_256(new TextEncoder().encode('arith-v1'));

export class ArithmeticModel implements Inferencer {
  calls = 0;
  constructor(private readonly bias = 1n) {}
  validate(model: string, input: Uint8Array): void {
    this.modelHash(model);
    if (input.length === 0 || input.length > 1024) throw new InferenceInputError(model, `input must be 1..1024 bytes, got ${input.length}`);
  }

  async infer(model: string, input: Uint8Array): Promise<InferenceResult> {
    this.validate(model, input);
    this.calls++;
    const sum = input.reduce((s, b) => s + BigInt(b), 0n);
    return {
      output: [sum, BigInt(input.length), BigInt(input[0] ?? 0) * this.bias],
      modelHash: ARITH_MODEL_HASH,
      inputHash: keccak_256(input),
    };
  }

  /** Served as `arith` or by its hash (`0x` + hex), like the ONNX engine serves names and sha256s. */
  modelHash(model: string): Uint8Array {
    if (model !== 'arith' && model.toLowerCase() !== `0x${Buffer.from(ARITH_MODEL_HASH).toString('hex')}`) throw new UnknownModelError(model, ['arith']);
    return ARITH_MODEL_HASH;
  }
}

/** A 2-of-3 dealt key for `epoch`: every share, the public sharing, and member 1's active key. */
export interface DealtKey {
  shares: KeyShare[];
  sharing: PublicSharing;
  key: ActiveKey;
}
export async function dealtKey(epoch: number): Promise<DealtKey> {
  const { shares, sharing } = dealShares(2, 3);
  const groupKey = g2Compressed(sharing.groupKey);
  return { shares, sharing, key: { epoch, index: 1, n: 3, t: 2, share: shares[0]!, sharing, groupKey, groupVerifier: await groupKeyVerifier(groupKey) } };
}
