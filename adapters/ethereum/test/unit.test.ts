// Chain-free parts of the adapter: ranges, checkpoints, dedupe, signature encodings, error classification,
// node response validation and off-chain verification.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseError, ContractFunctionRevertedError, HttpRequestError, NonceTooLowError, bytesToHex, encodeAbiParameters, encodeErrorResult, encodeEventTopics,
  hexToBytes, keccak256, toHex, type Hex, type Log,
} from 'viem';
import {
  ReportKind, anyDestination, buildMerkleTree, decodeG1, encodeReport, g1ToEip2537, g2ToEip2537, merkleProof, publicKeyOf, randomSecretKey,
  reportLeaf, rootSigningMessage, sign,
} from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import {
  CheckpointError, JsonFileCheckpointStore, MalformedChainDataError, MemoryCheckpointStore, NodeResponseError, RecentIds, SignatureEncodingError,
  blockRanges, classifyError, encodeInput, isProcessed, parseRequestLog, parseSignedReport, toEip2537Signature, verifyReportOffchain,
} from '../src/index.ts';

const report = (i: number, kind: ReportKind = ReportKind.OnDemand) =>
  encodeReport({
    kind, domain: hexToBytes(keccak256(toHex('destra:test'))), epoch: 3n, destination: anyDestination(), id: hexToBytes(keccak256(toHex(`id${i}`))),
    modelHash: new Uint8Array(32).fill(1), inputHash: new Uint8Array(32).fill(2), timestamp: 1_700_000_000n, round: 0n, output: [BigInt(i), -5n],
  });

describe('blockRanges', () => {
  it('splits inclusively at the max range', () => {
    expect(blockRanges(10n, 25n, 10n)).toEqual([{ fromBlock: 10n, toBlock: 19n }, { fromBlock: 20n, toBlock: 25n }]);
    expect(blockRanges(5n, 5n, 1n)).toEqual([{ fromBlock: 5n, toBlock: 5n }]);
    expect(blockRanges(6n, 5n, 3n)).toEqual([]);
    expect(() => blockRanges(0n, 5n, 0n)).toThrow(/at least 1/);
  });
});

describe('checkpoints', () => {
  let dir = '';
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'destra-cp-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const cp = { blockNumber: 12n, blockHash: keccak256('0x01'), logIndex: 3 };

  it('isProcessed orders by block then log index', () => {
    expect(isProcessed(undefined, 1n, 0)).toBe(false);
    expect(isProcessed(cp, 11n, 99)).toBe(true);
    expect(isProcessed(cp, 12n, 3)).toBe(true);
    expect(isProcessed(cp, 12n, 4)).toBe(false);
    expect(isProcessed({ ...cp, logIndex: null }, 12n, 400)).toBe(true);
    expect(isProcessed(cp, 13n, 0)).toBe(false);
  });

  it('memory and JSON stores round-trip per key', async () => {
    for (const store of [new MemoryCheckpointStore(), new JsonFileCheckpointStore(join(dir, 'a', 'cp.json'))]) {
      expect(await store.load('k')).toBeUndefined();
      await store.save('k', cp);
      await store.save('other', { ...cp, logIndex: null });
      expect(await store.load('k')).toEqual(cp);
      expect(await store.load('other')).toEqual({ ...cp, logIndex: null });
    }
    // concurrent saves are serialised and nothing is lost
    const s = new JsonFileCheckpointStore(join(dir, 'b.json'));
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.save(`k${i}`, { ...cp, blockNumber: BigInt(i) })));
    for (let i = 0; i < 10; i++) expect((await s.load(`k${i}`))?.blockNumber).toBe(BigInt(i));
  });

  it('rejects corrupt, wrongly shaped and oversized files', async () => {
    const p = join(dir, 'bad.json');
    await writeFile(p, '{not json');
    await expect(new JsonFileCheckpointStore(p).load('k')).rejects.toBeInstanceOf(CheckpointError);
    await writeFile(p, '[]');
    await expect(new JsonFileCheckpointStore(p).load('k')).rejects.toThrow(/JSON object/);
    await writeFile(p, JSON.stringify({ k: { blockNumber: 5, blockHash: '0x00', logIndex: null } }));
    await expect(new JsonFileCheckpointStore(p).load('k')).rejects.toThrow(/blockNumber must be a decimal string/);
    await writeFile(p, JSON.stringify({ k: { blockNumber: '5', blockHash: keccak256('0x01'), logIndex: -1 } }));
    await expect(new JsonFileCheckpointStore(p).load('k')).rejects.toThrow(/logIndex/);
    await writeFile(p, 'x'.repeat((1 << 20) + 1));
    await expect(new JsonFileCheckpointStore(p).load('k')).rejects.toThrow(/not a checkpoint file/);
  });
});

describe('RecentIds', () => {
  it('dedupes case-insensitively and evicts the oldest beyond capacity', () => {
    const ids = new RecentIds(2);
    ids.add('0xAA');
    expect(ids.has('0xaa')).toBe(true);
    ids.add('0xbb');
    ids.add('0xcc');
    expect(ids.has('0xaa')).toBe(false);
    expect(ids.has('0xcc')).toBe(true);
    expect(ids.size).toBe(2);
  });
});

describe('toEip2537Signature', () => {
  const sk = randomSecretKey();
  const sig = sign(sk, new Uint8Array([1, 2, 3]));
  const eip = bytesToHex(g1ToEip2537(sig));

  it('converts compressed, uncompressed and EIP-2537 forms to the same 128 bytes', () => {
    expect(toEip2537Signature(sig)).toBe(eip);
    expect(toEip2537Signature(decodeG1(sig).toBytes(false))).toBe(eip);
    expect(toEip2537Signature(eip)).toBe(eip);
    expect(hexToBytes(toEip2537Signature(bytesToHex(sig))).length).toBe(128);
  });

  it('rejects wrong lengths, off-curve points and bad padding', () => {
    expect(() => toEip2537Signature(new Uint8Array(64))).toThrow(SignatureEncodingError);
    expect(() => toEip2537Signature(new Uint8Array(48))).toThrow(/not a valid BLS12-381 G1 point/);
    const badPad = hexToBytes(eip);
    badPad[0] = 1;
    expect(() => toEip2537Signature(badPad)).toThrow(/not a valid/);
    expect(() => toEip2537Signature('0xabc' as Hex)).toThrow(/hex/);
  });
});

describe('classifyError', () => {
  const revert = (errorName: string, args: unknown[]) =>
    new ContractFunctionRevertedError({ abi: oracleRouterAbi, functionName: 'fulfill', data: encodeErrorResult({ abi: oracleRouterAbi, errorName: errorName as 'BadSignature', args: args as [] }) });

  it('sorts reverts, races, nonces and transport failures', () => {
    expect(classifyError(revert('AlreadyFulfilled', [keccak256('0x01')]))).toEqual({ kind: 'already-fulfilled', errorName: 'AlreadyFulfilled' });
    expect(classifyError(revert('BadSignature', []))).toMatchObject({ kind: 'revert', errorName: 'BadSignature' });
    expect(classifyError(new BaseError('wrapped', { cause: revert('WrongEpoch', [2n, 1n]) }))).toMatchObject({ kind: 'revert', errorName: 'WrongEpoch', errorArgs: [2n, 1n] });
    expect(classifyError(new NonceTooLowError({ nonce: 1 }))).toMatchObject({ kind: 'nonce' });
    expect(classifyError(new HttpRequestError({ url: 'http://x', status: 503 }))).toMatchObject({ kind: 'transient' });
    expect(classifyError(new Error('fetch failed'))).toMatchObject({ kind: 'transient' });
  });
});

describe('parseRequestLog', () => {
  const router = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const;
  const requestId = keccak256('0x01');
  const topics = encodeEventTopics({ abi: oracleRouterAbi, eventName: 'InferenceRequested', args: { requestId, requester: router, modelId: keccak256('0x02') } });
  const data = encodeAbiParameters(
    [{ type: 'bytes32' }, { type: 'bytes' }, { type: 'uint32' }, { type: 'uint256' }, { type: 'uint64' }, { type: 'uint64' }],
    [keccak256('0x03'), bytesToHex(encodeInput([1n, -1n])), 5000, 10n ** 15n, 99n, 41n],
  );
  const log = { address: router, topics, data, blockNumber: 7n, blockHash: keccak256('0x04'), transactionHash: keccak256('0x05'), logIndex: 2, removed: false } as unknown as Log;
  const ctx = { chainId: 31337, router, blockTimestamp: 1234n };

  it('decodes every field', () => {
    expect(parseRequestLog(log, ctx)).toMatchObject({ requestId, callbackGasLimit: 5000, fee: 10n ** 15n, deadline: 99n, seq: 41n, input: encodeInput([1n, -1n]), blockNumber: 7n, logIndex: 2 });
  });

  it('rejects logs from elsewhere, pending logs, junk data and oversized inputs', () => {
    expect(() => parseRequestLog({ ...log, address: keccak256('0x09').slice(0, 42) } as Log, ctx)).toThrow(/not from the router/);
    expect(() => parseRequestLog({ ...log, blockNumber: null } as unknown as Log, ctx)).toThrow(/pending/);
    expect(() => parseRequestLog({ ...log, data: '0x1234' } as Log, ctx)).toThrow(MalformedChainDataError);
    const big = encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes' }, { type: 'uint32' }, { type: 'uint256' }, { type: 'uint64' }, { type: 'uint64' }],
      [keccak256('0x03'), bytesToHex(new Uint8Array(4104)), 0, 1n, 1n, 0n],
    );
    expect(() => parseRequestLog({ ...log, data: big } as Log, ctx)).toThrow(/4104 input bytes/);
  });
});

describe('signed reports', () => {
  const sk = randomSecretKey();
  const pk = publicKeyOf(sk);
  const reports = [report(1), report(2), report(3)];
  const tree = buildMerkleTree(reports.map(reportLeaf));
  const sig = sign(sk, rootSigningMessage(tree.root));

  it('verifies a batched report off chain with any key and signature encoding', () => {
    const proof = merkleProof(tree, 1);
    expect(verifyReportOffchain(reports[1]!, sig, proof, pk)).toBe(true);
    expect(verifyReportOffchain(reports[1]!, g1ToEip2537(sig), proof, g2ToEip2537(pk))).toBe(true);
    expect(verifyReportOffchain(reports[1]!, sig, proof, pk, tree.root)).toBe(true);
    expect(verifyReportOffchain(reports[1]!, sig, merkleProof(tree, 0), pk)).toBe(false);
    expect(verifyReportOffchain(reports[1]!, sig, proof, publicKeyOf(randomSecretKey()))).toBe(false);
    expect(() => verifyReportOffchain(reports[1]!.subarray(1), sig, proof, pk)).toThrow();
    expect(() => verifyReportOffchain(reports[1]!, sig, proof, new Uint8Array(96))).toThrow(SignatureEncodingError);
  });

  it('parses a node response and rejects malformed fields', () => {
    const body = { report: bytesToHex(reports[0]!), signature: bytesToHex(sig), root: bytesToHex(tree.root), proof: merkleProof(tree, 0).map((p) => bytesToHex(p)), epoch: 3 };
    const parsed = parseSignedReport(body);
    expect(parsed.decoded.output).toEqual([1n, -5n]);
    expect(parsed.epoch).toBe(3n);
    expect(verifyReportOffchain(parsed.report, parsed.signature, parsed.proof, pk, parsed.root)).toBe(true);
    expect(() => parseSignedReport(null)).toThrow(NodeResponseError);
    expect(() => parseSignedReport({ ...body, report: '0x00' })).toThrow(/malformed report/);
    expect(() => parseSignedReport({ ...body, proof: Array(17).fill(body.root) })).toThrow(/at most 16/);
    expect(() => parseSignedReport({ ...body, proof: ['0x12'] })).toThrow(/proof\[0\] must be 32 bytes/);
    expect(() => parseSignedReport({ ...body, epoch: -1 })).toThrow(/epoch/);
    expect(() => parseSignedReport({ ...body, root: 'zz' })).toThrow(/root must be 0x-prefixed hex/);
  });

  it('encodes int64 input values big-endian and refuses out-of-range ones', () => {
    expect(bytesToHex(encodeInput([1n, -1n]))).toBe('0x0000000000000001ffffffffffffffff');
    expect(() => encodeInput([1n << 63n])).toThrow(/int64/);
  });
});
