// Issue 12 on a real anvil: slashing only for a real double-sign, epoch validity with a handover grace
// window, stake locked while it can be slashed, and the output scale coming from the model manifest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { hexToBytes, parseEther, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import {
  ReportKind, anyDestination, encodeHandover, encodeReport, feedId, g1ToEip2537, g2ToEip2537, membersRoot, provePossession, publicKeyOf,
  payoutsRoot, randomSecretKey, reportLeaf, rootSigningMessage, sharesRoot, signPartial, type Report,
} from '@destra/protocol';
import {
  LocalCommittee, deployContract, localClients, namehash, payoutTable, registerModelFromManifest, registerOperator, registrationFromManifest, transferDsync,
  type Clients,
} from '../src-ts/index.ts';
import { committeeRegistryAbi, delegatedStakingAbi, feedStoreAbi, oracleRouterAbi, riskLendingMarketAbi } from '../src-ts/abi.ts';
import { canonicalInput, deployMarket, marketRequest, memberId, requestReport, setupFixture, write, type Fixture } from './fixture.ts';

const manifest = JSON.parse(readFileSync(new URL('../../models/liquidation-risk/manifest.json', import.meta.url), 'utf8'));

let f: Fixture;
let registry: Address;
let router: Address;
let feeds: Address;
let members: Address[];
let next: LocalCommittee;
const read = (address: Address, abi: any, functionName: string, args: unknown[] = []) => f.clients.publicClient.readContract({ address, abi, functionName, args }) as Promise<any>;
const simulate = (address: Address, abi: any, functionName: string, args: unknown[], account = f.clients.walletClient.account!) =>
  f.clients.publicClient.simulateContract({ address, abi, functionName, args, account } as any);
const timeTravel = async (seconds: number) => {
  await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [seconds] as any });
  await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
};
const now = async () => (await f.clients.publicClient.getBlock()).timestamp;

const report = (o: Partial<Report>) => encodeReport({
  kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: feedId('eth-usd-risk'),
  modelHash: new Uint8Array(32).fill(9), inputHash: new Uint8Array(32).fill(8), timestamp: 1_700_000_000n, round: 1n, output: [1n], ...o,
});
const partial = (c: LocalCommittee, index: number, r: Uint8Array) => toHex(g1ToEip2537(signPartial(c.share(index), rootSigningMessage(reportLeaf(r))).signature));
const sharesOf = (c: LocalCommittee) => toHex(Uint8Array.from(c.publicSharesUncompressed.flatMap((s) => [...s])));
const evidence = (c: LocalCommittee, epoch: bigint, index: number, list: Address[], a: Uint8Array, b: Uint8Array) =>
  [epoch, index, sharesOf(c), list, toHex(a), partial(c, index, a), toHex(b), partial(c, index, b)];
/** The operator's pool: bonded + unbonding DSYNC (what a slash cuts). */
const stakeOf = async (a: Address) => {
  const p = await read(f.deployed.addresses.staking, delegatedStakingAbi, 'pools', [a]);
  return (p[0] as bigint) + (p[2] as bigint);
};
const staking = () => f.deployed.addresses.staking;

async function request(input: Uint8Array): Promise<Hex> {
  const receipt = await write(f.clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(input), 0], 10n ** 15n);
  return parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' })[0]!.args.requestId;
}

beforeAll(async () => {
  f = await setupFixture({ operators: 4 });
  ({ registry, router, feeds } = f.deployed.addresses);
  members = await read(registry, committeeRegistryAbi, 'nextCommittee', [4n]);
});
afterAll(async () => f?.stop());

describe('equivocation slashing hits only a double-sign', () => {
  it('two consecutive honest feed rounds (same id, next round) are not evidence', async () => {
    const r1 = report({ round: 1n, output: [100n] });
    const r2 = report({ round: 2n, output: [101n], timestamp: 1_700_000_060n });
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', evidence(f.committee, 1n, 1, members, r1, r2))).rejects.toThrow(/different id, round or kind/);
    // the same id under another kind is another question too
    const od = report({ kind: ReportKind.OnDemand, round: 1n, output: [7n] });
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', evidence(f.committee, 1n, 1, members, r1, od))).rejects.toThrow(/different id, round or kind/);
    expect(await stakeOf(members[0]!)).toBe(parseEther('13'));
  });

  it('a real double-sign (same id, round, epoch and kind; another output) slashes the member', async () => {
    const a = report({ round: 5n, output: [100n] });
    const b = report({ round: 5n, output: [999n] });
    const before = await stakeOf(members[0]!);
    const receipt = await write(f.operators[0]!.clients, registry, committeeRegistryAbi, 'slashEquivocation', evidence(f.committee, 1n, 1, members, a, b));
    const [ev] = parseEventLogs({ abi: committeeRegistryAbi, logs: receipt.logs, eventName: 'Slashed' });
    expect(ev!.args.operator).toBe(members[0]);
    expect(before - (await stakeOf(members[0]!))).toBe(before / 10n);
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', evidence(f.committee, 1n, 1, members, a, b))).rejects.toThrow(/AlreadySlashed/);
    // the other member signed only one of them: its share does not verify the evidence
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', [1n, 2, sharesOf(f.committee), members, toHex(a), partial(f.committee, 1, a), toHex(b), partial(f.committee, 1, b)])).rejects.toThrow(/signatureA/);
  });
});

describe('output scale from the manifest', () => {
  it('liquidation-risk at 100% gives the minimum collateral factor; a scale mismatch is refused', async () => {
    expect(() => registrationFromManifest(manifest, 'liquidation-risk', { outputScale: 1_000_000n })).toThrow(/does not match the manifest's 10000/);
    expect(() => registrationFromManifest({ ...manifest, outputs: [{ scale: 83279.734375 }] }, 'x')).toThrow(/not a positive integer/);
    const reg = await registerModelFromManifest(await f.governance(), f.deployed.addresses.models, manifest);
    expect(reg.outputScale).toBe(10_000n);
    const market = await deployMarket(f, namehash('liquidation-risk'));
    expect(await read(market, riskLendingMarketAbi, 'scoreScale')).toBe(10_000n);
    const [me] = await f.clients.walletClient.getAddresses();
    for (const [score, factor] of [[10_000n, 2_000], [5_000n, 5_250], [0n, 8_500]] as const) {
      const input = canonicalInput([score + 1n]);
      const { id } = await marketRequest(f, market, input);
      const r = requestReport(f, id, input, [score], { modelHash: hexToBytes(reg.modelHash) });
      await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(r), f.committee.signRoot(reportLeaf(r))]);
      expect(await read(market, riskLendingMarketAbi, 'collateralFactorBps', [me!])).toBe(factor);
    }
  });
});

describe('epochs: a retired committee stops counting; stake stays slashable while evidence can come', () => {
  let leaver: { address: Address; clients: Clients };
  let leaverIndex: number;
  let pendingBefore: { id: Hex; input: Uint8Array }[] = [];

  it('a current member may unbond but cannot withdraw while its epoch is current', async () => {
    leaverIndex = 2;
    const address = members[leaverIndex - 1]!;
    leaver = { address, clients: f.operators.find((o) => o.address === address)!.clients };
    const self = await read(staking(), delegatedStakingAbi, 'stakeOf', [address, address]);
    await write(leaver.clients, staking(), delegatedStakingAbi, 'requestUnbond', [address, self]);
    await timeTravel(3601); // past the unbonding delay
    await expect(simulate(staking(), delegatedStakingAbi, 'withdraw', [address], leaver.clients.walletClient.account!)).rejects.toThrow(/StakeLocked/);
  });

  it('after a handover, the old epoch is accepted only within the grace window, then refused with EpochRetired', async () => {
    for (let i = 0; i < 3; i++) {
      const input = canonicalInput([9_000n + BigInt(i)]);
      pendingBefore.push({ id: await request(input), input });
    }
    // a newcomer takes the leaver's seat, then the epoch-1 committee hands over to epoch 2
    const c = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[7]!);
    const sk = randomSecretKey();
    await transferDsync(f.clients, f.deployed.addresses, c.walletClient.account!.address, parseEther('5'));
    await registerOperator(c, f.deployed.addresses, toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk))), parseEther('5'));
    const nextMembers: Address[] = await read(registry, committeeRegistryAbi, 'nextCommittee', [4n]);
    expect(nextMembers).not.toContain(leaver.address);
    next = await LocalCommittee.create(4, 3);
    const h = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: 3, committeeSize: 4,
      groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(nextMembers.map(memberId)),
      payoutsRoot: payoutsRoot(await payoutTable(f.clients.publicClient, registry, nextMembers)),
    });
    await write(f.clients, registry, committeeRegistryAbi, 'handover', [toHex(h), f.committee.signHandover(h)]);
    expect(await read(registry, committeeRegistryAbi, 'handoverGrace')).toBe(300n);

    // within the grace window: a request made before the handover, answered by the old committee, lands
    const [p0, p1, p2] = pendingBefore;
    const old = requestReport(f, p0!.id, p0!.input, [1n]);
    await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(old), f.committee.signRoot(reportLeaf(old))]);
    const od = report({ kind: ReportKind.OnDemand, round: 0n, id: new Uint8Array(32).fill(3) });
    expect(await read(router, oracleRouterAbi, 'verifyReport', [toHex(od), f.committee.signRoot(reportLeaf(od)), [], `0x${'00'.repeat(32)}`])).toBe(true);
    // a batch has one signature, so one epoch
    const r2 = requestReport(f, p2!.id, p2!.input, [2n], { epoch: 2n });
    const r1 = requestReport(f, p1!.id, p1!.input, [2n]);
    await expect(simulate(router, oracleRouterAbi, 'fulfillBatch', [`0x${'00'.repeat(32)}`, f.committee.signRoot(reportLeaf(r1)), [toHex(r1), toHex(r2)], []])).rejects.toThrow(/WrongEpoch/);

    await timeTravel(301);
    await expect(read(router, oracleRouterAbi, 'verifyReport', [toHex(od), f.committee.signRoot(reportLeaf(od)), [], `0x${'00'.repeat(32)}`])).rejects.toThrow(/EpochRetired/);
    await expect(simulate(router, oracleRouterAbi, 'fulfill', [toHex(r1), f.committee.signRoot(reportLeaf(r1))])).rejects.toThrow(/EpochRetired/);
    await expect(simulate(router, oracleRouterAbi, 'fulfillBatch', [toHex(reportLeaf(r1)), f.committee.signRoot(reportLeaf(r1)), [toHex(r1)], []])).rejects.toThrow(/EpochRetired/);
    const feed1 = report({ round: 10n });
    await expect(simulate(feeds, feedStoreAbi, 'updateFeed', [toHex(feed1), f.committee.signRoot(reportLeaf(feed1))])).rejects.toThrow(/EpochRetired/);
    await expect(read(router, oracleRouterAbi, 'verifyReport', [toHex(report({ epoch: 3n })), f.committee.signRoot(reportLeaf(od)), [], `0x${'00'.repeat(32)}`])).rejects.toThrow(/UnknownEpoch/);
    // the new committee answers the rest
    await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(r2), next.signRoot(reportLeaf(r2))]);
    const feed2 = report({ round: 10n, epoch: 2n });
    await write(f.clients, feeds, feedStoreAbi, 'updateFeed', [toHex(feed2), next.signRoot(reportLeaf(feed2))]);
    // the grace window is governance's to set
    await expect(simulate(registry, committeeRegistryAbi, 'setParams', [3600n, 4, 1000, 5000, 86_400n, 600n], leaver.clients.walletClient.account!)).rejects.toThrow(/NotGovernance/);
    await expect(simulate(registry, committeeRegistryAbi, 'setParams', [3600n, 4, 1000, 5000, 86_400n, 7200n], (await f.governance()).walletClient.account!)).rejects.toThrow(/InvalidParams/);
  });

  it('the old member stays slashable for the unbonding delay after its last epoch ends, then may withdraw', async () => {
    const info = await read(registry, committeeRegistryAbi, 'epochInfo', [2n]);
    const releaseAt = BigInt(info.activatedAt) + 3600n;
    await expect(simulate(staking(), delegatedStakingAbi, 'withdraw', [leaver.address], leaver.clients.walletClient.account!)).rejects.toThrow(/StakeLocked/);
    const a = report({ round: 20n, output: [1n] });
    const b = report({ round: 20n, output: [2n] });
    const before = await stakeOf(leaver.address);
    await write(f.clients, registry, committeeRegistryAbi, 'slashEquivocation', evidence(f.committee, 1n, leaverIndex, members, a, b));
    expect(await stakeOf(leaver.address)).toBe(before - before / 10n);
    await timeTravel(Number(releaseAt - (await now())) + 1);
    const c = report({ round: 21n, output: [1n] });
    const d = report({ round: 21n, output: [2n] });
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', evidence(f.committee, 1n, 3, members, c, d))).rejects.toThrow(/EvidenceExpired/);
    const unbonding = await read(staking(), delegatedStakingAbi, 'unbondingOf', [leaver.address, leaver.address]);
    expect(unbonding).toBe(before - before / 10n);
    await write(leaver.clients, staking(), delegatedStakingAbi, 'withdraw', [leaver.address]);
    expect(await stakeOf(leaver.address)).toBe(0n);
  });
});
