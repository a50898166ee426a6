// Node benchmark: DKG over libp2p, on-demand round latency through the HTTP API, and chain-request
// throughput (per-report partials vs announced batches), all on 127.0.0.1 with the real aggregator.
import { PartialVerifier, evmDestination } from '@destra/protocol';
import { AggregatorService } from '@destra/aggregator';
import { pino } from 'pino';
import { printTable } from '../../scripts/bench-table.ts';
import { startCluster, type Cluster } from '../test/cluster.ts';

const quiet = pino({ level: 'silent' });
const MODEL = 'tx-anomaly';
/** Canonical tx-anomaly input: 10 int64 fixed-point values (scale 16). */
function txInput(i: number): Uint8Array {
  const out = new Uint8Array(80);
  for (let j = 0; j < 10; j++) new DataView(out.buffer).setBigInt64(8 * j, BigInt(((i * 7 + j * 13) % 200) - 100));
  return out;
}
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function withAggregator(cluster: Cluster, batch: boolean): Promise<AggregatorService> {
  const key = await cluster.nodes[0]!.ready();
  const agg = await AggregatorService.create({
    host: cluster.aggHost,
    network: cluster.fx.configs[0]!.network,
    epoch: 1,
    verifier: await PartialVerifier.create(key.sharing),
    ...(batch ? { batchPolicy: { maxSize: 1024, maxDelayMs: 50, highLoadPerSecond: 1 } } : {}),
    log: quiet,
  });
  await agg.start();
  await cluster.aggHost.waitForPeers((p) => p.filter((x) => x.role === 'member').length === cluster.nodes.length);
  return agg;
}

async function chainThroughput(cluster: Cluster, count: number, seed: number): Promise<number> {
  const started = performance.now();
  const ids: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const id = new Uint8Array(32);
    new DataView(id.buffer).setUint32(0, seed);
    new DataView(id.buffer).setUint32(4, i);
    ids.push(id);
    for (const n of cluster.nodes) {
      n.engine.onChainRequest({ source: 'ethereum:1', requestId: id, model: MODEL, input: txInput(i), timestamp: 1_700_000_000 + i, destination: evmDestination(1n, new Uint8Array(20).fill(1)) });
    }
  }
  const node = cluster.nodes[0]!;
  const deadline = Date.now() + 120_000;
  while (ids.some((id) => !node.store.getReport(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return count / ((performance.now() - started) / 1000);
}

export async function run(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const [n, t] of [
    [4, 3],
    [7, 5],
  ] as const) {
    const started = performance.now();
    const cluster = await startCluster(n, t, { log: quiet, onnxModels: [MODEL] });
    await Promise.all(cluster.nodes.map((x) => x.ready()));
    rows.push({ measurement: `DKG over libp2p, n=${n} t=${t} (start → all shares)`, value: performance.now() - started, unit: 'ms' });
    if (n === 4) {
      const agg = await withAggregator(cluster, false);
      const lat: number[] = [];
      for (let i = 0; i < 30; i++) {
        const s = performance.now();
        const res = await fetch(`${cluster.nodes[i % n]!.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: `0x${Buffer.from(txInput(i)).toString('hex')}` }) });
        if (res.status !== 200) throw new Error(`infer failed: ${res.status} ${await res.text()}`);
        lat.push(performance.now() - s);
      }
      rows.push({ measurement: 'on-demand /v1/infer latency p50 (4 nodes, t=3)', value: pct(lat, 50), unit: 'ms' });
      rows.push({ measurement: 'on-demand /v1/infer latency p95', value: pct(lat, 95), unit: 'ms' });
      rows.push({ measurement: 'chain requests, one partial per report', value: await chainThroughput(cluster, 200, 1), unit: 'reports/s' });
      agg.stop();
    }
    await cluster.stop();
  }
  const batched = await startCluster(4, 3, { log: quiet, mode: 'announce', onnxModels: [MODEL] });
  await Promise.all(batched.nodes.map((x) => x.ready()));
  const agg = await withAggregator(batched, true);
  rows.push({ measurement: 'chain requests, announced + batch-root signing', value: await chainThroughput(batched, 1000, 2), unit: 'reports/s' });
  agg.stop();
  await batched.stop();
  printTable(`oracle node: nodes + aggregator in ONE process on 127.0.0.1, ONNX model ${MODEL}`, rows);
  // Chain requests signed in ranges (chains.ethereum.signing 'range') and landed by fulfillBatch.
  const { chainRangeRows } = await import('../../test/bench/chain-ranges.ts');
  printTable('chain requests in ranges → fulfillBatch: 4 in-process nodes + aggregator, ONNX liquidation-risk', await chainRangeRows());
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
