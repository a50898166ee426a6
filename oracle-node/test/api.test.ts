// HTTP API of a single-member committee (1-of-1, real DKG, ONNX engine, real aggregator service): every route,
// the OpenAPI document against the registered routes, error handling and the dashboard page.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartialVerifier, domainTag, fromHex, rootSigningMessage, verify } from '@destra/protocol';
import { AggregatorService } from '@destra/aggregator';
import { buildApi } from '../src/api/server.ts';
import { DestraHost } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import { startNode, type OracleNode } from '../src/node.ts';
import { MAX_INPUT_BYTES, topics } from '../src/wire.ts';
import { PASSWORD, makeCommittee } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-api-'));
let node: OracleNode;
let aggHost: DestraHost;
let agg: AggregatorService;

beforeAll(async () => {
  process.env.DESTRA_TEST_PASSWORD = PASSWORD;
  const fx = await makeCommittee(dir, 1, 1);
  const cfg = fx.configs[0]!;
  aggHost = await DestraHost.create({
    domain: domainTag(cfg.network),
    privateKey: fx.aggregator.privateKey,
    listen: [`/ip4/127.0.0.1/tcp/${fx.aggregator.port}`],
    role: 'aggregator',
    index: 1,
    operatorSecret: fx.aggregator.secret,
    registry: new Registry([
      { role: 'member', index: 1, operatorKey: fx.members[0]!.operatorKey },
      { role: 'aggregator', index: 1, operatorKey: fx.aggregator.operatorKey },
    ]),
    topics: Object.values(topics(cfg.network)),
    log: captureLog('warn').log,
  });
  node = await startNode({ ...cfg, models: { models: ['tx-anomaly'] } }, { log: captureLog('warn').log });
  const key = await node.ready();
  agg = await AggregatorService.create({ host: aggHost, network: cfg.network, epoch: 1, verifier: await PartialVerifier.create(key.sharing), log: captureLog('warn').log });
  await agg.start();
  await aggHost.waitForPeers((p) => p.length === 1);
}, 60_000);

afterAll(async () => {
  agg?.stop();
  await node?.stop();
  await aggHost?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${node.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('node HTTP API', () => {
  it('serves health, committee, metrics', async () => {
    const health = await (await fetch(`${node.url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', index: 1, epoch: 1, hasKeyShare: true, peers: { members: 0, aggregators: 1 } });
    const committee = (await (await fetch(`${node.url}/v1/committee`)).json()) as Record<string, any>;
    expect(committee).toMatchObject({ epoch: 1, threshold: 1, size: 1 });
    expect(committee.groupKey).toMatch(/^0x[0-9a-f]{192}$/);
    expect(committee.members[0]).toMatchObject({ index: 1, self: true, qualified: true });
    expect(committee.aggregators[0]).toMatchObject({ index: 1, connected: true });
    const metrics = await fetch(`${node.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await metrics.text()).toMatch(/# TYPE destra_round_latency_seconds histogram/);
  });

  it('answers /v1/infer (hex and byte-array input) and serves the report by id', async () => {
    // Plain numbers go through the model's input encoder (10 features, fixed point scale 16).
    const values = [0.5, -1, 2, 1, 0, 0.25, 3, -0.5, 1.5, 0];
    const res = await post('/v1/infer', { model: 'tx-anomaly', input: values });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(verify(fromHex(body.groupKey), rootSigningMessage(fromHex(body.root)), fromHex(body.signature))).toBe(true);
    expect(body.decoded.output.length).toBeGreaterThan(0);
    const again = (await (await fetch(`${node.url}/v1/reports/${body.requestId}`)).json()) as Record<string, any>;
    expect(again.report).toBe(body.report);
    const rounds = (await (await fetch(`${node.url}/v1/rounds?limit=5`)).json()) as any[];
    expect(rounds[0]).toMatchObject({ requestId: body.requestId, status: 'done', signers: [1] });
    expect(rounds[0].latencyMs).toBeGreaterThanOrEqual(0);
    // The same input as canonical hex bytes yields the same report output (deterministic inference).
    const hex = `0x${values.map((v) => BigInt.asUintN(64, BigInt(Math.round(v * 16))).toString(16).padStart(16, '0')).join('')}`;
    const hexRes = await post('/v1/infer', { model: 'tx-anomaly', input: hex });
    const hexBody = (await hexRes.json()) as Record<string, any>;
    expect(hexBody.decoded.output).toEqual(body.decoded.output);
    expect(hexBody.decoded.inputHash).toBe(body.decoded.inputHash);
  });

  it('rejects malformed and oversized requests with a reason', async () => {
    const cases: [unknown, number, RegExp][] = [
      ['not json', 400, /JSON/],
      [{ model: 'tx-anomaly' }, 400, /input/],
      [{ model: '', input: '0x00' }, 400, /model/],
      [{ model: 'tx-anomaly', input: '0xabc' }, 400, /hex/],
      [{ model: 'tx-anomaly', input: [1, 2] }, 400, /10|values|expected/i],
      [{ model: 'tx-anomaly', input: '0x00' }, 400, /bytes|length|80/i],
      [{ model: 'tx-anomaly', input: '0x00', extra: 1 }, 400, /Unrecognized|extra/i],
      [{ model: 'nope', input: '0x00' }, 400, /nope|unknown/i],
    ];
    for (const [body, status, msg] of cases) {
      const res = await post('/v1/infer', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(((await res.json()) as { message: string }).message).toMatch(msg);
    }
    const big = await post('/v1/infer', { model: 'tx-anomaly', input: `0x${'00'.repeat(MAX_INPUT_BYTES + 1)}` });
    expect(big.status).toBe(400);
    const huge = await post('/v1/infer', { model: 'tx-anomaly', input: `0x${'00'.repeat(4 * MAX_INPUT_BYTES + 1)}` });
    expect(huge.status).toBe(413);
    expect((await fetch(`${node.url}/v1/reports/0x12`)).status).toBe(400);
    expect((await fetch(`${node.url}/v1/reports/0x${'00'.repeat(32)}`)).status).toBe(404);
    expect((await fetch(`${node.url}/v1/rounds?limit=0`)).status).toBe(400);
    expect((await fetch(`${node.url}/nope`)).status).toBe(404);
  });

  it('publishes an OpenAPI 3.1 document listing every route', async () => {
    const doc = (await (await fetch(`${node.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const app = buildApi({} as never);
    const routes = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)));
    expect([...documented].sort()).toEqual([...routes].sort());
  });

  it('serves the dashboard page with live data', async () => {
    const res = await fetch(`${node.url}/`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    // First paint's data is embedded as JSON; /assets/dashboard.js renders it and polls /v1/dashboard.
    const initial = JSON.parse(html.match(/<script type="application\/json" id="initial">(.*?)<\/script>/s)![1]!) as Record<string, any>;
    expect(initial.dashboard.committee).toMatchObject({ epoch: 1, members: [{ index: 1, self: true }] });
    expect(initial.dashboard.rounds[0].requestId).toMatch(/^0x/);
    expect(await (await fetch(`${node.url}/assets/dashboard.js`)).text()).toMatch(/fetch\('\/v1\/dashboard'\)/);
    const data = (await (await fetch(`${node.url}/v1/dashboard`)).json()) as Record<string, any>;
    expect(data.committee.members[0].partials.combined).toBeGreaterThan(0);
  });
  // Last: it takes the aggregator away.
  it('/health turns degraded (503) and says why when no configured aggregator is connected (no relay path)', async () => {
    agg.stop();
    await aggHost.stop();
    const deadline = Date.now() + 10_000;
    while (node.host.peersWithRole('aggregator').length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${node.url}/health`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; reasons?: string[] };
    expect(body.status).toBe('degraded');
    expect(body.reasons?.[0]).toMatch(/no relay path/);
  });
});
