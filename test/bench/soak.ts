// `npm run bench -- soak -- --minutes 30`: steady load on a chaos network (node processes in their own
// network namespaces) with a fault every --fault-every seconds (5% loss with 100±50 ms delay, kill -9 and restart of a random
// member, a one-member partition, in turn; each healed after --fault-sec), then prints per window
// (--window minutes, default 5): requests, answered, lost, p50/p99 latency; and each process's resident
// memory and open file handles at the start and the end of the load (growth should be flat).
//   --minutes (default 30), --window (default 5), --interval-ms between requests (default 1000),
//   --fault-every (s, default 90), --fault-sec (default 30); DESTRA_SOAK_N nodes (default 4).
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { loadBenchModel } from './inference.ts';
import { thresholdOf } from '../devnet/live-network.ts';
import { ChaosNetwork } from '../chaos/chaos-network.ts';
import { delayUnavailable, unavailableReason } from '../chaos/netns.ts';
import { quantile } from '../chaos/scenarios.ts';
import { fdGrowth, fdKinds } from './fd-kinds.ts';

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: a positive number, got ${process.argv[i + 1]}`);
  return v;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory (MiB) and open file descriptors of a process, from /proc. */
function usage(pid: number | undefined): { rssMiB: number; fds: number } | undefined {
  if (!pid) return undefined;
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { rssMiB: rss ? Number(rss[1]) / 1024 : NaN, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

export async function run(): Promise<void> {
  const why = unavailableReason();
  if (why) {
    console.log(`soak: skipped: ${why}`);
    return;
  }
  const minutes = option('minutes', 30);
  const windowMs = option('window', 5) * 60_000;
  const intervalMs = option('interval-ms', 1000);
  const faultEveryMs = option('fault-every', 90) * 1000;
  const faultMs = option('fault-sec', 30) * 1000;
  const n = Number(process.env.DESTRA_SOAK_N ?? 4);
  const f = n - thresholdOf(n);
  const noDelay = delayUnavailable(); // loss faults then come without delay
  const dir = mkdtempSync(join(tmpdir(), 'destra-soak-'));
  const t0 = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  log(`soak: n=${n}, ${minutes} min, a request every ${intervalMs} ms, a ${faultMs / 1000} s fault every ${faultEveryMs / 1000} s; data and logs in ${dir}`);
  const model = await loadBenchModel();
  const c = new ChaosNetwork({ dir, network: 'soak', n, joiners: 0, epochLengthSec: 3600, logLevel: 'info', model, startTimeoutMs: 240_000, genesisTimeoutMs: 300_000, dkgPhaseTimeoutMs: 30_000, step: async (title, fn) => (log(title), fn()) });
  const live = c.live;
  const members = Array.from({ length: n }, (_, i) => i + 1);
  const usageRows: BenchRow[] = [];
  const restarts = new Map<number, number>();
  const windows: BenchRow[] = [];
  let clean = false;
  try {
    await c.start();
    // Warm up: one answered request each chain, so start-of-run figures are of a serving process.
    await live.verify([await live.ethRequest(1), await live.solRequest(2)], 60_000);
    const atStart = new Map<string, { rssMiB: number; fds: number } | undefined>([['harness (aggregator, LiteSVM)', usage(process.pid)], ...members.map((k) => [`node ${k}`, usage(live.node(k).child.pid)] as const)]);
    // Descriptor kinds of the harness (and each node) at start: a growing count then names its peer.
    const kindsAtStart = new Map<string, [string, number][] | undefined>([['harness', fdKinds(process.pid)], ...members.map((k) => [`node ${k}`, fdKinds(live.node(k).child.pid!)] as const)]);
    const start = performance.now();
    const first = live.requests.length;
    const traffic = live.traffic({ intervalMs, firstVariant: 50_000, onError: (i, err) => log(`request ${i} not submitted: ${err.message}`) });
    const kinds = ['loss', 'kill', 'partition'] as const;
    let cycle = 0;
    try {
      while (performance.now() - start + faultEveryMs <= minutes * 60_000) {
        await sleep(Math.max(0, faultEveryMs - faultMs));
        const kind = kinds[cycle++ % kinds.length]!;
        const victim = members[Math.floor(Math.random() * members.length)];
        if (kind === 'loss') {
          for (const k of members) await c.netns.shape(k, { lossPct: 5, ...(noDelay ? {} : { delayMs: 100, jitterMs: 50 }) }).catch((err: Error) => log(`node ${k} not shaped: ${err.message}`));
        }
        else if (kind === 'partition' && f >= 1) c.netns.partition([victim!], members.filter((m) => m !== victim));
        else if (kind === 'kill') await live.kill9(victim!);
        log(`fault: ${kind === 'loss' ? `5% loss${noDelay ? '' : ' + 100±50 ms delay'} on every link` : kind === 'kill' ? `kill -9 node ${victim}` : `node ${victim} partitioned`}`);
        await sleep(faultMs);
        c.netns.healAll();
        if (kind === 'kill') {
          await live.startNode(victim!);
          restarts.set(victim!, (restarts.get(victim!) ?? 0) + 1);
        }
        const h = usage(process.pid);
        log(`healed; harness RSS ${h?.rssMiB.toFixed(0)} MiB, ${h?.fds} fds (${fdGrowth(kindsAtStart.get('harness') ?? [], fdKinds(process.pid) ?? [], 3).join(', ') || 'no change'})`);
      }
      await sleep(Math.max(0, minutes * 60_000 - (performance.now() - start)));
    } finally {
      await traffic.stop();
      c.netns.healAll();
    }
    // Sampled when the load stops, before the check below: it reads every request's state at once (one
    // connection to anvil each), which is the check's own burst, not what the run left behind.
    const atEnd = new Map<string, { rssMiB: number; fds: number } | undefined>([['harness (aggregator, LiteSVM)', usage(process.pid)], ...members.map((k) => [`node ${k}`, usage(live.node(k).child.pid)] as const)]);
    const kindsAtEnd = new Map<string, [string, number][] | undefined>([['harness', fdKinds(process.pid)], ...members.map((k) => [`node ${k}`, fdKinds(live.node(k).child.pid!)] as const)]);
    const list = live.requests.slice(first);
    await live.verify(list, 120_000);
    for (let w = 0; w * windowMs < minutes * 60_000; w++) {
      const inWindow = list.filter((r) => r.submittedAt - start >= w * windowMs && r.submittedAt - start < (w + 1) * windowMs);
      if (inWindow.length === 0) continue;
      const answered = inWindow.filter((r) => r.verified);
      const lat = answered.map((r) => r.answeredAt! - r.submittedAt);
      windows.push({
        window: `${(w * windowMs) / 60_000}-${Math.min(minutes, ((w + 1) * windowMs) / 60_000)} min`,
        requests: inWindow.length,
        answered: answered.length,
        lost: inWindow.filter((r) => r.detail?.startsWith('LOST')).length,
        wrong: inWindow.filter((r) => r.verified === false && !r.detail?.startsWith('LOST')).length,
        'p50 ms': Math.round(quantile(lat, 0.5)),
        'p99 ms': Math.round(quantile(lat, 0.99)),
      });
    }
    for (const [name, s] of atStart) {
      const e = atEnd.get(name);
      const k = Number(name.split(' ')[1]);
      usageRows.push({
        process: `${name}${restarts.get(k) ? ` (restarted ${restarts.get(k)}x: end is the new process)` : ''}`,
        'RSS MiB start': s ? Number(s.rssMiB.toFixed(1)) : 'n/a',
        'RSS MiB end': e ? Number(e.rssMiB.toFixed(1)) : 'n/a',
        'fds start': s?.fds ?? 'n/a',
        'fds end': e?.fds ?? 'n/a',
      });
    }
    for (const [name, before] of kindsAtStart) {
      const k = Number(name.split(' ')[1]);
      const now = kindsAtEnd.get(name);
      if (before && now && !restarts.get(k)) log(`descriptors of ${name}, change from start to the end of the load: ${fdGrowth(before, now).join(', ') || 'none'}`);
    }
    clean = windows.every((w) => w.lost === 0 && w.wrong === 0);
  } finally {
    await c.stop();
    await model.close();
    if (clean) rmSync(dir, { recursive: true, force: true });
    else console.log(`soak: logs kept in ${dir}`);
  }
  printTable(`soak at n=${n}: ${minutes} min, a request every ${intervalMs} ms (Ethereum and Solana in turn), a ${faultMs / 1000} s fault every ${faultEveryMs / 1000} s`, windows);
  printTable('processes: resident memory and open file handles at the start and the end of the load', usageRows);
  const sum = (col: string) => windows.reduce((a, w) => a + Number(w[col] ?? 0), 0);
  const total = { requests: sum('requests'), lost: sum('lost'), wrong: sum('wrong') };
  console.log(`soak: requests ${total.requests}, lost ${total.lost}, wrong accepted ${total.wrong}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
