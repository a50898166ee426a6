// What a hostile requester and a hostile leader try against a four-node committee (in-process, real
// libp2p, real aggregator service): requests naming unknown models or carrying invalid input, sent to
// several nodes at once, and a proposal full of junk published by a member. Before the fix one such
// request left an unhandled rejection that ended the node process (here: vitest fails the run on it),
// and every junk request was stored on every node before it was checked.
import { existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartialVerifier, domainTag, fromHex, inputHash, onDemandRequestId, rootSigningMessage, verify } from '@destra/protocol';
import { AggregatorService } from '@destra/aggregator';
import { RoundProposalCodec, topics } from '../src/wire.ts';
import { startCluster, startClusterAggregator, type Cluster } from './cluster.ts';
import { captureLog } from './helpers.ts';

let cluster: Cluster;
let agg: AggregatorService;

beforeAll(async () => {
  cluster = await startCluster(4, 3);
  agg = await startClusterAggregator(cluster);
}, 120_000);

afterAll(async () => {
  agg?.stop();
  await cluster?.stop();
});

const post = (url: string, body: unknown) => fetch(`${url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const rows = () => cluster.nodes.map((n) => n.store.counts().requests);

describe('a hostile requester', () => {
  it('gets a 400 naming the fault for unknown models and invalid input; nothing is stored or sent; nodes keep answering', async () => {
    const before = rows();
    const junk: [unknown, RegExp][] = [
      [{ model: 'no-such-model', input: '0x00' }, /UNKNOWN_MODEL/],
      [{ model: '💣'.repeat(30), input: '0x00' }, /UNKNOWN_MODEL/],
      [{ model: '../../etc/passwd', input: '0x00' }, /UNKNOWN_MODEL/],
      [{ model: 'arith', input: `0x${'00'.repeat(2048)}` }, /INFERENCE_INPUT/],
    ];
    // The same junk to two nodes at once, many times: the finding took down two of four nodes this way.
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => junk[i % junk.length]!).flatMap(([body, code]) =>
        [0, 1].map(async (n) => {
          const res = await post(cluster.nodes[n]!.url, body);
          return { status: res.status, body: (await res.json()) as { error: string; message: string }, code };
        }),
      ),
    );
    for (const r of results) {
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(r.code);
      expect(r.body.message.length).toBeGreaterThan(10);
    }
    // Give any gossip a moment: nothing may arrive anywhere.
    await new Promise((r) => setTimeout(r, 300));
    expect(rows()).toEqual(before);
    // Every node still answers health, and the committee still signs a valid request.
    for (const n of cluster.nodes) expect((await fetch(`${n.url}/health`)).status).toBe(200);
    const ok = await post(cluster.nodes[1]!.url, { model: 'arith', input: '0x0102' });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Record<string, string>;
    expect(verify(fromHex(body.groupKey!), rootSigningMessage(fromHex(body.root!)), fromHex(body.signature!))).toBe(true);
  }, 60_000);

  it('a flood of 1 MiB junk requests leaves every node database the size it was', async () => {
    const size = () => cluster.nodes.map((n) => ['', '-wal'].reduce((s, ext) => s + (existsSync(n.store.path + ext) ? statSync(n.store.path + ext).size : 0), 0));
    const before = size();
    const body = JSON.stringify({ model: '💣-junk', input: `0x${'ab'.repeat(1024 * 1024)}` });
    for (let i = 0; i < 16; i++) {
      const res = await fetch(`${cluster.nodes[i % 2]!.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(400);
    }
    await new Promise((r) => setTimeout(r, 300));
    // 16 MiB of junk sent; the files may move by a page or two of unrelated writes, not by megabytes.
    size().forEach((s, i) => expect(s - before[i]!).toBeLessThan(256 * 1024));
  }, 60_000);
});

describe('a hostile leader', () => {
  it('publishes a proposal with junk model and input: every follower refuses it before storing it', async () => {
    const leader = cluster.nodes[0]!;
    const key = await leader.ready();
    const before = rows();
    const rejectedBefore = await Promise.all(cluster.nodes.slice(1).map((n) => metricValue(n, 'destra_messages_rejected_total', 'invalid-input')));
    for (const [model, input] of [
      ['../../etc/passwd', new Uint8Array(64 * 1024)],
      ['arith', new Uint8Array(4096)],
    ] as const) {
      const frame = RoundProposalCodec.encode({ type: 'round-proposal', v: 2, epoch: key.epoch, leader: 1, requestId: crypto.getRandomValues(new Uint8Array(32)), nonce: new Uint8Array(16), model, input, timestamp: Math.floor(Date.now() / 1000), round: 0 });
      await leader.host.publish(topics(cluster.fx.configs[0]!.network).rounds, frame);
    }
    await waitUntil(async () => {
      const now = await Promise.all(cluster.nodes.slice(1).map((n) => metricValue(n, 'destra_messages_rejected_total', 'invalid-input')));
      return now.every((v, i) => v >= rejectedBefore[i]! + 2);
    });
    expect(rows()).toEqual(before);
  }, 30_000);

  it('puts a second content under an id, or an id of its own choosing: every follower refuses the proposal before storing it', async () => {
    // Why it matters: an on-demand id fixes its report, so members keep its guard row without an fsync.
    // A leader that could reuse an id with other input would make a member that crashed in between sign
    // two reports under one id (equivocation evidence against an honest member).
    const leader = cluster.nodes[0]!;
    const key = await leader.ready();
    const topic = topics(cluster.fx.configs[0]!.network).rounds;
    const content = { domain: domainTag(cluster.fx.configs[0]!.network), epoch: key.epoch, leader: 1, model: 'arith', inputHash: inputHash(new Uint8Array([5])), timestamp: Math.floor(Date.now() / 1000), round: 0, nonce: new Uint8Array(16).fill(9) };
    const honestId = onDemandRequestId(content);
    const before = await Promise.all(cluster.nodes.slice(1).map((n) => metricValue(n, 'destra_messages_rejected_total', 'request-id')));
    const forged = [
      // The id of input [5] with input [6]: the second content under an id.
      { ...content, requestId: honestId, input: new Uint8Array([6]) },
      // A random id: nothing ties it to its content.
      { ...content, requestId: crypto.getRandomValues(new Uint8Array(32)), input: new Uint8Array([5]) },
      // The right id, but another timestamp than the one in it.
      { ...content, requestId: honestId, input: new Uint8Array([5]), timestamp: content.timestamp + 1 },
    ];
    for (const f of forged) {
      const frame = RoundProposalCodec.encode({ type: 'round-proposal', v: 2, epoch: f.epoch, leader: f.leader, requestId: f.requestId, nonce: f.nonce, model: f.model, input: f.input, timestamp: f.timestamp, round: 0 });
      await leader.host.publish(topic, frame);
    }
    await waitUntil(async () => {
      const now = await Promise.all(cluster.nodes.slice(1).map((n) => metricValue(n, 'destra_messages_rejected_total', 'request-id')));
      return now.every((v, i) => v >= before[i]! + forged.length);
    });
    for (const n of cluster.nodes.slice(1)) for (const f of forged) expect(n.store.getRequest(f.requestId, 0)).toBeUndefined();
    // The honest proposal of the same content is taken by every follower.
    const frame = RoundProposalCodec.encode({ type: 'round-proposal', v: 2, epoch: content.epoch, leader: 1, requestId: honestId, nonce: content.nonce, model: 'arith', input: new Uint8Array([5]), timestamp: content.timestamp, round: 0 });
    await leader.host.publish(topic, frame);
    await waitUntil(async () => cluster.nodes.slice(1).every((n) => n.store.getRequest(honestId, 0) !== undefined));
  }, 30_000);
});

async function metricValue(node: Cluster['nodes'][number], name: string, reason: string): Promise<number> {
  const m = await node.metrics.registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function waitUntil(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
