import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { g2Compressed, rangeId, signingMessage, SigningPurpose, signPartial, verify, verifyMerkleProof } from '@destra/protocol';
import { RangeCertificateCodec } from '../src/wire.ts';
import { RangeCommitError, RangeMember, equalBytes, hexKey, loadFastHasher, type Evidence, type RangeEvent } from '../src/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DoubleSignError, NodeStore } from '@destra/oracle-node';
import { startCluster } from './cluster.ts';
import { report } from './helpers.ts';

type Cluster = Awaited<ReturnType<typeof startCluster>>;
let c: Cluster;
let members: RangeMember[];
const rejected: string[][] = [[], [], [], []];
const stream = new Uint8Array(32).fill(0x5a);

const next = <T>(emitter: { once(e: string, f: (v: T) => void): unknown }, event: string, ms = 10_000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (v: T) => (clearTimeout(timer), resolve(v)));
  });
const until = async (cond: () => boolean, ms = 5_000) => {
  const stop = Date.now() + ms;
  while (!cond() && Date.now() < stop) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

/** Reports for sequence numbers start..start+count-1, back to back; `wrongAt` flips one output. */
function reportsFor(start: number, count: number, wrongAt?: number) {
  const list = Array.from({ length: count }, (_, i) => report((start + i) % 251, [BigInt(start + i), i === wrongAt ? 1n : 0n]));
  const len = list[0]!.bytes.length;
  const flat = new Uint8Array(count * len);
  list.forEach((r, i) => flat.set(r.bytes, i * len));
  return { list, flat, len };
}

beforeAll(async () => {
  c = await startCluster({ n: 4, t: 3, network: 'rangetest', service: { rangeTimeoutMs: 1500 } });
  const hasher = await loadFastHasher();
  const groupKey = g2Compressed(c.sharing.groupKey);
  members = c.members.map(
    (m, i) =>
      new RangeMember({
        host: m.host,
        share: m.share,
        epoch: 1,
        aggregators: () => [c.aggregatorPeerId],
        batchesTopic: c.topics.batches,
        hasher,
        verifyGroup: (sig, msg) => verify(groupKey, msg, sig),
        onRejected: (why) => rejected[i]!.push(why),
      }),
  );
}, 60_000);
afterAll(async () => c?.stop());

describe('range batches over libp2p', () => {
  it('t matching roots certify a range; every member then serves each report with a proof', async () => {
    const { list, flat, len } = reportsFor(0, 50);
    const signed = next<RangeEvent>(c.service, 'range');
    const roots = await Promise.all(members.map((m) => m.commit(stream, 0, flat, len)));
    expect(new Set(roots.map(hexKey)).size).toBe(1);
    const ev = await signed;
    expect([ev.start, ev.count]).toEqual([0, 50]);
    expect(ev.signers.length).toBe(3);
    const msg = signingMessage(SigningPurpose.ReportRoot, ev.root);
    expect(verify(g2Compressed(c.sharing.groupKey), msg, ev.signature)).toBe(true);
    expect(await until(() => members.every((m) => m.certified(stream, 0, 50)))).toBe(true);
    for (const seq of [0, 17, 49]) {
      const sr = members[2]!.signedReport(stream, seq)!;
      expect(sr.report).toEqual(list[seq]!.bytes);
      expect(verifyMerkleProof(list[seq]!.leaf, sr.proof, sr.root)).toBe(true);
      expect(hexKey(sr.signature)).toBe(hexKey(ev.signature));
    }
    expect(members[0]!.signedReport(stream, 50)).toBeUndefined();
  });

  it('a member committing a wrong report is named; the honest t still certify the range', async () => {
    const good = reportsFor(50, 40);
    const bad = reportsFor(50, 40, 7);
    const evidence: Evidence[] = [];
    c.service.on('misbehaviour', (e) => evidence.push(e));
    const signed = next<RangeEvent>(c.service, 'range');
    await members[3]!.commit(stream, 50, bad.flat, bad.len); // first in, so its root is seen early
    await Promise.all(members.slice(0, 3).map((m) => m.commit(stream, 50, good.flat, good.len)));
    const ev = await signed;
    expect(ev.signers.sort()).toEqual([1, 2, 3]);
    expect(await until(() => evidence.some((e) => e.member === 4))).toBe(true);
    const e = evidence.find((x) => x.member === 4)!;
    expect(e.kind).toBe('conflicting-digest');
    expect(hexKey(e.requestId)).toBe(hexKey(rangeId(stream, 50, 40)));
    expect(await until(() => rejected[3]!.some((r) => /differs from this member's reports/.test(r)))).toBe(true);
    expect(members[3]!.signedReport(stream, 57)).toBeUndefined();
    expect(members[0]!.signedReport(stream, 57)!.report).toEqual(good.list[7]!.bytes);
  });

  it('a member that commits after the range was certified takes the early certificate', async () => {
    const { list, flat, len } = reportsFor(100, 16);
    const signed = next<RangeEvent>(c.service, 'range');
    await Promise.all(members.slice(0, 3).map((m) => m.commit(stream, 100, flat, len)));
    await signed;
    await new Promise((r) => setTimeout(r, 200)); // the certificate reaches member 4 before its commit
    expect(members[3]!.certified(stream, 100, 16)).toBe(false);
    await members[3]!.commit(stream, 100, flat, len);
    expect(members[3]!.certified(stream, 100, 16)).toBe(true);
    expect(members[3]!.signedReport(stream, 115)!.report).toEqual(list[15]!.bytes);
  });

  it('a member never commits a stream range twice or out of order', async () => {
    const { flat, len } = reportsFor(0, 10);
    await expect(members[0]!.commit(stream, 0, flat, len)).rejects.toThrow(RangeCommitError);
    await expect(members[0]!.commit(stream, 89, flat, len)).rejects.toThrow(/already committed this stream up to 116/);
    await expect(members[0]!.commit(stream, 120, flat.subarray(1), len)).rejects.toThrow(/not a non-empty sequence/);
  });

  it('with the node store as guard, the commit position survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destra-range-'));
    const path = join(dir, 'state.db');
    const hasher = await loadFastHasher();
    const mk = (store: NodeStore) =>
      new RangeMember({ host: c.members[0]!.host, share: c.members[0]!.share, epoch: 1, aggregators: () => [], batchesTopic: c.topics.batches, hasher, verifyGroup: () => false, guard: store });
    const s3 = new Uint8Array(32).fill(0x44);
    const { flat, len } = reportsFor(0, 10);
    let store = new NodeStore(path);
    await mk(store).commit(s3, 0, flat, len);
    store.close();
    store = new NodeStore(path); // a restarted node
    const again = mk(store);
    await expect(again.commit(s3, 5, flat, len)).rejects.toThrow(DoubleSignError);
    expect(store.rangeNext(hexKey(s3))).toBe(10);
    await again.commit(s3, 10, flat, len);
    expect(store.rangeNext(hexKey(s3))).toBe(20);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a commit that did not reach the aggregator is sent again, not signed again', async () => {
    const targets: string[] = [];
    const hasher = await loadFastHasher();
    const late = new RangeMember({ host: c.members[2]!.host, share: c.members[2]!.share, epoch: 1, aggregators: () => targets, batchesTopic: c.topics.batches, hasher, verifyGroup: () => true });
    const s4 = new Uint8Array(32).fill(0x66);
    const { flat, len } = reportsFor(400, 6);
    await Promise.all(members.slice(0, 2).map((m) => m.commit(s4, 0, flat, len)));
    await late.commit(s4, 0, flat, len); // no aggregator known yet: nothing sent
    await expect(late.commit(s4, 0, flat, len)).rejects.toThrow(RangeCommitError);
    const signed = new Promise<RangeEvent>((resolve) => c.service.on('range', (e) => equalBytes(e.stream, s4) && resolve(e)));
    targets.push(c.aggregatorPeerId);
    expect(await late.resend(s4, 0, 6)).toBe(true);
    expect((await signed).signers.sort()).toEqual([1, 2, 3]);
    expect(await late.resend(s4, 6, 6)).toBe(false);
  });

  it('members refuse a certificate without a valid group signature', async () => {
    const { flat, len } = reportsFor(200, 8);
    const other = new Uint8Array(32).fill(0x77);
    const root = await members[1]!.commit(other, 0, flat, len);
    // A real G1 point (one member's partial over the root) and bytes that are no point at all.
    const partial = signPartial(c.members[1]!.share, signingMessage(SigningPurpose.ReportRoot, root)).signature;
    for (const signature of [partial, new Uint8Array(48).fill(0xa0)]) {
      const before = rejected[1]!.length;
      await c.aggHost.publish(c.topics.batches, RangeCertificateCodec.encode({ type: 'range-certificate', v: 1, epoch: 1, stream: other, start: 0, count: 8, root, signature, signers: [1, 2, 3] }));
      expect(await until(() => rejected[1]!.length > before)).toBe(true);
      expect(rejected[1]!.at(-1)).toMatch(/does not carry a valid group signature/);
    }
    expect(members[1]!.certified(other, 0, 8)).toBe(false);
  });

  it('a range that cannot reach t matching roots is reported when it expires', async () => {
    const a = reportsFor(300, 5);
    const b = reportsFor(300, 5, 2);
    const s2 = new Uint8Array(32).fill(0x33);
    const expired = new Promise<{ start: number; count: number; roots: number; commits: number }>((resolve) =>
      c.service.on('range-expired', (e) => e.start === 300 && resolve(e)),
    );
    await members[0]!.commit(s2, 300, a.flat, a.len);
    await members[1]!.commit(s2, 300, a.flat, a.len);
    await members[2]!.commit(s2, 300, b.flat, b.len);
    const ev = await expired;
    expect(ev).toMatchObject({ start: 300, count: 5, roots: 2, commits: 3 });
  });
});
