// An in-process committee for tests and benches: n nodes + one aggregator host on 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartialVerifier, domainTag } from '@destra/protocol';
import { AggregatorService, type BatchPolicy } from '@destra/aggregator';
import type { Logger } from 'pino';
import { DestraHost } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import type { NodeConfigInput } from '../src/config.ts';
import { startNode, type NodeOverrides, type OracleNode } from '../src/node.ts';
import type { Inferencer } from '../src/round/inference.ts';
import { topics } from '../src/wire.ts';
import { ArithmeticModel, PASSWORD, makeCommittee, type CommitteeFixture } from './fixtures.ts';
import { captureLog } from './helpers.ts';

export interface Cluster {
  fx: CommitteeFixture;
  nodes: OracleNode[];
  aggHost: DestraHost;
  stop(): Promise<void>;
}

export async function startCluster(
  n: number,
  t: number,
  opts: { mode?: NodeOverrides['mode']; inference?: (index: number) => Inferencer; log?: Logger; onnxModels?: string[]; configure?: (c: NodeConfigInput) => NodeConfigInput } = {},
): Promise<Cluster> {
  process.env.DESTRA_TEST_PASSWORD = PASSWORD;
  const dir = mkdtempSync(join(tmpdir(), 'destra-cluster-'));
  const fx = await makeCommittee(dir, n, t);
  const network = fx.configs[0]!.network;
  const aggHost = await DestraHost.create({
    domain: domainTag(network),
    privateKey: fx.aggregator.privateKey,
    listen: [`/ip4/127.0.0.1/tcp/${fx.aggregator.port}`],
    role: 'aggregator',
    index: 1,
    operatorSecret: fx.aggregator.secret,
    registry: new Registry([
      ...fx.members.map((m) => ({ role: 'member' as const, index: m.index, operatorKey: m.operatorKey, peerId: m.peerId })),
      { role: 'aggregator' as const, index: 1, operatorKey: fx.aggregator.operatorKey, peerId: fx.aggregator.peerId },
    ]),
    topics: Object.values(topics(network)),
    log: opts.log ?? captureLog('warn').log,
  });
  const nodes = await Promise.all(
    fx.configs.map((c0, i) => {
      const c = opts.configure ? opts.configure(c0) : c0;
      return startNode(opts.onnxModels ? { ...c, models: { models: opts.onnxModels } } : c, {
        ...(opts.onnxModels ? {} : { inference: opts.inference?.(i + 1) ?? new ArithmeticModel() }),
        log: opts.log ?? captureLog('warn').log,
        ...(opts.mode ? { mode: opts.mode } : {}),
      });
    }),
  );
  return {
    fx,
    nodes,
    aggHost,
    async stop() {
      await Promise.allSettled(nodes.map((x) => x.stop()));
      await aggHost.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The real aggregator service on the cluster's aggregator host, started once every node holds its key
 * share; resolves when all members are connected to it.
 */
export async function startClusterAggregator(cluster: Cluster, batchPolicy?: BatchPolicy): Promise<AggregatorService> {
  const keys = await Promise.all(cluster.nodes.map((n) => n.ready()));
  const agg = await AggregatorService.create({
    host: cluster.aggHost,
    network: cluster.fx.configs[0]!.network,
    epoch: keys[0]!.epoch,
    verifier: await PartialVerifier.create(keys[0]!.sharing),
    ...(batchPolicy ? { batchPolicy } : {}),
    log: captureLog('warn').log,
  });
  await agg.start();
  await cluster.aggHost.waitForPeers((p) => p.filter((x) => x.role === 'member').length === cluster.nodes.length);
  return agg;
}
