// End to end over a local network: 4 oracle nodes (libp2p, DKG, SQLite, inference), one aggregator,
// anvil with the contracts and LiteSVM with the oracle program. Bounded in time; stops by itself.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { riskLendingMarketAbi } from '@destra/contracts';
import { decodeReport, toHex } from '@destra/protocol';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { startE2eNetwork, type E2eNetwork } from './network.ts';

// The real inference engine (oracle-node/src/inference) is another engineer's; until it is present
// these tests are reported as skipped with the reason below, never faked.
const engineAvailable = existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)));
if (!engineAvailable) console.warn('e2e skipped: oracle-node/src/inference (the real inference engine) is not present');
const hex = (b: Uint8Array) => toHex(b).toLowerCase();

describe.skipIf(!engineAvailable)('e2e: 4 nodes, both chains', () => {
  let net: E2eNetwork;
  let model: BenchModel;
  beforeAll(async () => {
    model = await loadBenchModel();
    net = await startE2eNetwork({ n: 4, t: 3, model });
  }, 150_000);
  afterAll(async () => {
    await net?.stop();
    await model?.close();
  }, 60_000);

  const expected = async (input: Uint8Array) => (await model.inference.infer(model.model, input)).output;

  it('answers an Ethereum request: callback delivered, verified on chain', async () => {
    const input = model.input(11);
    const id = await net.chains.ethRequest(input);
    await net.until('the Ethereum request to be fulfilled', () => net.chains.ethFulfilled(id));
    const res = net.results.find((r) => hex(r.signed.requestId) === hex(id))!;
    expect(decodeReport(res.signed.report).output).toEqual(await expected(input));
    // The consumer's callback ran: RiskLendingMarket recorded the score for the requester (the deployer).
    const score = (await net.chains.clients.publicClient.readContract({
      address: net.chains.market,
      abi: riskLendingMarketAbi,
      functionName: 'lastRiskScore',
      args: [net.chains.clients.walletClient.account!.address],
    })) as bigint;
    expect(score).toBe((await expected(input))[0]);
  }, 60_000);

  it('answers a Solana request: result account written, verified in the program', async () => {
    const input = model.input(12);
    const id = await net.chains.solRequest(net.modelHash, input);
    const result = await net.until('the Solana result account', () => net.chains.solana.fetchResult(id).then((r) => r ?? undefined));
    expect(result.output).toEqual(await expected(input));
    expect(hex(result.modelHash)).toBe(hex(net.modelHash));
  }, 60_000);

  it('one signed on-demand report verifies on both chains', async () => {
    const input = model.input(13);
    const stored = await net.cluster.nodes.get(1)!.engine.submitOnDemand(model.model, input);
    const signed = { requestId: stored.requestId, report: stored.report, root: stored.root, proof: stored.proof, signature: stored.signature };
    expect(await net.chains.ethSink.verify(signed)).toBe(true);
    await net.until('the on-demand report on Solana', () => net.chains.solana.fetchResult(stored.requestId).then((r) => r ?? undefined));
    expect(decodeReport(stored.report).output).toEqual(await expected(input));
  }, 60_000);

  it('still answers with one node stopped (t = 3 of 4)', async () => {
    await net.cluster.nodes.get(4)!.stop();
    net.cluster.nodes.delete(4);
    const input = model.input(14);
    const id = await net.chains.ethRequest(input);
    await net.until('the request to be fulfilled with node 4 down', () => net.chains.ethFulfilled(id));
    const res = net.results.find((r) => hex(r.signed.requestId) === hex(id))!;
    expect(res.signers).not.toContain(4);
  }, 60_000);
});

describe.skipIf(!engineAvailable)('e2e: a node with wrong outputs (test fault)', () => {
  let net: E2eNetwork;
  let model: BenchModel;
  beforeAll(async () => {
    model = await loadBenchModel();
    net = await startE2eNetwork({ n: 4, t: 3, model, faulty: [2], network: 'e2e-fault' });
  }, 150_000);
  afterAll(async () => {
    await net?.stop();
    await model?.close();
  }, 60_000);

  it('answers correctly and names the faulty node', async () => {
    const input = model.input(21);
    const id = await net.chains.ethRequest(input);
    await net.until('the request to be fulfilled', () => net.chains.ethFulfilled(id));
    const res = net.results.find((r) => hex(r.signed.requestId) === hex(id))!;
    expect(decodeReport(res.signed.report).output).toEqual((await model.inference.infer(model.model, input)).output);
    expect(res.signers).not.toContain(2);
    const named = await net.until('node 2 to be named', () => net.evidence.find((e) => hex(e.requestId) === hex(id) && e.member === 2));
    expect(named.kind).toBe('conflicting-digest');
    // The nodes learn it too: the committee view counts node 2's conflicting partial.
    await net.until('a node to record the conflict', () => (net.cluster.nodes.get(1)!.committee().members[1]!.partials.conflicting > 0 ? true : undefined));
  }, 60_000);
});

