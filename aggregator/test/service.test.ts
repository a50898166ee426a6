import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMerkleTree, g2Compressed, signingMessage, SigningPurpose, signPartial, verify, verifyMerkleProof, reportLeaf, rootFromProof } from '@destra/protocol';
import { PROTOCOL_PARTIAL, encodeWire, decodeWire, BatchProposalCodec, type Combined } from '../src/wire.ts';
import { BatchMember, hexKey, type Evidence, type ResultEvent } from '../src/index.ts';
import { startCluster } from './cluster.ts';
import { report } from './helpers.ts';

type Cluster = Awaited<ReturnType<typeof startCluster>>;
let c: Cluster;
let members: BatchMember[];
const broadcasts: Combined[] = [];

const next = <T>(emitter: { once(e: string, f: (v: T) => void): unknown }, event: string, ms = 10_000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (v: T) => (clearTimeout(timer), resolve(v)));
  });

beforeAll(async () => {
  c = await startCluster({ n: 4, t: 3, service: { batchPolicy: { maxSize: 64, maxDelayMs: 20, highLoadPerSecond: 100 } } });
  // Members sign a batch root only when every proposed leaf is one they computed (BatchMember).
  members = c.members.map(
    (m) => new BatchMember({ host: m.host, share: m.share, epoch: 1, n: 4, t: 3, aggregators: () => [c.aggregatorPeerId], batchesTopic: c.topics.batches, buildTree: buildMerkleTree }),
  );
  c.members[1]!.host.subscribe(c.topics.combined, (d) => broadcasts.push(decodeWire(d, ['combined'])));
  await new Promise((r) => setTimeout(r, 1200)); // gossipsub mesh forms on heartbeat
}, 60_000);
afterAll(async () => c?.stop());

async function sendPartial(memberIdx: number, r: ReturnType<typeof report>) {
  const m = c.members[memberIdx - 1]!;
  const signature = signPartial(m.share, signingMessage(SigningPurpose.ReportRoot, r.leaf)).signature;
  await m.host.sendDirect(c.aggregatorPeerId, PROTOCOL_PARTIAL, encodeWire({ type: 'partial', v: 1, epoch: 1, requestId: r.id, round: 0, index: m.index, report: r.bytes, digest: r.leaf, signature }));
}

describe('AggregatorService over libp2p', () => {
  it('combines partials from admitted members and broadcasts the result', async () => {
    const r = report(1, [11n]);
    const combined = new Promise<Uint8Array>((resolve) => c.members[0]!.host.subscribe(c.topics.combined, (d) => resolve(d)));
    const result = next<ResultEvent>(c.service, 'result');
    await Promise.all([1, 2, 3, 4].map((i) => sendPartial(i, r)));
    const res = await result;
    expect(hexKey(res.signed.requestId)).toBe(hexKey(r.id));
    expect(verify(g2Compressed(c.sharing.groupKey), signingMessage(SigningPurpose.ReportRoot, r.leaf), res.signed.signature)).toBe(true);
    const msg = decodeWire(await combined, ['combined']);
    expect(msg.entries[0]!.report).toEqual(r.bytes);
    expect(msg.signature).toEqual(res.signed.signature);
  });

  it('names a member that signs a wrong output', async () => {
    const good = report(2, [5n]);
    const bad = report(2, [6n]);
    const evidence = next<Evidence>(c.service, 'misbehaviour');
    await sendPartial(4, bad);
    await Promise.all([1, 2, 3].map((i) => sendPartial(i, good)));
    const e = await evidence;
    expect(e).toMatchObject({ kind: 'conflicting-digest', member: 4 });
    expect(c.service.collector.resultOf(good.id)?.digest).toEqual(good.leaf);
    await new Promise((res) => setTimeout(res, 300));
    const mine = broadcasts.filter((b) => hexKey(b.entries[0]!.requestId) === hexKey(good.id));
    expect(mine.at(-1)?.conflicting).toEqual([4]);
    expect(mine.at(-1)?.entries[0]!.report).toEqual(good.bytes);
  });

  it('refuses a member speaking for another index', async () => {
    const r = report(3, [1n]);
    const before = c.service.stats.rejected;
    const m = c.members[0]!;
    const signature = signPartial(c.members[1]!.share, signingMessage(SigningPurpose.ReportRoot, r.leaf)).signature;
    await m.host.sendDirect(c.aggregatorPeerId, PROTOCOL_PARTIAL, encodeWire({ type: 'partial', v: 1, epoch: 1, requestId: r.id, round: 0, index: 2, report: r.bytes, digest: r.leaf, signature }));
    await m.host.sendDirect(c.aggregatorPeerId, PROTOCOL_PARTIAL, new Uint8Array([0xff, 0x00, 0x13]));
    await new Promise((res) => setTimeout(res, 300));
    expect(c.service.stats.rejected).toBe(before + 2);
  });

  it('batches announced reports: one root signature per member, a proof per report', async () => {
    const reps = Array.from({ length: 40 }, (_, i) => report(100 + i, [BigInt(i)]));
    const batch = next<{ batchId: number; size: number; signers: number[] }>(c.service, 'batch');
    const results: ResultEvent[] = [];
    c.service.on('result', (r) => results.push(r));
    await Promise.all(members.map((m) => m.announce(reps.map((r) => ({ requestId: r.id, report: r.bytes, leaf: r.leaf })))));
    const b = await batch;
    expect(b.size).toBe(40);
    expect(b.signers).toHaveLength(3);
    await new Promise((res) => setTimeout(res, 50));
    const batched = results.filter((r) => r.batchId === b.batchId);
    expect(batched).toHaveLength(40);
    for (const r of batched) {
      const root = rootFromProof(reportLeaf(r.signed.report), r.signed.proof);
      expect(verifyMerkleProof(reportLeaf(r.signed.report), r.signed.proof, r.signed.root)).toBe(true);
      expect(verify(g2Compressed(c.sharing.groupKey), signingMessage(SigningPurpose.ReportRoot, root), r.signed.signature)).toBe(true);
    }
  });
});

describe('BatchMember', () => {
  it('refuses to sign a proposal containing a report it did not compute', async () => {
    const refused: string[] = [];
    const m = c.members[0]!;
    const bm = new BatchMember({ host: m.host, share: m.share, epoch: 1, n: 4, t: 3, aggregators: () => [], batchesTopic: c.topics.batches, buildTree: buildMerkleTree, onRefused: (_, why) => refused.push(why) });
    const r = report(200, [1n]);
    await bm.announce([{ requestId: r.id, report: r.bytes, leaf: r.leaf }]);
    const stranger = report(201, [1n]);
    await c.aggHost.publish(c.topics.batches, BatchProposalCodec.encode({ type: 'batch-proposal', v: 1, epoch: 1, batchId: 999, requestIds: [r.id, stranger.id], leaves: [r.leaf, stranger.leaf] }));
    await new Promise((res) => setTimeout(res, 500));
    expect(refused).toContain('proposal contains a report this member did not compute');
    expect(bm.stats.signedBatches).toBe(0);
  });
});
