// The pure feed scheduler: feeds defined on chain start, change and stop live; windows are evaluated once
// each; a timed feed is due on its first round, when its heartbeat elapsed or its output deviated from the
// reference (newer of FeedStore's round and the committee's last certified round); block feeds score
// confirmed blocks in order, bounded. Plus the deterministic transaction features and the feed trees.
import { describe, expect, it } from 'vitest';
import { TIMED_FEEDS_SCOPE, blockTxInputHash, decodeReport, feedBatchStream, feedId, reportLeaf, rootFromProof, toHex, ChainType } from '@destra/protocol';
import { FeedScheduler, deviates, type FeedDef } from '../src/feeds/scheduler.ts';
import { log2q, rowBytes, txFeatureRows, type BlockTx } from '../src/feeds/tx-features.ts';
import { blockBatch, timedWindowBatch, withProof } from '../src/feeds/batches.ts';
import { evmDestination } from '@destra/protocol';

const timed = (name: string, over: Partial<Extract<FeedDef, { kind: 'timed' }>> = {}): FeedDef => ({
  kind: 'timed', id: toHex(feedId(name)), name, model: 'risk', input: new Uint8Array(8), heartbeatSec: 30, deviationBps: 100,
  destinations: { ethereum: true, solana: true }, revision: 1, ...over,
});
const block = (name: string, over: Partial<Extract<FeedDef, { kind: 'block' }>> = {}): FeedDef => ({
  kind: 'block', id: toHex(feedId(name)), name, model: 'tx-anomaly', confirmations: 2, sinceBlock: 100n, revision: 1, ...over,
});
const round = (r: bigint, values: bigint[]) => ({ round: r, timestamp: r, values });

describe('FeedScheduler: definitions followed live', () => {
  it('starts added feeds, restarts changed ones, stops removed ones — and nothing else', () => {
    const s = new FeedScheduler();
    expect(s.setDefinitions(5, [timed('a'), block('b')]).map((e) => [e.type, 'feed' in e ? e.feed.name : e.name])).toEqual([['started', 'a'], ['started', 'b']]);
    expect(s.setDefinitions(5, [timed('a'), block('b')])).toEqual([]); // same revisions: no churn
    const ev = s.setDefinitions(10, [timed('a', { revision: 2, heartbeatSec: 60 }), block('b'), timed('c')]);
    expect(ev.map((e) => e.type)).toEqual(['changed', 'started']);
    expect(ev[0]).toMatchObject({ type: 'changed', fromRevision: 1, feed: { name: 'a', heartbeatSec: 60 } });
    expect(s.window).toBe(10);
    expect(s.setDefinitions(10, [timed('c')]).map((e) => [e.type, 'feed' in e ? e.feed.name : e.name])).toEqual([['stopped', 'a'], ['stopped', 'b']]);
    expect(s.timedFeeds().map((f) => f.name)).toEqual(['c']);
    expect(s.blockFeeds()).toEqual([]);
    expect(() => s.setDefinitions(0, [])).toThrow(/window/);
  });

  it('orders a window\'s feeds by id (every member builds the same tree)', () => {
    const s = new FeedScheduler();
    s.setDefinitions(5, ['zeta', 'alpha', 'mid', 'omega'].map((n) => timed(n)));
    const ids = s.timedFeeds().map((f) => f.id);
    expect(ids).toEqual([...ids].sort());
  });
});

describe('FeedScheduler: windows, heartbeat and deviation', () => {
  it('hands out each window once, after it settled, only the latest when behind, none without timed feeds', () => {
    const s = new FeedScheduler({ settleSec: 1 });
    expect(s.nextWindow(1_000)).toBeUndefined(); // no feeds yet
    s.setDefinitions(5, [timed('a')]);
    expect(s.nextWindow(1_000)).toBe(995n); // 1000 − 1 settles into the window starting at 995
    expect(s.nextWindow(1_000.9)).toBeUndefined();
    expect(s.nextWindow(1_001)).toBe(1_000n);
    expect(s.nextWindow(1_003)).toBeUndefined();
    expect(s.nextWindow(1_031)).toBe(1_030n); // 1005..1025 were missed: no backlog
  });

  it('first round, then heartbeat from the newest published round, deviation beyond the threshold only', () => {
    const s = new FeedScheduler();
    s.setDefinitions(5, [timed('a', { heartbeatSec: 30, deviationBps: 100 })]);
    const id = toHex(feedId('a'));
    expect(s.decide(id, 1_000n, [10_000n], null)).toBe('first');
    const stored = round(1_000n, [10_000n]);
    expect(s.decide(id, 1_005n, [10_000n], stored)).toBeUndefined();
    expect(s.decide(id, 1_005n, [10_100n], stored)).toBeUndefined(); // exactly 1%: not more than the threshold
    expect(s.decide(id, 1_005n, [10_101n], stored)).toBe('deviation');
    expect(s.decide(id, 1_005n, [9_899n], stored)).toBe('deviation');
    expect(s.decide(id, 1_025n, [10_000n], stored)).toBeUndefined();
    expect(s.decide(id, 1_030n, [10_000n], stored)).toBe('heartbeat');
    expect(s.decide(id, 1_000n, [99n], stored)).toBeUndefined(); // that window is out already
    // the committee certified 1025 (not on chain yet): it is the reference, so 1030 is not due again
    s.onCertified(id, round(1_025n, [10_000n]));
    expect(s.decide(id, 1_030n, [10_000n], stored)).toBeUndefined();
    expect(s.decide(id, 1_055n, [10_000n], stored)).toBe('heartbeat');
    // an older certificate never replaces a newer reference
    s.onCertified(id, round(1_010n, [1n]));
    expect(s.decide(id, 1_030n, [10_000n], stored)).toBeUndefined();
    // a newer on-chain round wins over the certificate
    expect(s.decide(id, 1_060n, [10_000n], round(1_050n, [20_000n]))).toBe('deviation');
  });

  it('deviation: zero reference, negative values, a changed output count; 0 bps is heartbeat only', () => {
    expect(deviates([0n], [0n], 50)).toBe(false);
    expect(deviates([0n], [1n], 50)).toBe(true);
    expect(deviates([-1_000n], [-1_006n], 50)).toBe(true);
    expect(deviates([-1_000n], [-1_005n], 50)).toBe(false);
    expect(deviates([1n, 2n], [1n], 50)).toBe(true);
    const s = new FeedScheduler();
    s.setDefinitions(5, [timed('h', { deviationBps: 0, heartbeatSec: 60 })]);
    const id = toHex(feedId('h'));
    expect(s.decide(id, 1_010n, [1_000_000n], round(1_000n, [1n]))).toBeUndefined();
    expect(s.decide(id, 1_060n, [1n], round(1_000n, [1n]))).toBe('heartbeat');
  });

  it('a removed feed is never due; a re-added one starts fresh (its old certificate is forgotten)', () => {
    const s = new FeedScheduler();
    const id = toHex(feedId('a'));
    s.setDefinitions(5, [timed('a')]);
    s.onCertified(id, round(1_000n, [5n]));
    s.setDefinitions(5, []);
    expect(s.decide(id, 1_100n, [5n], null)).toBeUndefined();
    s.setDefinitions(5, [timed('a', { revision: 3 })]);
    expect(s.decide(id, 1_005n, [5n], null)).toBe('first');
  });
});

describe('FeedScheduler: block feeds', () => {
  it('scores confirmed blocks after the feed was added, in order, a few per call, never far behind', () => {
    const s = new FeedScheduler({ maxBacklogBlocks: 10, maxBlocksPerCall: 3 });
    s.setDefinitions(5, [block('b', { confirmations: 2, sinceBlock: 100n })]);
    const id = toHex(feedId('b'));
    expect(s.blocksDue(id, 101n)).toEqual([]); // 101 − 2 confirmations: nothing after 100 is confirmed
    expect(s.blocksDue(id, 103n)).toEqual([101n]);
    s.onBlockDone(id, 101n);
    expect(s.blocksDue(id, 110n)).toEqual([102n, 103n, 104n]);
    for (const b of [102n, 103n, 104n]) s.onBlockDone(id, b);
    // far behind: skips to the last 10 confirmed blocks
    expect(s.blocksDue(id, 1_000n)).toEqual([989n, 990n, 991n]);
    // a change of the feed keeps its position; a restart resumes from the stored one (never backwards)
    s.onBlockDone(id, 991n);
    s.setDefinitions(5, [block('b', { revision: 2, confirmations: 3 })]);
    expect(s.nextBlock(id)).toBe(992n);
    s.resumeBlocks(id, 50n);
    expect(s.nextBlock(id)).toBe(992n);
    expect(s.blocksDue('0xunknown', 1_000n)).toEqual([]);
  });
});

const addr = (n: number) => new Uint8Array(20).fill(n);
const tx = (i: number, over: Partial<BlockTx> = {}): BlockTx => ({
  hash: new Uint8Array(32).fill(i), from: addr(1), to: addr(2), value: 10n ** 18n, gasPrice: 10n ** 9n, input: new Uint8Array(0), ...over,
});

describe('transaction features (tx-anomaly rows from one block, integer arithmetic)', () => {
  it('log2 in 1/16 steps', () => {
    expect([0n, 1n, 2n, 3n, 4n, 1024n].map(log2q)).toEqual([0n, 0n, 16n, 24n, 32n, 160n]);
    expect(log2q(2n ** 256n - 1n)).toBe(16n * 255n + 15n);
  });

  it('measures value and gas price against the block, flags creations, calls, unlimited approvals, bursts and fan-out', () => {
    const approve = new Uint8Array(68);
    approve.set([0x09, 0x5e, 0xa7, 0xb3]);
    approve.fill(0xff, 36);
    const rows = txFeatureRows([
      tx(1),
      tx(2, { value: 10n ** 21n, gasPrice: 4n * 10n ** 9n, to: addr(3) }),
      tx(3, { from: addr(9), to: null, input: new Uint8Array([1, 2, 3, 4, 5]) }),
      tx(4, { from: addr(8), input: approve, value: 0n }),
    ]);
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r).toHaveLength(10);
      for (const v of r) expect(v >= -128n && v <= 127n).toBe(true);
    }
    expect(rows[0]![4]).toBe(16n); // sender 1 sent 2 transactions in the block
    expect(rows[0]![8]).toBe(16n); // to 2 recipients
    expect(rows[1]![1]).toBe(32n); // 4× the median gas price: +2 (bits) → 32/16
    expect(rows[1]![0]).toBeGreaterThan(rows[0]![0]!); // 1000× the value
    expect(rows[2]![3]).toBe(16n); // contract creation
    expect(rows[2]![5]).toBe(16n); // calldata with a selector
    expect(rows[3]![6]).toBe(127n); // approve(spender, 2^256−1): clamped to 7.9375
    expect(rows[3]![0]).toBeLessThan(0n); // value 0 against a median of 1 ETH
    for (const i of [2, 7, 9]) for (const r of rows) expect(r[i]).toBe(0n); // sender history: not in one block
    // deterministic: the same block gives the same bytes
    expect(txFeatureRows([tx(1), tx(2, { value: 10n ** 21n, gasPrice: 4n * 10n ** 9n, to: addr(3) }), tx(3, { from: addr(9), to: null, input: new Uint8Array([1, 2, 3, 4, 5]) }), tx(4, { from: addr(8), input: approve, value: 0n })]).map(rowBytes)).toEqual(rows.map(rowBytes));
    expect(rowBytes(rows[1]!)).toHaveLength(80);
    expect(txFeatureRows([])).toEqual([]);
  });
});

describe('feed trees', () => {
  const c = { domain: new Uint8Array(32).fill(7), epoch: 3 };

  it('a window tree: one report per due feed, round and timestamp = the window start, proofs to the root', () => {
    const b = timedWindowBatch(c, 1_800n, [
      { id: feedId('a'), modelHash: new Uint8Array(32).fill(1), input: new Uint8Array(8), output: [5n] },
      { id: feedId('b'), modelHash: new Uint8Array(32).fill(1), input: new Uint8Array(8), output: [-6n] },
    ]);
    expect(toHex(b.stream)).toBe(toHex(feedBatchStream(TIMED_FEEDS_SCOPE, 1_800n)));
    for (let i = 0; i < 2; i++) {
      const { report, proof } = withProof(b, i);
      const r = decodeReport(report);
      expect([r.round, r.timestamp, r.epoch, r.destination.chainType]).toEqual([1_800n, 1_800n, 3n, ChainType.Any]);
      expect(toHex(rootFromProof(reportLeaf(report), proof))).toBe(toHex(b.tree.root));
    }
  });

  it('a block tree: leaf i names the block and transaction i in its inputHash and is addressed to BlockScores', () => {
    const dest = evmDestination(31337n, new Uint8Array(20).fill(0xbb));
    const hash = new Uint8Array(32).fill(0xcc);
    const txs = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32).fill(3)];
    const rows = txs.map((_, i) => rowBytes([BigInt(i), 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]));
    const b = blockBatch(c, feedId('blocks'), new Uint8Array(32).fill(1), dest, { number: 77n, hash, timestamp: 1_234n, txHashes: txs, rows, outputs: [[1n], [2n], [3n]] });
    expect(toHex(b.stream)).toBe(toHex(feedBatchStream(feedId('blocks'), 77n)));
    for (let i = 0; i < 3; i++) {
      const r = decodeReport(withProof(b, i).report);
      expect(toHex(r.inputHash)).toBe(toHex(blockTxInputHash(77n, hash, txs[i]!, rows[i]!)));
      expect([r.round, r.timestamp, r.output]).toEqual([77n, 1_234n, [BigInt(i + 1)]]);
      expect(r.destination.chainType).toBe(ChainType.Evm);
    }
  });
});
