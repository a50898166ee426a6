import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ChainType, MerkleProofError, ReportFormatError, ReportKind, buildMerkleTree, decodeHandover, decodeReport,
  encodeHandover, encodeReport, evmDestination, fromHex, merkleProof, reportLeaf, rootFromProof, toHex,
  encodePayoutTable, payoutWeight, payoutsRoot,
  verifyMerkleProof, MAX_BATCH_SIZE, ReportBatchEncoder, ReportStatus, reportStatusName,
} from '../src/report/index.ts';
import { generate, sampleReports } from './report-vectors.gen.ts';

const vectors = (file: string) => JSON.parse(readFileSync(new URL(`../../test/vectors/report/${file}`, import.meta.url), 'utf8'));

describe('report vectors', () => {
  it('committed JSON equals the generator output (regenerate with npx tsx protocol/test/report-vectors.gen.ts)', () => {
    for (const [file, content] of Object.entries(generate())) {
      expect(vectors(file)).toEqual(JSON.parse(JSON.stringify(content)));
    }
  });

  it('every valid vector decodes to its fields and re-encodes to the same bytes', () => {
    const { valid } = vectors('reports.json');
    expect(valid).toHaveLength(6);
    for (const v of valid) {
      const bytes = fromHex(v.bytes);
      const r = decodeReport(bytes);
      expect(r.kind).toBe(v.report.kind);
      expect(toHex(r.id)).toBe(v.report.id);
      expect(r.epoch.toString()).toBe(v.report.epoch);
      expect(r.output.map(String)).toEqual(v.report.output);
      expect(r.status).toBe(v.report.status);
      expect(toHex(encodeReport(r))).toBe(v.bytes);
      expect(toHex(reportLeaf(bytes))).toBe(v.leaf);
      expect(v.signingMessage).toBe(`0x01${v.leaf.slice(2)}`);
    }
  });

  it('every invalid vector is rejected naming the wrong field', () => {
    const { invalid } = vectors('reports.json');
    expect(invalid.length).toBeGreaterThanOrEqual(19);
    for (const v of invalid) {
      let caught: unknown;
      try {
        decodeReport(fromHex(v.bytes));
      } catch (e) {
        caught = e;
      }
      expect(caught, v.name).toBeInstanceOf(ReportFormatError);
      expect((caught as ReportFormatError).field, v.name).toBe(v.field);
    }
  });
});

describe('report encoding', () => {
  const base = sampleReports()[0]!.report;

  it('puts fields at the documented offsets', () => {
    const bytes = encodeReport(base);
    expect(bytes.length).toBe(230);
    expect(bytes[0]).toBe(2);
    expect(bytes[1]).toBe(ReportKind.Request);
    expect(bytes[42]).toBe(ChainType.Evm);
    expect(toHex(bytes.slice(107, 139))).toBe(toHex(base.id));
    expect(bytes[219]).toBe(ReportStatus.Ok);
    expect(new DataView(bytes.buffer).getUint16(220)).toBe(1);
    expect(new DataView(bytes.buffer).getBigInt64(222)).toBe(734_512n);
  });

  it('encodes a failure report as the 222-byte header with the status and no outputs, and decodes it back', () => {
    for (const status of [ReportStatus.UnknownModel, ReportStatus.InputLength, ReportStatus.InputRange, ReportStatus.OutputInvalid]) {
      const bytes = encodeReport({ ...base, status, output: [] });
      expect(bytes.length).toBe(222);
      expect(bytes[219]).toBe(status);
      expect(new DataView(bytes.buffer).getUint16(220)).toBe(0);
      const r = decodeReport(bytes);
      expect(r.status).toBe(status);
      expect(r.output).toEqual([]);
      expect(toHex(r.modelHash)).toBe(toHex(base.modelHash));
      expect(toHex(encodeReport(r))).toBe(toHex(bytes));
    }
    expect(reportStatusName(ReportStatus.InputRange)).toBe('INPUT_RANGE');
    expect(reportStatusName(9)).toBe('UNKNOWN(9)');
  });

  it('refuses to encode a failure with outputs, a failure of another kind, an ok report without outputs, an unknown status', () => {
    expect(() => encodeReport({ ...base, status: ReportStatus.InputRange })).toThrow(/outputCount/);
    expect(() => encodeReport({ ...base, kind: ReportKind.Feed, status: ReportStatus.InputRange, output: [] })).toThrow(/status/);
    expect(() => encodeReport({ ...base, kind: ReportKind.OnDemand, destination: { chainType: ChainType.Any, chainId: new Uint8Array(32), contract: new Uint8Array(32) }, status: ReportStatus.UnknownModel, output: [] })).toThrow(/status/);
    expect(() => encodeReport({ ...base, status: ReportStatus.Ok, output: [] })).toThrow(/outputCount/);
    expect(() => encodeReport({ ...base, status: 5 as ReportStatus, output: [] })).toThrow(/status/);
  });

  it('encodes an EVM chain id as u256 and the contract left-padded', () => {
    const addr = new Uint8Array(20).fill(0xab);
    const d = evmDestination((1n << 70n) + 5n, addr);
    expect(toHex(d.chainId)).toBe(`0x${'00'.repeat(23)}40${'00'.repeat(7)}05`);
    expect(toHex(d.contract)).toBe(`0x${'00'.repeat(12)}${'ab'.repeat(20)}`);
  });

  it('rejects out-of-range fields before writing anything', () => {
    expect(() => encodeReport({ ...base, output: [1n << 63n] })).toThrow(/output\[0\]/);
    expect(() => encodeReport({ ...base, output: [] })).toThrow(/outputCount/);
    expect(() => encodeReport({ ...base, epoch: -1n })).toThrow(/epoch/);
    expect(() => encodeReport({ ...base, id: new Uint8Array(31) })).toThrow(/id: expected 32 bytes/);
    expect(() => encodeReport({ ...base, destination: { ...base.destination, chainType: ChainType.Any } })).toThrow(ReportFormatError);
  });

  it('rejects oversized input before parsing', () => {
    expect(() => decodeReport(new Uint8Array(10_000))).toThrow(/length 10000/);
  });
});

describe('ReportBatchEncoder', () => {
  it('encodes each report byte-identically to encodeReport, for one and several outputs', () => {
    for (const outputCount of [1, 3]) {
      const shared = { kind: ReportKind.Request, domain: new Uint8Array(32).fill(9), epoch: 7n, destination: evmDestination(31337n, new Uint8Array(20).fill(0xab)), modelHash: new Uint8Array(32).fill(4), timestamp: 1_700_000_000n, round: 2n, outputCount } as const;
      const enc = new ReportBatchEncoder(shared);
      const count = 5;
      const ids = new Uint8Array(32 * count).map((_, i) => (i * 7) & 255);
      const hashes = new Uint8Array(32 * count).map((_, i) => (i * 13 + 1) & 255);
      const outputs = BigInt64Array.from({ length: count * outputCount }, (_, i) => BigInt(i * 1_000_003 - 7) * (i % 2 ? -1n : 1n));
      const outBytes = new Uint8Array(outputs.length * 8);
      outputs.forEach((v, i) => new DataView(outBytes.buffer).setBigInt64(i * 8, v));
      const flat = enc.encode(ids, hashes, outBytes);
      expect(flat.length).toBe(count * enc.length);
      for (let i = 0; i < count; i++) {
        const one = encodeReport({ ...shared, id: ids.slice(i * 32, i * 32 + 32), inputHash: hashes.slice(i * 32, i * 32 + 32), output: [...outputs.slice(i * outputCount, (i + 1) * outputCount)] });
        expect(flat.subarray(i * enc.length, (i + 1) * enc.length)).toEqual(one);
      }
    }
  });

  it('validates the shared fields once and the per-report shapes on every call', () => {
    expect(() => new ReportBatchEncoder({ kind: ReportKind.Request, domain: new Uint8Array(32), epoch: 1n, destination: { chainType: ChainType.Any, chainId: new Uint8Array(32), contract: new Uint8Array(32) }, modelHash: new Uint8Array(32), timestamp: 1n, round: 0n, outputCount: 1 })).toThrow(ReportFormatError);
    const enc = new ReportBatchEncoder({ kind: ReportKind.OnDemand, domain: new Uint8Array(32), epoch: 1n, destination: { chainType: ChainType.Any, chainId: new Uint8Array(32), contract: new Uint8Array(32) }, modelHash: new Uint8Array(32), timestamp: 1n, round: 0n, outputCount: 2 });
    expect(() => enc.encode(new Uint8Array(64), new Uint8Array(64), new Uint8Array(24))).toThrow(/expected 32 output bytes/);
    expect(() => enc.encode(new Uint8Array(64), new Uint8Array(32), new Uint8Array(32))).toThrow(/input hashes/);
    expect(() => enc.encode(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0))).toThrow(/non-empty/);
  });
});

describe('Merkle batch', () => {
  it('verifies every proof of the committed batches and rejects tampering', () => {
    for (const batch of vectors('batches.json').batches) {
      const root = fromHex(batch.root);
      for (const item of batch.reports) {
        const leaf = reportLeaf(fromHex(item.bytes));
        expect(toHex(leaf)).toBe(item.leaf);
        const proof = item.proof.map((p: string) => fromHex(p));
        expect(verifyMerkleProof(leaf, proof, root)).toBe(true);
        const wrong = leaf.slice();
        wrong[0] = wrong[0]! ^ 1;
        expect(verifyMerkleProof(wrong, proof, root)).toBe(false);
      }
    }
  });

  it('a single report is its own root with an empty proof', () => {
    const leaf = reportLeaf(encodeReport(sampleReports()[0]!.report));
    const tree = buildMerkleTree([leaf]);
    expect(tree.root).toEqual(leaf);
    expect(merkleProof(tree, 0)).toEqual([]);
  });

  it('an inner node cannot be presented as a report leaf', () => {
    const leaves = Array.from({ length: 4 }, (_, i) => reportLeaf(encodeReport({ ...sampleReports()[0]!.report, round: 0n, timestamp: BigInt(i + 1) })));
    const tree = buildMerkleTree(leaves);
    const inner = tree.levels[1]![0]!;
    // An inner node proves membership only as an inner node, never as a 0x00-prefixed leaf of any report.
    expect(verifyMerkleProof(inner, [tree.levels[1]![1]!], tree.root)).toBe(true);
    expect(leaves.some((l) => toHex(l) === toHex(inner))).toBe(false);
  });

  it('rejects malformed batches and proofs', () => {
    expect(() => buildMerkleTree([])).toThrow(MerkleProofError);
    expect(() => buildMerkleTree([new Uint8Array(31)])).toThrow(/leaf 0/);
    expect(() => rootFromProof(new Uint8Array(32), Array(17).fill(new Uint8Array(32)))).toThrow(/at most 16/);
    expect(() => rootFromProof(new Uint8Array(32), [new Uint8Array(5)])).toThrow(/proof\[0\]/);
    expect(() => merkleProof(buildMerkleTree([new Uint8Array(32)]), 1)).toThrow(/outside/);
    expect(MAX_BATCH_SIZE).toBe(65536);
  });
});

describe('handover', () => {
  it('round-trips the committed vector and enforces its rules', () => {
    const v = vectors('handover.json');
    const h = decodeHandover(fromHex(v.bytes));
    expect(h.threshold).toBe(3);
    expect(toHex(encodeHandover(h))).toBe(v.bytes);
    expect(() => encodeHandover({ ...h, newEpoch: h.oldEpoch + 2n })).toThrow(/oldEpoch \+ 1/);
    expect(() => encodeHandover({ ...h, threshold: 5 })).toThrow(/threshold/);
    expect(() => decodeHandover(fromHex(v.bytes).slice(1))).toThrow(/341 bytes/);
    expect(fromHex(v.bytes)[0]).toBe(2);
    expect(toHex(h.payoutsRoot)).toBe(v.handover.payoutsRoot);
    const v1 = fromHex(v.bytes).slice(0, 309);
    v1[0] = 1;
    expect(() => decodeHandover(v1)).toThrow(/341 bytes/); // the 309-byte v1 layout is gone
    const wrongVersion = fromHex(v.bytes);
    wrongVersion[0] = 1;
    expect(() => decodeHandover(wrongVersion)).toThrow(/version/);
  });

  it('hashes the payout table: payee ‖ weight (u64 BE) per member, zero payee for none', () => {
    const v = vectors('handover.json').handover;
    const entries = v.payouts.map((p: { payee: string; weight: string }) => ({ payee: fromHex(p.payee), weight: BigInt(p.weight) }));
    expect(toHex(encodePayoutTable(entries))).toBe(v.payoutTable);
    expect(toHex(payoutsRoot(entries))).toBe(v.payoutsRoot);
    expect(payoutWeight(10n ** 18n * 1234n + 10n ** 18n - 1n)).toBe(1234n); // whole DSYNC, floor
    expect(payoutWeight(10n ** 18n - 1n)).toBe(0n);
    expect(() => payoutsRoot([{ payee: new Uint8Array(31), weight: 1n }])).toThrow(/payee/);
    expect(() => payoutsRoot([{ payee: new Uint8Array(32), weight: 1n << 64n }])).toThrow(/weight/);
    const tampered = entries.map((e: { payee: Uint8Array; weight: bigint }, i: number) => (i === 1 ? { ...e, weight: e.weight + 1n } : e));
    expect(toHex(payoutsRoot(tampered))).not.toBe(v.payoutsRoot);
  });
});
