// End to end: chain requests whose input fails validation are answered by a threshold-signed FAILURE
// report (docs/report-format.md §1.1) that both chains accept: the request closes, the fee less the
// processing fee goes back to the requester, and the status is readable on chain.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAbiItem, type Hex } from 'viem';
import { modelRegistryAbi, oracleRouterAbi, riskLendingMarketAbi } from '@destra/contracts';
import { ReportStatus, decodeReport, inputHash, toHex } from '@destra/protocol';
import { PublicKey } from '@solana/web3.js';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { startE2eNetwork, type E2eNetwork } from './network.ts';

const engineAvailable = existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)));
const hex = (b: Uint8Array) => toHex(b).toLowerCase();

/** A canonical input of the right length whose first value (int64 max) is far outside the manifest range. */
function outOfRange(valid: Uint8Array): Uint8Array {
  const bad = valid.slice();
  new DataView(bad.buffer).setBigInt64(0, (1n << 63n) - 1n);
  return bad;
}

describe.skipIf(!engineAvailable)('e2e: failure reports', () => {
  let net: E2eNetwork;
  let model: BenchModel;
  beforeAll(async () => {
    model = await loadBenchModel();
    net = await startE2eNetwork({ n: 4, t: 3, model, network: 'e2e-failure' });
  }, 150_000);
  afterAll(async () => {
    await net?.stop();
    await model?.close();
  }, 60_000);

  it('an Ethereum request with an out-of-range input is closed by a failure report: RequestFailed(status 3), fee less 10% credited', async () => {
    const { publicClient } = net.chains.clients;
    const router = net.chains.deployed.addresses.router;
    const market = net.chains.market;
    // the market's request escrows the model's fee plus the callback gas prepayment; a failure credits all
    // of it back but the processing fee (10% of the model fee): no callback runs
    const modelId = (await publicClient.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'riskModel' })) as Hex;
    const [, modelFee] = (await publicClient.readContract({ address: net.chains.deployed.addresses.models, abi: modelRegistryAbi, functionName: 'requestTerms', args: [modelId] })) as [Hex, bigint, bigint];
    const [escrow] = (await publicClient.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
    const creditBefore = (await publicClient.readContract({ address: router, abi: oracleRouterAbi, functionName: 'refundCredit', args: [market] })) as bigint;
    const fromBlock = await publicClient.getBlockNumber();
    const input = outOfRange(model.input(21));
    const id = await net.chains.ethRequest(input);
    await net.until('the failure report on Ethereum', () => net.chains.ethFulfilled(id), 60_000);
    const logs = await publicClient.getLogs({ address: router, event: parseAbiItem('event RequestFailed(bytes32 indexed requestId, uint8 status)'), args: { requestId: toHex(id) as Hex }, fromBlock });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.args.status).toBe(ReportStatus.InputRange);
    expect(await publicClient.readContract({ address: router, abi: oracleRouterAbi, functionName: 'failureStatus', args: [toHex(id) as Hex] })).toBe(ReportStatus.InputRange);
    const creditAfter = (await publicClient.readContract({ address: router, abi: oracleRouterAbi, functionName: 'refundCredit', args: [market] })) as bigint;
    expect(creditAfter - creditBefore).toBe(escrow - modelFee / 10n);
    // the committee signed it like an answer: same request id, the chain's model hash, the input's hash
    const res = net.results.find((r) => hex(r.signed.requestId) === hex(id))!;
    const report = decodeReport(res.signed.report);
    expect(report.status).toBe(ReportStatus.InputRange);
    expect(report.output).toEqual([]);
    expect(hex(report.modelHash)).toBe(hex(net.modelHash));
    expect(hex(report.inputHash)).toBe(hex(inputHash(input)));
    expect(res.signers.length).toBeGreaterThanOrEqual(3);
  }, 90_000);

  it('a Solana request with an out-of-range input, and one for a model nobody serves, are closed with their status stored', async () => {
    const cfg = (await net.chains.solana.fetchConfig())!;
    const badInput = net.chains.solRequest(net.modelHash, outOfRange(model.input(22)));
    const unknownModel = net.chains.solRequest(new Uint8Array(32).fill(0x5a), model.input(23));
    for (const [idP, status, name] of [[badInput, ReportStatus.InputRange, 'INPUT_RANGE'], [unknownModel, ReportStatus.UnknownModel, 'UNKNOWN_MODEL']] as const) {
      const id = await idP;
      const result = await net.until(`the Solana failure result (${name})`, () => net.chains.solana.fetchResult(id).then((r) => r ?? undefined), 60_000);
      expect(result).toMatchObject({ status, statusName: name, output: [], kind: 1 });
      const q = (await net.chains.solana.fetchRequest(new PublicKey(id)))!;
      expect(q.status).toBe('failed');
      expect(q.fee).toBe(cfg.requestFee - (cfg.requestFee * BigInt(cfg.failureFeeBps)) / 10_000n);
    }
  }, 120_000);
});
