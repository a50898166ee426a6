// Feed batches (docs/report-format.md §6): stream ids and the block leaf inputHash byte layouts, and the
// FeedCommit decoder, which takes outside bytes: malformed, oversized or inconsistent frames are refused
// with WireError naming the field, and whatever it accepts re-encodes to itself.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  FeedCommitCodec, MAX_FEED_COMMIT_REPORTS, ReportFormatError, TIMED_FEEDS_SCOPE, WireError, blockTxInputHash, encodeCbor, feedBatchStream, rangeId, type FeedCommit,
} from '../src/index.ts';

const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
};
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('feed batch ids and block leaves', () => {
  it('stream = keccak256(0x03 ‖ scope ‖ uint64 round), apart from range ids', () => {
    const scope = new Uint8Array(32).fill(7);
    expect(feedBatchStream(scope, 300n)).toEqual(keccak_256(cat(Uint8Array.of(3), scope, u64(300n))));
    expect(feedBatchStream(TIMED_FEEDS_SCOPE, 5n)).toEqual(keccak_256(cat(Uint8Array.of(3), new Uint8Array(32), u64(5n))));
    expect(feedBatchStream(scope, 1n)).not.toEqual(rangeId(scope, 1, 1));
    expect(() => feedBatchStream(new Uint8Array(31), 1n)).toThrow(ReportFormatError);
    expect(() => feedBatchStream(scope, -1n)).toThrow(ReportFormatError);
    expect(() => feedBatchStream(scope, 2n ** 64n)).toThrow(ReportFormatError);
  });

  it('block leaf inputHash = keccak256(uint64 block ‖ blockHash ‖ txHash ‖ input)', () => {
    const bh = new Uint8Array(32).fill(1);
    const tx = new Uint8Array(32).fill(2);
    const input = new Uint8Array(80).fill(3);
    expect(blockTxInputHash(19_000_000n, bh, tx, input)).toEqual(keccak_256(cat(u64(19_000_000n), bh, tx, input)));
    expect(() => blockTxInputHash(1n, bh.subarray(1), tx, input)).toThrow(ReportFormatError);
    expect(() => blockTxInputHash(1n, bh, tx.subarray(1), input)).toThrow(ReportFormatError);
  });
});

const commit = (over: Partial<FeedCommit> = {}): FeedCommit => ({
  type: 'feed-commit', v: 1, epoch: 3, index: 2, stream: new Uint8Array(32).fill(1), count: 2, root: new Uint8Array(32).fill(2),
  signature: new Uint8Array(48).fill(3), reports: [new Uint8Array(230).fill(4)], proofs: [[new Uint8Array(32).fill(5)]], ...over,
});

describe('FeedCommit decoder', () => {
  it('round-trips a valid commit', () => {
    const m = commit();
    expect(FeedCommitCodec.decode(FeedCommitCodec.encode(m))).toEqual(m);
  });

  it('refuses inconsistent and malformed commits, naming the field', () => {
    const bad: [Partial<FeedCommit>, RegExp][] = [
      [{ proofs: [] }, /one proof per report/],
      [{ count: 0 }, /count/],
      [{ count: 1, reports: [new Uint8Array(230), new Uint8Array(230)], proofs: [[], []] }, /more reports than leaves/],
      [{ reports: [] , proofs: [] }, /reports/],
      [{ signature: new Uint8Array(47) }, /signature/],
      [{ root: new Uint8Array(31) }, /root/],
      [{ index: 0 }, /index/],
      [{ reports: [new Uint8Array(735)] }, /reports/],
      [{ proofs: [Array.from({ length: 17 }, () => new Uint8Array(32))] }, /proofs/],
      [{ count: 300, reports: Array.from({ length: MAX_FEED_COMMIT_REPORTS + 1 }, () => new Uint8Array(222)), proofs: Array.from({ length: MAX_FEED_COMMIT_REPORTS + 1 }, () => []) }, /reports/],
    ];
    for (const [over, why] of bad) {
      const frame = encodeCbor(commit(over));
      expect(() => FeedCommitCodec.decode(frame), why.source).toThrow(WireError);
      expect(() => FeedCommitCodec.decode(frame)).toThrow(why);
    }
    expect(() => FeedCommitCodec.decode(new Uint8Array(FeedCommitCodec.maxBytes + 1))).toThrow(/limit/);
    expect(() => FeedCommitCodec.decode(encodeCbor({ ...commit(), extra: 1 }))).toThrow(WireError);
  });

  it('any mutated frame is refused with WireError or decodes to a commit that re-encodes to itself', () => {
    const seed = FeedCommitCodec.encode(commit());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.boolean(), (flips, truncate) => {
        const bytes = seed.slice(0, truncate ? seed.length - flips.length : seed.length);
        for (const [at, v] of flips) if (at < bytes.length) bytes[at] = v;
        try {
          const m = FeedCommitCodec.decode(bytes);
          expect(FeedCommitCodec.decode(FeedCommitCodec.encode(m))).toEqual(m);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 2000, seed: 20261203 },
    );
  });
});
