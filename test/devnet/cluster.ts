// An in-process local network for tests and benchmarks: n real oracle nodes (startNode: libp2p, SQLite,
// DKG over gossip, round engine, HTTP API) and one real aggregator, all on 127.0.0.1. The devnet runs
// the same pieces with nodes as separate processes (main.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startNode, type Inferencer, type OracleNode, type RequestSource } from '@destra/oracle-node';
import { parseAggregatorConfig, sharingFromPublicShares, startAggregator, type ChainSink, type EvidenceSink, type RunningAggregator, type BatchPolicy, type RangeSink } from '@destra/aggregator';
import { fromHex, PublicSharing } from '@destra/protocol';
import { writeLocalCommittee, type LocalCommittee, type LocalCommitteeOptions } from './committee.ts';

export interface LocalClusterOptions extends Omit<LocalCommitteeOptions, 'dir'> {
  dir?: string;
  /** Inference per node (index 1..n); default: the node's own engine from config.models. */
  inference?: (index: number) => Inferencer | undefined;
  mode?: 'partial' | 'announce';
  sources?: (index: number) => RequestSource[];
  sinks?: ChainSink[];
  /** Sinks for certified ranges of chain request streams (nodes with chains.ethereum.signing 'range'). */
  rangeSinks?: RangeSink[];
  /** Where the aggregator submits equivocation evidence for slashing. */
  evidence?: EvidenceSink;
  batch?: Partial<BatchPolicy>;
  /** Chains on-demand (chain-agnostic) reports are relayed to. */
  onDemandTargets?: ('ethereum' | 'solana')[];
  log?: Logger;
  /** Start only these member indices (the others stay down: fault tests). Default: all. */
  start?: number[];
  readyTimeoutMs?: number;
}

export interface LocalCluster {
  committee: LocalCommittee;
  nodes: Map<number, OracleNode>;
  aggregator: RunningAggregator;
  sharing: PublicSharing;
  stop(): Promise<void>;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms).unref())]);

export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'destra-cluster-'));
  const log = o.log ?? pino({ level: o.logLevel ?? 'silent' });
  const committee = await writeLocalCommittee({ ...o, dir });
  const nodes = new Map<number, OracleNode>();
  let aggregator: RunningAggregator | undefined;
  const stop = async (): Promise<void> => {
    await aggregator?.stop().catch(() => undefined);
    await Promise.allSettled([...nodes.values()].map((n) => n.stop()));
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const indices = o.start ?? Array.from({ length: o.n }, (_, i) => i + 1);
    for (const i of indices) {
      const inference = o.inference?.(i);
      const node = await startNode(committee.nodeConfigs[i - 1]!, {
        password: committee.password,
        log: log.child({ node: i }),
        mode: o.mode ?? 'partial',
        ...(inference ? { inference } : {}),
        ...(o.sources ? { sources: o.sources(i) } : {}),
      });
      nodes.set(i, node);
    }
    // The DKG needs every member online; with some down, the caller runs it first and restarts.
    await withTimeout(Promise.all([...nodes.values()].map((n) => n.ready())), o.readyTimeoutMs ?? 60_000, 'DKG');
    const first = [...nodes.values()][0]!;
    const view = first.committee();
    const sharing = sharingFromPublicShares(
      view.members.filter((m) => m.publicShare).map((m) => ({ index: m.index, publicShare: fromHex(m.publicShare!) })),
      view.threshold,
      view.size,
    );
    const cfg = parseAggregatorConfig({
      ...committee.aggregatorConfig,
      ...(o.batch ? { batch: { ...o.batch } } : {}),
      relay: { staggerMs: 0, maxAttempts: 4, onDemandTargets: o.onDemandTargets ?? [] },
    });
    aggregator = await startAggregator(cfg, { sharing, log: log.child({ aggregator: 1 }), ...(o.sinks ? { sinks: o.sinks } : {}), ...(o.rangeSinks ? { rangeSinks: o.rangeSinks } : {}), ...(o.evidence ? { evidence: o.evidence } : {}) });
    const agg = aggregator;
    await withTimeout(
      (async () => {
        while ([...nodes.values()].some((n) => n.host.peersWithRole('aggregator').length === 0) || agg.host.peersWithRole('member').length < nodes.size) {
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
      20_000,
      'connecting nodes to the aggregator',
    );
    return { committee, nodes, aggregator: agg, sharing, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
