// Certificates of ranges nobody waits on (batch ranges on members that did not take the job) are kept
// unchecked and checked on first lookup: nothing is served from an unchecked certificate, a forged one
// (wrong committee, no point at all) is rejected at lookup and does not shadow the real one, the same
// certificate from several aggregators is kept once, unchecked ones per range are bounded, and a range a
// caller waits on (the job's proposer, the chain stream) is checked when its certificate arrives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { combinePartials, rangeId, reportLeaf, rootSigningMessage, signPartial, verify, verifyMerkleProof } from '@destra/protocol';
import { loadFastHasher } from '@destra/aggregator/fast-hash';
import type { PeerInfo } from '../src/p2p/host.ts';
import { RangeService, type CertifiedRange } from '../src/range/index.ts';
import { NodeStore } from '../src/store/store.ts';
import { encodeWire } from '../src/wire.ts';
import { dealtKey as dkg, type DealtKey as Dkg } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-range-deferred-'));
const store = new NodeStore(join(dir, 'node.db'));
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function memoryHost() {
  const handlers: ((data: Uint8Array, from: PeerInfo) => void)[] = [];
  const aggregator: PeerInfo = { peerId: 'agg', role: 'aggregator', index: 1 };
  return {
    deliver: (data: Uint8Array) => handlers.forEach((h) => h(data, aggregator)),
    async sendDirect() {},
    subscribe(_topic: string, handler: (data: Uint8Array, from: PeerInfo) => void) {
      handlers.push(handler);
    },
    peersWithRole: (role: 'member' | 'aggregator') => (role === 'aggregator' ? [aggregator] : []),
  };
}

const certificateFrame = (epoch: number, stream: Uint8Array, start: number, count: number, root: Uint8Array, signature: Uint8Array): Uint8Array =>
  encodeWire({ type: 'range-certificate', v: 1, epoch, stream, start, count, root, signature, signers: [1, 3] });
/** The committee's certificate: t = 2 partials of `d` combined. */
const groupSignature = (d: Dkg, root: Uint8Array): Uint8Array => combinePartials([signPartial(d.shares[0]!, rootSigningMessage(root)), signPartial(d.shares[2]!, rootSigningMessage(root))], 2);
const reportsOf = (count: number, salt: number): Uint8Array => Uint8Array.from({ length: count * 100 }, (_, i) => (i * 11 + salt) & 0xff);

async function setup(opts: { deferChecks?: boolean } = {}) {
  const uncheckedRows: number[] = [];
  const e1 = await dkg(1);
  const other = await dkg(1); // another committee's key: a forged certificate under a real signature
  const host = memoryHost();
  const rejected: string[] = [];
  const service = new RangeService({
    host,
    batchesTopic: 't',
    guard: store,
    keyFor: (e) => (e === 1 ? e1.key : undefined),
    activeKey: () => e1.key,
    hasher: await loadFastHasher(),
    keepReports: 10_000,
    log: pino({ level: 'silent' }),
    onRejected: (r) => rejected.push(r),
    onUnchecked: (rows) => uncheckedRows.push(rows),
    ...opts,
  });
  service.start();
  const certified: CertifiedRange[] = [];
  service.on('certified', (r) => certified.push(r));
  return { e1, other, host, service, rejected, certified, uncheckedRows };
}

let streamSalt = 0;
const freshStream = (): Uint8Array => new Uint8Array(32).fill(0x40 + ++streamSalt);

describe('deferred certificate checks on members nobody waits on', () => {
  it('keeps certificates unchecked until a lookup; a forged one is rejected then and does not shadow the real one', async () => {
    const { e1, other, host, service, rejected, certified, uncheckedRows } = await setup();
    const stream = freshStream();
    const reports = reportsOf(10, 1);
    const root = await service.commitRange(stream, 0, reports, 100);
    const forged = groupSignature(other, root);
    host.deliver(certificateFrame(1, stream, 0, 10, root, forged));
    host.deliver(certificateFrame(1, stream, 0, 10, root, forged)); // a second aggregator's copy: kept once
    host.deliver(certificateFrame(1, stream, 0, 10, root, new Uint8Array(48).fill(0xa0))); // no G1 point at all
    host.deliver(certificateFrame(1, stream, 0, 10, root, groupSignature(e1, root)));
    expect(service.stats[0]).toMatchObject({ uncheckedCertificates: 3, certifiedRanges: 0, rejectedCertificates: 0 });
    expect(uncheckedRows).toEqual([10]); // once per range, for the metric
    expect(certified).toHaveLength(0);
    // A certificate whose root is not this member's is refused at once (no signature check needed).
    host.deliver(certificateFrame(1, stream, 0, 10, new Uint8Array(32).fill(9), groupSignature(e1, new Uint8Array(32).fill(9))));
    expect(rejected.at(-1)).toMatch(/differs from this member's reports/);

    // The first lookup checks them in arrival order: both forgeries rejected, the real one stored.
    const r = service.signedResult(stream, 4)!;
    expect(r).toMatchObject({ epoch: 1, index: 4, seq: 4 });
    expect(verify(e1.key.groupKey, rootSigningMessage(r.root), r.signature)).toBe(true);
    expect(verifyMerkleProof(reportLeaf(reports.subarray(400, 500)), r.proof, r.root)).toBe(true);
    const tampered = reports.slice(400, 500);
    tampered[7]! ^= 1;
    expect(verifyMerkleProof(reportLeaf(tampered), r.proof, r.root)).toBe(false);
    const badProof = r.proof.map((p) => p.slice());
    badProof[0]![0]! ^= 1;
    expect(verifyMerkleProof(reportLeaf(reports.subarray(400, 500)), badProof, r.root)).toBe(false);
    expect(rejected.filter((x) => /does not carry a valid group signature/.test(x))).toHaveLength(2);
    expect(certified).toHaveLength(1);
    expect(service.stats[0]).toMatchObject({ uncheckedCertificates: 0, certifiedRanges: 1 });
    // Checked once: later lookups and copies change nothing.
    host.deliver(certificateFrame(1, stream, 0, 10, root, groupSignature(e1, root)));
    expect(service.certifiedRange(rangeId(stream, 0, 10))?.signature).toEqual(r.signature);
    expect(certified).toHaveLength(1);
  });

  it('serves nothing from forged certificates alone; a real one arriving later certifies the range', async () => {
    const { e1, other, host, service, rejected } = await setup();
    const stream = freshStream();
    const root = await service.commitRange(stream, 0, reportsOf(6, 2), 100);
    host.deliver(certificateFrame(1, stream, 0, 6, root, groupSignature(other, root)));
    expect(service.certifiedRange(rangeId(stream, 0, 6))).toBeUndefined();
    expect(service.signedResult(stream, 0)).toBeUndefined();
    expect(rejected.at(-1)).toMatch(/does not carry a valid group signature/);
    host.deliver(certificateFrame(1, stream, 0, 6, root, groupSignature(e1, root)));
    expect(service.signedResult(stream, 5)?.epoch).toBe(1);
  });

  it('keeps at most 4 distinct unchecked certificates per range', async () => {
    const { host, service, rejected } = await setup();
    const stream = freshStream();
    const root = await service.commitRange(stream, 0, reportsOf(4, 3), 100);
    for (let i = 0; i < 5; i++) host.deliver(certificateFrame(1, stream, 0, 4, root, groupSignature(await dkg(1), root))); // five other committees
    expect(rejected.at(-1)).toMatch(/more than 4 distinct unchecked certificates/);
    expect(service.stats[0]!.uncheckedCertificates).toBe(4);
  });

  it('checks at once when a caller waits on the range, a certificate that came early, or with deferChecks false', async () => {
    const { e1, host, service, certified } = await setup();
    const stream = freshStream();
    const root = await service.commitRange(stream, 0, reportsOf(5, 4), 100);
    let fired: CertifiedRange | undefined;
    service.onCertified(rangeId(stream, 0, 5), (r) => (fired = r));
    host.deliver(certificateFrame(1, stream, 0, 5, root, groupSignature(e1, root)));
    expect(fired?.epoch).toBe(1);
    expect(certified).toHaveLength(1);

    // Unchecked, then a waiter comes: onCertified checks it and calls back at once.
    const s2 = freshStream();
    const root2 = await service.commitRange(s2, 0, reportsOf(3, 5), 100);
    host.deliver(certificateFrame(1, s2, 0, 3, root2, groupSignature(e1, root2)));
    expect(certified).toHaveLength(1);
    let late: CertifiedRange | undefined;
    service.onCertified(rangeId(s2, 0, 3), (r) => (late = r));
    expect(late?.count).toBe(3);
    expect(certified).toHaveLength(2);

    const eager = await setup({ deferChecks: false });
    const s3 = freshStream();
    const root3 = await eager.service.commitRange(s3, 0, reportsOf(2, 6), 100);
    eager.host.deliver(certificateFrame(1, s3, 0, 2, root3, groupSignature(eager.e1, root3)));
    expect(eager.certified).toHaveLength(1);
    expect(eager.service.stats[0]!.uncheckedCertificates).toBe(0);
  });
});
