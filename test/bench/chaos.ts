// `npm run bench -- chaos`: the chaos scenario matrix (test/chaos/matrix.ts) on one network of n node
// processes, each in its own network namespace, then an epoch rotation (operator n+1 joins) under loss.
// Prints per scenario: requests, answered, lost, wrong accepted, p99 latency, recovery time after the
// heal and the invariants that failed; last line `chaos: scenarios <s>, wrong accepted <w>, lost <l>`.
//   DESTRA_CHAOS_N (default 7), DESTRA_CHAOS_FAULT_SEC (how long each fault lasts, default 30),
//   DESTRA_CHAOS_ONLY (run the scenarios whose name contains it), DESTRA_CHAOS_EPOCH_SEC (epoch length,
//   default 900: the rotation scenario waits up to two epochs for the joiner), DESTRA_CHAOS_DIR (keep data and logs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { loadBenchModel } from './inference.ts';
import { thresholdOf, waitFor } from '../devnet/live-network.ts';
import { ChaosNetwork } from '../chaos/chaos-network.ts';
import { matrix } from '../chaos/matrix.ts';
import { delayUnavailable, unavailableReason } from '../chaos/netns.ts';
import { runScenario, type Scenario, type ScenarioResult } from '../chaos/scenarios.ts';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: a positive number, got ${process.env[name]}`);
  return v;
};

/** Operator n+1 stakes under 3% loss; an epoch with it in the committee must become active on both chains. */
function rotation(n: number, epochLengthSec: number): Scenario {
  return {
    name: `epoch rotation: operator ${n + 1} joins under 3% loss`,
    run: async (ctx) => {
      const live = ctx.c.live;
      for (const k of ctx.members) await ctx.c.netns.shape(k, { lossPct: 3 });
      const { epoch } = await live.chainEpoch();
      await live.join(n + 1);
      await ctx.c.netns.shape(n + 1, { lossPct: 3 });
      // The stake may land after epoch+1's committee was chosen: then the joiner enters at epoch+2, two
      // epochs on. The committee's size is not the test: members slashed by earlier rows (equivocators)
      // leave it, so it is the first epoch from epoch+1 active on both chains with operator n+1 in it.
      ctx.log(`  operator ${n + 1} staked in epoch ${epoch}; waiting for the first epoch from ${epoch + 1} with operator ${n + 1} in its committee`);
      const joined = await waitFor(`an epoch from ${epoch + 1} on both chains with operator ${n + 1} in its committee`, async () => {
        const e = await live.chainEpoch();
        if (e.epoch < epoch + 1 || e.solana < e.epoch) return undefined;
        const index = await live.indexIn(n + 1, e.epoch);
        return index === undefined ? undefined : { epoch: e.epoch, size: e.size, index };
      }, (2 * epochLengthSec + 240) * 1000, 1000);
      ctx.log(`  epoch ${joined.epoch} active on both chains: ${joined.size} members, operator ${n + 1} is member ${joined.index}`);
    },
  };
}

export async function run(): Promise<void> {
  const why = unavailableReason();
  if (why) {
    console.log(`chaos: skipped: ${why}`);
    return;
  }
  const n = num('DESTRA_CHAOS_N', 7);
  const faultMs = num('DESTRA_CHAOS_FAULT_SEC', 30) * 1000;
  const epochLengthSec = num('DESTRA_CHAOS_EPOCH_SEC', 900);
  const only = process.env.DESTRA_CHAOS_ONLY;
  const noDelay = delayUnavailable();
  const scenarios = [...matrix({ n, faultMs }), rotation(n, epochLengthSec)].filter((s) => (!only || s.name.includes(only)) && !(s.needsDelay && noDelay));
  const dir = process.env.DESTRA_CHAOS_DIR ?? mkdtempSync(join(tmpdir(), 'destra-chaos-bench-'));
  const t0 = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  log(`n=${n}, ${scenarios.length} scenarios, faults last ${faultMs / 1000} s, delay ${noDelay ? `unavailable, delay rows skipped: ${noDelay}` : 'by netdelay (NFQUEUE)'}; data and logs in ${dir}`);
  const model = await loadBenchModel();
  const c = new ChaosNetwork({ dir, network: 'chaos', n, joiners: 1, epochLengthSec, logLevel: 'info', model, startTimeoutMs: 240_000, genesisTimeoutMs: 300_000, dkgPhaseTimeoutMs: 30_000, step: async (title, fn) => (log(title), fn()) });
  const results: ScenarioResult[] = [];
  let started = false; // a network that did not come up keeps its logs
  try {
    await c.start();
    started = true;
    for (const s of scenarios) {
      log(`scenario: ${s.name}`);
      const r = await runScenario(c, s, { intervalMs: 1500, answerBoundMs: 120_000, log }).catch((err: Error) => ({
        scenario: s.name, requests: 0, answered: 0, lost: 0, wrongAccepted: 0, p99Ms: 0, recoveryMs: 0, violations: [`did not run: ${err.message}`], unnamed: [], slashed: [],
      }));
      results.push(r);
      log(`  ${r.answered}/${r.requests} answered, ${r.lost} lost, ${r.wrongAccepted} wrong, p99 ${Math.round(r.p99Ms)} ms, recovery ${Math.round(r.recoveryMs)} ms${r.violations.length ? `; VIOLATED: ${r.violations.join('; ')}` : ''}`);
    }
  } finally {
    await c.stop();
    await model.close();
    if (!process.env.DESTRA_CHAOS_DIR && started && results.every((r) => r.violations.length === 0)) rmSync(dir, { recursive: true, force: true });
  }
  const rows: BenchRow[] = results.map((r) => ({
    scenario: r.scenario,
    requests: r.requests,
    answered: r.answered,
    lost: r.lost,
    'wrong accepted': r.wrongAccepted,
    'p99 ms': Math.round(r.p99Ms),
    'recovery after heal s': Number((r.recoveryMs / 1000).toFixed(1)),
    invariants: r.violations.length ? r.violations.join('; ') : 'held',
    'faulty not named': r.unnamed.length ? r.unnamed.join(', ') : '-',
    'slashed on chain': r.slashed.length ? r.slashed.join(', ') : '-',
  }));
  printTable(`chaos matrix at n=${n} (t=${thresholdOf(n)}), node processes in network namespaces, faults ${faultMs / 1000} s`, rows);
  const wrong = results.reduce((a, r) => a + r.wrongAccepted, 0);
  const lost = results.reduce((a, r) => a + r.lost, 0);
  console.log(`chaos: scenarios ${results.length}, wrong accepted ${wrong}, lost ${lost}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
