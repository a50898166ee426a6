// The node's range service across an epoch switch, on an in-memory host (every frame it sends is kept;
// certificates are injected as the aggregators would publish them): a range is committed under the
// epoch active when it is committed and its results carry that epoch; certificates are routed to their
// epoch's member and stored only with a valid group signature; the SQLite guard refuses going back on a
// stream; proposals of the epoch before / after are followed only while this node holds that share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { combinePartials, rangeId, reportLeaf, rootSigningMessage, signPartial, verify, verifyMerkleProof } from '@destra/protocol';
import { loadFastHasher } from '@destra/aggregator/fast-hash';
import { DoubleSignError } from '../src/errors.ts';
import type { PeerInfo } from '../src/p2p/host.ts';
import { RangeIntake, RangeMetrics, RangeService, rangeInferencer, type CertifiedRange } from '../src/range/index.ts';
import type { ActiveKey } from '../src/round/keys.ts';
import { NodeStore } from '../src/store/store.ts';
import { RangeCommitCodec, RangeProposalCodec, encodeWire, type RangeProposal } from '../src/wire.ts';
import { ArithmeticModel, dealtKey as dkg, type DealtKey as Dkg } from './fixtures.ts';
import { Registry } from 'prom-client';

const dir = mkdtempSync(join(tmpdir(), 'destra-range-svc-'));
const store = new NodeStore(join(dir, 'node.db'));
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An in-memory host: frames sent are kept; `deliver` hands a topic frame to the subscribers. */
function memoryHost() {
  const sent: { peer: string; protocol: string; data: Uint8Array }[] = [];
  const handlers: ((data: Uint8Array, from: PeerInfo) => void)[] = [];
  const aggregator: PeerInfo = { peerId: 'agg', role: 'aggregator', index: 1 };
  return {
    sent,
    aggregator,
    deliver: (data: Uint8Array, from: PeerInfo = aggregator) => handlers.forEach((h) => h(data, from)),
    async sendDirect(peer: string, protocol: string, data: Uint8Array) {
      sent.push({ peer, protocol, data });
    },
    subscribe(_topic: string, handler: (data: Uint8Array, from: PeerInfo) => void) {
      handlers.push(handler);
    },
    peersWithRole: (role: 'member' | 'aggregator') => (role === 'aggregator' ? [aggregator] : []),
    async handleDirect() {},
  };
}

/** The committee's certificate for a range: t = 2 partials combined. */
function certificate(d: Dkg, epoch: number, stream: Uint8Array, start: number, count: number, root: Uint8Array): Uint8Array {
  const msg = rootSigningMessage(root);
  const signature = combinePartials([signPartial(d.shares[0]!, msg), signPartial(d.shares[2]!, msg)], 2);
  return encodeWire({ type: 'range-certificate', v: 1, epoch, stream, start, count, root, signature, signers: [1, 3] });
}

const reportsOf = (count: number, salt: number): Uint8Array => Uint8Array.from({ length: count * 100 }, (_, i) => (i * 7 + salt) & 0xff);

describe('RangeService across an epoch switch', () => {
  it('commits under the active epoch, stores only valid certificates, serves results with their epoch, never goes back on a stream', async () => {
    const [e1, e2] = [await dkg(1), await dkg(2)];
    const keys = new Map([
      [1, e1.key],
      [2, e2.key],
    ]);
    let active = e1.key;
    const host = memoryHost();
    const hasher = await loadFastHasher();
    const service = new RangeService({ host, batchesTopic: 't', guard: store, keyFor: (e) => keys.get(e), activeKey: () => active, hasher, keepReports: 10_000, log: pino({ level: 'silent' }) });
    service.start();
    const stream = new Uint8Array(32).fill(0x21);
    const certified: CertifiedRange[] = [];
    service.on('certified', (r) => certified.push(r));

    // Epoch 1: the commit frame names epoch 1 and member 1, signed with epoch 1's share.
    const r1 = reportsOf(10, 1);
    const root1 = await service.commitRange(stream, 0, r1, 100);
    const c1 = RangeCommitCodec.decode(host.sent.at(-1)!.data);
    expect(c1).toMatchObject({ epoch: 1, index: 1, start: 0, count: 10 });
    expect(verify(e1.sharing.publicShare(1), rootSigningMessage(root1), c1.signature)).toBe(true);
    let fired: CertifiedRange | undefined;
    service.onCertified(rangeId(stream, 0, 10), (r) => (fired = r));
    // A certificate signed by the wrong committee is not stored; the right one is.
    host.deliver(certificate(e2, 1, stream, 0, 10, root1));
    expect(service.certifiedRange(rangeId(stream, 0, 10))).toBeUndefined();
    host.deliver(certificate(e1, 1, stream, 0, 10, root1), { peerId: 'm2', role: 'member', index: 2 }); // only aggregators certify
    expect(fired).toBeUndefined();
    host.deliver(certificate(e1, 1, stream, 0, 10, root1));
    expect(fired?.epoch).toBe(1);
    const res = service.signedResult(stream, 3)!;
    expect(res).toMatchObject({ epoch: 1, index: 3, seq: 3 });
    expect(verifyMerkleProof(reportLeaf(r1.subarray(300, 400)), res.proof, res.root)).toBe(true);
    expect(verify(e1.key.groupKey, rootSigningMessage(res.root), res.signature)).toBe(true);

    // The node switches to epoch 2: the next range of the same stream is signed under epoch 2.
    active = e2.key;
    const r2 = reportsOf(5, 2);
    const root2 = await service.commitRange(stream, 10, r2, 100);
    expect(RangeCommitCodec.decode(host.sent.at(-1)!.data)).toMatchObject({ epoch: 2, start: 10, count: 5 });
    host.deliver(certificate(e2, 2, stream, 10, 5, root2));
    expect(service.signedResult(stream, 12)!.epoch).toBe(2);
    expect(service.signedResult(stream, 3)!.epoch).toBe(1); // epoch 1's results are still served
    // A late epoch-1 commit (asked for explicitly) still certifies under epoch 1.
    const stream2 = new Uint8Array(32).fill(0x22);
    const root3 = await service.commitRange(stream2, 0, reportsOf(4, 3), 100, 1);
    host.deliver(certificate(e1, 1, stream2, 0, 4, root3));
    expect(service.signedResult(stream2, 0)!.epoch).toBe(1);
    expect(certified.map((c) => c.epoch)).toEqual([1, 2, 1]);

    // Going back on a stream is refused before anything is signed, also across epochs.
    const before = host.sent.length;
    await expect(service.commitRange(stream, 12, reportsOf(2, 4), 100)).rejects.toThrow(DoubleSignError);
    expect(host.sent.length).toBe(before);
    expect(service.nextSeq(stream)).toBe(15);
    expect([service.nextSeq(stream, 1), service.nextSeq(stream, 2)]).toEqual([10, 15]);
    expect(store.rangeNext(`${Buffer.from(stream).toString('hex')}@2`)).toBe(15);
    // Retention drops the positions of epochs before the guard window, and only those.
    expect(store.prune({ before: 0, maxRows: 1_000_000, keepGuardFromEpoch: 2 }).rangeGuards).toBe(2); // stream and stream2 of epoch 1
    expect([service.nextSeq(stream, 1), service.nextSeq(stream, 2)]).toEqual([0, 15]);
    await expect(service.commitRange(stream, 20, reportsOf(2, 4), 100, 3)).rejects.toThrow(/no key share of epoch 3/);
  });

  it('a position reserved without fsync (batch-job ranges) still refuses going back, also after a reopen', () => {
    const path = join(dir, 'fast.db');
    let s = new NodeStore(path);
    s.reserveRange('aa@1', 0, 10, false);
    expect(() => s.reserveRange('aa@1', 5, 12, false)).toThrow(DoubleSignError);
    s.close();
    s = new NodeStore(path);
    expect(s.rangeNext('aa@1')).toBe(10);
    expect(() => s.reserveRange('aa@1', 9, 12, false)).toThrow(DoubleSignError);
    s.reserveRange('aa@1', 10, 12, false);
    s.close();
  });

  it('follows proposers of the epoch before / after only while it holds that share', async () => {
    const [e1, e2] = [await dkg(1), await dkg(2)];
    const keys = new Map<number, ActiveKey>([
      [1, e1.key],
      [2, e2.key],
    ]);
    const host = memoryHost();
    const hasher = await loadFastHasher();
    const log = pino({ level: 'silent' });
    const service = new RangeService({ host, batchesTopic: 't', guard: store, keyFor: (e) => keys.get(e), activeKey: () => e2.key, hasher, keepReports: 100, log });
    const intake = new RangeIntake({
      service,
      host,
      domain: new Uint8Array(32),
      inference: rangeInferencer(new ArithmeticModel()),
      hasher,
      activeKey: () => e2.key,
      keyFor: (e) => keys.get(e),
      memberIndexOf: (_e, from) => from.index,
      maxSkewSeconds: 30,
      maxRangeRows: 100,
      maxQueuedRows: 1000,
      metrics: new RangeMetrics(new Registry()),
      log,
    });
    const from: PeerInfo = { peerId: 'p2', role: 'member', index: 2, operatorKey: `0x${'a1'.repeat(96)}` };
    const p = (epoch: number): RangeProposal => ({ type: 'range-proposal', v: 1, epoch, proposer: 2, job: new Uint8Array(16), start: 0, model: 'arith', timestamp: Math.floor(Date.now() / 1000), rowLength: 4, rows: new Uint8Array(8).fill(1) });
    expect(intake.check(p(1), from)).toHaveLength(32); // previous epoch, share still held
    expect(() => intake.check(p(3), from)).toThrow(/epoch 3/);
    keys.delete(1);
    expect(() => intake.check(p(1), from)).toThrow(/no key share of that epoch/);
    expect(() => intake.check({ ...p(2), timestamp: 1 }, from)).toThrow(/away from local time/);
  });

  it('one proposer may hold at most a quarter of the backlog; its rows count until their inference is done', async () => {
    const e1 = await dkg(1);
    const host = memoryHost();
    const hasher = await loadFastHasher();
    const log = pino({ level: 'silent' });
    const registry = new Registry();
    const service = new RangeService({ host, batchesTopic: 't', guard: store, keyFor: (e) => (e === 1 ? e1.key : undefined), activeKey: () => e1.key, hasher, keepReports: 100, log });
    // Inference that waits until the test lets it finish.
    const gates: (() => void)[] = [];
    const inner = rangeInferencer(new ArithmeticModel());
    const slow = { ...inner, run: async (m: string, rows: Uint8Array, len: number) => (await new Promise<void>((r) => gates.push(r)), inner.run(m, rows, len)) };
    const intake = new RangeIntake({ service, host, domain: new Uint8Array(32), inference: slow, hasher, activeKey: () => e1.key, keyFor: (e) => (e === 1 ? e1.key : undefined), memberIndexOf: (_e, f) => f.index, maxSkewSeconds: 30, maxRangeRows: 100, maxQueuedRows: 16, metrics: new RangeMetrics(registry), log });
    const peer = (index: number): PeerInfo => ({ peerId: `p${index}`, role: 'member', index, operatorKey: `0x${index.toString(16).padStart(2, '0').repeat(96)}` });
    const frame = (proposer: number, start: number) =>
      RangeProposalCodec.encode({ type: 'range-proposal', v: 1, epoch: 1, proposer, job: new Uint8Array(16).fill(proposer), start, model: 'arith', timestamp: Math.floor(Date.now() / 1000), rowLength: 4, rows: new Uint8Array(8).fill(start + 1) });
    const busy = async () => (await registry.getSingleMetric('destra_range_proposals_total')!.get()).values.find((v) => v.labels.outcome === 'busy')?.value ?? 0;
    intake.onFrame(frame(2, 0), peer(2));
    intake.onFrame(frame(2, 2), peer(2)); // 4 rows of peer 2 waiting: its quarter of 16
    intake.onFrame(frame(2, 4), peer(2));
    expect(await busy()).toBe(1);
    intake.onFrame(frame(3, 0), peer(3)); // another proposer still gets in
    expect(await busy()).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(gates.length).toBe(3);
    gates.splice(0).forEach((g) => g());
    const committed = async () => (await registry.getSingleMetric('destra_range_proposals_total')!.get()).values.find((v) => v.labels.outcome === 'committed')?.value ?? 0;
    for (let i = 0; i < 100 && (await committed()) < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await committed()).toBe(3);
    intake.onFrame(frame(2, 4), peer(2)); // its rows are done: room again
    expect(await busy()).toBe(1);
  });
});
