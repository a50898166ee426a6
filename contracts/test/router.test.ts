// OracleRouter + FeedStore on a real anvil: verified delivery, batches, every rejection path, refunds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { hexToBytes, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import {
  ReportKind, ReportStatus, anyDestination, buildMerkleTree, domainTag, encodeReport, evmDestination, feedId, merkleProof, reportLeaf,
} from '@destra/protocol';
import { deployContract, namehash } from '../src-ts/index.ts';
import { feedStoreAbi, modelRegistryAbi, oracleRouterAbi, riskLendingMarketAbi } from '../src-ts/abi.ts';
import { MODEL_HASH, MODEL_NAME, canonicalInput, requestReport, setupFixture, write, type Fixture } from './fixture.ts';

let f: Fixture;
let market: Address;
let router: Address;
const FEE = 10n ** 15n;
const blsVectors = JSON.parse(readFileSync(new URL('../../test/vectors/bls/signatures.json', import.meta.url), 'utf8'));
const invalidG1 = (name: string): Hex => blsVectors.invalidPoints.find((p: any) => p.name === name).bytes;

beforeAll(async () => {
  f = await setupFixture();
  router = f.deployed.addresses.router;
  market = (await deployContract(f.clients, 'RiskLendingMarket', [router, f.modelId])).address;
});
afterAll(async () => f?.stop());

async function requestViaMarket(input: Uint8Array): Promise<Hex> {
  const receipt = await write(f.clients, market, riskLendingMarketAbi, 'requestRiskScore', [toHex(input)], FEE);
  const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
  return ev!.args.requestId;
}

const fulfill = (report: Uint8Array, sig: Hex) => write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(report), sig]);
const simulateFulfill = (report: Uint8Array, sig: Hex) =>
  f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'fulfill', args: [toHex(report), sig], account: f.clients.walletClient.account! });
const read = (address: Address, abi: any, functionName: string, args: unknown[] = []) => f.clients.publicClient.readContract({ address, abi, functionName, args }) as Promise<any>;

describe('request → verified fulfilment → consumer callback', () => {
  it('delivers a committee-signed answer and sets the collateral factor', async () => {
    const input = canonicalInput([1200n, -5n, 77n]);
    const id = await requestViaMarket(input);
    const report = requestReport(f, id, input, [250_000n]); // 25% risk
    const receipt = await fulfill(report, f.committee.signRoot(reportLeaf(report)));
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' });
    expect(ev!.args).toMatchObject({ requestId: id, callbackSucceeded: true });
    expect(await read(router, oracleRouterAbi, 'isFulfilled', [id])).toBe(true);
    const [me] = await f.clients.walletClient.getAddresses();
    expect(await read(market, riskLendingMarketAbi, 'collateralFactorBps', [me])).toBe(8500 - (6500 * 250_000) / 1_000_000);
    expect(await read(market, riskLendingMarketAbi, 'lastRiskScore', [me])).toBe(250_000n);
    // any t of the n members produce the same (unique) signature
    const other = toHex(f.committee.signMessage(new Uint8Array([1, ...reportLeaf(report)]), [2, 3, 4]));
    expect(other).toBe(toHex(f.committee.signMessage(new Uint8Array([1, ...reportLeaf(report)]))));
  });

  it('rejects replays, bad signatures, and reports for another domain, chain, contract, epoch or input', async () => {
    const input = canonicalInput([42n]);
    const id = await requestViaMarket(input);
    const good = requestReport(f, id, input, [10n]);
    const sign = (r: Uint8Array) => f.committee.signRoot(reportLeaf(r));
    const cases: [string, Uint8Array, Hex, RegExp][] = [
      ['bad signature', good, sign(requestReport(f, id, input, [11n])), /BadSignature/],
      ['wrong domain', requestReport(f, id, input, [10n], { domain: domainTag('mainnet') }), '0x', /WrongDomain/],
      ['wrong chain', requestReport(f, id, input, [10n], { destination: evmDestination(1n, hexToBytes(router)) }), '0x', /WrongChain/],
      ['wrong contract', requestReport(f, id, input, [10n], { destination: evmDestination(f.chainId, hexToBytes(market)) }), '0x', /WrongContract/],
      ['epoch never installed', requestReport(f, id, input, [10n], { epoch: 2n }), '0x', /UnknownEpoch/],
      ['input mismatch', requestReport(f, id, canonicalInput([43n]), [10n]), '0x', /InputMismatch/],
      ['unknown request', requestReport(f, `0x${'ab'.repeat(32)}`, input, [10n]), '0x', /UnknownRequest/],
      ['identity signature', good, `0x${'00'.repeat(128)}`, /BlsIdentityPoint/],
      ['malformed report', good.slice(0, 200), '0x', /ReportMalformed/],
      ['feed report to the router', requestReport(f, id, input, [10n], { kind: ReportKind.Feed, round: 1n }), '0x', /WrongKind/],
      ['off-subgroup signature', good, invalidG1('g1-eip2537-off-subgroup'), /BlsPrecompileFailed/],
      ['off-curve signature', good, invalidG1('g1-eip2537-off-curve'), /BlsPrecompileFailed/],
      ['short signature', good, sign(good).slice(0, -2) as Hex, /BlsInvalidLength/],
    ];
    for (const [name, report, sig, err] of cases) {
      const s = sig === '0x' ? sign(report) : sig;
      await expect(simulateFulfill(report, s), name).rejects.toThrow(err);
    }
    // too little gas left for the callback's limit (63/64 rule): the whole fulfilment reverts, so a
    // relayer cannot starve the consumer and still mark the request done
    await expect(
      f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'fulfill', args: [toHex(good), sign(good)], account: f.clients.walletClient.account!, gas: 260_000n }),
    ).rejects.toThrow(/InsufficientGasForCallback/);
    expect(await read(router, oracleRouterAbi, 'isFulfilled', [id])).toBe(false);
    await fulfill(good, sign(good));
    expect(await read(router, oracleRouterAbi, 'isFulfilled', [id])).toBe(true);
    await expect(simulateFulfill(good, sign(good))).rejects.toThrow(/AlreadyFulfilled/);
  });

  it('a failing or gas-burning callback never blocks fulfilment', async () => {
    for (const burn of [false, true]) {
      const consumer = (await deployContract(f.clients, 'RevertingConsumer', [router, burn])).address;
      const input = canonicalInput([7n]);
      const receipt = await write(f.clients, consumer, (await import('../src-ts/artifacts.ts')).loadArtifact('RevertingConsumer').abi, 'ask', [f.modelId, toHex(input), 100_000], FEE);
      const [req] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
      const report = requestReport(f, req!.args.requestId, input, [1n]);
      const r = await fulfill(report, f.committee.signRoot(reportLeaf(report)));
      const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: r.logs, eventName: 'RequestFulfilled' });
      expect(ev!.args.callbackSucceeded).toBe(false);
    }
  });

  it('refunds a request after its deadline, not before', async () => {
    const input = canonicalInput([9n]);
    const id = await requestViaMarket(input);
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'refund', args: [id], account: f.clients.walletClient.account! })).rejects.toThrow(/NotExpired/);
    await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [3601] as any });
    await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
    const receipt = await write(f.clients, router, oracleRouterAbi, 'refund', [id]);
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestRefunded' });
    expect(ev!.args.amount).toBe(FEE);
    expect(await read(router, oracleRouterAbi, "refundCredit", [market])).toBe(FEE); // the market cannot receive ETH: credited
    const report = requestReport(f, id, input, [1n]);
    await expect(simulateFulfill(report, f.committee.signRoot(reportLeaf(report)))).rejects.toThrow(/AlreadyFulfilled/);
  });
});

describe('failure reports (status ≠ 0)', () => {
  const requestDirect = async (input: Uint8Array): Promise<Hex> => {
    const receipt = await write(f.clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(input), 0], FEE);
    return parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' })[0]!.args.requestId;
  };
  const failure = (id: Hex, input: Uint8Array, status: ReportStatus = ReportStatus.InputRange, overrides: Partial<Parameters<typeof requestReport>[4]> = {}) =>
    requestReport(f, id, input, [], { status, ...overrides });
  const sign = (r: Uint8Array) => f.committee.signRoot(reportLeaf(r));

  it('closes the request, credits the fee less the processing fee, pays that fee, emits RequestFailed', async () => {
    const [me] = await f.clients.walletClient.getAddresses();
    const input = canonicalInput([10n ** 12n]);
    const id = await requestDirect(input);
    expect(await read(router, oracleRouterAbi, 'failureFeeBps')).toBe(1_000);
    const creditBefore: bigint = await read(router, oracleRouterAbi, 'refundCredit', [me]);
    const burnedBefore: bigint = await read(router, oracleRouterAbi, 'totalBurned');
    const stakerFeesBefore: bigint = await read(router, oracleRouterAbi, 'stakerFees');
    const report = failure(id, input);
    expect(report.length).toBe(222);
    const receipt = await fulfill(report, sign(report));
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFailed' });
    expect(ev!.args).toMatchObject({ requestId: id, status: ReportStatus.InputRange });
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' })).toHaveLength(0);
    const kept = FEE / 10n; // 10% processing fee
    expect(await read(router, oracleRouterAbi, 'refundCredit', [me])).toBe(creditBefore + FEE - kept);
    const burned = (kept * 500n) / 10_000n;
    expect(await read(router, oracleRouterAbi, 'totalBurned')).toBe(burnedBefore + burned);
    expect(await read(router, oracleRouterAbi, 'stakerFees')).toBe(stakerFeesBefore + kept - burned); // owed to the stakers
    expect(await read(router, oracleRouterAbi, 'isFulfilled', [id])).toBe(true); // settled: relayers skip it
    expect(await read(router, oracleRouterAbi, 'failureStatus', [id])).toBe(ReportStatus.InputRange);
    // closed: no second report, no deadline refund
    await expect(simulateFulfill(report, sign(report))).rejects.toThrow(/AlreadyFulfilled/);
    const answer = requestReport(f, id, input, [1n]);
    await expect(simulateFulfill(answer, sign(answer))).rejects.toThrow(/AlreadyFulfilled/);
    await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [3601] as any });
    await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'refund', args: [id], account: f.clients.walletClient.account! })).rejects.toThrow(/AlreadyFulfilled/);
    // the requester pulls its credit
    const credit: bigint = await read(router, oracleRouterAbi, 'refundCredit', [me]);
    const sink = '0x000000000000000000000000000000000000bEEF' as Address;
    const sinkBefore = await f.clients.publicClient.getBalance({ address: sink });
    await write(f.clients, router, oracleRouterAbi, 'withdrawRefund', [sink]);
    expect(await f.clients.publicClient.getBalance({ address: sink })).toBe(sinkBefore + credit);
  });

  it('makes no consumer callback for a failure', async () => {
    const [me] = await f.clients.walletClient.getAddresses();
    const scoreBefore = await read(market, riskLendingMarketAbi, 'lastRiskScore', [me]);
    const input = canonicalInput([123n, 456n]);
    const id = await requestViaMarket(input);
    const report = failure(id, input, ReportStatus.InputLength);
    const receipt = await fulfill(report, sign(report));
    expect(parseEventLogs({ abi: riskLendingMarketAbi, logs: receipt.logs, eventName: 'CollateralFactorSet' })).toHaveLength(0);
    expect(await read(market, riskLendingMarketAbi, 'lastRiskScore', [me])).toBe(scoreBefore);
    expect(await read(router, oracleRouterAbi, 'refundCredit', [market])).toBeGreaterThanOrEqual(FEE - FEE / 10n);
  });

  it('rejects a failure with outputs, of another kind, with an unknown status, an answer without outputs, a mismatched input', async () => {
    const input = canonicalInput([77n]);
    const id = await requestDirect(input);
    const good = failure(id, input);
    const answer = requestReport(f, id, input, [5n]);
    const withOutputs = answer.slice();
    withOutputs[219] = ReportStatus.InputRange; // status 3 but one output
    const okEmpty = good.slice();
    okEmpty[219] = 0; // status ok, no outputs
    const unknown = good.slice();
    unknown[219] = 5;
    const feedFailure = good.slice();
    feedFailure[1] = ReportKind.Feed;
    const cases: [string, Uint8Array, RegExp][] = [
      ['failure with outputs', withOutputs, /ReportMalformed.*outputCount|outputCount/],
      ['answer without outputs', okEmpty, /outputCount/],
      ['unknown status', unknown, /status/],
      ['failure of kind 2', feedFailure, /WrongKind/],
      ['failure for another input', failure(id, canonicalInput([78n])), /InputMismatch/],
      ['failure naming another model', failure(id, input, ReportStatus.UnknownModel, { modelHash: new Uint8Array(32).fill(1) }), /InputMismatch/],
      ['truncated failure', good.slice(0, 221), /ReportMalformed/],
    ];
    for (const [name, report, err] of cases) await expect(simulateFulfill(report, sign(report)), name).rejects.toThrow(err);
    await fulfill(good, sign(good));
    expect(await read(router, oracleRouterAbi, 'failureStatus', [id])).toBe(ReportStatus.InputRange);
  });

  it('settles answers and failures in one batch; the processing fee is governance-set', async () => {
    const [me] = await f.clients.walletClient.getAddresses();
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'setFailureFee', args: [0], account: f.operators[0]!.clients.walletClient.account! })).rejects.toThrow(/NotGovernance/);
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'setFailureFee', args: [0], account: f.clients.walletClient.account! })).rejects.toThrow(/NotGovernance/); // the deployer neither
    const setReceipt = await write(await f.governance(), router, oracleRouterAbi, 'setFailureFee', [2_500]);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: setReceipt.logs, eventName: 'FailureFeeChanged' })[0]!.args.failureFeeBps).toBe(2_500);
    const inputs = [31n, 32n, 33n].map((v) => canonicalInput([v]));
    const ids: Hex[] = [];
    for (const input of inputs) ids.push(await requestDirect(input));
    const reports = [requestReport(f, ids[0]!, inputs[0]!, [1n]), failure(ids[1]!, inputs[1]!, ReportStatus.UnknownModel), failure(ids[2]!, inputs[2]!, ReportStatus.OutputInvalid)];
    const creditBefore: bigint = await read(router, oracleRouterAbi, 'refundCredit', [me]);
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const receipt = await write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), f.committee.signRoot(tree.root), reports.map((r) => toHex(r)), []]);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' }).map((e) => e.args.requestId)).toEqual([ids[0]]);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFailed' }).map((e) => [e.args.requestId, e.args.status])).toEqual([[ids[1], 1], [ids[2], 4]]);
    expect(await read(router, oracleRouterAbi, 'refundCredit', [me])).toBe(creditBefore + 2n * (FEE - (FEE * 2_500n) / 10_000n));
    await write(await f.governance(), router, oracleRouterAbi, 'setFailureFee', [60_000]); // capped at 100%
    expect(await read(router, oracleRouterAbi, 'failureFeeBps')).toBe(10_000);
    await write(await f.governance(), router, oracleRouterAbi, 'setFailureFee', [1_000]);
  });

  it('decodes registry errors raised through the router (its ABI declares them)', async () => {
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'request', args: [namehash('missing.destra'), toHex(canonicalInput([1n])), 0], value: FEE, account: f.clients.walletClient.account! })).rejects.toThrow(/UnknownModel/);
  });
});

describe('Merkle batches', () => {
  it('fulfils many requests under one signed root and skips ones already landed', async () => {
    const inputs = [1n, 2n, 3n, 4n, 5n].map((v) => canonicalInput([v]));
    const ids: Hex[] = [];
    for (const input of inputs) ids.push(await requestViaMarket(input));
    const reports = ids.map((id, i) => requestReport(f, id, inputs[i]!, [BigInt(i * 100_000)]));
    // another aggregator already landed report 0 on its own
    await fulfill(reports[0]!, f.committee.signRoot(reportLeaf(reports[0]!)));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const proofs = reports.map((_, i) => merkleProof(tree, i).map((p) => toHex(p)));
    const receipt = await write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), f.committee.signRoot(tree.root), reports.map((r) => toHex(r)), proofs]);
    const events = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' });
    expect(events.map((e) => e.args.requestId)).toEqual(ids.slice(1));
    // a proof for another root is rejected
    const badProofs = proofs.map((p) => p.slice().reverse());
    await expect(f.clients.publicClient.simulateContract({
      address: router, abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [toHex(tree.root), f.committee.signRoot(tree.root), reports.map((r) => toHex(r)), [[], ...badProofs.slice(1)]], account: f.clients.walletClient.account!,
    })).rejects.toThrow(/MerkleProofInvalid/);
  });

  it('accepts a whole batch without proofs (root rebuilt on chain) and refuses it out of order', async () => {
    const inputs = [11n, 12n, 13n].map((v) => canonicalInput([v]));
    const ids: Hex[] = [];
    for (const input of inputs) ids.push(await requestViaMarket(input));
    const reports = ids.map((id, i) => requestReport(f, id, inputs[i]!, [BigInt(i)]));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const sig = f.committee.signRoot(tree.root);
    await expect(f.clients.publicClient.simulateContract({
      address: router, abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [toHex(tree.root), sig, [...reports].reverse().map((r) => toHex(r)), []], account: f.clients.walletClient.account!,
    })).rejects.toThrow(/MerkleProofInvalid/);
    const receipt = await write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), sig, reports.map((r) => toHex(r)), []]);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' }).map((e) => e.args.requestId)).toEqual(ids);
  });

  it('verifyReport accepts an on-demand report (any chain) and rejects a tampered one', async () => {
    const report = encodeReport({
      kind: ReportKind.OnDemand, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: new Uint8Array(32).fill(5),
      modelHash: hexToBytes(f.deployed.domain), inputHash: new Uint8Array(32).fill(6), timestamp: 1n, round: 0n, output: [123n, -4n],
    });
    const sig = f.committee.signRoot(reportLeaf(report));
    expect(await read(router, oracleRouterAbi, 'verifyReport', [toHex(report), sig, [], `0x${'00'.repeat(32)}`])).toBe(true);
    const tampered = report.slice();
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(await read(router, oracleRouterAbi, 'verifyReport', [toHex(tampered), sig, [], `0x${'00'.repeat(32)}`])).toBe(false);
  });
});

describe('FeedStore', () => {
  it('stores verified rounds, readable in one call; stale rounds and wrong kinds are refused', async () => {
    const feeds = f.deployed.addresses.feeds;
    const id = feedId('eth-usd-volatility-1h');
    const feed = (round: bigint, values: bigint[]) => encodeReport({
      kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id,
      modelHash: new Uint8Array(32).fill(9), inputHash: new Uint8Array(32).fill(8), timestamp: 1_700_000_000n + round, round, output: values,
    });
    const r1 = feed(1n, [5n, -6n]);
    await write(f.clients, feeds, feedStoreAbi, 'updateFeed', [toHex(r1), f.committee.signRoot(reportLeaf(r1))]);
    expect(await read(feeds, feedStoreAbi, 'latestRound', [toHex(id)])).toEqual([[5n, -6n], 1n, 1_700_000_001n, 1n]);
    const stale = feed(1n, [7n, 7n]);
    await expect(f.clients.publicClient.simulateContract({ address: feeds, abi: feedStoreAbi, functionName: 'updateFeed', args: [toHex(stale), f.committee.signRoot(reportLeaf(stale))], account: f.clients.walletClient.account! })).rejects.toThrow(/StaleRound/);
    const r3 = feed(3n, [1n, 2n]);
    await expect(f.clients.publicClient.simulateContract({ address: feeds, abi: feedStoreAbi, functionName: 'updateFeed', args: [toHex(r3), f.committee.signRoot(reportLeaf(r1))], account: f.clients.walletClient.account! })).rejects.toThrow(/BadSignature/);
    await write(f.clients, feeds, feedStoreAbi, 'updateFeed', [toHex(r3), f.committee.signRoot(reportLeaf(r3))]);
    expect((await read(feeds, feedStoreAbi, 'latestRound', [toHex(id)]))[1]).toBe(3n);
  });
});

describe('ModelRegistry', () => {
  it('resolves ENS-style names set by governance; versions only go up; bad names are refused', async () => {
    const { models } = f.deployed.addresses;
    for (const name of ['risk-score.destra', 'a.b.c.destra', 'x']) expect(await read(models, modelRegistryAbi, 'namehash', [name])).toBe(namehash(name));
    const node = namehash(MODEL_NAME);
    const [version, modelHash, , , scale] = await read(models, modelRegistryAbi, 'resolve', [node]);
    expect([version, modelHash, scale]).toEqual([1, MODEL_HASH, 1_000_000n]);
    const gov = await f.governance();
    const set = (name: string, v: number, account: any = gov.walletClient.account!) =>
      f.clients.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName: 'setModel', args: [name, v, MODEL_HASH, MODEL_HASH, MODEL_HASH, 1n], account });
    await expect(set(MODEL_NAME, 1)).rejects.toThrow(/version must increase/);
    await expect(set('credit.destra', 1, f.operators[0]!.clients.walletClient.account!)).rejects.toThrow(/NotGovernance/);
    await expect(set('credit.destra', 1, f.clients.walletClient.account!)).rejects.toThrow(/NotGovernance/); // not the deployer either
    for (const bad of ['', 'a..destra', '.destra', 'destra.', 'Risk.destra', 'x'.repeat(256)]) await expect(set(bad, 1), bad).rejects.toThrow(/InvalidModel/);
    await expect(read(models, modelRegistryAbi, 'resolve', [namehash('missing.destra')])).rejects.toThrow(/UnknownModel/);
    await write(gov, models, modelRegistryAbi, 'setModel', [MODEL_NAME, 2, MODEL_HASH, MODEL_HASH, MODEL_HASH, 1_000n]);
    expect((await read(models, modelRegistryAbi, 'resolve', [node]))[0]).toBe(2);
  });
});
