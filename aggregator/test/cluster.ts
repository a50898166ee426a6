// A loopback cluster for aggregator tests: real libp2p hosts (the node engineer's DestraHost with
// admission), real key shares and real partial signatures; members here only sign what the test gives them.
import { generateKeyPair } from '@libp2p/crypto/keys';
import pino from 'pino';
import { dealShares, domainTag, randomSecretKey, publicKeyOf, type KeyShare, type SecretKey } from '@destra/protocol';
import { DestraHost, Registry } from '@destra/oracle-node';

import { AggregatorService, AggregatorVerifier, PROTOCOL_ANNOUNCE, type AggregatorServiceOptions } from '../src/index.ts';
import { topics as wireTopics } from '../src/wire.ts';

export interface ClusterMember {
  index: number;
  share: KeyShare;
  host: DestraHost;
}

export async function startCluster(opts: { n: number; t: number; network?: string; service?: Partial<AggregatorServiceOptions> }) {
  const network = opts.network ?? 'aggtest';
  const domain = domainTag(network);
  const topics = wireTopics(network);
  const topicList = [topics.rounds, topics.batches, topics.combined, topics.dkg];
  const { shares, sharing } = dealShares(opts.t, opts.n);
  const verifier = await AggregatorVerifier.create(sharing);
  const operators: SecretKey[] = Array.from({ length: opts.n + 1 }, () => randomSecretKey());
  const registry = new Registry([
    ...shares.map((s) => ({ role: 'member' as const, index: s.index, operatorKey: publicKeyOf(operators[s.index]!) })),
    { role: 'aggregator' as const, index: 1, operatorKey: publicKeyOf(operators[0]!) },
  ]);
  const log = pino({ level: process.env.DESTRA_TEST_LOG ?? 'silent' });
  const mkHost = async (role: 'member' | 'aggregator', index: number, secret: SecretKey) =>
    DestraHost.create({ domain, privateKey: await generateKeyPair('Ed25519'), role, index, operatorSecret: secret, registry, topics: topicList, log });
  const aggHost = await mkHost('aggregator', 1, operators[0]!);
  const service = await AggregatorService.create({ host: aggHost, network, epoch: 1, verifier, log, ...opts.service });
  await service.start();
  const members: ClusterMember[] = [];
  for (const share of shares) {
    const host = await mkHost('member', share.index, operators[share.index]!);
    await host.connect(aggHost.multiaddrs()[0]!);
    members.push({ index: share.index, share, host });
  }
  await aggHost.waitForPeers((peers) => peers.filter((p) => p.role === 'member').length === opts.n);
  for (const m of members) await m.host.waitForPeers((peers) => peers.some((p) => p.role === 'aggregator'));
  return {
    network,
    topics,
    sharing,
    verifier,
    service,
    aggHost,
    members,
    aggregatorPeerId: aggHost.peerId,
    announceProtocol: PROTOCOL_ANNOUNCE,
    async stop() {
      service.stop();
      await Promise.all([aggHost.stop(), ...members.map((m) => m.host.stop())]);
    },
  };
}
