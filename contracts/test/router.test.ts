// OracleRouter + FeedStore on a real anvil: verified delivery, batches, every rejection path, refunds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { hexToBytes, parseEther, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ReportKind, ReportStatus, anyDestination, buildMerkleTree, domainTag, encodeReport, evmDestination, feedId, merkleProof, reportLeaf,
} from '@destra/protocol';
import { deployContract, loadArtifact, namehash, transferDsync } from '../src-ts/index.ts';
import { destraTokenAbi, feedStoreAbi, modelRegistryAbi, oracleRouterAbi, riskLendingMarketAbi } from '../src-ts/abi.ts';
import { MODEL_HASH, MODEL_NAME, canonicalInput, deployMarket, marketRequest, requestReport, setupFixture, write, type Fixture } from './fixture.ts';

let f: Fixture;
let market: Address;
let router: Address;
const FEE = 10n ** 15n; // deployProtocol's default model fee
const BURN = parseEther('1'); // deployProtocol's default model burn
const blsVectors = JSON.parse(readFileSync(new URL('../../test/vectors/bls/signatures.json', import.meta.url), 'utf8'));
const invalidG1 = (name: string): Hex => blsVectors.invalidPoints.find((p: any) => p.name === name).bytes;

beforeAll(async () => {
  f = await setupFixture();
  router = f.deployed.addresses.router;
  market = await deployMarket(f);
});
afterAll(async () => f?.stop());

async function requestViaMarket(input: Uint8Array): Promise<Hex> {
  return (await marketRequest(f, market, input)).id;
}
const revertingAbi = () => loadArtifact('RevertingConsumer').abi;
/** A RevertingConsumer holding DSYNC for its burns (it approved the router in its constructor). */
async function revertingConsumer(burn: boolean): Promise<Address> {
  const consumer = (await deployContract(f.clients, 'RevertingConsumer', [router, burn])).address;
  await transferDsync(f.clients, f.deployed.addresses, consumer, parseEther('10'));
  return consumer;
}
const quote = async (gasLimit: number, model = f.modelId) => (await read(router, oracleRouterAbi, 'quote', [model, gasLimit])) as [bigint, bigint];

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
      const consumer = await revertingConsumer(burn);
      const input = canonicalInput([7n]);
      const receipt = await write(f.clients, consumer, revertingAbi(), 'ask', [f.modelId, toHex(input), 100_000], (await quote(100_000))[0]);
      const [req] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
      const report = requestReport(f, req!.args.requestId, input, [1n]);
      const r = await fulfill(report, f.committee.signRoot(reportLeaf(report)));
      const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: r.logs, eventName: 'RequestFulfilled' });
      expect(ev!.args.callbackSucceeded).toBe(false);
    }
  });

  it('refunds a request after its deadline, not before', async () => {
    const input = canonicalInput([9n]);
    const { id, value } = await marketRequest(f, market, input);
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'refund', args: [id], account: f.clients.walletClient.account! })).rejects.toThrow(/NotExpired/);
    await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [3601] as any });
    await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
    const receipt = await write(f.clients, router, oracleRouterAbi, 'refund', [id]);
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestRefunded' });
    expect(ev!.args.amount).toBe(value); // fee and gas prepayment (the DSYNC burn is not refunded)
    expect(await read(router, oracleRouterAbi, "refundCredit", [market])).toBe(value); // the market takes ETH only when a borrower claims: credited
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
    const stakerFeesBefore: bigint = await read(router, oracleRouterAbi, 'stakerFees');
    const report = failure(id, input);
    expect(report.length).toBe(222);
    const receipt = await fulfill(report, sign(report));
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFailed' });
    expect(ev!.args).toMatchObject({ requestId: id, status: ReportStatus.InputRange });
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' })).toHaveLength(0);
    const kept = FEE / 10n; // 10% processing fee
    expect(await read(router, oracleRouterAbi, 'refundCredit', [me])).toBe(creditBefore + FEE - kept);
    expect(await read(router, oracleRouterAbi, 'stakerFees')).toBe(stakerFeesBefore + kept); // the processing fee is owed to the stakers
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

  it('makes no consumer callback for a failure, and credits the whole callback gas prepayment back', async () => {
    const [me] = await f.clients.walletClient.getAddresses();
    const scoreBefore = await read(market, riskLendingMarketAbi, 'lastRiskScore', [me]);
    const creditBefore: bigint = await read(router, oracleRouterAbi, 'refundCredit', [market]);
    const input = canonicalInput([123n, 456n]);
    const id = await requestViaMarket(input);
    const report = failure(id, input, ReportStatus.InputLength);
    const receipt = await fulfill(report, sign(report));
    expect(parseEventLogs({ abi: riskLendingMarketAbi, logs: receipt.logs, eventName: 'CollateralFactorSet' })).toHaveLength(0);
    expect(await read(market, riskLendingMarketAbi, 'lastRiskScore', [me])).toBe(scoreBefore);
    // the market escrowed fee + gas prepayment (quote); only 10% of the model fee is kept
    const [escrow] = (await read(market, riskLendingMarketAbi, 'quote')) as [bigint, bigint];
    expect(escrow).toBeGreaterThan(FEE);
    expect((await read(router, oracleRouterAbi, 'refundCredit', [market])) - creditBefore).toBe(escrow - FEE / 10n);
    expect(await read(router, oracleRouterAbi, 'callbackGasPriceOf', [id])).toBe(0n);
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

describe('request prices: per-model ETH fee, DSYNC burn, callback gas prepaid by the requester', () => {
  const token = () => f.deployed.addresses.token;
  const supply = () => read(token(), destraTokenAbi, 'totalSupply') as Promise<bigint>;

  it('charges each model its own governance-set fee; the stakers are owed the whole fee', async () => {
    const gov = await f.governance();
    const models = f.deployed.addresses.models;
    const credit = namehash('credit.destra');
    await write(gov, models, modelRegistryAbi, 'setModel', ['credit.destra', 1, MODEL_HASH, MODEL_HASH, MODEL_HASH, 1_000n]);
    expect(await quote(0, credit)).toEqual([0n, 0n]); // a new model is free until governance prices it
    await write(gov, models, modelRegistryAbi, 'setModelFees', [credit, 3n * FEE, parseEther('2')]);
    await expect(f.clients.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName: 'setModelFees', args: [credit, 1n, 1n], account: f.clients.walletClient.account! })).rejects.toThrow(/NotGovernance/);
    expect(await read(models, modelRegistryAbi, 'feesOf', [credit])).toEqual([3n * FEE, parseEther('2')]);
    expect(await quote(0, credit)).toEqual([3n * FEE, parseEther('2')]);
    expect(await quote(0)).toEqual([FEE, BURN]);
    const input = canonicalInput([31n]);
    const sim = (model: Hex, value: bigint) => f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'request', args: [model, toHex(input), 0], value, account: f.clients.walletClient.account! });
    await expect(sim(credit, 3n * FEE - 1n)).rejects.toThrow(/FeeTooLow/);
    await sim(f.modelId, FEE); // the default model's fee is enough there
    const before = (await read(router, oracleRouterAbi, 'stakerFees')) as bigint;
    for (const [model, fee] of [[credit, 3n * FEE], [f.modelId, FEE]] as const) {
      const receipt = await write(f.clients, router, oracleRouterAbi, 'request', [model, toHex(input), 0], fee);
      const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
      expect(ev!.args.fee).toBe(fee);
      const report = requestReport(f, ev!.args.requestId, input, [1n]);
      await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(report), f.committee.signRoot(reportLeaf(report))]);
    }
    expect((await read(router, oracleRouterAbi, 'stakerFees')) - before).toBe(4n * FEE); // no ETH burn share any more
  });

  it("burns the model's DSYNC from the requester at request time (totalSupply falls)", async () => {
    const input = canonicalInput([32n]);
    const supplyBefore = await supply();
    const [me] = await f.clients.walletClient.getAddresses();
    const balanceBefore = (await read(token(), destraTokenAbi, 'balanceOf', [me])) as bigint;
    const receipt = await write(f.clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(input), 0], FEE);
    expect(supplyBefore - (await supply())).toBe(BURN);
    expect(balanceBefore - ((await read(token(), destraTokenAbi, 'balanceOf', [me])) as bigint)).toBe(BURN);
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'DsyncBurned' });
    expect(ev!.args).toMatchObject({ payer: me, amount: BURN });
    // through the consumer: the market pulls the burn from the borrower and the router burns it from the market
    const s2 = await supply();
    const r = await marketRequest(f, market, canonicalInput([33n]));
    expect(r.burn).toBe(BURN);
    expect(s2 - (await supply())).toBe(BURN);
    expect(await read(token(), destraTokenAbi, 'balanceOf', [market])).toBe(0n);
  });

  it('a request without DSYNC allowance reverts with a decodable error the router ABI declares', async () => {
    expect(oracleRouterAbi.some((x) => x.type === 'error' && x.name === 'ERC20InsufficientAllowance')).toBe(true);
    expect(oracleRouterAbi.some((x) => x.type === 'error' && x.name === 'ERC20InsufficientBalance')).toBe(true);
    const op = f.operators[0]!; // holds DSYNC, never approved the router
    const call = f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'request', args: [f.modelId, toHex(canonicalInput([34n])), 0], value: FEE, account: op.clients.walletClient.account! });
    await expect(call).rejects.toThrow(/ERC20InsufficientAllowance/);
    const err = await call.catch((e) => e);
    expect(err.cause.data.errorName).toBe('ERC20InsufficientAllowance');
    expect([err.cause.data.args[0].toLowerCase(), err.cause.data.args[1], err.cause.data.args[2]]).toEqual([router.toLowerCase(), 0n, BURN]);
    // a borrower that did not approve the market cannot make the market pay for it
    await expect(f.clients.publicClient.simulateContract({ address: market, abi: [...riskLendingMarketAbi, ...oracleRouterAbi.filter((x) => x.type === 'error')], functionName: 'requestRiskScore', args: [toHex(canonicalInput([35n]))], value: (await quote(150_000))[0], account: op.clients.walletClient.account! })).rejects.toThrow(/ERC20InsufficientAllowance/);
  });

  it('requestWithPermit: an ERC-2612 signature instead of an approval, one transaction', async () => {
    const op = f.operators[1]!;
    const account = privateKeyToAccount(op.key);
    const nonce = (await read(token(), destraTokenAbi, 'nonces', [op.address])) as bigint;
    const deadline = (await f.clients.publicClient.getBlock()).timestamp + 3600n; // chain time (earlier tests moved it)
    const signature = await account.signTypedData({
      domain: { name: 'Destra Sync', version: '1', chainId: Number(f.chainId), verifyingContract: token() },
      types: { Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
      primaryType: 'Permit',
      message: { owner: op.address, spender: router, value: BURN, nonce, deadline },
    });
    const r = `0x${signature.slice(2, 66)}` as Hex, sv = `0x${signature.slice(66, 130)}` as Hex, v = Number.parseInt(signature.slice(130, 132), 16);
    const before = await supply();
    const input = canonicalInput([36n]);
    const receipt = await write(op.clients, router, oracleRouterAbi, 'requestWithPermit', [f.modelId, toHex(input), 0, BURN, deadline, v, r, sv], FEE);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' })).toHaveLength(1);
    expect(before - (await supply())).toBe(BURN);
    expect(await read(token(), destraTokenAbi, 'allowance', [op.address, router])).toBe(0n);
    // the permit is spent: replaying it fails and, with no allowance left, so does the request
    await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'requestWithPermit', args: [f.modelId, toHex(input), 0, BURN, deadline, v, r, sv], value: FEE, account: op.clients.walletClient.account! })).rejects.toThrow(/ERC20InsufficientAllowance/);
  });

  it('a gas-burning callback: the relayer is reimbursed for its gas, the requester pays, the stakers get the fee', async () => {
    const limit = 1_000_000;
    const cap = (await read(router, oracleRouterAbi, 'callbackGasPrice')) as bigint;
    const overhead = (await read(router, oracleRouterAbi, 'CALLBACK_GAS_OVERHEAD')) as bigint;
    const prepay = (BigInt(limit) + overhead) * cap;
    const [value] = await quote(limit);
    expect(value).toBe(FEE + prepay);
    const relayer = f.operators[2]!;
    const balance = (a: Address) => f.clients.publicClient.getBalance({ address: a });
    // baseline: what the same relayer pays to fulfil a callback-free request
    const plainInput = canonicalInput([40n]);
    const plain = await write(f.clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(plainInput), 0], FEE);
    const plainId = parseEventLogs({ abi: oracleRouterAbi, logs: plain.logs, eventName: 'InferenceRequested' })[0]!.args.requestId;
    const plainReport = requestReport(f, plainId, plainInput, [1n]);
    const bare = await write(relayer.clients, router, oracleRouterAbi, 'fulfill', [toHex(plainReport), f.committee.signRoot(reportLeaf(plainReport))]);

    for (const gasPrice of [undefined, 2n * cap]) { // below the cap (anvil's base fee), and above it
      const consumer = await revertingConsumer(true);
      const input = canonicalInput([41n]);
      await expect(f.clients.publicClient.simulateContract({ address: consumer, abi: [...revertingAbi(), ...oracleRouterAbi.filter((x) => x.type === 'error')], functionName: 'ask', args: [f.modelId, toHex(input), limit], value: value - 1n, account: f.clients.walletClient.account! })).rejects.toThrow(/FeeTooLow/);
      const asked = await write(f.clients, consumer, revertingAbi(), 'ask', [f.modelId, toHex(input), limit], value);
      const id = parseEventLogs({ abi: oracleRouterAbi, logs: asked.logs, eventName: 'InferenceRequested' })[0]!.args.requestId;
      expect(await read(router, oracleRouterAbi, 'callbackGasPriceOf', [id])).toBe(cap);
      const report = requestReport(f, id, input, [1n]);
      const stakerBefore = (await read(router, oracleRouterAbi, 'stakerFees')) as bigint;
      const relayerBefore = await balance(relayer.address);
      const hash = await relayer.clients.walletClient.writeContract({
        address: router, abi: oracleRouterAbi, functionName: 'fulfill', args: [toHex(report), f.committee.signRoot(reportLeaf(report))],
        account: relayer.clients.walletClient.account!, chain: f.clients.chain, gas: 2_000_000n, ...(gasPrice ? { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice } : {}),
      });
      const receipt = await f.clients.publicClient.waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe('success');
      const [settled] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'CallbackGasSettled' });
      const [fulfilled] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' });
      expect(fulfilled!.args.callbackSucceeded).toBe(false);
      const price = receipt.effectiveGasPrice < cap ? receipt.effectiveGasPrice : cap;
      const { gasUsed: reimbursedGas, reimbursed, refundable } = settled!.args;
      expect(settled!.args.relayer).toBe(relayer.address);
      expect(reimbursedGas).toBe(BigInt(limit) + overhead); // it burned its whole limit: capped at the prepaid gas
      expect(reimbursed).toBe(reimbursedGas * price);
      expect(refundable).toBe(prepay - reimbursed);
      // the relayer's net cost is what a callback-free fulfilment costs, give or take the overhead estimate
      const net = relayerBefore - (await balance(relayer.address));
      expect(net).toBe(receipt.gasUsed * receipt.effectiveGasPrice - reimbursed);
      if (gasPrice === undefined) {
        const unpaidGas = receipt.gasUsed - reimbursedGas;
        expect(unpaidGas > bare.gasUsed - 25_000n && unpaidGas < bare.gasUsed + 25_000n, `unreimbursed ${unpaidGas} vs callback-free ${bare.gasUsed}`).toBe(true);
      } else {
        expect(price).toBe(cap); // above the bound the relayer is paid at the bound
      }
      // the stakers get exactly the model fee; the requester gets the unused prepayment back (pull)
      expect((await read(router, oracleRouterAbi, 'stakerFees')) - stakerBefore).toBe(FEE);
      await expect(f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'refund', args: [id], account: relayer.clients.walletClient.account! })).rejects.toThrow(/NotRequester/);
      if (refundable > 0n) {
        const consumerBefore = await balance(consumer);
        const claim = await write(f.clients, consumer, revertingAbi(), 'claimRefund', [id]);
        expect(parseEventLogs({ abi: oracleRouterAbi, logs: claim.logs, eventName: 'RequestRefunded' })[0]!.args.amount).toBe(refundable);
        expect((await balance(consumer)) - consumerBefore).toBe(refundable);
      }
      await expect(f.clients.publicClient.simulateContract({ address: consumer, abi: [...revertingAbi(), ...oracleRouterAbi.filter((x) => x.type === 'error')], functionName: 'claimRefund', args: [id], account: f.clients.walletClient.account! })).rejects.toThrow(/NothingToRefund/);
    }
  });

  it('the lending market passes the unused prepayment back to its borrower', async () => {
    const input = canonicalInput([50n]);
    const borrower = f.operators[3]!;
    await write(borrower.clients, f.deployed.addresses.token, destraTokenAbi, 'approve', [market, BURN]);
    const { id, value } = await marketRequest(f, market, input, { clients: borrower.clients });
    const report = requestReport(f, id, input, [100_000n]);
    const receipt = await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(report), f.committee.signRoot(reportLeaf(report))]);
    const [settled] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'CallbackGasSettled' });
    expect(settled!.args.gasUsed).toBeLessThan(150_000n);
    expect(settled!.args.reimbursed + settled!.args.refundable).toBe(value - FEE);
    await expect(f.clients.publicClient.simulateContract({ address: market, abi: riskLendingMarketAbi, functionName: 'claimRefund', args: [id], account: f.clients.walletClient.account! })).rejects.toThrow(/NotBorrower/);
    const before = await f.clients.publicClient.getBalance({ address: borrower.address });
    const claim = await write(borrower.clients, market, riskLendingMarketAbi, 'claimRefund', [id]);
    const after = await f.clients.publicClient.getBalance({ address: borrower.address });
    expect(after - before + claim.gasUsed * claim.effectiveGasPrice).toBe(settled!.args.refundable);
  });
});
