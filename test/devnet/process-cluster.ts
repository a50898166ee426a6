// A local network whose nodes are separate processes (as in the devnet) and whose aggregator runs in
// the calling process: for latency measurements where every node needs its own event loop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { PublicSharing } from '@destra/protocol';
import { parseAggregatorConfig, startAggregator, type EvidenceSink, type RunningAggregator } from '@destra/aggregator';
import { writeLocalCommittee, type LocalCommittee } from './committee.ts';
import { spawnNode, waitForDkg, type NodeProcess } from './processes.ts';

export interface ProcessCluster {
  committee: LocalCommittee;
  nodes: NodeProcess[];
  aggregator: RunningAggregator;
  sharing: PublicSharing;
  stop(): Promise<void>;
}

export interface ProcessClusterOptions {
  network: string;
  n: number;
  t: number;
  models: Record<string, unknown>;
  timeoutMs?: number;
  /** Extra environment per node process (1-based index), e.g. a test fault. */
  nodeEnv?: (index: number) => Record<string, string>;
  /** Where the aggregator submits equivocation evidence. */
  evidence?: EvidenceSink;
}

export async function startProcessCluster(o: ProcessClusterOptions): Promise<ProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'destra-pcluster-'));
  const nodes: NodeProcess[] = [];
  let aggregator: RunningAggregator | undefined;
  const stop = async (): Promise<void> => {
    await aggregator?.stop().catch(() => undefined);
    await Promise.all(nodes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const committee = await writeLocalCommittee({ dir, network: o.network, n: o.n, t: o.t, models: o.models, logLevel: 'warn' });
    nodes.push(...(await Promise.all(committee.nodeConfigPaths.map((p, k) => spawnNode(k + 1, p, undefined, dir, o.timeoutMs ?? 120_000, o.nodeEnv?.(k + 1) ?? {})))));
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    const sharing = await waitForDkg(nodes, o.timeoutMs ?? 120_000);
    aggregator = await startAggregator(parseAggregatorConfig(committee.aggregatorConfig), { sharing, log: pino({ level: 'silent' }), ...(o.evidence ? { evidence: o.evidence } : {}) });
    const agg = aggregator;
    while (agg.host.peersWithRole('member').length < o.n) {
      if (Date.now() > deadline) throw new Error('nodes did not connect to the aggregator in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { committee, nodes, aggregator: agg, sharing, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
