// `npm run bench -- e2e`: round latency over a real local network (n oracle nodes via startNode: libp2p,
// DKG, SQLite, inference, signing; one aggregator) and sustained batched throughput for n = 7.
import { printTable } from '../../scripts/bench-table.ts';
import { toHex } from '@destra/protocol';
import { startProcessCluster } from '../devnet/process-cluster.ts';
import { loadBenchModel, type BenchModel } from './inference.ts';
import { runPipeline } from './pipeline.ts';
import { coreRows } from './core.ts';

const thresholdFor = (n: number): number => Math.floor((2 * n) / 3) + 1;
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * Latency of on-demand rounds over a network whose n nodes are separate processes (own event loops):
 * POST /v1/infer on node 1 (leader) → threshold-signed report back in the HTTP answer. `agg` is the
 * aggregator's share: first partial in → combined signature out.
 */
async function latency(n: number, m: BenchModel, rounds: number): Promise<Record<string, string | number>> {
  const t = thresholdFor(n);
  const cluster = await startProcessCluster({ network: `bench-lat-${n}`, n, t, models: m.models });
  try {
    const leader = cluster.nodes[0]!;
    const agg = new Map<string, number>();
    cluster.aggregator.service.on('result', (r) => agg.set(toHex(r.signed.requestId), r.latencyMs));
    const infer = async (i: number): Promise<{ ms: number; id: string }> => {
      const s = performance.now();
      const res = await fetch(`${leader.api}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: m.model, input: toHex(m.input(i)) }) });
      if (!res.ok) throw new Error(`/v1/infer answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { requestId: string };
      return { ms: performance.now() - s, id: body.requestId };
    };
    // Warm-up: JIT (every node's hot paths), inference sessions, connections; steady state is measured.
    for (let i = 0; i < 50; i++) await infer(i);
    const e2e: number[] = [];
    const aggMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await infer(1000 + i);
      e2e.push(r.ms);
      const a = agg.get(r.id.toLowerCase());
      if (a !== undefined) aggMs.push(a);
    }
    e2e.sort((a, b) => a - b);
    aggMs.sort((a, b) => a - b);
    return { case: `latency n=${n} t=${t}`, rounds, 'p50 ms': pct(e2e, 50), 'p99 ms': pct(e2e, 99), 'agg p50 ms': pct(aggMs, 50), 'agg p99 ms': pct(aggMs, 99), goal: 'p50 ≤ 25, p99 ≤ 100' };
  } finally {
    await cluster.stop();
  }
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.DESTRA_BENCH_ROUNDS ?? 100);
  const seconds = Number(process.env.DESTRA_BENCH_SECONDS ?? 10);
  // DESTRA_BENCH_E2E=latency or =throughput runs one half only.
  const part = process.env.DESTRA_BENCH_E2E ?? 'all';
  if (part !== 'throughput') await latencyTables(rounds);
  if (part !== 'latency') await throughputTable(seconds);
}

async function latencyTables(rounds: number): Promise<void> {
  printTable('aggregator core alone (no network, one thread)', await coreRows());
  const model = await loadBenchModel();
  const rows: Record<string, string | number>[] = [];
  rows.push(await latency(4, model, rounds));
  rows.push(await latency(7, model, rounds));
  printTable('e2e round latency: POST /v1/infer to node 1 → threshold-signed report in the answer; nodes are separate processes (agg: first partial → combined)', rows);
  await model.close();
}

async function throughputTable(seconds: number): Promise<void> {
  const n = 7;
  const t = thresholdFor(n);
  const range = await runPipeline({ mode: 'range', n, t, chunk: 16384, inflight: 3, frameEntries: 512, batchSize: 1024, durationMs: seconds * 1000, samples: 64 });
  const announce = await runPipeline({ mode: 'announce', n, t, chunk: 2048, inflight: 2, frameEntries: 512, batchSize: 1024, durationMs: Math.max(3, seconds / 2) * 1000, samples: 0 });
  const row = (name: string, r: typeof range, verified: string) => ({ case: name, 'signed results': r.signed, batches: r.batches, seconds: r.seconds, 'results/s': r.perSecond, 'batch p50 ms': r.batchLatencyP50, 'samples verified': verified, goal: '≥ 100,000/s' });
  printTable(`e2e sustained throughput, n=${n} t=${t}, members in worker threads, libp2p to one aggregator`, [
    row('range batches (ordered stream: one RangeCommit per member per 16384 requests)', range, `${range.verified}/64`),
    row('leaf announcements (unordered: aggregator-proposed batches)', announce, '-'),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
