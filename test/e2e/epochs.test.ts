// Live epochs end to end with real node processes (test/devnet/live-network.ts): node configs without a
// member list follow CommitteeRegistry, rotate as the chain says, and every handover is threshold-signed
// by the outgoing committee and relayed to Ethereum (anvil) and Solana (LiteSVM) by the in-process
// aggregator. One network for all scenarios, in order, with requests on both chains every second
// throughout (alternating Ethereum and Solana):
//  (a) a joiner (epoch 2 has 5 members) and a leaver (epoch 3 has 4): requests straddle each boundary on
//      both chains, every one answered and equal to a local recomputation;
//  (b) a member offline across a boundary (node 2 stopped in epoch 3): epoch 4's DKG runs with the other
//      three (≥ t), and node 2, restarted from the same config, is back as the chain says — in epoch 4's
//      committee without a share (observer), then a member again of epoch 5;
//  (c) a failed DKG that is retried: operators 6 and 7 stake but their nodes are down, so epoch 6's
//      committee (6 members, t = 5) has 4 live members: the attempt fails, the chain stays on epoch 5 and
//      its committee keeps answering; nodes 6 and 7 start and a later attempt (attempt > 0) completes;
//  (d) kill -9 of a member under load: every request still answered; the restarted node resumes from its
//      SQLite store (its epoch key share) and signs again;
//  (e) (skipped: a known aggregator bug, see there) a stake landing between a handover's signing and its
//      relay must not split the chains.
// Bounded in time and self-stopping: afterAll stops every process. Logs stay in the printed directory
// when a scenario fails (DESTRA_E2E_KEEP=1 keeps them always).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeReport, toHex } from '@destra/protocol';
import { NodeStore } from '@destra/oracle-node';
import type { BenchModel } from '../bench/inference.ts';
import type { EpochsView, LiveNetwork, TrackedRequest } from '../devnet/live-network.ts';

const N = 4;
/** Governance's epoch length: a rotation's DKG is due this long after the epoch was activated. */
const EPOCH_SECONDS = 20;
/** DKG phase timeout: a retry window is 5 phases + 10 s = 25 s. */
const PHASE_MS = 3000;

// The real ONNX engine (oracle-node/src/inference + onnxruntime) must load; otherwise the scenarios are
// reported as skipped with the reason, never faked.
const engine: { model?: BenchModel; reason?: string } = await (async () => {
  if (!existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)))) {
    return { reason: 'oracle-node/src/inference (the ONNX inference engine) is not present' };
  }
  try {
    const { loadBenchModel } = await import('../bench/inference.ts');
    const model = await loadBenchModel();
    await model.inference.infer(model.model, model.input(0));
    return { model };
  } catch (err) {
    return { reason: `the ONNX inference engine does not load: ${(err as Error).message.split('\n')[0]}` };
  }
})();
if (engine.reason) console.warn(`e2e epochs skipped: ${engine.reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

const RUNNING = new Set(['init', 'deal', 'complaint', 'justification']);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe.skipIf(!engine.model)('e2e: live epochs with node processes (join, leave, offline member, failed DKG, kill -9)', () => {
  let net: LiveNetwork;
  let dir: string;
  let traffic: { stop(): Promise<void> } | undefined;
  let failed = false;
  const started = performance.now();

  /** Every request submitted since `t0` (performance.now()). */
  const since = (t0: number): TrackedRequest[] => net.requests.filter((r) => r.submittedAt >= t0);

  /** All answered on their chains and equal to a local recomputation. */
  async function expectVerified(list: TrackedRequest[], what: string): Promise<void> {
    const { lost, verified } = await net.verify(list, 90_000);
    const bad = list.filter((r) => !r.verified).map((r) => `${r.chain} submitted in epoch ${r.submittedEpoch}: ${r.detail}`);
    expect(bad, `${what}: ${lost} lost`).toEqual([]);
    expect(verified).toBe(list.length);
  }

  const viewOf = (k: number): Promise<EpochsView | undefined> => net.epochsOf(k);
  const addr = (k: number) => net.address(k).toLowerCase();
  const inNext = (v: EpochsView | undefined, k: number) => !!v?.next?.members.some((m) => m.address?.toLowerCase() === addr(k));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'destra-epochs-'));
    failed = true; // until the network is up: a failed start keeps its logs
    const { LiveNetwork } = await import('../devnet/live-network.ts');
    // operators 1..4 at genesis; 5 joins in (a); 6 and 7 join in (c); 8 stakes in (e)
    net = new LiveNetwork({ dir, network: 'epochs-e2e', n: N, joiners: 4, epochLengthSec: EPOCH_SECONDS, dkgPhaseTimeoutMs: PHASE_MS, logLevel: 'info', model: engine.model! });
    await net.start();
    failed = false;
    console.log(`epochs e2e: genesis done in ${secs(performance.now() - started)}, data and logs in ${dir}`);
    // a request every second for the whole run, alternating Ethereum and Solana
    traffic = net.traffic({ intervalMs: 1000, firstVariant: 1000, onError: (i, err) => console.warn(`request ${i} not submitted: ${err.message}`) });
  }, 180_000);

  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      failed = true;
    });
  });

  afterAll(async () => {
    await traffic?.stop();
    await net?.stop();
    await engine.model?.close();
    console.log(`epochs e2e: ${secs(performance.now() - started)} in all, ${net?.requests.length ?? 0} requests`);
    if (dir && (failed || process.env.DESTRA_E2E_KEEP)) console.warn(`epochs e2e: logs kept in ${dir}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  it('(a) a joiner and a leaver: requests straddling each boundary on both chains are answered, outputs equal to local inference', async () => {
    const t0 = performance.now();
    // operator 5 stakes and starts its node: nobody restarts, no file is edited
    await net.join(5);
    await net.waitEpoch(2, N + 1, 120_000);
    // operator 1 unbonds: the chain selects 2..5 for epoch 3
    await net.leave(1);
    await net.waitEpoch(3, N, 120_000);
    expect(await net.indexIn(1, 3)).toBeUndefined();
    expect(await net.indexIn(5, 3)).toBeDefined();
    // the leaver keeps following the chain as an observer; stopped afterwards (it has no part any more)
    const leaver = await until('node 1 to see epoch 3', async () => {
      const v = await viewOf(1);
      return v?.epoch === 3 ? v : undefined;
    }, 30_000);
    expect(leaver.member).toBe(false);
    await net.stopNode(1);
    await sleep(2000); // a few requests in epoch 3 on both chains
    const list = since(t0);
    await expectVerified(list, '(a)');
    // requests on each chain submitted shortly before each boundary (as that chain saw it) and after it
    for (const epoch of [2, 3]) {
      const seen = net.epochs.get(epoch)!;
      for (const chain of ['ethereum', 'solana'] as const) {
        const at = chain === 'ethereum' ? seen.ethereumAt! : seen.solanaAt!;
        const mine = list.filter((r) => r.chain === chain);
        const before = mine.filter((r) => r.submittedAt < at && r.submittedAt > at - 8000);
        const after = mine.filter((r) => r.submittedAt > at);
        expect(before.length, `${chain} requests in the 8 s before epoch ${epoch}`).toBeGreaterThan(0);
        expect(after.length, `${chain} requests after epoch ${epoch}`).toBeGreaterThan(0);
        const straddling = before.filter((r) => r.answeredAt! > at).length;
        console.log(`(a) epoch ${epoch} on ${chain}: ${before.length} request(s) in the 8 s before the boundary (${straddling} answered after it), ${after.length} after`);
      }
    }
    console.log(`(a) ${list.length} requests verified; epochs 1 → 2 → 3 in ${secs(performance.now() - t0)}`);
  }, 240_000);

  it('(b) a member offline across a boundary: the rotation happens with the rest, the node restarted later is back as the chain says', async () => {
    const t0 = performance.now();
    const config = readFileSync(net.committee.nodeConfigPaths[1]!, 'utf8');
    // node 2 goes down in epoch 3, before epoch 4's DKG started
    const before = await viewOf(2);
    expect(before?.epoch).toBe(3);
    if (before?.dkg?.epoch === 4) throw new Error('epoch 4\'s DKG started before node 2 could be stopped (the machine is too slow for EPOCH_SECONDS)');
    await net.stopNode(2);
    expect((await net.chainEpoch()).epoch).toBe(3);
    // epoch 4: the same four operators (node 2 keeps its stake), DKG among the three that run (t = 3)
    await net.waitEpoch(4, N, 120_000);
    const rotatedAt = performance.now();
    // restarted at once (before epoch 5's DKG is due) from the very same config file
    expect(readFileSync(net.committee.nodeConfigPaths[1]!, 'utf8')).toBe(config);
    await net.restart(2);
    expect(await net.indexIn(2, 4)).toBeDefined();
    await until('nodes 3, 4 and 5 to serve epoch 4 as members', async () => (await Promise.all([3, 4, 5].map(viewOf))).every((v) => v?.epoch === 4 && v.member), 15_000);
    const back = await until('node 2 to follow the chain again', async () => {
      const v = await viewOf(2);
      return v && v.epoch === 4 && v.next ? v : undefined;
    }, 60_000);
    // in epoch 4's committee on chain, but its DKG ran without it: no share, so it observes; it is in the
    // committee the chain selects next ...
    expect(back.member).toBe(false);
    expect(back.error).toBeNull();
    expect(inNext(back, 2)).toBe(true);
    // ... and at the next rotation it takes part again: a member of epoch 5
    await net.waitEpoch(5, N, 120_000);
    await until('node 2 to serve epoch 5 as a member', async () => {
      const v = await viewOf(2);
      return v?.epoch === 5 && v.member;
    }, 15_000);
    await expectVerified(since(t0), '(b)');
    console.log(`(b) epoch 3 → 4 without node 2 (${secs(rotatedAt - t0)}); node 2 back as an observer of epoch 4, a member of epoch 5; ${since(t0).length} requests verified in ${secs(performance.now() - t0)}`);
  }, 240_000);

  it('(c) a failed DKG is retried: the chain stays on the current epoch, whose committee keeps answering, and a later attempt completes', async () => {
    const t0 = performance.now();
    const current = (await net.chainEpoch()).epoch;
    const target = current + 1;
    // the stakes must land before the target epoch's DKG is due (a stake between a DKG and its relay is
    // scenario (e))
    for (const k of net.running()) {
      if ((await viewOf(k))?.dkg?.epoch === target) throw new Error(`epoch ${target}'s DKG started before (c) could change the committee (the machine is too slow for EPOCH_SECONDS)`);
    }
    // operators 6 and 7 stake (node info published) but their nodes are down: the chain selects 2..7
    // (t = 5) for the target epoch and only 2..5 run
    await net.join(6, { start: false });
    await net.join(7, { start: false });
    const next = await until('the nodes to see the six-member next committee', async () => {
      const v = await viewOf(3);
      return v?.next && v.next.members.length === 6 ? v.next : undefined;
    }, 30_000);
    expect(next.threshold).toBe(5);
    // an attempt with the six-member committee runs, and fails (four live members < t)
    let attempt = -1;
    const failedAt = await until('a DKG attempt of the six-member committee to fail', async () => {
      for (const k of [2, 3, 4, 5]) {
        const v = await viewOf(k);
        if (!v?.dkg || v.dkg.epoch !== target || v.next?.members.length !== 6) continue;
        if (RUNNING.has(v.dkg.phase)) attempt = Math.max(attempt, v.dkg.attempt);
        if (attempt >= 0 && v.dkg.attempt === attempt && v.dkg.phase === 'failed') return performance.now();
      }
      return undefined;
    }, 150_000, 200);
    expect((await net.chainEpoch()).epoch).toBe(current);
    const during = since(t0);
    // nodes 6 and 7 come up (started now, checked below): a later attempt completes
    const starting = Promise.all([net.startNode(6), net.startNode(7)]);
    // no gap: everything submitted until the failure is answered by the current committee, the chain
    // staying where it is
    expect(await net.waitAnswered(during, 45_000), 'requests answered during the failed DKG').toBe(true);
    expect(during.filter((r) => r.answeredEpoch !== current).map((r) => `${r.chain}: epoch ${r.answeredEpoch}`)).toEqual([]);
    expect(await net.chainEpoch()).toMatchObject({ epoch: current, solana: current });
    console.log(`(c) attempt ${attempt} for epoch ${target} failed ${secs(failedAt - t0)} after the stakes; ${during.length} requests answered in epoch ${current} meanwhile`);
    await starting;
    const attempts = new Set<number>();
    await until(`epoch ${target} (six members) on both chains`, async () => {
      for (const k of net.running()) {
        const v = await viewOf(k);
        if (v?.dkgResult?.epoch === target) attempts.add(v.dkgResult.attempt);
      }
      const e = await net.chainEpoch();
      return e.epoch >= target && e.size === 6 && e.solana >= target;
    }, 150_000, 300);
    // all six follow the target epoch (GET /v1/epochs); at least t of them hold a share of the attempt
    // that made it. Usually all six do; a node that came up late in a window may have taken part in a
    // ceremony the others had already given up on and sit out the next one (it then observes this epoch).
    const nodes = [2, 3, 4, 5, 6, 7];
    const views = await until(`all six nodes to serve epoch ${target} as members`, async () => {
      const vs = await Promise.all(nodes.map(viewOf));
      return vs.every((v) => v?.epoch === target && v.member) ? vs : undefined;
    }, 15_000).catch(async () => Promise.all(nodes.map(viewOf)));
    for (const [i, v] of views.entries()) expect(v?.epoch, `node ${nodes[i]}`).toBe(target);
    const members = nodes.filter((_, i) => views[i]!.member);
    expect(members.length).toBeGreaterThanOrEqual(next.threshold);
    const made = views.find((v) => v?.member && v.dkg?.epoch === target)?.dkg;
    expect(made, `the ceremony that made epoch ${target} (GET /v1/epochs dkg)`).toBeDefined();
    expect(made!.attempt).toBeGreaterThan(attempt);
    expect(made!.attempt).toBeGreaterThan(0);
    await expectVerified(since(t0), '(c)');
    const observers = nodes.filter((k) => !members.includes(k));
    console.log(
      `(c) epoch ${target} made by attempt ${made!.attempt} (results seen for attempts ${[...attempts].sort().join(', ')}); members ${members.join(', ')}` +
        `${observers.length ? `, observing: ${observers.join(', ')}` : ''}; ${since(t0).length} requests verified in ${secs(performance.now() - t0)}`,
    );
  }, 300_000);

  it('(d) kill -9 of a member under load: every request still answered, the restarted node resumes from its SQLite store', async () => {
    const t0 = performance.now();
    const { epoch } = await net.chainEpoch();
    const views = new Map(await Promise.all(net.running().map(async (k) => [k, await viewOf(k)] as const)));
    const members = [...views].filter(([, v]) => v?.epoch === epoch && v.member).map(([k]) => k);
    const threshold = views.get(members[0]!)!.threshold!;
    const victim = members.includes(4) ? 4 : members[0]!;
    // with a member to spare the others answer while it is down; without, answers wait for its restart
    const spare = members.length - 1 >= threshold;
    // a threshold-signed report the victim stored in its SQLite store before the crash
    const reportOf = async (k: number, id: Uint8Array) => {
      const r = await fetch(`${net.node(k).api}/v1/reports/${toHex(id)}`).catch(() => undefined);
      return r?.ok ? ((await r.json()) as { signature: string }) : undefined;
    };
    const stored = await until(`a report stored by node ${victim}`, async () => {
      for (const r of net.requests.filter((x) => x.answeredEpoch === epoch && x.chain !== 'on-demand').reverse()) {
        const rep = await reportOf(victim, r.id);
        if (rep) return { id: r.id, signature: rep.signature };
      }
      return undefined;
    }, 30_000, 1000);
    await net.kill9(victim);
    expect(net.node(victim).child.signalCode).toBe('SIGKILL');
    await sleep(5000); // requests keep coming, one a second
    const down = since(t0);
    if (spare) expect(await net.waitAnswered(down, 30_000), `requests answered while node ${victim} is down`).toBe(true);
    // its SQLite store as the crash left it: intact, with the report and the epoch's key share
    const store = new NodeStore(join(net.committee.nodeConfigs[victim - 1]!.dataDir, 'node.db'));
    try {
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(toHex(store.getReport(stored.id)!.signature)).toBe(stored.signature);
      expect(store.keyShare(epoch), `node ${victim}'s key share of epoch ${epoch}`).toBeDefined();
    } finally {
      store.close();
    }
    const restartedAt = performance.now();
    const p = await net.startNode(victim);
    // its first activation after the crash: the key share of the epoch, read back from SQLite
    const activation = await until('the restarted node to activate an epoch', async () => {
      const line = readFileSync(p.logFile, 'utf8').split('\n').find((l) => l.includes('"epoch active'));
      return line ? (JSON.parse(line) as { epoch: number; member: boolean; msg: string }) : undefined;
    }, 60_000);
    expect(readFileSync(p.logFile, 'utf8')).not.toContain('stored key share could not be unlocked');
    // (unless the chain rotated while it was down: then it follows the new epoch as the chain says, an
    // observer when that epoch's DKG ran without it, a member again from the next rotation on)
    if (activation.epoch === epoch) expect(activation.member).toBe(true);
    else {
      console.log(`(d) the chain moved to epoch ${activation.epoch} while node ${victim} was down; it came back as ${activation.member ? 'a member' : 'an observer'}`);
      await until(`node ${victim} to serve as a member again`, async () => (await viewOf(victim))?.member, 120_000, 500);
    }
    // and it signs again: a report combined after the restart names its committee index
    await until('a report signed by the restarted node', async () => {
      for (const r of net.results) {
        if (r.at < restartedAt) continue;
        const e = Number(decodeReport(r.signed.report).epoch);
        const index = await net.indexIn(victim, e);
        if (index !== undefined && r.signers.includes(index)) return true;
      }
      return undefined;
    }, 60_000, 1000);
    await sleep(1000);
    const list = since(t0);
    await expectVerified(list, '(d)');
    console.log(
      `(d) node ${victim} (of members ${members.join(', ')}, t = ${threshold}) killed for ${secs(restartedAt - t0)}: ${down.length} requests submitted meanwhile` +
        `${spare ? ' and answered before its restart' : ' (no member to spare: answered after its restart)'}, ${list.length} in all, all verified`,
    );
  }, 180_000);

  // A signed handover whose committee is no longer the selected one (a stake landed between signing and
  // relaying) is refused by Ethereum (HandoverWrongCommittee); the relay lands on Solana — which cannot
  // check the committee — only what Ethereum installed, so the two chains never split. (Found by this
  // scenario: the relay used to land both concurrently, and Solana moved on alone.)
  it('(e) a stake landing between a handover\'s signing and its relay does not split the chains', async () => {
    const { epoch } = await net.chainEpoch();
    const hold = net.holdHandovers();
    try {
      await until(`the handover to epoch ${epoch + 1} to be signed (held at the relay)`, async () => hold.waiting() > 0, 120_000);
      // the chain selects another committee for the next epoch now
      await net.join(8, { start: false });
    } finally {
      hold.release();
    }
    await sleep(5000);
    const e = await net.chainEpoch();
    expect(e.solana, `Solana at epoch ${e.solana}, Ethereum at ${e.epoch}`).toBe(e.epoch);
    const r = await net.solRequest(9999);
    expect(await net.waitAnswered([r], 30_000), 'a Solana request after the refused handover').toBe(true);
  }, 180_000);
});
