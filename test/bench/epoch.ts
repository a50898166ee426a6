// `npm run bench -- epoch`: a live rotation with real node processes (test/devnet/live-network.ts). For
// each size n (DESTRA_EPOCH_BENCH_SIZES, default "7,16") n genesis operators reach epoch 1 on both chains,
// then an operator stakes right away and starts its node; epoch 2 (n+1 members) is due epochLength seconds
// after epoch 1 was activated: the n+1 run the DKG, epoch 1 threshold-signs the handover, the aggregator's
// HandoverRelay lands it on Ethereum and Solana. Measured per n:
//   - stake→active: the joiner's stake transactions mined → registry currentEpoch 2 with n+1 members AND
//     the Solana program's epoch 2;
//   - due→active: (activatedAt(1) + epochLength), the time the nodes start the DKG, → the same (DKG +
//     handover signing + relay to both chains);
//   - DKG attempts: the attempt that produced epoch 2's key, plus one (attempts are time windows);
//   - on-demand rounds on operator 1 (a member of both committees): POST /v1/infer every 250 ms, open loop
//     (a slow answer does not delay the next request). "quiet": sent from 1 s after the joiner's node is up
//     (and ≥ 2 s after epoch 1 served: JIT warm-up) until 5 s before the due time; "transition": sent from
//     5 s before the due time until 5 s after epoch 2 is active on both chains. Latencies of answered
//     requests; answered/total counts the others (a failed round is the node's 504 after 30 s).
// Environment: DESTRA_EPOCH_BENCH_SIZES, DESTRA_EPOCH_BENCH_EPOCH_SEC (epoch length, default 40: room for a
// quiet period after the joiner's node is up),
// DESTRA_EPOCH_BENCH_START_LIMIT (node processes started at a time, default 16: the genesis DKG wants them
// up together; fewer at a time spreads them over more than a DKG phase),
// DESTRA_EPOCH_BENCH_PHASE_MS (DKG phase timeout, default 30000: a node that comes up first waits one phase
// for its peers and one for their deals, so node processes that come up up to ~a minute apart on 2 loaded
// cores all make the genesis DKG; phases end as soon as every member's message is in, so a long timeout
// costs nothing unless a ceremony fails, when the retry window is 5 phase timeouts + 10 s),
// DESTRA_EPOCH_BENCH_STARTUP_MS (each node process's start-up limit, default max(60 s, n × 10 s); the
// genesis DKG may take that plus 5 phase timeouts), DESTRA_EPOCH_BENCH_DIR (data and logs, default
// <tmp>/destra-bench-epoch/n<n>), DESTRA_BENCH_VERBOSE=1 (the network's start-up steps). A network whose node
// process missed its start-up limit (a loaded machine) is started again, up to 3 times; any other failure
// gives a "failed" row with the reason.
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createWalletClient, http, parseEther, toHex as vToHex, type Address } from 'viem';
import { committeeRegistryAbi } from '@destra/contracts';
import { decodeReport, fromHex, toHex } from '@destra/protocol';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import type { NodeProcess } from '../devnet/processes.ts';
import { LiveNetwork, waitFor, type Step } from '../devnet/live-network.ts';
import { info as progressInfo, step as progressStep } from '../devnet/progress.ts';
import { loadBenchModel, type BenchModel } from './inference.ts';

const INTERVAL_MS = 250;
/** Transition window margins around the due time and the activation. */
const MARGIN_MS = 5_000;
/** Quiet samples sent in the first WARMUP_MS after epoch 1 served are not counted (JIT, first inference). */
const WARMUP_MS = 2_000;
/** Above the node's round timeout (30 s), so a round that fails is answered (504) rather than cut off here. */
const REQUEST_TIMEOUT_MS = 40_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const log = (line: string): void => void process.stdout.write(`  · ${line}\n`);
const secs = (ms: number): string => (ms / 1000).toFixed(1);

interface Sample {
  /** Date.now() when sent. */
  sent: number;
  ms?: number;
  /** The epoch of the signed report. */
  epoch?: number;
  error?: string;
}

/** POST /v1/infer on node `k` every INTERVAL_MS (open loop) until stopped. */
function sampler(net: LiveNetwork, k: number): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  const inflight = new Set<Promise<void>>();
  let on = true;
  let variant = 5000;
  const one = async (s: Sample, input: Uint8Array): Promise<void> => {
    const started = performance.now();
    try {
      const res = await fetch(`${net.node(k).api}/v1/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: net.model.model, input: toHex(input) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`${res.status}: ${(await res.text()).slice(0, 200)}`);
      const body = (await res.json()) as { report: string };
      s.ms = performance.now() - started;
      s.epoch = Number(decodeReport(fromHex(body.report)).epoch);
    } catch (err) {
      s.error = (err as Error).message;
    }
  };
  const loop = (async () => {
    let next = performance.now();
    while (on) {
      const s: Sample = { sent: Date.now() };
      samples.push(s);
      const p = one(s, net.model.input(variant++));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      next += INTERVAL_MS;
      await sleep(Math.max(0, next - performance.now()));
    }
  })();
  return {
    samples,
    stop: async () => {
      on = false;
      await loop;
      await Promise.all([...inflight]);
    },
  };
}

/**
 * LiveNetwork starts its n node processes all at once, each with 60 s to come up; 16 of them on 2 shared
 * cores take longer than that. Here at most `limit` start at a time (each still has its 60 s). When one
 * fails to start, start() stops the network while others are still queued or coming up: those are not
 * spawned, or stopped as soon as they are up, so no node process outlives the network.
 */
class BenchNetwork extends LiveNetwork {
  private slots: number;
  private readonly queue: (() => void)[] = [];
  private closed = false;
  private readonly starting = new Set<Promise<unknown>>();

  constructor(o: ConstructorParameters<typeof LiveNetwork>[0], limit: number) {
    super(o);
    this.slots = limit;
  }

  override startNode(k: number): Promise<NodeProcess> {
    const p = this.startLimited(k);
    this.starting.add(p);
    void p.catch(() => undefined).finally(() => this.starting.delete(p));
    return p;
  }

  private async startLimited(k: number): Promise<NodeProcess> {
    if (this.slots === 0) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.slots--;
    try {
      if (this.closed) throw new Error(`node ${k} not started: the network is stopping`);
      const p = await super.startNode(k);
      if (this.closed) {
        await p.stop();
        throw new Error(`node ${k} stopped: the network is stopping`);
      }
      return p;
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.slots++;
    }
  }

  override async stop(): Promise<void> {
    this.closed = true;
    await super.stop();
    await Promise.allSettled([...this.starting]);
  }
}

/** Governance (the governor contract, impersonated on anvil) raises the committee size to `size`. */
async function raiseCommitteeSize(net: LiveNetwork, size: number): Promise<void> {
  const { chains } = net;
  const registry = chains.deployed.addresses.registry;
  const pc = chains.clients.publicClient;
  const read = (functionName: string) => pc.readContract({ address: registry, abi: committeeRegistryAbi, functionName } as never) as Promise<bigint | number>;
  const [unbondingDelay, slashBps, minThresholdBps, epochLength, handoverGrace] = await Promise.all(
    ['unbondingDelay', 'slashBps', 'minThresholdBps', 'epochLength', 'handoverGrace'].map(read),
  );
  const governor = chains.deployed.addresses.governor as Address;
  await pc.request({ method: 'anvil_impersonateAccount' as never, params: [governor] as never });
  await pc.request({ method: 'anvil_setBalance' as never, params: [governor, vToHex(parseEther('10'))] as never });
  const wallet = createWalletClient({ chain: chains.clients.chain, transport: http(chains.anvil.rpcUrl, { retryCount: 0 }), account: governor });
  const hash = await wallet.writeContract({
    address: registry, abi: committeeRegistryAbi, functionName: 'setParams',
    args: [unbondingDelay, size, slashBps, minThresholdBps, epochLength, handoverGrace],
    account: governor, chain: chains.clients.chain,
  } as never);
  const receipt = await pc.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`setParams(committeeSize ${size}) reverted (tx ${hash})`);
  await pc.request({ method: 'anvil_stopImpersonatingAccount' as never, params: [governor] as never });
}

async function measure(n: number, model: BenchModel, epochLengthSec: number, tries = 3): Promise<BenchRow> {
  const dir = process.env.DESTRA_EPOCH_BENCH_DIR ? join(process.env.DESTRA_EPOCH_BENCH_DIR, `n${n}`) : join(tmpdir(), 'destra-bench-epoch', `n${n}`);
  const phaseMs = Number(process.env.DESTRA_EPOCH_BENCH_PHASE_MS ?? 30_000);
  const startLimit = Number(process.env.DESTRA_EPOCH_BENCH_START_LIMIT ?? 16);
  const startupMs = Number(process.env.DESTRA_EPOCH_BENCH_STARTUP_MS ?? Math.max(60_000, n * 10_000));
  const verbose = process.env.DESTRA_BENCH_VERBOSE === '1';
  const joiner = n + 1;
  const step: Step = async (title, fn) => {
    return verbose ? progressStep(title, fn) : fn();
  };
  const net = new BenchNetwork({
    dir, n, joiners: 1, epochLengthSec, dkgPhaseTimeoutMs: phaseMs, pollIntervalMs: 500, logLevel: 'info', model, step,
    // 16 processes loading the model and dialing each other on 2 cores take minutes, not the devnet's 60 s
    startTimeoutMs: startupMs, genesisTimeoutMs: startupMs + 5 * phaseMs,
    ...(verbose ? { info: progressInfo } : {}),
  }, startLimit);
  stopOnSignal = () => net.stop();
  log(`n=${n}: ${n} node processes (${startLimit} started at a time) + 1 joiner, epochLength ${epochLengthSec} s, DKG phase timeout ${phaseMs} ms (retry window ${secs(5 * phaseMs + 10_000)} s); data and logs in ${dir}`);
  const t0 = performance.now();
  let sampling: ReturnType<typeof sampler> | undefined;
  try {
    try {
      await net.start();
    } catch (err) {
      throw Object.assign(err as Error, { duringStart: true });
    }
    const servedAt = Date.now();
    await net.waitEpoch(1, n, 60_000);
    const pc = net.chains.clients.publicClient;
    const registry = net.chains.deployed.addresses.registry;
    const [info1, epochLength, committeeSize] = await Promise.all([
      pc.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'epochInfo', args: [1n] } as never) as Promise<{ activatedAt: bigint }>,
      pc.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'epochLength' } as never) as Promise<bigint>,
      pc.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'committeeSize' } as never) as Promise<number>,
    ]);
    // The nodes' schedule: due = (activatedAt + epochLength)·1000 on their wall clocks (Date.now()).
    const due = (Number(info1.activatedAt) + Number(epochLength)) * 1000;
    log(`n=${n}: epoch 1 on both chains ${secs(performance.now() - t0)} s after start; activated at chain time ${info1.activatedAt}, epoch 2 due in ${secs(due - Date.now())} s`);
    if (due - Date.now() < MARGIN_MS + 3_000) log(`n=${n}: WARNING: little time before the due time; raise DESTRA_EPOCH_BENCH_EPOCH_SEC for a longer quiet period`);

    sampling = sampler(net, 1);
    // This process also runs the aggregator, its relays and the Solana program (LiteSVM): a blocked event
    // loop here delays the measured answers too, so its delay is reported with them.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // The joiner stakes right after epoch 1 activated (nobody restarts, no file is edited).
    if (Number(committeeSize) < n + 1) {
      await raiseCommitteeSize(net, n + 1);
      log(`n=${n}: governance raised committeeSize ${committeeSize} → ${n + 1} (impersonated governor on anvil), so the joiner adds a member`);
    }
    const stakeStarted = Date.now();
    await net.join(joiner, { start: false });
    const staked = Date.now();
    await net.startNode(joiner);
    const joinerUp = Date.now();
    log(`n=${n}: operator ${joiner} staked (${secs(staked - stakeStarted)} s of transactions, ${secs(due - staked)} s before due); its node started in ${secs(Date.now() - staked)} s`);

    // Epoch 2 on both chains; node 1's /v1/epochs for the DKG attempts.
    let ethAt: number | undefined;
    let solAt: number | undefined;
    let maxAttempt = -1;
    let winning: number | undefined;
    const poller = (async () => {
      while (ethAt === undefined || solAt === undefined) {
        const v = await net.epochsOf(1);
        if (v?.dkg?.epoch === 2) maxAttempt = Math.max(maxAttempt, v.dkg.attempt);
        if (v?.dkgResult?.epoch === 2) winning = Math.max(winning ?? -1, v.dkgResult.attempt); // a later attempt replaces an earlier one
        await sleep(500);
      }
    })();
    const windowMs = 5 * phaseMs + 10_000;
    const timeoutMs = Math.max(240_000, due - Date.now() + 6 * windowMs);
    await waitFor(`epoch 2 (${n + 1} members) on both chains`, async () => {
      const e = await net.chainEpoch();
      const now = Date.now();
      if (ethAt === undefined && e.epoch >= 2 && e.size === n + 1) ethAt = now;
      if (solAt === undefined && e.solana >= 2) solAt = now;
      return ethAt !== undefined && solAt !== undefined ? true : undefined;
    }, timeoutMs, 100).finally(() => {
      ethAt ??= NaN;
      solAt ??= NaN;
    });
    await poller;
    const active = Math.max(ethAt!, solAt!);
    log(`n=${n}: epoch 2 on Ethereum ${secs(ethAt! - due)} s and on Solana ${secs(solAt! - due)} s after the due time`);
    if (winning === undefined) {
      const views = await Promise.all(net.running().map((k) => net.epochsOf(k)));
      winning = views.find((v) => v?.dkgResult?.epoch === 2)?.dkgResult?.attempt;
    }
    await sleep(Math.max(0, active + MARGIN_MS - Date.now()));
    await sampling.stop();
    loopDelay.disable();
    log(`n=${n}: this process's event loop delay while sampling: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`);
    const samples = sampling.samples;
    sampling = undefined;

    // quiet: the joiner's node is up (its start-up takes seconds of CPU) and the due time is ≥ 5 s away
    const quietFrom = Math.max(servedAt + WARMUP_MS, joinerUp + 1_000);
    const quiet = samples.filter((s) => s.sent >= quietFrom && s.sent < due - MARGIN_MS);
    if (quiet.length < 20) log(`n=${n}: WARNING: only ${quiet.length} quiet samples (${secs(due - MARGIN_MS - quietFrom)} s); raise DESTRA_EPOCH_BENCH_EPOCH_SEC`);
    const transition = samples.filter((s) => s.sent >= due - MARGIN_MS && s.sent <= active + MARGIN_MS);
    const lat = (list: Sample[]) => list.filter((s) => s.ms !== undefined).map((s) => s.ms!).sort((a, b) => a - b);
    const q = lat(quiet);
    const tr = lat(transition);
    const failed = transition.filter((s) => s.error);
    if (failed.length > 0) {
      log(`n=${n}: ${failed.length} transition requests unanswered, sent at due ${failed.map((s) => `${s.sent >= due ? '+' : ''}${secs(s.sent - due)}`).join(', ')} s (active at due +${secs(active - due)} s): ${[...new Set(failed.map((s) => s.error!.replace(/"requestId":"0x[0-9a-f]+",/, '').slice(0, 120)))].join('; ')}`);
    }
    const byEpoch = (e: number) => transition.filter((s) => s.epoch === e).length;
    const pp = (l: number[]) => (l.length === 0 ? '-' : `${pct(l, 50).toFixed(0)} / ${pct(l, 99).toFixed(0)}`);
    return {
      n,
      'members e1→e2': `${n}→${n + 1}`,
      'stake→active s': (active - staked) / 1000,
      'due→active s': (active - due) / 1000,
      'DKG attempts': winning !== undefined ? winning + 1 : maxAttempt >= 0 ? `${maxAttempt + 1}?` : '?',
      'quiet p50/p99 ms': pp(q),
      'quiet answered': `${q.length}/${quiet.length}`,
      'transition p50/p99 ms': pp(tr),
      'answered/total': `${tr.length}/${transition.length}`,
      'answers e1/e2': `${byEpoch(1)}/${byEpoch(2)}`,
      'load 1m': loadavg()[0]!,
    };
  } catch (err) {
    if ((err as { duringStart?: boolean }).duringStart && /did not start within/.test((err as Error).message) && tries > 1) {
      log(`n=${n}: the network did not start (${(err as Error).message}); trying again`);
      await net.stop();
      return measure(n, model, epochLengthSec, tries - 1);
    }
    log(`n=${n}: FAILED after ${secs(performance.now() - t0)} s: ${(err as Error).message} (logs in ${dir})`);
    return { n, 'members e1→e2': `${n}→${n + 1}`, 'stake→active s': 'failed', 'due→active s': (err as Error).message.slice(0, 80) };
  } finally {
    await sampling?.stop().catch(() => undefined);
    await net.stop();
    stopOnSignal = undefined;
  }
}

/** What Ctrl-C / SIGTERM stops before exiting (the network of the size being measured). */
let stopOnSignal: (() => Promise<void>) | undefined;

export async function run(): Promise<void> {
  const sizes = (process.env.DESTRA_EPOCH_BENCH_SIZES ?? '7,16').split(',').map((s) => Number(s.trim())).filter((s) => s > 0);
  if (sizes.some((s) => !Number.isInteger(s) || s > 64)) throw new Error(`DESTRA_EPOCH_BENCH_SIZES: integers in 1..64, got ${process.env.DESTRA_EPOCH_BENCH_SIZES}`);
  const epochLengthSec = Number(process.env.DESTRA_EPOCH_BENCH_EPOCH_SEC ?? 40);
  const onSignal = (signal: NodeJS.Signals) => {
    process.stdout.write(`\n${signal}: stopping the network…\n`);
    void (stopOnSignal?.() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const model = await loadBenchModel();
  const rows: BenchRow[] = [];
  try {
    for (const n of sizes) rows.push(await measure(n, model, epochLengthSec));
  } finally {
    await model.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  printTable(
    `epoch rotation with real node processes: operator n+1 stakes right after epoch 1; epoch length ${epochLengthSec} s; ` +
      `on-demand rounds on operator 1 every ${INTERVAL_MS} ms (quiet: joiner up … due − 5 s; transition: due − 5 s … active + 5 s)`,
    rows,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
