// The Solidity BLS library on anvil's EIP-2537 precompiles, against the shared vectors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decodeFunctionData, toHex, stringToHex, type Hex } from 'viem';
import { decodeG2, g1ToEip2537, g2ToEip2537 } from '@destra/protocol';
import { startHarness, vector, type Harness } from './harness.ts';
import { ETHEREUM_VECTORS_FILE, buildEthereumVectors, serializeVectors } from '../scripts/ethereum-vectors.ts';
import { oracleRouterAbi } from '../src-ts/abi.ts';

const rfc = vector('bls/rfc9380_g1.json');
const bls = vector('bls/signatures.json');
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));

let harness: Harness;
const read = (fn: string, args: unknown[]) => harness.read(fn, args);

beforeAll(async () => {
  harness = await startHarness('BLSHarness');
  expect(harness.anvil.accounts[0]).toBe(harness.clients.walletClient.account!.address);
});
afterAll(async () => harness?.anvil.stop());

describe('BLS.sol hash-to-G1', () => {
  it.each<[string, any]>(rfc.vectors.map((v: any) => [v.msg.slice(0, 12), v]))('matches RFC 9380 J.9.1 for %s', async (_n, v) => {
    const out: Hex = await read('hashToG1', [stringToHex(v.msg), stringToHex(rfc.dst)]);
    expect(out).toBe(`0x${'0'.repeat(32)}${v.P.x}${'0'.repeat(32)}${v.P.y}`);
  });

  it.each<[string, any]>(bls.hashToG1.map((v: any) => [v.name, v]))('matches the TypeScript hash for %s', async (_n, v) => {
    expect(await read('hashToG1', [v.msg, stringToHex(v.dst)])).toBe(v.point.eip2537);
  });
});

describe('BLS.sol verify', () => {
  it.each<[string, any]>(bls.signatures.slice(0, 6).map((v: any) => [v.name, v]))('accepts vector %s', async (_n, v) => {
    expect(await read('verify', [v.publicKey.eip2537, v.msg, v.signature.eip2537, stringToHex(v.dst)])).toBe(true);
  });

  it.each<[string, any]>(bls.wrongSignatures.map((v: any) => [v.name, v]))('rejects %s', async (_n, v) => {
    const pk = toHex(g2ToEip2537(hexBytes(v.publicKey)));
    const sig = toHex(g1ToEip2537(hexBytes(v.signature)));
    expect(await read('verify', [pk, v.msg, sig, stringToHex(v.dst)])).toBe(false);
  });

  it('reverts on identity, non-subgroup and off-curve points', async () => {
    const v = bls.signatures[0];
    const invalid = Object.fromEntries(bls.invalidPoints.map((p: any) => [p.name, p.bytes]));
    await expect(read('verify', [v.publicKey.eip2537, v.msg, invalid['g1-eip2537-identity'], stringToHex(v.dst)])).rejects.toThrow(/BlsIdentityPoint/);
    await expect(read('verify', [v.publicKey.eip2537, v.msg, invalid['g1-eip2537-off-subgroup'], stringToHex(v.dst)])).rejects.toThrow(/BlsPrecompileFailed/);
    await expect(read('verify', [v.publicKey.eip2537, v.msg, invalid['g1-eip2537-off-curve'], stringToHex(v.dst)])).rejects.toThrow(/BlsPrecompileFailed/);
    await expect(read('verify', [v.publicKey.eip2537, v.msg, '0x1234', stringToHex(v.dst)])).rejects.toThrow(/BlsInvalidLength/);
  });

  it('accepts a real G2 key and refuses identity, off-subgroup and off-curve G2 keys', async () => {
    const v = bls.signatures[0];
    expect(await read('checkG2', [v.publicKey.eip2537])).toBe(true);
    const invalid = Object.fromEntries(bls.invalidPoints.map((p: any) => [p.name, p.bytes]));
    await expect(read('checkG2', [invalid['g2-eip2537-identity']])).rejects.toThrow(/BlsIdentityPoint/);
    const offSubgroup = await read('g2FromZcash', [invalid['g2-off-subgroup']]);
    await expect(read('checkG2', [offSubgroup])).rejects.toThrow(/BlsPrecompileFailed/);
    const offCurve = `${v.publicKey.eip2537.slice(0, -2)}${v.publicKey.eip2537.slice(-2) === '01' ? '02' : '01'}`;
    await expect(read('checkG2', [offCurve])).rejects.toThrow(/BlsPrecompileFailed/);
    await expect(read('checkG2', [v.publicKey.eip2537.slice(0, -2)])).rejects.toThrow(/BlsInvalidLength/);
  });

  it('converts ZCash G2 to EIP-2537 and compresses it back', async () => {
    const v = bls.signatures[0];
    expect(await read('g2FromZcash', [v.publicKey.uncompressed])).toBe(v.publicKey.eip2537);
    expect(await read('g2Compress', [v.publicKey.eip2537])).toBe(v.publicKey.compressed);
    for (const s of bls.signatures.slice(0, 8)) {
      expect(await read('g2Compress', [s.publicKey.eip2537])).toBe(toHex(decodeG2(hexBytes(s.publicKey.compressed)).toBytes(true)));
    }
  });

  it('costs at most 121k gas inside the EVM', async () => {
    const v = bls.signatures[2];
    const [gas, ok] = await read('verifyGas', [v.publicKey.eip2537, v.msg, v.signature.eip2537]);
    expect(ok).toBe(true);
    expect(Number(gas)).toBeLessThanOrEqual(121_000);
  });
});

describe('test/vectors/ethereum/calldata.json', () => {
  const file = JSON.parse(readFileSync(ETHEREUM_VECTORS_FILE, 'utf8'));
  const cases = () => [file.fulfill, file.updateFeed, file.fulfillBatch] as any[];

  it('is what the builder produces from the shared report vectors (regenerate with --write)', () => {
    expect(serializeVectors(buildEthereumVectors())).toBe(readFileSync(ETHEREUM_VECTORS_FILE, 'utf8'));
  });

  it('hashes and verifies in Solidity exactly as in the file', async () => {
    for (const v of cases()) {
      expect(await read('hashToG1', [v.signingMessage, stringToHex(bls.dst)])).toBe(v.hashToG1Eip2537);
      expect(await read('verify', [file.groupKeyEip2537, v.signingMessage, v.signatureEip2537, stringToHex(bls.dst)])).toBe(true);
    }
  });

  it('calldata decodes back to the report bytes and EIP-2537 signature', () => {
    const f = decodeFunctionData({ abi: oracleRouterAbi, data: file.fulfill.calldata });
    expect(f.functionName).toBe('fulfill');
    expect(f.args).toEqual([file.fulfill.report, file.fulfill.signatureEip2537]);
    const b = decodeFunctionData({ abi: oracleRouterAbi, data: file.fulfillBatch.calldataWithProofs });
    expect(b.args).toEqual([file.fulfillBatch.root, file.fulfillBatch.signatureEip2537, file.fulfillBatch.reports, file.fulfillBatch.proofs]);
  });
});
