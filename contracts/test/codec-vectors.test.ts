// The Solidity report/handover decoders and Merkle code against the shared vectors (test/vectors/report/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, type Hex } from 'viem';
import { startHarness, vector, type Harness } from './harness.ts';

const reports = vector('report/reports.json');
const batches = vector('report/batches.json');
const handover = vector('report/handover.json');

let harness: Harness;
const read = (fn: string, args: unknown[]) => harness.read(fn, args);

beforeAll(async () => {
  harness = await startHarness('CodecHarness');
});
afterAll(async () => harness?.anvil.stop());

describe('ReportLib', () => {
  it.each<[string, any]>(reports.valid.map((v: any) => [v.name, v]))('decodes %s field by field, with its leaf and message', async (_n, v) => {
    const h = await read('parse', [v.bytes]);
    const r = v.report;
    expect(h.kind).toBe(r.kind);
    expect(h.domain).toBe(r.domain);
    expect(h.epoch).toBe(BigInt(r.epoch));
    expect(h.destChainType).toBe(r.destination.chainType);
    expect(h.destChainId).toBe(r.destination.chainId);
    expect(h.destContract).toBe(r.destination.contract);
    expect([h.id, h.modelHash, h.inputHash]).toEqual([r.id, r.modelHash, r.inputHash]);
    expect([h.timestamp, h.round]).toEqual([BigInt(r.timestamp), BigInt(r.round)]);
    expect(h.status).toBe(r.status);
    expect(h.outputCount).toBe(r.output.length);
    expect(await read('outputs', [v.bytes])).toEqual(r.output.map(BigInt));
    expect(await read('leaf', [v.bytes])).toBe(v.leaf);
    expect(await read('rootMessage', [v.leaf])).toBe(v.signingMessage);
  });

  it.each<[string, any]>(reports.invalid.map((v: any) => [v.name, v]))('rejects %s', async (_n, v) => {
    await expect(read('parse', [v.bytes])).rejects.toThrow(/ReportMalformed/);
  });

  it('rejects oversized input (a 65-output report)', async () => {
    const base: string = reports.valid[0].bytes;
    const header = base.slice(0, 2 + 220 * 2); // through the status byte (0)
    const oversized = `${header}0041${'00'.repeat(65 * 8)}` as Hex;
    await expect(read('parse', [oversized])).rejects.toThrow(/ReportMalformed/);
  });
});

describe('Merkle batches', () => {
  it.each<[number, any]>(batches.batches.map((b: any) => [b.size, b]))('rebuilds the root of a batch of %i and folds every proof', async (_n, b) => {
    const leaves: Hex[] = b.reports.map((r: any) => r.leaf);
    for (const r of b.reports) expect(await read('leaf', [r.bytes])).toBe(r.leaf);
    expect(await read('rootOf', [leaves])).toBe(b.root);
    for (const r of b.reports) expect(await read('rootFromProof', [r.leaf, r.proof])).toBe(b.root);
    expect(await read('rootMessage', [b.root])).toBe(b.signingMessage);
  });

  it('refuses a proof deeper than 16 levels', async () => {
    const leaf = batches.batches[0].reports[0].leaf;
    await expect(read('rootFromProof', [leaf, Array(17).fill(leaf)])).rejects.toThrow(/MerkleProofInvalid/);
  });
});

describe('HandoverLib', () => {
  it('decodes the shared handover vector and computes its signing message', async () => {
    const [h, groupKey, message] = await read('parseHandover', [handover.bytes]);
    const v = handover.handover;
    expect(h.domain).toBe(v.domain);
    expect([h.oldEpoch, h.newEpoch]).toEqual([BigInt(v.oldEpoch), BigInt(v.newEpoch)]);
    expect([h.threshold, h.committeeSize]).toEqual([v.threshold, v.committeeSize]);
    expect(groupKey).toBe(v.groupKey);
    expect([h.sharesRoot, h.membersRoot, h.payoutsRoot]).toEqual([v.sharesRoot, v.membersRoot, v.payoutsRoot]);
    expect(h.payoutsRoot).toBe(keccak256(v.payoutTable as Hex));
    expect(h.sharesRoot).toBe(keccak256(`0x${v.publicShares.map((s: string) => s.slice(2)).join('')}` as Hex));
    expect(message).toBe(handover.signingMessage);
  });

  it.each<[string, (b: string) => string, RegExp]>([
    ['a truncated handover', (b) => b.slice(0, -2), /length/],
    ['a wrong version (v1)', (b) => `0x01${b.slice(4)}`, /version/],
    ['the 309-byte v1 layout', (b) => `0x01${b.slice(4, 2 + 309 * 2)}`, /length/],
    ['a non-successor epoch', (b) => `${b.slice(0, 2 + 41 * 2)}${'00'.repeat(7)}09${b.slice(2 + 49 * 2)}`, /newEpoch/],
    ['threshold above size', (b) => `${b.slice(0, 2 + 49 * 2)}00050004${b.slice(2 + 53 * 2)}`, /threshold/],
    ['zero threshold', (b) => `${b.slice(0, 2 + 49 * 2)}00000004${b.slice(2 + 53 * 2)}`, /threshold/],
    ['a committee above 256', (b) => `${b.slice(0, 2 + 49 * 2)}00030101${b.slice(2 + 53 * 2)}`, /threshold/],
  ])('rejects %s', async (_n, mutate, field) => {
    const bad = mutate(handover.bytes);
    await expect(read('parseHandover', [bad])).rejects.toThrow(/HandoverMalformed/);
    await expect(read('parseHandover', [bad])).rejects.toThrow(field);
  });
});
