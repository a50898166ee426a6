// The dashboard's data: the quorum rule behind /health `degraded`/`down` (pure, then on a real 4-node
// committee whose members are stopped one by one), the chart history ring over a real SQLite store, the
// round rows (kind, source, destination, failure reason) and the page's embedding of hostile strings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry, Counter } from 'prom-client';
import { ChainType, ReportKind, ReportStatus, anyDestination, domainTag, encodeReport, evmDestination } from '@destra/protocol';
import { embedJson, renderDashboard, dashboardAsset } from '../src/api/dashboard.ts';
import { dashboardRounds, destinationText } from '../src/api/dashboard/rounds.ts';
import { healthHttpCode, quorumState, withQuorum } from '../src/api/quorum.ts';
import type { CommitteeView, NodeStatus } from '../src/api/views.ts';
import { MetricsHistory, SampleRing, quantile } from '../src/metrics-history.ts';
import { packDestination } from '../src/round/destination.ts';
import { NodeStore } from '../src/store/store.ts';
import { startCluster, startClusterAggregator, type Cluster } from './cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-dashboard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const status = (over: Partial<NodeStatus> = {}): NodeStatus => ({
  status: 'ok', network: 'testnet', index: 1, peerId: 'p', epoch: 1, hasKeyShare: true, dkg: { phase: 'done', error: null },
  peers: { members: 3, aggregators: 1 }, uptimeSeconds: 1, ...over,
});
const committee = (online: boolean[], threshold: number, selfIndex = 1): CommitteeView => ({
  epoch: 1, threshold, size: online.length, groupKey: null, aggregators: [],
  members: online.map((connected, i) => ({
    index: i + 1, operatorKey: '0x', peerId: null, connected: i + 1 === selfIndex ? false : connected, self: i + 1 === selfIndex,
    publicShare: null, qualified: true, partials: { combined: 0, invalid: 0, conflicting: 0 },
  })),
});

describe('quorum rule', () => {
  it('ok above t reachable or all reachable, degraded at exactly t, down below t; t = 0 is not judged', () => {
    expect(quorumState(4, 3, 4)).toBe('ok');
    expect(quorumState(3, 3, 4)).toBe('degraded');
    expect(quorumState(2, 3, 4)).toBe('down');
    expect(quorumState(0, 1, 1)).toBe('down');
    expect(quorumState(1, 1, 2)).toBe('degraded');
    // n = t: every member reachable is ok (no margin by design), one lost is down.
    expect(quorumState(1, 1, 1)).toBe('ok');
    expect(quorumState(3, 3, 3)).toBe('ok');
    expect(quorumState(2, 3, 3)).toBe('down');
    expect(quorumState(0, 0, 0)).toBe('ok');
  });

  it('counts this member plus connected members; degraded answers 200, down 503 with the reason', () => {
    const all = withQuorum(status(), committee([true, true, true, true], 3));
    expect(all).toMatchObject({ status: 'ok', quorum: { state: 'ok', reachable: 4, threshold: 3, size: 4 } });
    expect(all.reasons).toBeUndefined();
    const base = status();
    const three = withQuorum(base, committee([true, true, true, false], 3));
    expect(three.status).toBe('degraded');
    expect(three.reasons![0]).toMatch(/only 3 of 4 members reachable, exactly the threshold 3/);
    expect(healthHttpCode(base, three)).toBe(200);
    const two = withQuorum(base, committee([true, false, true, false], 3));
    expect(two).toMatchObject({ status: 'down', quorum: { reachable: 2 } });
    expect(healthHttpCode(base, two)).toBe(503);
  });

  it('leaves a node that is not ok for another reason, or not a member, as it is', () => {
    const noRelay = status({ status: 'degraded', reasons: ['no relay path'] });
    const judged = withQuorum(noRelay, committee([true, true, true, false], 3));
    expect(judged).toMatchObject({ status: 'degraded', reasons: ['no relay path'], quorum: { state: 'degraded' } });
    expect(healthHttpCode(noRelay, judged)).toBe(503);
    const starting = status({ status: 'starting', hasKeyShare: false });
    expect(withQuorum(starting, committee([false, false, false, false], 3))).toEqual(starting);
    const observer = status();
    expect(withQuorum(observer, committee([true, false, false, false], 3, 99))).toEqual(observer);
  });
});

describe('chart history', () => {
  it('SampleRing keeps the newest `capacity` samples, oldest first', () => {
    const r = new SampleRing<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(() => new SampleRing(0)).toThrow(/positive integer/);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('samples what was combined since the previous sample, per kind, with p50/p99 and verified results', async () => {
    const store = new NodeStore(join(dir, 'history.db'));
    const registry = new Registry();
    const rows = new Counter({ name: 'destra_range_rows_total', help: 'h', labelNames: ['stage'] as const, registers: [registry] });
    let n = 0;
    const round = (kind: number, latencyMs: number): void => {
      const requestId = new Uint8Array(32);
      new DataView(requestId.buffer).setUint32(0, ++n);
      store.addRequest({ requestId, round: 0, source: 'test', kind, epoch: 1, model: 'm', input: new Uint8Array(1), timestamp: 1, destination: packDestination(anyDestination()), leader: null });
      store.saveReport({ requestId, round: 0, epoch: 1, report: new Uint8Array(1), root: new Uint8Array(32), signature: new Uint8Array(48), proof: [], signers: [1], invalid: [], conflicting: [], latencyMs, combinedAt: Date.now() });
    };
    round(ReportKind.OnDemand, 999); // before the history starts: in no sample
    const h = new MetricsHistory({ store, registry, capacity: 2 });
    rows.inc({ stage: 'certified-here' }, 7); // the baseline the first sample takes
    for (let i = 1; i <= 100; i++) round(i % 4 === 0 ? ReportKind.Request : ReportKind.OnDemand, i);
    const s1 = await h.sample(1_000);
    expect(s1).toEqual({ t: 1_000, rounds: { 'on-demand': 75, request: 25 }, p50: 50, p99: 99, verified: 100 });
    rows.inc({ stage: 'certified-here' }, 40);
    rows.inc({ stage: 'committed' }, 1000); // not certified: not a verified result
    round(ReportKind.Feed, 12);
    expect(await h.sample(2_000)).toEqual({ t: 2_000, rounds: { feed: 1 }, p50: 12, p99: 12, verified: 41 });
    expect(await h.sample(3_000)).toEqual({ t: 3_000, rounds: {}, p50: null, p99: null, verified: 0 });
    expect(h.view()).toMatchObject({ intervalMs: 5_000, capacity: 2, samples: [{ t: 2_000 }, { t: 3_000 }] });
    store.close();
  });
});

describe('round rows', () => {
  it('name kind, source, destination and why a round failed (recorded error or signed failure status)', () => {
    const store = new NodeStore(join(dir, 'rounds.db'));
    const id = (b: number): Uint8Array => new Uint8Array(32).fill(b);
    const dest = evmDestination(31337n, new Uint8Array(20).fill(0xab));
    store.addRequest({ requestId: id(1), round: 0, source: 'ethereum', kind: ReportKind.Request, epoch: 1, model: '<img src=x onerror=alert(1)>', input: new Uint8Array(0), timestamp: 1, destination: packDestination(dest), leader: null, receivedAt: 1 });
    store.setRequestStatus(id(1), 0, 'failed', 'model not served here: <script>alert(1)</script>');
    store.addRequest({ requestId: id(2), round: 0, source: 'ethereum', kind: ReportKind.Request, epoch: 1, model: 'm', input: new Uint8Array(0), timestamp: 1, destination: packDestination(dest), leader: null, receivedAt: 2 });
    const report = encodeReport({ kind: ReportKind.Request, domain: domainTag('testnet'), epoch: 1n, destination: dest, id: id(2), modelHash: id(3), inputHash: id(4), timestamp: 1n, round: 0n, status: ReportStatus.UnknownModel, output: [] });
    store.saveReport({ requestId: id(2), round: 0, epoch: 1, report, root: new Uint8Array(32), signature: new Uint8Array(48), proof: [], signers: [1, 2], invalid: [3], conflicting: [], latencyMs: 42, combinedAt: 3 });
    const [second, first] = dashboardRounds(store, 10);
    expect(second).toMatchObject({ kind: 'request', source: 'ethereum', destination: `evm 31337 0x${'ab'.repeat(20)}`, failure: 'UNKNOWN_MODEL', latencyMs: 42, signers: [1, 2], invalid: [3] });
    expect(first).toMatchObject({ status: 'failed', failure: 'model not served here: <script>alert(1)</script>', model: '<img src=x onerror=alert(1)>' });
    expect(destinationText(packDestination(anyDestination()))).toBe('any');
    expect(destinationText(new Uint8Array([ChainType.Svm, ...new Uint8Array(64).fill(1)]))).toBe(`svm 0x${'01'.repeat(32)} 0x${'01'.repeat(32)}`);
    expect(destinationText(new Uint8Array(3))).toBe('malformed (3 bytes)');
    store.close();
  });

  it('the page embeds hostile strings as JSON that cannot close its script element, and serves only known assets', () => {
    const hostile = '</script><script>window.pwned=1</script>\u2028';
    expect(embedJson({ m: hostile })).not.toMatch(/<|\u2028/);
    expect(JSON.parse(embedJson({ m: hostile }))).toEqual({ m: hostile });
    const html = renderDashboard(
      { status: status(), committee: committee([true], 1), rounds: [], models: { family: 'x86-64-v3', served: [], refused: [{ model: hostile, exactness: 'exact' as never, family: 'x', reason: hostile }] }, stake: { source: 'none', operators: [] }, relays: { source: 'none', errors: [] } },
      { intervalMs: 5000, capacity: 720, samples: [] },
    );
    expect(html).not.toContain('window.pwned=1</script>');
    expect(html.match(/<script/g)).toHaveLength(3); // the JSON block, uPlot, the dashboard script
    expect(dashboardAsset('uplot.js')!.body).toMatch(/uPlot/);
    expect(dashboardAsset('dashboard.js')!.body).not.toMatch(/\.(inner|outer)HTML|insertAdjacentHTML|document\.write/);
    expect(dashboardAsset('../../node.ts')).toBeUndefined();
    expect(dashboardAsset('constructor')).toBeUndefined();
  });
});

describe('/health on a real 4-node committee (t = 3) as members stop', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(4, 3);
    await startClusterAggregator(cluster);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const health = async (): Promise<{ code: number; body: NodeStatus }> => {
    const r = await fetch(`${cluster.nodes[0]!.url}/health`);
    return { code: r.status, body: (await r.json()) as NodeStatus };
  };
  const until = async (what: string, check: (h: { code: number; body: NodeStatus }) => boolean): Promise<{ code: number; body: NodeStatus }> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const h = await health();
      if (check(h)) return h;
      if (Date.now() > deadline) throw new Error(`/health did not ${what} within 30 s: ${JSON.stringify(h)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('ok with 4 reachable, degraded (200) with 3, down (503) with 2', async () => {
    const ok = await until('say ok with every member reachable', (h) => h.body.quorum?.reachable === 4);
    expect(ok).toMatchObject({ code: 200, body: { status: 'ok', quorum: { state: 'ok', reachable: 4, threshold: 3, size: 4 } } });
    await cluster.nodes[3]!.stop();
    const degraded = await until('turn degraded', (h) => h.body.status !== 'ok');
    expect(degraded).toMatchObject({ code: 200, body: { status: 'degraded', quorum: { state: 'degraded', reachable: 3 } } });
    expect(degraded.body.reasons).toEqual(['only 3 of 4 members reachable, exactly the threshold 3: one more fault stops signing']);
    // The dashboard's header says the same.
    const dash = (await (await fetch(`${cluster.nodes[0]!.url}/v1/dashboard`)).json()) as { status: NodeStatus };
    expect(dash.status.status).toBe('degraded');
    await cluster.nodes[2]!.stop();
    const down = await until('turn down', (h) => h.body.status === 'down');
    expect(down).toMatchObject({ code: 503, body: { quorum: { state: 'down', reachable: 2 } } });
  }, 90_000);
});
