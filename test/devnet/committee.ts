// Writes everything a local committee needs: operator keys as EIP-2335 keystores, libp2p identities
// (so peer ids and addresses are known up front), one node config per member and an aggregator config.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { encryptKeystore, publicKeyOf, randomSecretKey, secretKeyToBytes, toHex, type SecretKey } from '@destra/protocol';
import { dkgEncryptionKeyPair, type NodeConfigInput } from '@destra/oracle-node';
import type { AggregatorConfigInput } from '@destra/aggregator';
import { freePorts } from './ports.ts';

export interface LocalCommitteeOptions {
  dir: string;
  network: string;
  n: number;
  t: number;
  epoch?: number;
  /** Passed to each node's inference engine (config.models). */
  models?: Record<string, unknown>;
  /** Per-node chain watcher settings (config.chains). */
  chains?: NodeConfigInput['chains'];
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  dkgPhaseTimeoutMs?: number;
  /**
   * Chain-driven: node configs carry only the node's own things plus the registry to follow (no member
   * list); the operators publish their node info on chain (see `nodeInfo`).
   */
  control?: { rpcUrl: string; registry: string; pollIntervalMs?: number; feedRegistry?: string };
  /** How many aggregators the members send partials to (default 1); each combines and relays alone. */
  aggregators?: number;
  /**
   * Each aggregator gets a status port (statusPort, known up front) and each node's dashboard reads their
   * relay logs (dashboard.relayStatus): the round table shows relay transactions.
   */
  relayStatus?: boolean;
}

/** What each operator publishes with CommitteeRegistry.setNodeInfo. */
export interface OperatorNodeInfo {
  encryptionKey: `0x${string}`;
  peerId: string;
  multiaddrs: string[];
}

export interface LocalCommittee {
  dir: string;
  network: string;
  n: number;
  t: number;
  password: string;
  operators: SecretKey[];
  nodeConfigs: NodeConfigInput[];
  nodeConfigPaths: string[];
  aggregatorConfig: AggregatorConfigInput;
  aggregatorConfigPath: string;
  aggregatorAddr: string;
  /** Per member (index k = member k+1): the node info it publishes on chain. */
  nodeInfo: OperatorNodeInfo[];
  aggregatorPeerId: string;
  /** Every aggregator's config (index k+1); [0] is `aggregatorConfig`. */
  aggregatorConfigs: AggregatorConfigInput[];
  aggregatorConfigPaths: string[];
}

const DEVNET_PASSWORD = 'destra-devnet-only';

export async function writeLocalCommittee(o: LocalCommitteeOptions): Promise<LocalCommittee> {
  const epoch = o.epoch ?? 1;
  mkdirSync(o.dir, { recursive: true });
  const passwordFile = join(o.dir, 'password.txt');
  writeFileSync(passwordFile, DEVNET_PASSWORD, { mode: 0o600 });
  const ports = await freePorts(o.n + 1);
  // Operator 0 is the aggregator's key, 1..n the members'.
  const operators = Array.from({ length: o.n + 1 }, () => randomSecretKey());
  const identities = await Promise.all(operators.map(() => generateKeyPair('Ed25519')));
  const dirs = operators.map((_, i) => join(o.dir, i === 0 ? 'aggregator' : `node${i}`));
  operators.forEach((sk, i) => {
    mkdirSync(dirs[i]!, { recursive: true });
    // Devnet keystores use a cheap KDF so starting many nodes is quick; production uses scrypt 2^18.
    const ks = encryptKeystore(secretKeyToBytes(sk), DEVNET_PASSWORD, { kdf: { function: 'pbkdf2', c: 1024 }, pubkey: toHex(publicKeyOf(sk)).slice(2) });
    writeFileSync(join(dirs[i]!, 'operator.keystore.json'), JSON.stringify(ks), { mode: 0o600 });
    writeFileSync(join(dirs[i]!, 'libp2p.key'), privateKeyToProtobuf(identities[i]!), { mode: 0o600 });
  });
  const peerIds = identities.map((k) => peerIdFromPrivateKey(k).toString());
  const addr = (i: number) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${peerIds[i]}`;
  const members = operators.slice(1).map((sk, k) => ({
    index: k + 1,
    operatorKey: toHex(publicKeyOf(sk)),
    encryptionKey: toHex(dkgEncryptionKeyPair(sk).publicKey),
    peerId: peerIds[k + 1]!,
    addrs: [addr(k + 1)],
  }));
  // Aggregators beyond the first: their own operator keys, identities, ports and directories.
  const extra = Math.max(0, (o.aggregators ?? 1) - 1);
  const extraPorts = extra > 0 ? await freePorts(extra) : [];
  const extraKeys = Array.from({ length: extra }, () => randomSecretKey());
  const extraIds = await Promise.all(extraKeys.map(() => generateKeyPair('Ed25519')));
  const extraDirs = extraKeys.map((_, j) => join(o.dir, `aggregator${j + 2}`));
  extraKeys.forEach((sk, j) => {
    mkdirSync(extraDirs[j]!, { recursive: true });
    const ks = encryptKeystore(secretKeyToBytes(sk), DEVNET_PASSWORD, { kdf: { function: 'pbkdf2', c: 1024 }, pubkey: toHex(publicKeyOf(sk)).slice(2) });
    writeFileSync(join(extraDirs[j]!, 'operator.keystore.json'), JSON.stringify(ks), { mode: 0o600 });
    writeFileSync(join(extraDirs[j]!, 'libp2p.key'), privateKeyToProtobuf(extraIds[j]!), { mode: 0o600 });
  });
  const extraPeerIds = extraIds.map((k) => peerIdFromPrivateKey(k).toString());
  const statusPorts = o.relayStatus ? await freePorts(1 + extra) : [];
  const statusUrls = statusPorts.map((p) => `http://127.0.0.1:${p}`);
  const aggregators = [
    { index: 1, operatorKey: toHex(publicKeyOf(operators[0]!)), peerId: peerIds[0]!, addrs: [addr(0)] },
    ...extraKeys.map((sk, j) => ({ index: j + 2, operatorKey: toHex(publicKeyOf(sk)), peerId: extraPeerIds[j]!, addrs: [`/ip4/127.0.0.1/tcp/${extraPorts[j]}/p2p/${extraPeerIds[j]}`] })),
  ];
  const nodeConfigs: NodeConfigInput[] = members.map((m) => ({
    network: o.network,
    dataDir: dirs[m.index]!,
    listen: [`/ip4/127.0.0.1/tcp/${ports[m.index]}`],
    api: { host: '127.0.0.1', port: 0 },
    operatorKeystore: join(dirs[m.index]!, 'operator.keystore.json'),
    password: { file: passwordFile },
    ...(o.control
      ? { control: { rpcUrl: o.control.rpcUrl, registry: o.control.registry, pollIntervalMs: o.control.pollIntervalMs ?? 500, ...(o.control.feedRegistry ? { feedRegistry: o.control.feedRegistry } : {}) }, aggregators }
      : { committee: { epoch, threshold: o.t, members, aggregators } }),
    models: o.models ?? {},
    chains: o.chains ?? {},
    dkg: { phaseTimeoutMs: o.dkgPhaseTimeoutMs ?? 10_000 },
    shareKdf: { function: 'pbkdf2', c: 1024 },
    ...(statusUrls.length ? { dashboard: { relayStatus: statusUrls } } : {}),
    logLevel: o.logLevel ?? 'warn',
  }));
  const nodeConfigPaths = nodeConfigs.map((c, k) => {
    const p = join(dirs[k + 1]!, 'config.json');
    writeFileSync(p, JSON.stringify(c, null, 2));
    return p;
  });
  const aggregatorConfig: AggregatorConfigInput = {
    network: o.network,
    index: 1,
    dataDir: dirs[0]!,
    listen: [`/ip4/127.0.0.1/tcp/${ports[0]}`],
    operatorKeystore: join(dirs[0]!, 'operator.keystore.json'),
    password: { file: passwordFile },
    // Members dial the aggregator (its address is in their configs), so it needs no member addresses.
    committee: { epoch, members: members.map(({ encryptionKey: _e, addrs: _a, ...m }) => ({ ...m, addrs: [] })), aggregators },
    ...(statusPorts.length ? { statusPort: statusPorts[0]! } : {}),
    logLevel: o.logLevel ?? 'warn',
  };
  const aggregatorConfigPath = join(dirs[0]!, 'config.json');
  writeFileSync(aggregatorConfigPath, JSON.stringify(aggregatorConfig, null, 2));
  const aggregatorConfigs: AggregatorConfigInput[] = [
    aggregatorConfig,
    ...extraKeys.map((_, j) => ({
      ...aggregatorConfig,
      index: j + 2,
      dataDir: extraDirs[j]!,
      listen: [`/ip4/127.0.0.1/tcp/${extraPorts[j]}`],
      operatorKeystore: join(extraDirs[j]!, 'operator.keystore.json'),
      ...(statusPorts.length ? { statusPort: statusPorts[j + 1]! } : {}),
    })),
  ];
  const aggregatorConfigPaths = aggregatorConfigs.map((c, k) => {
    if (k === 0) return aggregatorConfigPath;
    const p = join(extraDirs[k - 1]!, 'config.json');
    writeFileSync(p, JSON.stringify(c, null, 2));
    return p;
  });
  return {
    dir: o.dir,
    network: o.network,
    n: o.n,
    t: o.t,
    password: DEVNET_PASSWORD,
    operators,
    nodeConfigs,
    nodeConfigPaths,
    aggregatorConfig,
    aggregatorConfigPath,
    aggregatorAddr: addr(0),
    nodeInfo: members.map((m) => ({ encryptionKey: m.encryptionKey as `0x${string}`, peerId: m.peerId, multiaddrs: [`/ip4/127.0.0.1/tcp/${ports[m.index]}`] })),
    aggregatorPeerId: peerIds[0]!,
    aggregatorConfigs,
    aggregatorConfigPaths,
  };
}
