// Chaos scenarios and the invariants checked after each. A scenario sets its Byzantine members and clock
// skews (restarting those members), sends steady requests on both chains while its faults run, heals
// everything, and then every request must be answered within a bound, with the output an honest local
// recomputation gives; the evidence must name every provably faulty member and no honest one; the
// registry (fed by the aggregator's own evidence submission) must slash every equivocating member and no
// honest one; a node killed with -9 must find in its SQLite store every report
// and partial it had.
import { join } from 'node:path';
import { parseEventLogs } from 'viem';
import { toHex } from '@destra/protocol';
import { NodeStore } from '@destra/oracle-node';
import { committeeRegistryAbi } from '@destra/contracts';
import type { TrackedRequest } from '../devnet/live-network.ts';
import { PROVABLE_MODES, SLASHABLE_MODES, type ByzantineMode } from './byzantine.ts';
import type { ChaosNetwork } from './chaos-network.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ScenarioContext {
  c: ChaosNetwork;
  /** Genesis operators 1..n. */
  members: number[];
  /** Random member(s) from `members`, never one of `exclude`. */
  pick(count: number, exclude?: readonly number[]): number[];
  /** kill -9 member k and record what its store held (checked after the scenario); restart later with `restart`. */
  kill9(k: number): Promise<void>;
  restart(k: number): Promise<void>;
  /** Lets `ms` of traffic go by. */
  hold(ms: number): Promise<void>;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** Adds delay/jitter (netdelay): skipped where `delayUnavailable()` says why it cannot. */
  needsDelay?: boolean;
  /** Member → Byzantine mode for the scenario (the members are restarted with it, and honest after). */
  byzantine?: (ctx: ScenarioContext) => Map<number, ByzantineMode>;
  /** Member → clock skew in ms for the scenario. */
  skew?: (ctx: ScenarioContext) => Map<number, number>;
  /** Applies the faults while traffic runs; returns once every fault it made is healed. */
  run(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioResult {
  scenario: string;
  requests: number;
  answered: number;
  lost: number;
  wrongAccepted: number;
  p99Ms: number;
  /** From the last heal until every request submitted before it was answered (0 when none waited). */
  recoveryMs: number;
  /** Invariant violations (empty: all held). */
  violations: string[];
  /** Provably faulty members (equivocate, invalid-partial) the evidence did not name. */
  unnamed: string[];
  /** Members a Slashed event of CommitteeRegistry named during the scenario (`node k (mode)`). */
  slashed: string[];
}

export interface RunOptions {
  /** Requests every `intervalMs` (alternating Ethereum and Solana); default 1500. */
  intervalMs?: number;
  /** Every request must be answered this long after the last heal; default 90 s. */
  answerBoundMs?: number;
  /** Traffic before the faults start and after they heal; default 5 s. */
  marginMs?: number;
  /** How long after the answers a slashable member's Slashed event may take to land; default 60 s. */
  slashBoundMs?: number;
  log?: (line: string) => void;
}

let variantBase = 10_000;

/**
 * Per network: request id → the members that were slashable (equivocating) in the scenario that issued it.
 * Evidence can land after its scenario ended; a Slashed event naming a member that is honest now is that
 * earlier scenario's, not an honest member slashed, when it is for a request the member equivocated on then.
 */
const slashableByRequest = new WeakMap<ChaosNetwork, Map<string, ReadonlySet<number>>>();

export const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function runScenario(c: ChaosNetwork, s: Scenario, o: RunOptions = {}): Promise<ScenarioResult> {
  const live = c.live;
  const log = o.log ?? (() => undefined);
  const members = Array.from({ length: live.n }, (_, i) => i + 1);
  const violations: string[] = [];
  const ctx: ScenarioContext = {
    c,
    members,
    pick: (count, exclude = []) => {
      const pool = members.filter((m) => !exclude.includes(m));
      for (let i = pool.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      }
      return pool.slice(0, count);
    },
    kill9: async (k) => {
      const held = await heldBy(c, k);
      await live.kill9(k);
      // The store as the crash left it (what the restart reads), before anything opens it again.
      const missing = await missingFromStore(c, k, held);
      if (missing) violations.push(`node ${k}'s store after kill -9: ${missing}`);
      log(`  kill -9 node ${k} (its store holds the ${held.reports.length} reports and ${held.partials.length} partials it had)`);
    },
    restart: async (k) => {
      await live.startNode(k);
      log(`  node ${k} restarted`);
    },
    hold: async (ms) => void (await sleep(ms)),
    log,
  };
  const byz = s.byzantine?.(ctx) ?? new Map<number, ByzantineMode>();
  const skew = s.skew?.(ctx) ?? new Map<number, number>();
  const special = [...new Set([...byz.keys(), ...skew.keys()])];
  for (const [k, mode] of byz) c.setByzantine(k, mode);
  for (const [k, ms] of skew) c.setClockSkew(k, ms);
  await Promise.all(special.map((k) => c.restart(k)));
  if (special.length) log(`  ${[...byz].map(([k, m]) => `node ${k} ${m}`).concat([...skew].map(([k, ms]) => `node ${k} clock ${ms / 1000} s`)).join(', ')}`);
  const evidenceFrom = c.evidence.length;
  const registry = live.chains.deployed.addresses.registry;
  const chain = live.chains.clients.publicClient;
  const fromBlock = await chain.getBlockNumber();
  const firstRequest = live.requests.length;
  const traffic = live.traffic({ intervalMs: o.intervalMs ?? 1500, firstVariant: (variantBase += 1000), onError: (i, err) => log(`  request ${i} not submitted: ${err.message}`) });
  let healedAt = performance.now();
  try {
    await sleep(o.marginMs ?? 5000);
    // Two on-demand rounds led by an honest member: their partials are single-report partials, which the
    // aggregator verifies one by one (late ones too), so a faulty member's partial leaves evidence.
    const leader = members.find((k) => !byz.has(k) && live.running().includes(k));
    for (let i = 0; leader !== undefined && i < 2; i++) {
      await live.onDemand(leader, (variantBase += 1)).catch((err: Error) => violations.push(`on-demand round led by node ${leader} failed: ${err.message}`));
    }
    await s.run(ctx);
    healedAt = performance.now();
    c.netns.healAll();
    await sleep(o.marginMs ?? 5000);
  } finally {
    await traffic.stop();
    c.netns.healAll();
    for (const k of members) if (!live.running().includes(k)) await live.startNode(k).catch((err: Error) => violations.push(`node ${k} did not restart: ${err.message}`));
  }
  const list: TrackedRequest[] = live.requests.slice(firstRequest);
  const bound = o.answerBoundMs ?? 90_000;
  const { lost } = await live.verify(list, Math.max(5_000, bound - (performance.now() - healedAt)));
  const wrong = list.filter((r) => r.verified === false && !r.detail?.startsWith('LOST'));
  for (const r of wrong) violations.push(`wrong result accepted: ${r.chain} ${toHex(r.id).slice(0, 18)}…: ${r.detail}`);
  if (lost > 0) {
    const which = list.filter((r) => r.detail?.startsWith('LOST')).slice(0, 3).map((r) => `${r.chain} ${toHex(r.id).slice(0, 18)}… ${r.detail!.slice(6)}`);
    violations.push(`${lost} request(s) not answered within ${bound / 1000} s of the heal (${which.join('; ')})`);
  }
  // Evidence: every provably faulty member named, no honest one.
  const named = c.evidence.slice(evidenceFrom);
  const operatorOf = async (epoch: number, index: number) => {
    const committee = await live.committeeOf(epoch);
    const addr = committee[index - 1]?.toLowerCase();
    return members.find((k) => live.address(k).toLowerCase() === addr);
  };
  const namedOps = new Set<number>();
  for (const e of named) {
    const k = await operatorOf(e.epoch, e.member);
    if (k === undefined) continue;
    namedOps.add(k);
    if (!byz.has(k)) violations.push(`honest node ${k} named for ${e.kind} in epoch ${e.epoch}`);
    if (e.kind === 'equivocation' && !byz.has(k)) violations.push(`honest node ${k} double-signed`);
  }
  // Every member whose fault is provable (invalid partial, equivocation) must be named.
  const unnamed = [...byz].filter(([k, mode]) => PROVABLE_MODES.includes(mode) && !namedOps.has(k)).map(([k, mode]) => `node ${k} (${mode})`);
  for (const u of unnamed) violations.push(`${u} not named in the evidence`);
  // On chain (the aggregator submits equivocation evidence itself): every slashable member slashed in this
  // scenario, and no honest one.
  const slashable = [...byz].filter(([, mode]) => SLASHABLE_MODES.includes(mode)).map(([k]) => k);
  const earlier = slashableByRequest.get(c) ?? new Map<string, ReadonlySet<number>>();
  slashableByRequest.set(c, earlier);
  const slashedOps = new Map<number, number>();
  let late = 0;
  let events = 0;
  const readSlashed = async () => {
    slashedOps.clear();
    late = 0;
    const logs = await chain.getLogs({ address: registry, fromBlock });
    const parsed = parseEventLogs({ abi: committeeRegistryAbi, logs, eventName: 'Slashed' });
    events = parsed.length;
    for (const ev of parsed) {
      const k = members.find((m) => live.address(m).toLowerCase() === String(ev.args.operator).toLowerCase());
      if (k === undefined) continue;
      if (!byz.has(k) && earlier.get(String(ev.args.requestId).toLowerCase())?.has(k)) late++;
      else slashedOps.set(k, (slashedOps.get(k) ?? 0) + 1);
    }
  };
  const slashDeadline = performance.now() + (o.slashBoundMs ?? 60_000);
  await readSlashed();
  while (slashable.some((k) => !slashedOps.has(k)) && performance.now() < slashDeadline) {
    await sleep(2000);
    await readSlashed();
  }
  // Let the evidence still queued land in this scenario (no new Slashed event for 10 s, bounded).
  for (let seen = -1, quietSince = performance.now(); slashable.length && performance.now() < slashDeadline + 30_000; ) {
    if (events !== seen) [seen, quietSince] = [events, performance.now()];
    else if (performance.now() - quietSince >= 10_000) break;
    await sleep(2000);
    await readSlashed();
  }
  if (slashable.length) for (const r of list) earlier.set(toHex(r.id).toLowerCase(), new Set(slashable));
  if (late) log(`  ${late} Slashed event(s) for an earlier scenario's equivocation landed during this one`);
  for (const k of slashable) if (!slashedOps.has(k)) violations.push(`node ${k} (${byz.get(k)}) not slashed on chain within ${(o.slashBoundMs ?? 60_000) / 1000} s`);
  for (const k of slashedOps.keys()) if (!byz.has(k)) violations.push(`honest node ${k} slashed`);
  const slashed = [...slashedOps].map(([k, times]) => `node ${k} (${byz.get(k) ?? 'honest'}) ×${times}`);
  // Back to honest members with true clocks for the next scenario.
  for (const k of byz.keys()) c.setByzantine(k, undefined);
  for (const k of skew.keys()) c.setClockSkew(k, 0);
  await Promise.all(special.map((k) => c.restart(k)));
  const answered = list.filter((r) => r.answeredAt !== undefined);
  const waited = list.filter((r) => r.submittedAt < healedAt && r.answeredAt !== undefined && r.answeredAt > healedAt);
  return {
    scenario: s.name,
    requests: list.length,
    answered: answered.length,
    lost,
    wrongAccepted: wrong.length,
    p99Ms: quantile(answered.map((r) => r.answeredAt! - r.submittedAt), 0.99),
    recoveryMs: waited.length ? Math.max(...waited.map((r) => r.answeredAt! - healedAt)) : 0,
    violations,
    unnamed,
    slashed,
  };
}

/** Reports node k serves now (of answered requests) and requests it signed (its index among the signers). */
async function heldBy(c: ChaosNetwork, k: number): Promise<{ reports: string[]; partials: string[] }> {
  const live = c.live;
  const reports: string[] = [];
  for (const r of live.requests.filter((x) => x.answeredAt !== undefined && x.chain !== 'on-demand').slice(-20)) {
    const res = await fetch(`${live.node(k).api}/v1/reports/${toHex(r.id)}`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
    if (res?.ok) reports.push(toHex(r.id));
  }
  const partials: string[] = [];
  for (const r of live.results.slice(-40)) {
    const epoch = live.epochs.size ? Math.max(...live.epochs.keys()) : 1;
    const index = await live.indexIn(k, epoch);
    if (index !== undefined && r.signers.includes(index)) partials.push(toHex(r.signed.requestId));
  }
  return { reports, partials };
}

/** Opens the dead node's SQLite store: integrity, and every report and own partial it had. */
async function missingFromStore(c: ChaosNetwork, k: number, held: { reports: string[]; partials: string[] }): Promise<string | undefined> {
  const store = new NodeStore(join(c.live.committee.nodeConfigs[k - 1]!.dataDir, 'node.db'));
  try {
    const ok = store.db.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') return `integrity_check says ${String(ok)}`;
    const has = store.db.prepare('SELECT 1 FROM own_partials WHERE request_id = ? LIMIT 1');
    const lostReports = held.reports.filter((id) => !store.getReport(Buffer.from(id.slice(2), 'hex')));
    const lostPartials = held.partials.filter((id) => !has.get(Buffer.from(id.slice(2), 'hex')));
    if (lostReports.length || lostPartials.length) return `${lostReports.length} of ${held.reports.length} reports and ${lostPartials.length} of ${held.partials.length} own partials missing`;
    return undefined;
  } finally {
    store.close();
  }
}
