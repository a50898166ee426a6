// Four nodes on 127.0.0.1 in one process: DKG over libp2p, then an on-demand request answered with a
// threshold signature that verifies under the group key. Real components throughout: the ONNX inference
// engine with a shipped model, the aggregator's AggregatorService.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartialVerifier, decodeReport, feedId, fromHex, g1ToEip2537, rootSigningMessage, verify, verifyMerkleProof, reportLeaf, domainTag } from '@destra/protocol';
import { AggregatorService } from '@destra/aggregator';
import { DestraHost } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import { startNode, type OracleNode } from '../src/node.ts';
import { CombinedCodec, topics } from '../src/wire.ts';
import { PASSWORD, makeCommittee, type CommitteeFixture } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-net-'));
let fx: CommitteeFixture;
let nodes: OracleNode[] = [];
let aggHost: DestraHost;
let agg: AggregatorService | undefined;

beforeAll(async () => {
  process.env.DESTRA_TEST_PASSWORD = PASSWORD;
  fx = await makeCommittee(dir, 4, 3);
  const cfg = fx.configs[0]!;
  const registry = new Registry([
    ...fx.members.map((m) => ({ role: 'member' as const, index: m.index, operatorKey: m.operatorKey, peerId: m.peerId })),
    { role: 'aggregator' as const, index: 1, operatorKey: fx.aggregator.operatorKey, peerId: fx.aggregator.peerId },
  ]);
  aggHost = await DestraHost.create({
    domain: domainTag(cfg.network),
    privateKey: fx.aggregator.privateKey,
    listen: [`/ip4/127.0.0.1/tcp/${fx.aggregator.port}`],
    role: 'aggregator',
    index: 1,
    operatorSecret: fx.aggregator.secret,
    registry,
    topics: Object.values(topics(cfg.network)),
    log: captureLog('warn').log,
  });
  // The real ONNX engine (oracle-node/src/inference) with one model from the shipped zoo.
  nodes = await Promise.all(fx.configs.map((c) => startNode({ ...c, models: { models: ['tx-anomaly'] } }, { log: captureLog('warn').log })));
}, 120_000);

afterAll(async () => {
  agg?.stop();
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await aggHost?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('four-node committee over libp2p', () => {
  it('runs a DKG: every node holds a share of one group key', async () => {
    const keys = await Promise.all(nodes.map((n) => n.ready()));
    const gk = Buffer.from(keys[0]!.groupKey).toString('hex');
    for (const k of keys) expect(Buffer.from(k.groupKey).toString('hex')).toBe(gk);
    // Every node's share matches the public share everyone derives for it.
    for (const [i, k] of keys.entries()) {
      expect(keys[0]!.sharing.publicShare(i + 1).equals(k.sharing.publicShare(i + 1))).toBe(true);
    }
    const health = await (await fetch(`${nodes[0]!.url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', epoch: 1, hasKeyShare: true, dkg: { phase: 'done' } });
  }, 90_000);

  it('answers /v1/infer with a threshold signature that verifies under the group key', async () => {
    const key = await nodes[0]!.ready();
    agg = await AggregatorService.create({
      host: aggHost,
      network: fx.configs[0]!.network,
      epoch: 1,
      verifier: await PartialVerifier.create(key.sharing),
      log: captureLog('warn').log,
    });
    await agg.start();
    await aggHost.waitForPeers((p) => p.filter((x) => x.role === 'member').length === 4);
    const res = await fetch(`${nodes[1]!.url}/v1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tx-anomaly', input: [0.5, -1, 2, 1, 0, 0.25, 3, -0.5, 1.5, 0] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const report = fromHex(body.report as string);
    const root = fromHex(body.root as string);
    const signature = fromHex(body.signature as string);
    expect(verifyMerkleProof(reportLeaf(report), (body.proof as string[]).map((p) => fromHex(p)), root)).toBe(true);
    expect(verify(fromHex(body.groupKey as string), rootSigningMessage(root), signature)).toBe(true);
    expect(body.signatureEip2537).toBe(`0x${Buffer.from(g1ToEip2537(signature)).toString('hex')}`);
    const decoded = decodeReport(report);
    expect(decoded.kind).toBe(3);
    expect(decoded.output.length).toBeGreaterThan(0);
    expect(Buffer.from(decoded.modelHash).toString('hex')).toBe('f73876be2d45a107a85e3363c8d7f4558ff5f31bec0ce631bba345b961bec9fc');
    expect(decoded.epoch).toBe(1n);
    expect((body.signers as number[]).length).toBeGreaterThanOrEqual(3);

    // Every node stored the combined report from the gossip broadcast.
    const id = body.requestId as string;
    for (const n of nodes) {
      let got: Response | undefined;
      for (let i = 0; i < 50; i++) {
        got = await fetch(`${n.url}/v1/reports/${id}`);
        if (got.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(got!.status).toBe(200);
      expect(((await got!.json()) as Record<string, unknown>).signature).toBe(body.signature);
    }
    const metrics = await (await fetch(`${nodes[1]!.url}/metrics`)).text();
    expect(metrics).toMatch(/destra_rounds_total\{kind="on-demand",outcome="combined"\} 1/);
    expect(metrics).toMatch(/destra_partials_sent_total \d+/);
    expect(metrics).toMatch(/destra_peers\{role="member"\} 3/);

    // A Combined nobody waits for is checked in the members' deferred batch: one whose signature is the
    // group's, but over another root, is refused by every node and nothing is stored.
    const forgedReport = report.slice();
    forgedReport[107] = forgedReport[107]! ^ 0xff; // another request id (docs/report-format.md: id at byte 107)
    const forgedId = forgedReport.slice(107, 139);
    const forged = CombinedCodec.encode({ type: 'combined', v: 1, epoch: 1, root: reportLeaf(forgedReport), signature, entries: [{ requestId: forgedId, report: forgedReport }], signers: [1, 2, 3], invalid: [], conflicting: [] });
    await aggHost.publish(topics(fx.configs[0]!.network).combined, forged);
    for (const n of nodes) {
      let text = '';
      for (let i = 0; i < 50 && !/reason="combined-invalid"\} 1/.test(text); i++) {
        await new Promise((r) => setTimeout(r, 50));
        text = await (await fetch(`${n.url}/metrics`)).text();
      }
      expect(text).toMatch(/destra_messages_rejected_total\{reason="combined-invalid"\} 1/);
      expect((await fetch(`${n.url}/v1/reports/0x${Buffer.from(forgedId).toString('hex')}`)).status).toBe(404);
    }
  }, 60_000);

  it('runs a feed round: every node derives the same report from the round clock', async () => {
    const input = new Uint8Array(80);
    [1, 0.5, -2, 0, 1, 0.25, 0, 3, -1, 0.125].forEach((v, i) => new DataView(input.buffer).setBigInt64(8 * i, BigInt(Math.round(v * 16))));
    const feed = { name: 'tx-anomaly-feed', model: 'tx-anomaly', input, intervalMs: 5000 };
    const now = 1_700_000_012_345;
    for (const n of nodes) n.engine.feedTick(feed, now);
    const id = feedId(feed.name);
    const node = nodes[3]!;
    const deadline = Date.now() + 20_000;
    while (!node.store.getReport(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stored = node.store.getReport(id)!;
    const rep = decodeReport(stored.report);
    expect(rep.kind).toBe(2);
    expect(rep.round).toBe(BigInt(Math.floor(now / 5000)));
    expect(rep.timestamp).toBe(BigInt(Math.floor(now / 5000) * 5));
    expect(verify((await node.ready()).groupKey, rootSigningMessage(stored.root), stored.signature)).toBe(true);
  }, 30_000);
});
