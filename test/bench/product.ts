// `npm run bench -- product`: the product, not a harness. n node processes (`destra node start`, default 7)
// and an aggregator process (`destra aggregator start`) on one machine, driven only through what users run:
// the nodes' HTTP API and the chain. Rows:
//   - on-demand round: POST /v1/infer, one request in flight, round-robin over the nodes (each node leads
//     the rounds it receives); latency p50/p99 of answered requests; every answer's root signature verified
//     under the registry's group key, its Merkle proof folded to the root and its leaf recomputed, and a
//     sample of outputs compared with a local inference;
//   - batch API (POST /v1/infer/batch): verified results/s with concurrent clients spread over the nodes,
//     per-job latency p50/p99 — "n/a" while the route is not there (detected, never faked);
//   - chain requests: K requests in a burst of blocks; reports threshold-signed per second, and what the
//     relay used on the router (fulfill / fulfillBatch).
// Bounded: DESTRA_PRODUCT_BENCH_TIMEOUT_S (default 900) for everything; every process is stopped at the end,
// on failure, and on Ctrl-C. Environment: DESTRA_PRODUCT_BENCH_N (7), DESTRA_PRODUCT_BENCH_SAMPLES (on-demand
// rounds, 300), DESTRA_PRODUCT_BENCH_CHAIN (chain requests, 1000; 0 skips), DESTRA_PRODUCT_BENCH_DIR (data
// and logs, default <tmp>/destra-bench-product), DESTRA_PRODUCT_BENCH_ROWS (rows per batch job, 4096),
// DESTRA_PRODUCT_BENCH_CLIENTS (concurrent batch clients, 2n), DESTRA_PRODUCT_BENCH_CHAIN_SIGNING (the nodes'
// chains.ethereum.signing: range (default: ranges relayed with fulfillBatch) or round), DESTRA_PRODUCT_BENCH_BATCH_S (batch load seconds,
// 20; 0 skips), DESTRA_PRODUCT_BENCH_NODE_FLAGS (extra Node.js flags for the node and aggregator processes, e.g. --cpu-prof),
// DESTRA_PRODUCT_BENCH_BODY (binary (default: what the SDK sends for canonical rows) or json),
// DESTRA_PRODUCT_BENCH_LINES (ranges (default since 2026-12-03, as the SDK: one line per range, every leaf
// checked against the signed root) or results (one line per result with its proof)),
// DESTRA_PRODUCT_BENCH_IDLE_S (seconds of background CPU measured before any request, 5; 0 skips).
// Each measured step also reports the CPU seconds the node and aggregator processes spent per 1,000
// results (/proc/<pid>/stat), a figure that holds on a machine shared with other work. After the batch
// step, the floor under it: one member's range work in this process (product-member.ts) × n members.
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeReport, fromHex, reportLeaf, rootFromProof, rootSigningMessage, verify, decodeG2, type G2Point } from '@destra/protocol';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { batchLoad, batchRoute } from './product-batch.ts';
import { chainRequests } from './product-chain.ts';
import { cpuPer, cpuWindow, type CpuWindow } from './product-cpu.ts';
import { ProductNetwork } from './product-network.ts';
import { loadBenchModel, type BenchModel } from './inference.ts';
import { memberRangeCpu } from './product-member.ts';

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return x;
};
const bodyFormat = (): 'binary' | 'json' => {
  const v = process.env.DESTRA_PRODUCT_BENCH_BODY || 'binary';
  if (v !== 'binary' && v !== 'json') throw new Error(`DESTRA_PRODUCT_BENCH_BODY must be binary or json, got ${JSON.stringify(v)}`);
  return v;
};
const lineFormat = (): 'results' | 'ranges' => {
  const v = process.env.DESTRA_PRODUCT_BENCH_LINES || 'ranges';
  if (v !== 'results' && v !== 'ranges') throw new Error(`DESTRA_PRODUCT_BENCH_LINES must be results or ranges, got ${JSON.stringify(v)}`);
  return v;
};
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const log = (line: string): void => void process.stdout.write(`  · ${line}\n`);

interface InferAnswer {
  report: string;
  signature: string;
  root: string;
  proof: string[];
  epoch: number;
}

export interface OnDemandResult {
  samples: number;
  answered: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  verified: number;
  outputsChecked: number;
  outputsMatched: number;
  /** CPU seconds of the sampled rounds (not the warm-up, not the verification after). */
  cpu: CpuWindow;
}

/** Group keys by epoch, read from the registry (what a verifier trusts, not what a node says). */
function keysFrom(net: ProductNetwork): (epoch: number) => Promise<G2Point> {
  const cache = new Map<number, Promise<G2Point>>();
  return (epoch) => {
    let k = cache.get(epoch);
    if (!k) cache.set(epoch, (k = net.reader.groupKey(BigInt(epoch)).then((g) => decodeG2(g.compressed))));
    return k;
  };
}

/** One answer checked as `destra report verify` does: leaf, proof to root, root signature under the epoch's key. */
export async function verifyAnswer(a: InferAnswer, keyOf: (epoch: number) => Promise<G2Point>): Promise<boolean> {
  const report = fromHex(a.report);
  const epoch = Number(decodeReport(report).epoch);
  if (epoch !== a.epoch) return false;
  const root = rootFromProof(reportLeaf(report), a.proof.map((p) => fromHex(p)));
  if (Buffer.compare(Buffer.from(root), Buffer.from(fromHex(a.root))) !== 0) return false;
  return verify(await keyOf(epoch), rootSigningMessage(root), fromHex(a.signature));
}

async function onDemand(net: ProductNetwork, model: BenchModel, samples: number, warmup: number): Promise<OnDemandResult> {
  const answers: { ms: number; body?: InferAnswer; input: Uint8Array; error?: string }[] = [];
  const one = async (i: number, record: boolean): Promise<void> => {
    const input = model.input(10_000 + i);
    const node = net.nodes[i % net.nodes.length]!;
    const started = performance.now();
    try {
      const res = await fetch(`${node.api}/v1/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: model.model, input: `0x${Buffer.from(input).toString('hex')}` }), signal: AbortSignal.timeout(40_000),
      });
      const text = await res.text();
      const ms = performance.now() - started;
      if (!record) return;
      if (!res.ok) answers.push({ ms, input, error: `${res.status} ${text.slice(0, 160)}` });
      else answers.push({ ms, input, body: JSON.parse(text) as InferAnswer });
    } catch (err) {
      if (record) answers.push({ ms: performance.now() - started, input, error: (err as Error).message });
    }
  };
  for (let i = 0; i < warmup; i++) await one(i, false); // JIT, first inference, connection set-up
  const window = cpuWindow(net.pids());
  const mono0 = process.hrtime.bigint() / 1000n;
  for (let i = 0; i < samples; i++) await one(warmup + i, true);
  const cpu = window.end();
  log(`on-demand window on the monotonic clock (µs, as --cpu-prof timestamps): ${mono0}-${process.hrtime.bigint() / 1000n}`);
  const keyOf = keysFrom(net);
  let verified = 0;
  for (const a of answers) if (a.body && (await verifyAnswer(a.body, keyOf).catch(() => false))) verified++;
  // A sample of outputs against a local inference (the same model file the nodes run).
  const ok = answers.filter((a) => a.body);
  const sample = ok.filter((_, i) => i % Math.max(1, Math.floor(ok.length / 20)) === 0);
  let matched = 0;
  for (const a of sample) {
    const want = (await model.inference.infer(model.model, a.input)).output.join();
    if (decodeReport(fromHex(a.body!.report)).output.join() === want) matched++;
  }
  const ms = ok.map((a) => a.ms).sort((x, y) => x - y);
  const errors = answers.filter((a) => a.error);
  if (errors.length) log(`on-demand failures: ${errors.length}, first: ${errors[0]!.error}`);
  return { samples, answered: ok.length, failed: errors.length, p50: pct(ms, 50), p99: pct(ms, 99), max: ms.at(-1) ?? NaN, verified, outputsChecked: sample.length, outputsMatched: matched, cpu };
}

export async function run(): Promise<void> {
  const n = env('DESTRA_PRODUCT_BENCH_N', 7);
  const budgetS = env('DESTRA_PRODUCT_BENCH_TIMEOUT_S', 900);
  const samples = env('DESTRA_PRODUCT_BENCH_SAMPLES', 300);
  const chainCount = env('DESTRA_PRODUCT_BENCH_CHAIN', 1000);
  const dir = process.env.DESTRA_PRODUCT_BENCH_DIR ?? join(tmpdir(), 'destra-bench-product');
  const rows: BenchRow[] = [];
  const model = await loadBenchModel();
  const chainSigning = (process.env.DESTRA_PRODUCT_BENCH_CHAIN_SIGNING ?? 'range') as 'range' | 'round';
  if (chainSigning !== 'range' && chainSigning !== 'round') throw new Error(`DESTRA_PRODUCT_BENCH_CHAIN_SIGNING must be range or round, got ${JSON.stringify(chainSigning)}`);
  const net = new ProductNetwork({ dir, n, model, log, chainSigning });
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    log(`time budget of ${budgetS} s spent: stopping every process`);
    void net.stop();
  }, budgetS * 1000);
  const onSignal = (): void => void net.stop().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' / ');
  let failure: string | undefined;
  let idle: CpuWindow | undefined;
  /** CPU-s per 1,000 results above the idle rate (background polls take fewer turns under load: a floor of 0). */
  const marginal = (w: CpuWindow, units: number): string => {
    if (!idle || units <= 0) return 'n/a (no idle window)';
    const rate = (idle.nodes + idle.aggregator) / idle.wall;
    const above = w.nodes + w.aggregator - rate * w.wall;
    // Under load the polls behind the background take fewer turns: the step may use less than it.
    if (above <= 0) return `n/a: the step used no more CPU than the idle ${rate.toFixed(3)} CPU-s/s would have (too loaded to separate)`;
    const per1k = (above / units) * 1000;
    // Idle 2 cores: the background keeps its rate, the rest goes to results.
    const projected = per1k > 0 ? Math.round((Math.max(0, 2 - rate) / per1k) * 1000) : NaN;
    return `${per1k.toFixed(3)} CPU-s per 1k above the idle ${rate.toFixed(3)} CPU-s/s → (2 − ${rate.toFixed(2)}) cores / that = ${projected.toLocaleString('en-US')}/s on 2 idle cores`;
  };
  try {
    const t0 = performance.now();
    await net.start();
    log(`${n} node processes + aggregator process up, epoch 1 on chain, in ${((performance.now() - t0) / 1000).toFixed(0)} s; logs in ${dir}; load ${load()}`);
    // Background: what the processes spend with no requests at all (registry and router polls, gossip,
    // re-published DKG results, metrics), to tell per-result cost from fixed cost.
    const idleS = env('DESTRA_PRODUCT_BENCH_IDLE_S', 5);
    if (idleS > 0) {
      const w = cpuWindow(net.pids());
      const mono0 = process.hrtime.bigint() / 1000n;
      await new Promise((r) => setTimeout(r, idleS * 1000));
      idle = w.end();
      log(`idle window on the monotonic clock (µs, as --cpu-prof timestamps): ${mono0}-${process.hrtime.bigint() / 1000n}`);
      rows.push({ measure: `  idle: CPU-s per second with no requests (${idleS} s)`, answered: `nodes ${(idle.nodes / idle.wall).toFixed(3)} + aggregator ${(idle.aggregator / idle.wall).toFixed(3)} CPU-s/s (anvil ${(idle.chain / idle.wall).toFixed(3)})` });
    }
    const od = samples > 0 ? await onDemand(net, model, samples, 5 * n) : undefined;
    if (od) rows.push({
      measure: `on-demand round, POST /v1/infer at n=${n} (t=${net.threshold}), 1 in flight`,
      'p50 ms': od.p50, 'p99 ms': od.p99, 'max ms': od.max,
      answered: `${od.answered}/${od.samples}`, verified: `${od.verified}/${od.answered} sig+proof, outputs ${od.outputsMatched}/${od.outputsChecked}`,
      goal: 'p50 ≤ 25, p99 ≤ 100',
    });
    if (od) rows.push({ measure: '  CPU-s per 1,000 answered rounds (node processes + aggregator process)', 'CPU-s/1k': cpuPer(od.cpu, od.answered).product, answered: cpuPer(od.cpu, od.answered).text });
    log(`on-demand done; load ${load()}`);
    const batchSeconds = env('DESTRA_PRODUCT_BENCH_BATCH_S', 20);
    const route = batchSeconds > 0 ? await batchRoute(net.nodes[0]!.api) : { present: false as const, why: 'skipped: DESTRA_PRODUCT_BENCH_BATCH_S=0' };
    if (!route.present) {
      rows.push({ measure: `verified results/s, POST /v1/infer/batch at n=${n}`, 'results/s': `n/a (${route.why})`, goal: '≥ 100,000' });
    } else {
      const window = cpuWindow(net.pids());
      const b = await batchLoad(net, model, {
        rows: env('DESTRA_PRODUCT_BENCH_ROWS', 4096), clients: env('DESTRA_PRODUCT_BENCH_CLIENTS', 2 * n), seconds: batchSeconds, keyOf: keysFrom(net),
        body: bodyFormat(), lines: lineFormat(),
      });
      const cpu = window.end();
      rows.push({
        measure: `verified results/s, POST /v1/infer/batch at n=${n}, ${b.clients} clients × ${b.rowsPerJob} rows`,
        'results/s': b.verifiedPerSecond, 'p50 ms': b.jobP50, 'p99 ms': b.jobP99,
        answered: `${b.jobsDone}/${b.jobs} jobs, ${b.results} results in ${b.seconds.toFixed(1)} s${b.failedRows ? `, ${b.failedRows} rows failed (first: ${b.firstFailedRange})` : ''}${b.errors ? `, ${b.errors} jobs failed (first: ${b.firstError})` : ''}`,
        verified: `${b.rootsVerified} roots, ${b.proofsChecked} ${b.lines === 'ranges' ? 'ranges rebuilt (every leaf)' : 'proofs sampled'}, ${b.bad} bad; ${b.body} bodies, ${b.lines} lines`, goal: '≥ 100,000',
      });
      const per = cpuPer(cpu, b.verified);
      rows.push({ measure: '  CPU-s per 1,000 verified results (node processes + aggregator process)', 'CPU-s/1k': per.product, answered: per.text });
      rows.push({ measure: '  same, less the background (idle rate × window)', answered: marginal(cpu, b.verified) });
      // What the same product would do with 2 idle cores to itself (clients and anvil elsewhere): CPU per
      // result is what the product spends; throughput then is the cores over it.
      rows.push({
        measure: '  projected verified results/s, 2 idle cores for nodes + aggregator only',
        'results/s': per.product > 0 ? 2 / (per.product / 1000) : NaN,
        answered: `2 cores / ${per.product.toFixed(3)} CPU-s per 1k; assumes CPU-bound, clients and anvil on other cores, no other load`,
        goal: '≥ 100,000',
      });
      // The floor: one member's range work in this process (no network), × n members per row.
      const floor = await memberRangeCpu(model, b.rowsPerJob, 20);
      rows.push({
        measure: `  floor: one member's range work in-process (RangeIntake + RangeService, ${floor.rowsPerRange}-row ranges, no network)`,
        'CPU-s/1k': (floor.usPerRow * n) / 1000,
        answered: `${floor.cpuMsPerRange.toFixed(2)} CPU-ms per range = ${floor.usPerRow.toFixed(2)} µs per row per member; × ${n} members = ${((floor.usPerRow * n) / 1000).toFixed(4)} CPU-s per 1k results`,
        goal: '≤ 0.020 CPU-s/1k in all',
      });
      log(`batch done; load ${load()}`);
    }
    if (chainCount > 0) {
      const c = await chainRequests(net, chainCount, { signTimeoutMs: 180_000, relayWindowMs: 60_000, firstVariant: 50_000, pids: net.pids() }).catch((err: Error) => {
        throw new Error(`chain requests: ${err.message.split('\n')[0]}`);
      });
      log(`chain window on the monotonic clock (µs, as --cpu-prof timestamps): ${c.monoUs[0]}-${c.monoUs[1]}`);
      rows.push({
        measure: `chain requests → reports/s signed at n=${n} (${c.requests} requests in a burst, signing '${chainSigning}')`,
        'results/s': c.signedPerSecond, answered: `${c.signed}/${c.requests} signed; from the first block: mined ${c.minedS.toFixed(1)} s, first signed ${c.firstSignedS.toFixed(1)} s, last ${c.lastSignedS.toFixed(1)} s`,
        verified: `${c.fulfilled}/${c.requests} fulfilled on the router within ${c.relayWindowS} s, by ${c.relayedBy}`,
        goal: '≥ 10,000 signed/s (fulfillBatch)',
      });
      const per = cpuPer(c.cpu, c.signed);
      rows.push({ measure: '  CPU-s per 1,000 signed chain reports (first block → last signed)', 'CPU-s/1k': per.product, answered: per.text });
      rows.push({ measure: '  same, less the background (idle rate × window)', answered: marginal(c.cpu, c.signed) });
    }
  } catch (err) {
    failure = timedOut ? `time budget of ${budgetS} s spent (${(err as Error).message})` : (err as Error).message;
  } finally {
    clearTimeout(watchdog);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await net.stop();
    await model.close();
  }
  if (failure) rows.push({ measure: 'FAILED', answered: failure.slice(0, 300) });
  printTable(`product at n=${n}: node and aggregator processes over HTTP and the chain (load ${load()}, ${net.alive().length} processes left)`, rows);
  if (failure) process.exitCode = 1;
}
