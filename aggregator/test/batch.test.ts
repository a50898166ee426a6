import { describe, expect, it } from 'vitest';
import { reportLeaf, g2Compressed, signingMessage, SigningPurpose, signPartial, verify, verifyMerkleProof } from '@destra/protocol';
import { hexKey, batchCut, BatchPlanner, BatchRound, batchedReport, checkBatchPolicy, LeafQuorum, LoadMeter, msUntilCut, type BatchPolicy } from '../src/index.ts';
import { committee, report } from './helpers.ts';

const policy: BatchPolicy = { maxSize: 4, maxDelayMs: 50, highLoadPerSecond: 100 };

describe('batch policy', () => {
  it('cuts full batches at once and partial ones at the deadline', () => {
    expect(batchCut(0, 1000, policy)).toBe(0);
    expect(batchCut(3, 10, policy)).toBe(0);
    expect(batchCut(3, 50, policy)).toBe(3);
    expect(batchCut(9, 0, policy)).toBe(4);
    expect(msUntilCut(3, 10, policy)).toBe(40);
    expect(msUntilCut(0, 10, policy)).toBeUndefined();
    expect(() => checkBatchPolicy({ ...policy, maxSize: 0 })).toThrow(/maxSize/);
    expect(() => checkBatchPolicy({ ...policy, maxSize: 70_000 })).toThrow(/maxSize/);
  });

  it('switches to batching under load with hysteresis', () => {
    const m = new LoadMeter(policy, 1000);
    expect(m.isHigh(0)).toBe(false);
    m.record(0, 150);
    expect(m.isHigh(10)).toBe(true);
    m.record(1100, 60); // window now holds 60/s: above half the threshold → stays high
    expect(m.isHigh(1100)).toBe(true);
    expect(m.isHigh(2200)).toBe(false);
  });
});

describe('LeafQuorum', () => {
  it('makes a leaf ready at t matching announcements and names dissenters', () => {
    const q = new LeafQuorum(3, 4);
    const good = report(1, [1n]);
    const bad = report(1, [2n]);
    expect(q.announce(4, good.id, bad.leaf, 0).ready).toBeUndefined();
    expect(q.announce(1, good.id, good.leaf, 0).ready).toBeUndefined();
    expect(q.announce(1, good.id, good.leaf, 0).ready).toBeUndefined(); // duplicate
    expect(q.announce(2, good.id, good.leaf, 0).ready).toBeUndefined();
    const out = q.announce(3, good.id, good.leaf, 5);
    expect(out.ready?.leaf).toEqual(good.leaf);
    expect(out.conflicts.map((c) => c.member)).toEqual([4]);
    expect(q.announce(9, good.id, good.leaf, 5).ready).toBeUndefined(); // out of range: ignored
    expect(q.expire(40_000)).toBe(1);
  });

  it('hashes carried report bytes once per distinct leaf and drops ones that do not match', () => {
    let checks = 0;
    const q = new LeafQuorum(2, 4, 30_000, 100, (rep, leaf) => (checks++, hexKey(reportLeaf(rep)) === hexKey(leaf)));
    const r = report(2, [7n]);
    const other = report(2, [8n]);
    expect(q.announce(1, r.id, r.leaf, 0, other.bytes).badReport).toBe(true);
    expect(q.announce(1, r.id, r.leaf, 0, r.bytes).badReport).toBeUndefined();
    const out = q.announce(2, r.id, r.leaf, 0, r.bytes);
    expect(out.ready?.report).toEqual(r.bytes);
    expect(checks).toBe(2);
  });
});

describe('BatchPlanner + BatchRound', () => {
  it('signs one root per batch; every report verifies with its proof', async () => {
    const { shares, sharing, verifier } = await committee(3, 4);
    const planner = new BatchPlanner(policy, 1n);
    const reports = Array.from({ length: 6 }, (_, i) => report(10 + i, [BigInt(i)]));
    for (const r of reports) planner.push({ requestId: r.id, leaf: r.leaf, readyAt: 0 });
    const first = planner.take(1)!;
    expect(first.leaves).toHaveLength(4);
    expect(planner.take(1)).toBeUndefined(); // 2 left, deadline not reached
    const second = planner.take(60)!;
    expect(second.leaves).toHaveLength(2);
    expect(second.batchId).toBe(first.batchId + 1n);

    const round = new BatchRound(first, verifier);
    const msg = signingMessage(SigningPurpose.ReportRoot, first.root);
    const wrong = signPartial(shares[0]!, signingMessage(SigningPurpose.ReportRoot, second.root)).signature;
    expect(round.add(2, wrong)).toEqual([]);
    expect(round.add(1, signPartial(shares[0]!, msg).signature)).toEqual([]);
    const evs = round.add(3, signPartial(shares[2]!, msg).signature);
    expect(evs.map((e) => e.type)).toEqual(['misbehaviour']);
    const done = round.add(4, signPartial(shares[3]!, msg).signature);
    const signed = done.find((e) => e.type === 'signed');
    if (signed?.type !== 'signed') throw new Error('batch not signed');
    expect(signed.result.signers).toEqual([1, 3, 4]);
    expect(verify(g2Compressed(sharing.groupKey), msg, signed.result.signature)).toBe(true);
    for (let i = 0; i < first.leaves.length; i++) {
      const br = batchedReport(signed.result, i);
      expect(verifyMerkleProof(br.leaf, br.proof, br.root)).toBe(true);
      expect(br.requestId).toEqual(reports[i]!.id);
    }
  });

  it('knows when a batch can no longer reach t', async () => {
    const { verifier } = await committee(3, 4);
    const planner = new BatchPlanner(policy, 1n);
    planner.push({ requestId: report(1, [1n]).id, leaf: report(1, [1n]).leaf, readyAt: 0 });
    const round = new BatchRound(planner.take(100)!, verifier);
    round.decline(1);
    expect(round.hopeless()).toBe(false);
    round.decline(2);
    expect(round.hopeless()).toBe(true);
  });
});

describe('fast hasher', () => {
  it('matches the protocol leaf and tree bytes exactly', async () => {
    const { loadFastHasher } = await import('../src/index.ts');
    const { buildMerkleTree } = await import('@destra/protocol');
    const h = await loadFastHasher();
    for (const count of [1, 2, 3, 7, 64, 101]) {
      const reps = Array.from({ length: count }, (_, i) => report(i % 250, [BigInt(i), -BigInt(i)]));
      const leaves = reps.map((r) => h.reportLeaf(r.bytes));
      expect(leaves.map(hexKey)).toEqual(reps.map((r) => hexKey(r.leaf)));
      const a = h.merkleTree(leaves);
      const b = buildMerkleTree(leaves);
      expect(hexKey(a.root)).toBe(hexKey(b.root));
      expect(a.levels.map((l) => l.map(hexKey))).toEqual(b.levels.map((l) => l.map(hexKey)));
    }
    expect(() => h.merkleTree([])).toThrow(/at least one/);
    const { inputHash } = await import('@destra/protocol');
    const one = report(1, [1n]).bytes;
    expect(hexKey(h.keccak(one))).toBe(hexKey(inputHash(one)));
  });

  it('flat paths (native and hash-wasm) give the same leaves, levels, roots and proofs as the protocol', async () => {
    const { loadFastHasher, flatProof } = await import('../src/index.ts');
    const { buildMerkleTree, merkleProof, verifyMerkleProof } = await import('@destra/protocol');
    const hashers = [await loadFastHasher(), await loadFastHasher({ native: false })];
    expect(hashers[1]!.native).toBe(false);
    for (const count of [1, 2, 3, 5, 64, 101]) {
      const reps = Array.from({ length: count }, (_, i) => report(i % 250, [BigInt(i)]));
      const len = reps[0]!.bytes.length;
      const flat = new Uint8Array(count * len);
      reps.forEach((r, i) => flat.set(r.bytes, i * len));
      const tree = buildMerkleTree(reps.map((r) => r.leaf));
      for (const h of hashers) {
        const leaves = h.leavesFlat(flat, len);
        expect(leaves.length).toBe(32 * count);
        reps.forEach((r, i) => expect(hexKey(leaves.subarray(i * 32, i * 32 + 32))).toBe(hexKey(r.leaf)));
        const ft = h.flatTree(leaves);
        expect(hexKey(ft.root)).toBe(hexKey(tree.root));
        expect(ft.levels.length).toBe(tree.levels.length);
        for (const i of [0, count - 1, count >> 1]) {
          const proof = flatProof(ft, i);
          expect(proof.map(hexKey)).toEqual(merkleProof(tree, i).map(hexKey));
          expect(verifyMerkleProof(reps[i]!.leaf, proof, ft.root)).toBe(true);
        }
        const ids = h.keccakFlat(flat, len);
        expect(ids.length).toBe(32 * count);
        expect(hexKey(ids.subarray(0, 32))).toBe(hexKey(h.keccak(reps[0]!.bytes)));
        expect(hexKey(ids.subarray(ids.length - 32))).toBe(hexKey(h.keccak(reps[count - 1]!.bytes)));
        expect(() => h.leavesFlat(flat.subarray(1), len)).toThrow(/not a non-empty sequence of \d+-byte items/);
        expect(() => h.flatTree(new Uint8Array(0))).toThrow(/non-empty/);
        expect(() => flatProof(ft, count)).toThrow(/outside/);
      }
    }
  });
});
