// The member side of feed batches: a window or block root is signed once per epoch (SQLite guard, also
// across restarts), sent with its carried reports, re-sent until certified; a certificate is taken only
// when it names this node's root and carries the group's signature; after a handover a block is signed
// again under the new key, and a late certificate of the old epoch still counts (the tree the chain holds
// is the one served).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import {
  FeedCommitCodec, PartialVerifier, RangeCertificateCodec, dealShares, evmDestination, feedId, rootSigningMessage, signPartial, toHex, type PublicSharing, type KeyShare,
} from '@destra/protocol';
import { FeedCommitter, type Certificate } from '../src/feeds/committer.ts';
import { blockBatch, timedWindowBatch, type FeedBatch } from '../src/feeds/batches.ts';
import { ScoredBlocks } from '../src/feeds/scored-blocks.ts';
import { groupKeyVerifier, type ActiveKey } from '../src/round/keys.ts';
import { NodeStore } from '../src/store/store.ts';
import { rowBytes } from '../src/feeds/tx-features.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-feed-committer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = pino({ level: 'silent' });
const domain = new Uint8Array(32).fill(5);

async function keyOf(epoch: number, shares: KeyShare[], sharing: PublicSharing, i: number): Promise<ActiveKey> {
  return { epoch, index: i + 1, n: sharing.size, t: sharing.threshold, share: shares[i]!, sharing, groupKey: sharing.groupKey.toBytes(true), groupVerifier: await groupKeyVerifier(sharing.groupKey.toBytes(true)) };
}

function harness(store: NodeStore, key: () => ActiveKey | undefined, keys: Map<number, ActiveKey>) {
  const sent: Uint8Array[] = [];
  let onFrame: ((data: Uint8Array, from: any) => void) | undefined;
  const host = {
    peersWithRole: () => [{ peerId: 'agg', index: 1, role: 'aggregator' }] as any,
    sendDirect: async (_p: string, _proto: string, data: Uint8Array) => void sent.push(data),
    subscribe: (_t: string, h: any) => void (onFrame = h),
  };
  const certified: { batch: FeedBatch; cert: Certificate }[] = [];
  const c = new FeedCommitter({ host: host as any, store, batchesTopic: 'batches', activeKey: key, keyFor: (e) => keys.get(e), onCertified: (batch, cert) => certified.push({ batch, cert }), log, resendMs: 1000, giveUpMs: 10_000 });
  const certificate = (from: 'aggregator' | 'member', frame: Uint8Array) => onFrame!(frame, { peerId: 'x', role: from, index: 1 });
  return { c, sent, certified, certificate };
}

const groupSign = async (shares: KeyShare[], sharing: PublicSharing, root: Uint8Array) => (await PartialVerifier.create(sharing)).combine(shares.slice(0, sharing.threshold).map((s) => signPartial(s, rootSigningMessage(root))));
const cert = (b: FeedBatch, signature: Uint8Array, epoch = b.epoch, root = b.tree.root) =>
  RangeCertificateCodec.encode({ type: 'range-certificate', v: 1, epoch, stream: b.stream, start: 0, count: b.reports.length, root, signature, signers: [1, 2, 3] });

describe('FeedCommitter', () => {
  it('signs a root once per epoch, carries the reports with proofs, takes only a certificate that matches and verifies', async () => {
    const { shares, sharing } = dealShares(3, 4);
    const k1 = await keyOf(1, shares, sharing, 0);
    const store = new NodeStore(join(dir, 'a.db'));
    const h = harness(store, () => k1, new Map([[1, k1]]));
    const w = timedWindowBatch({ domain, epoch: 1 }, 1_000n, [
      { id: feedId('a'), modelHash: new Uint8Array(32), input: new Uint8Array(8), output: [1n] },
      { id: feedId('b'), modelHash: new Uint8Array(32), input: new Uint8Array(8), output: [2n] },
    ]);
    expect(await h.c.commit(w, [0, 1])).toBe('sent');
    const frame = FeedCommitCodec.decode(h.sent[0]!);
    expect([frame.epoch, frame.index, frame.count, frame.reports.length, toHex(frame.root)]).toEqual([1, 1, 2, 2, toHex(w.tree.root)]);
    // the same window again (a restart, a second evaluation) is never signed twice, even after reopening SQLite
    expect(await h.c.commit(w, [0, 1])).toBe('already-signed');
    store.close();
    const again = harness(new NodeStore(join(dir, 'a.db')), () => k1, new Map([[1, k1]]));
    expect(await again.c.commit(w, [0, 1])).toBe('already-signed');
    // no key of the batch's epoch: nothing signed
    expect(await harness(new NodeStore(join(dir, 'b.db')), () => undefined, new Map()).c.commit(w, [0])).toBe('no-key');

    const sig = await groupSign(shares, sharing, w.tree.root);
    h.certificate('member', cert(w, sig)); // certificates come from aggregators only
    h.certificate('aggregator', cert(w, sig, 1, new Uint8Array(32).fill(1))); // another root
    h.certificate('aggregator', cert(w, await groupSign(shares, sharing, new Uint8Array(32).fill(2)))); // signature over something else
    expect(h.certified).toHaveLength(0);
    expect(h.c.stats.rejectedCertificates).toBe(2);
    h.certificate('aggregator', cert(w, sig));
    expect(h.certified).toHaveLength(1);
    expect(h.c.waiting).toBe(0);
  });

  it('re-sends until certified, gives up after a while', async () => {
    const { shares, sharing } = dealShares(2, 3);
    const k = await keyOf(1, shares, sharing, 1);
    const h = harness(new NodeStore(join(dir, 'c.db')), () => k, new Map([[1, k]]));
    const w = timedWindowBatch({ domain, epoch: 1 }, 2_000n, [{ id: feedId('a'), modelHash: new Uint8Array(32), input: new Uint8Array(8), output: [1n] }]);
    await h.c.commit(w, [0]);
    const t0 = Date.now();
    h.c.resend(t0 + 500);
    expect(h.sent).toHaveLength(1);
    h.c.resend(t0 + 1_100);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toEqual(h.sent[0]); // the same signed bytes
    h.c.resend(t0 + 11_000);
    expect(h.c.waiting).toBe(0);
    expect(h.c.stats.expired).toBe(1);
  });

  it('after a handover a block is signed again under the new key; a late certificate of the old epoch is still taken, and the chain\'s tree is served', async () => {
    const { shares: s1, sharing: g1 } = dealShares(2, 3);
    const { shares: s2, sharing: g2 } = dealShares(2, 3);
    const k1 = await keyOf(1, s1, g1, 0);
    const k2 = await keyOf(2, s2, g2, 0);
    let active = k1;
    const h = harness(new NodeStore(join(dir, 'd.db')), () => active, new Map([[1, k1], [2, k2]]));
    const dest = evmDestination(31337n, new Uint8Array(20).fill(0xbb));
    const scored = { number: 42n, hash: new Uint8Array(32).fill(1), timestamp: 9n, txHashes: [new Uint8Array(32).fill(2), new Uint8Array(32).fill(3)], rows: [rowBytes([0n]), rowBytes([1n])], outputs: [[5n], [6n]] };
    const b1 = blockBatch({ domain, epoch: 1 }, feedId('blocks'), new Uint8Array(32), dest, scored);
    const blocks = new ScoredBlocks();
    blocks.add({ id: toHex(feedId('blocks')), name: 'blocks' }, scored, b1);
    await h.c.commit(b1, [0]);
    active = k2;
    const stale = h.c.takeStale(2);
    expect(stale).toEqual([b1]);
    const kept = blocks.uncertified(b1)!;
    const b2 = blockBatch({ domain, epoch: 2 }, feedId('blocks'), new Uint8Array(32), dest, scored);
    kept.batch = b2;
    expect(await h.c.commit(b2, [0])).toBe('sent');
    // both epochs reached t: the old certificate arrives first, then the new one
    h.certificate('aggregator', cert(b1, await groupSign(s1, g1, b1.tree.root)));
    expect(h.certified.map((c) => c.batch.epoch)).toEqual([1]);
    for (const c of h.certified) blocks.certify(c.batch, c.cert);
    const hit = blocks.find(42n, toHex(scored.txHashes[1]!))!;
    expect(blocks.proof(hit.kept, hit.index).root).toBe(toHex(b1.tree.root));
    blocks.certify(b2, { epoch: 2, signature: await groupSign(s2, g2, b2.tree.root), signers: [1, 2] });
    // BlockScores holds epoch 2's root: that tree is served, with epoch 2's signature
    const served = blocks.proof(hit.kept, hit.index, toHex(b2.tree.root));
    expect([served.root, served.epoch]).toEqual([toHex(b2.tree.root), 2]);
    expect(blocks.find(42n, `0x${'99'.repeat(32)}`)).toBeUndefined();
  });

  it('a member that signed a block under a newer epoch (it was late to it) takes the certificate the committee made under the older one', async () => {
    const { shares: s1, sharing: g1 } = dealShares(2, 3);
    const { shares: s2, sharing: g2 } = dealShares(2, 3);
    const k1 = await keyOf(1, s1, g1, 2);
    const k2 = await keyOf(2, s2, g2, 2);
    const h = harness(new NodeStore(join(dir, 'e.db')), () => k2, new Map([[1, k1], [2, k2]]));
    const dest = evmDestination(31337n, new Uint8Array(20).fill(0xbb));
    const scored = { number: 43n, hash: new Uint8Array(32).fill(1), timestamp: 9n, txHashes: [new Uint8Array(32).fill(2)], rows: [rowBytes([0n])], outputs: [[5n]] };
    const late = blockBatch({ domain, epoch: 2 }, feedId('blocks'), new Uint8Array(32), dest, scored);
    await h.c.commit(late, [0]);
    const others = blockBatch({ domain, epoch: 1 }, feedId('blocks'), new Uint8Array(32), dest, scored);
    // the committee's epoch-1 certificate, but with another score for the transaction: refused
    const forged = blockBatch({ domain, epoch: 1 }, feedId('blocks'), new Uint8Array(32), dest, { ...scored, outputs: [[6n]] });
    h.certificate('aggregator', cert(forged, await groupSign(s1, g1, forged.tree.root)));
    expect(h.certified).toHaveLength(0);
    h.certificate('aggregator', cert(others, await groupSign(s1, g1, others.tree.root)));
    expect(h.certified).toHaveLength(1);
    expect([h.certified[0]!.batch.epoch, toHex(h.certified[0]!.batch.tree.root)]).toEqual([1, toHex(others.tree.root)]);
    expect(h.c.waiting).toBe(0);
  });
});
