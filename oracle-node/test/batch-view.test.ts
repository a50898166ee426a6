// NDJSON result lines of a certified range (RangeLines, written byte by byte from the range's hex) say
// exactly what resultView says for each row, for ranges of any shape (odd counts, a single leaf, slices
// starting anywhere), and each line's proof folds to the signed root.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { dealShares, fromHex, rangeId, reportLeaf, rootFromProof, signPartial, signingMessage, SigningPurpose } from '@destra/protocol';
import { loadFastHasher } from '@destra/aggregator/fast-hash';
import { RangeLines, rangeOutcomeChunks, resultView } from '../src/api/batch-view.ts';
import type { CertifiedRange, JobRange } from '../src/range/index.ts';

const { shares } = dealShares(2, 3);

async function certified(count: number, reportLength: number, start: number): Promise<CertifiedRange> {
  const hasher = await loadFastHasher();
  const reports = new Uint8Array(randomBytes(count * reportLength));
  const tree = hasher.flatTree(hasher.leavesFlat(reports, reportLength));
  const stream = new Uint8Array(randomBytes(32));
  const signature = signPartial(shares[0]!, signingMessage(SigningPurpose.ReportRoot, tree.root)).signature;
  return { id: rangeId(stream, start, count), epoch: 3, stream, start, count, reports, reportLength, tree, root: tree.root, signature, signers: [1, 3] };
}

const parse = (buf: Buffer): unknown[] => buf.toString('latin1').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);

describe('RangeLines', () => {
  it.each([
    [1, 5],
    [2, 40],
    [7, 213],
    [9, 50],
    [17, 10],
    [33, 230],
    [1000, 97],
  ])('%i leaves of %i-byte reports: every line equals resultView of its row', async (count, reportLength) => {
    const r = await certified(count, reportLength, 1_000_003);
    const firstRow = 4096;
    const lines = new RangeLines(r, firstRow);
    const all = parse(lines.all());
    expect(all).toHaveLength(count);
    all.forEach((line, i) => expect(line).toEqual(resultView(r, i, firstRow + i)));
    // A slice from the middle gives the same lines as the whole.
    const from = Math.floor(count / 3);
    const to = Math.min(count, from + 17);
    expect(parse(lines.lines(from, to))).toEqual(all.slice(from, to));
    // Each proof folds from its report's leaf to the root.
    for (const i of [0, count - 1, from]) {
      const l = all[i] as { report: string; proof: string[]; root: string };
      expect(Buffer.from(rootFromProof(reportLeaf(fromHex(l.report)), l.proof.map((x) => fromHex(x)))).equals(Buffer.from(r.root))).toBe(true);
    }
  });

  it('a settled range streams in chunks that together are its lines; a failed range is one failed line', async () => {
    const r = await certified(5000, 64, 0);
    const range: JobRange = { row: 0, start: 0, count: 5000, stream: r.stream, id: '0x' + Buffer.from(r.id).toString('hex'), epoch: 3, state: 'certified', certified: r };
    const chunks = [...rangeOutcomeChunks(range)];
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(new RangeLines(r, 0).all())).toBe(true); // (toEqual on megabytes is slow)
    const failed = [...rangeOutcomeChunks({ ...range, state: 'failed', error: 'no certificate' })];
    expect(parse(Buffer.concat(failed))).toEqual([{ type: 'failed', fromRow: 0, toRow: 5000, rangeId: range.id, error: 'no certificate' }]);
  });
});
