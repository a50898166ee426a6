// Registration + DSYNC self-bond → committee by stake → handover to a new DKG key → equivocation
// slashing → fee claim → stake-weighted governance with quorum and timelock, on a real anvil.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { hexToBytes, parseEther, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import {
  encodeHandover, g1ToEip2537, membersRoot, publicKeyOf, provePossession, randomSecretKey, reportLeaf, rootSigningMessage, sharesRoot,
  signPartial, g2ToEip2537,
} from '@destra/protocol';
import { payoutsRoot } from '@destra/protocol';
import { LocalCommittee, deployContract, localClients, payoutTable } from '../src-ts/index.ts';
import { registerOperator, transferDsync } from '../src-ts/index.ts';
import { committeeRegistryAbi, delegatedStakingAbi, destraGovernorAbi, destraTokenAbi, oracleRouterAbi, riskLendingMarketAbi } from '../src-ts/abi.ts';
import { canonicalInput, deployMarket, marketRequest, memberId, requestReport, setupFixture, write, type Fixture } from './fixture.ts';

const blsVectors = JSON.parse(readFileSync(new URL('../../test/vectors/bls/signatures.json', import.meta.url), 'utf8'));

let f: Fixture;
let registry: Address;
let staking: Address;
const read = (address: Address, abi: any, functionName: string, args: unknown[] = []) => f.clients.publicClient.readContract({ address, abi, functionName, args }) as Promise<any>;
const simulate = (address: Address, abi: any, functionName: string, args: unknown[], account = f.clients.walletClient.account!, value = 0n) =>
  f.clients.publicClient.simulateContract({ address, abi, functionName, args, account, value } as any);
const timeTravel = async (seconds: number) => {
  await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [seconds] as any });
  await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
};

beforeAll(async () => {
  f = await setupFixture({ operators: 4, stakes: [parseEther('10'), parseEther('40'), parseEther('20'), parseEther('30')] });
  registry = f.deployed.addresses.registry;
  staking = f.deployed.addresses.staking;
});
afterAll(async () => f?.stop());

describe('committee lifecycle', () => {
  let next: LocalCommittee;
  let members: Address[];

  it('registration needs a valid proof of possession; the committee is ranked by stake among operators with the minimum self-bond', async () => {
    const sk = randomSecretKey();
    const other = randomSecretKey();
    const c = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[6]!);
    const pk = toHex(g2ToEip2537(publicKeyOf(sk)));
    await expect(simulate(registry, committeeRegistryAbi, 'registerOperator', [pk, toHex(g1ToEip2537(provePossession(other)))], c.walletClient.account!)).rejects.toThrow(/InvalidProofOfPossession/);
    await expect(simulate(staking, delegatedStakingAbi, 'delegate', [c.walletClient.account!.address, parseEther('1')], c.walletClient.account!)).rejects.toThrow(/NotOperator/);
    // a self-bond below the minimum (1 DSYNC in the fixture) registers but does not rank
    await transferDsync(f.clients, f.deployed.addresses, c.walletClient.account!.address, parseEther('100'));
    await registerOperator(c, f.deployed.addresses, pk, toHex(g1ToEip2537(provePossession(sk))), parseEther('0.5'));
    await expect(simulate(registry, committeeRegistryAbi, 'registerOperator', [pk, toHex(g1ToEip2537(provePossession(sk)))], c.walletClient.account!)).rejects.toThrow(/AlreadyRegistered/);
    expect(await read(staking, delegatedStakingAbi, 'selectionStake', [c.walletClient.account!.address])).toBe(0n);
    expect(await read(registry, committeeRegistryAbi, 'nextCommittee', [8n])).not.toContain(c.walletClient.account!.address);
    members = await read(registry, committeeRegistryAbi, 'nextCommittee', [4n]);
    expect(members).toEqual([f.operators[1]!.address, f.operators[3]!.address, f.operators[2]!.address, f.operators[0]!.address]);
  });

  it('operators register a Solana payout address; the payout table weighs members by whole DSYNC of stake', async () => {
    const payee = (k: number) => `0x${k.toString(16).padStart(2, '0').repeat(32)}` as Hex;
    // only a registered operator, for itself
    await expect(simulate(registry, committeeRegistryAbi, 'setSolanaPayout', [payee(1)])).rejects.toThrow(/NotRegistered/);
    expect(await read(registry, committeeRegistryAbi, 'solanaPayoutOf', [f.operators[0]!.address])).toBe(`0x${'00'.repeat(32)}`);
    for (const i of [0, 1, 3]) {
      const receipt = await write(f.operators[i]!.clients, registry, committeeRegistryAbi, 'setSolanaPayout', [payee(i + 1)]);
      const [ev] = parseEventLogs({ abi: committeeRegistryAbi, logs: receipt.logs, eventName: 'SolanaPayoutSet' });
      expect([ev!.args.operator, ev!.args.payout]).toEqual([f.operators[i]!.address, payee(i + 1)]);
    }
    // a later call replaces the address
    await write(f.operators[3]!.clients, registry, committeeRegistryAbi, 'setSolanaPayout', [payee(9)]);
    expect(await read(registry, committeeRegistryAbi, 'solanaPayoutOf', [f.operators[3]!.address])).toBe(payee(9));
    const table = await payoutTable(f.clients.publicClient, registry, members);
    // members in committee order: operators 1 (40), 3 (30), 2 (20, no address), 0 (10) DSYNC
    expect(table.map((e) => [toHex(e.payee), e.weight])).toEqual([
      [payee(2), 40n], [payee(9), 30n], [`0x${'00'.repeat(32)}`, 20n], [payee(1), 10n],
    ]);
    expect(await read(registry, committeeRegistryAbi, 'payoutsRootOf', [members])).toBe(toHex(payoutsRoot(table)));
  });

  it('registered operators publish node info (encryption key, peer id, multiaddrs) within bounds; a later call replaces it', async () => {
    const encKey = `0x${'ab'.repeat(32)}` as Hex;
    const peerId = `0x0024${'11'.repeat(36)}` as Hex; // an identity multihash, 38 bytes
    const addrs = ['/ip4/10.0.0.1/tcp/4001', '/dns4/node.example/tcp/4001'];
    const op = f.operators[2]!;
    const sim = (args: unknown[], account = op.clients.walletClient.account!) => simulate(registry, committeeRegistryAbi, 'setNodeInfo', args, account);
    // only a registered operator
    await expect(sim([encKey, peerId, addrs], f.clients.walletClient.account!)).rejects.toThrow(/NotRegistered/);
    expect(await read(registry, committeeRegistryAbi, 'nodeInfoOf', [op.address])).toEqual([`0x${'00'.repeat(32)}`, '0x', []]);
    // bounds, each with its typed error
    await expect(sim([`0x${'00'.repeat(32)}`, peerId, addrs])).rejects.toThrow(/InvalidEncryptionKey/);
    await expect(sim([encKey, '0x', addrs])).rejects.toThrow(/InvalidPeerId/);
    await expect(sim([encKey, `0x${'11'.repeat(65)}`, addrs])).rejects.toThrow(/InvalidPeerId\(uint256 length\)[\s\S]*65/);
    await expect(sim([encKey, peerId, []])).rejects.toThrow(/InvalidMultiaddrCount/);
    await expect(sim([encKey, peerId, Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)])).rejects.toThrow(/InvalidMultiaddrCount[\s\S]*9/);
    await expect(sim([encKey, peerId, ['/ip4/10.0.0.1/tcp/1', '']])).rejects.toThrow(/InvalidMultiaddr\b/);
    await expect(sim([encKey, peerId, [`/dns4/${'a'.repeat(250)}/tcp/1`]])).rejects.toThrow(/InvalidMultiaddr\b[\s\S]*262/);
    // the limits themselves are accepted
    const max = Array.from({ length: 8 }, (_, i) => `/dns4/${String(i).repeat(244)}/tcp/1`);
    expect(max[0]!.length).toBe(256);
    await write(op.clients, registry, committeeRegistryAbi, 'setNodeInfo', [encKey, `0x${'22'.repeat(64)}`, max]);
    expect(await read(registry, committeeRegistryAbi, 'nodeInfoOf', [op.address])).toEqual([encKey, `0x${'22'.repeat(64)}`, max]);
    // overwrite with fewer multiaddrs: the old tail is gone
    const receipt = await write(op.clients, registry, committeeRegistryAbi, 'setNodeInfo', [encKey, peerId, addrs]);
    const [ev] = parseEventLogs({ abi: committeeRegistryAbi, logs: receipt.logs, eventName: 'NodeInfoSet' });
    expect([ev!.args.operator, ev!.args.encryptionKey, ev!.args.peerId, ev!.args.multiaddrs]).toEqual([op.address, encKey, peerId, addrs]);
    expect(await read(registry, committeeRegistryAbi, 'nodeInfoOf', [op.address])).toEqual([encKey, peerId, addrs]);
    // and with more again
    const three = [...addrs, '/ip6/::1/tcp/4001'];
    await write(op.clients, registry, committeeRegistryAbi, 'setNodeInfo', [`0x${'cd'.repeat(32)}`, peerId, three]);
    expect(await read(registry, committeeRegistryAbi, 'nodeInfoOf', [op.address])).toEqual([`0x${'cd'.repeat(32)}`, peerId, three]);
    // another operator's info is its own
    expect((await read(registry, committeeRegistryAbi, 'nodeInfoOf', [f.operators[0]!.address]))[2]).toEqual([]);
  });

  it('accepts a new epoch key only with a handover signed by the current committee', async () => {
    next = await LocalCommittee.create(4, 3);
    const table = await payoutTable(f.clients.publicClient, registry, members);
    const handover = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: 3, committeeSize: 4,
      groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(members.map(memberId)),
      payoutsRoot: payoutsRoot(table),
    });
    await expect(simulate(registry, committeeRegistryAbi, 'handover', [toHex(handover), next.signHandover(handover)])).rejects.toThrow(/BadSignature/);
    const wrongMembers = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: 3, committeeSize: 4,
      groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot([...members].reverse().map(memberId)),
      payoutsRoot: payoutsRoot(table),
    });
    await expect(simulate(registry, committeeRegistryAbi, 'handover', [toHex(wrongMembers), f.committee.signHandover(wrongMembers)])).rejects.toThrow(/HandoverWrongCommittee/);
    // even a properly signed handover cannot install a key outside the G2 subgroup
    const offSubgroup = hexToBytes(blsVectors.invalidPoints.find((p: any) => p.name === 'g2-off-subgroup').bytes);
    const badKey = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: 3, committeeSize: 4,
      groupKey: offSubgroup, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(members.map(memberId)),
      payoutsRoot: payoutsRoot(table),
    });
    await expect(simulate(registry, committeeRegistryAbi, 'handover', [toHex(badKey), f.committee.signHandover(badKey)])).rejects.toThrow(/BlsPrecompileFailed/);
    await write(f.clients, registry, committeeRegistryAbi, 'handover', [toHex(handover), f.committee.signHandover(handover)]);
    expect(await read(registry, committeeRegistryAbi, 'currentEpoch')).toBe(2n);
    expect(await read(registry, committeeRegistryAbi, 'groupKey', [2n])).toBe(next.groupKeyEip2537);
    // the old committee can no longer answer requests: reports must name the current epoch
    await expect(simulate(registry, committeeRegistryAbi, 'handover', [toHex(handover), f.committee.signHandover(handover)])).rejects.toThrow(/HandoverWrongEpoch/);
  });

  it('slashes a member whose share signed two different reports for one request', async () => {
    const index = 2;
    const offender = members[index - 1]!;
    const poolStake = async () => (await read(staking, delegatedStakingAbi, 'pools', [offender]))[0] as bigint;
    const before = await poolStake();
    const supplyBefore = (await read(f.deployed.addresses.token, destraTokenAbi, 'totalSupply')) as bigint;
    const id = `0x${'77'.repeat(32)}` as Hex;
    const input = canonicalInput([1n]);
    const a = requestReport(f, id, input, [100n], { epoch: 2n });
    const b = requestReport(f, id, input, [200n], { epoch: 2n });
    const partial = (r: Uint8Array) => toHex(g1ToEip2537(signPartial(next.share(index), rootSigningMessage(reportLeaf(r))).signature));
    const shares = toHex(Uint8Array.from(next.publicSharesUncompressed.flatMap((s) => [...s])));
    const args = [2n, index, shares, members, toHex(a), partial(a), toHex(b), partial(b)];
    const reporter = f.operators[0]!.clients;
    const reporterBefore = (await read(f.deployed.addresses.token, destraTokenAbi, 'balanceOf', [f.operators[0]!.address])) as bigint;
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', [2n, index, shares, members, toHex(a), partial(a), toHex(a), partial(a)])).rejects.toThrow(/identical reports/);
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', [2n, index + 1, shares, members, toHex(a), partial(a), toHex(b), partial(b)])).rejects.toThrow(/signatureA/);
    const receipt = await write(reporter, registry, committeeRegistryAbi, 'slashEquivocation', args);
    const [ev] = parseEventLogs({ abi: committeeRegistryAbi, logs: receipt.logs, eventName: 'Slashed' });
    expect(ev!.args.operator).toBe(offender);
    const after = await poolStake();
    expect(before - after).toBe(before / 10n); // slashBps = 10%
    // half of the slashed DSYNC to the reporter, half burned
    expect((await read(f.deployed.addresses.token, destraTokenAbi, 'balanceOf', [f.operators[0]!.address])) - reporterBefore).toBe(before / 20n);
    expect(supplyBefore - (await read(f.deployed.addresses.token, destraTokenAbi, 'totalSupply'))).toBe(before / 10n - before / 20n);
    await expect(simulate(registry, committeeRegistryAbi, 'slashEquivocation', args)).rejects.toThrow(/AlreadySlashed/);
  });

  it('fees from fulfilled requests accrue to operators pro rata and can be claimed; the DSYNC burn is paid at request', async () => {
    const router = f.deployed.addresses.router;
    const market = await deployMarket(f);
    const input = canonicalInput([5n]);
    const supplyBefore = (await read(f.deployed.addresses.token, destraTokenAbi, 'totalSupply')) as bigint;
    const stakerBefore = (await read(router, oracleRouterAbi, 'stakerFees')) as bigint;
    const { id, burn } = await marketRequest(f, market, input, { tip: 9n * 10n ** 15n });
    expect(supplyBefore - (await read(f.deployed.addresses.token, destraTokenAbi, 'totalSupply'))).toBe(burn);
    const report = requestReport(f, id, input, [1n], { epoch: 2n });
    await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(report), next.signRoot(reportLeaf(report))]);
    expect((await read(router, oracleRouterAbi, 'stakerFees')) - stakerBefore).toBe(10n ** 16n); // model fee + tip, all to the stakers
    const op = f.operators[3]!;
    const pending = (await read(staking, delegatedStakingAbi, 'pendingRewards', [op.address, op.address])) as bigint;
    expect(pending).toBeGreaterThan(0n);
    const balanceBefore = await f.clients.publicClient.getBalance({ address: op.address });
    const claim = await write(op.clients, staking, delegatedStakingAbi, 'claimRewards', [op.address]);
    const balanceAfter = await f.clients.publicClient.getBalance({ address: op.address });
    expect(balanceAfter - balanceBefore + claim.gasUsed * claim.effectiveGasPrice).toBe(pending);
  });

  it('changes a protocol parameter by stake-weighted vote, quorum and timelock', async () => {
    const { router, governor } = f.deployed.addresses;
    expect((await read(router, oracleRouterAbi, 'governance')).toLowerCase()).toBe(governor.toLowerCase()); // deployProtocol handed it over
    const newPrice = 5n * 10n ** 9n;
    const data = (await import('viem')).encodeFunctionData({ abi: oracleRouterAbi, functionName: 'setParams', args: [7200n, 1_000_000, newPrice] });
    const [proposer, , voterB] = [f.operators[1]!, f.operators[0]!, f.operators[3]!];
    await expect(simulate(governor, destraGovernorAbi, 'propose', [router, data, 'raise fee'], f.clients.walletClient.account!)).rejects.toThrow(/NotOperator/);
    await write(proposer.clients, governor, destraGovernorAbi, 'propose', [router, data, 'raise fee']);
    await write(proposer.clients, governor, destraGovernorAbi, 'castVote', [0n, true]);
    const proposal = await read(governor, destraGovernorAbi, 'proposal', [0n]);
    expect(await read(staking, delegatedStakingAbi, 'votesAt', [proposer.address, proposal.snapshot])).toBe(parseEther('40'));
    await expect(read(staking, delegatedStakingAbi, 'totalVotesAt', [10n ** 9n])).rejects.toThrow(/FutureLookup/);
    // stake bought after the proposal has no say in it
    const late = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[8]!);
    const lateKey = randomSecretKey();
    await transferDsync(f.clients, f.deployed.addresses, late.walletClient.account!.address, parseEther('5'));
    await registerOperator(late, f.deployed.addresses, toHex(g2ToEip2537(publicKeyOf(lateKey))), toHex(g1ToEip2537(provePossession(lateKey))), parseEther('1'));
    await expect(simulate(governor, destraGovernorAbi, 'castVote', [0n, false], late.walletClient.account!)).rejects.toThrow(/NoVotingPower/);
    await expect(simulate(governor, destraGovernorAbi, 'queue', [0n], proposer.clients.walletClient.account!)).rejects.toThrow(/VotingOpen/);
    await timeTravel(601);
    // 40 DSYNC of ~97 bonded is just above the 40% quorum
    await write(proposer.clients, governor, destraGovernorAbi, 'queue', [0n]);
    await expect(simulate(governor, destraGovernorAbi, 'execute', [0n], voterB.clients.walletClient.account!)).rejects.toThrow(/TimelockActive/);
    await timeTravel(301);
    await write(voterB.clients, governor, destraGovernorAbi, 'execute', [0n]);
    expect(await read(router, oracleRouterAbi, 'callbackGasPrice')).toBe(newPrice);
    expect(await read(router, oracleRouterAbi, 'requestTimeout')).toBe(7200n);
    // setParams is governance-only
    await expect(simulate(router, oracleRouterAbi, 'setParams', [1n, 1, 1n], f.clients.walletClient.account!)).rejects.toThrow(/NotGovernance/);
  });

  it('unbonding leaves the committee; a member of the current epoch cannot withdraw until it ends plus the delay', async () => {
    const op = f.operators[0]!;
    const self = (await read(staking, delegatedStakingAbi, 'stakeOf', [op.address, op.address])) as bigint;
    await write(op.clients, staking, delegatedStakingAbi, 'requestUnbond', [op.address, self]);
    expect(await read(registry, committeeRegistryAbi, 'nextCommittee', [4n])).not.toContain(op.address);
    await expect(simulate(staking, delegatedStakingAbi, 'withdraw', [op.address], op.clients.walletClient.account!)).rejects.toThrow(/StillUnbonding/);
    await timeTravel(3601);
    await expect(simulate(staking, delegatedStakingAbi, 'withdraw', [op.address], op.clients.walletClient.account!)).rejects.toThrow(/StakeLocked/);
    expect(await read(staking, delegatedStakingAbi, 'unbondingOf', [op.address, op.address])).toBe(self);
  });

  it('committeeOf: each epoch keeps the committee nextCommittee ranked when it was installed; unknown epochs revert', async () => {
    // genesis and the first handover recorded the ranking of their time, in committee order
    expect(await read(registry, committeeRegistryAbi, 'committeeOf', [1n])).toEqual(f.members);
    expect(await read(registry, committeeRegistryAbi, 'committeeOf', [2n])).toEqual(members);
    // the ranking has moved on since (operator 0 unbonded, a late operator bonded): epoch 2's list does not
    const ranked = (await read(registry, committeeRegistryAbi, 'nextCommittee', [4n])) as Address[];
    expect(ranked).not.toEqual(members);
    const table = await payoutTable(f.clients.publicClient, registry, ranked);
    const third = await LocalCommittee.create(4, 3);
    const handover = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 2n, newEpoch: 3n, threshold: 3, committeeSize: 4,
      groupKey: third.groupKeyUncompressed, sharesRoot: sharesRoot(third.publicSharesUncompressed), membersRoot: membersRoot(ranked.map(memberId)),
      payoutsRoot: payoutsRoot(table),
    });
    await write(f.clients, registry, committeeRegistryAbi, 'handover', [toHex(handover), next.signHandover(handover)]);
    expect(await read(registry, committeeRegistryAbi, 'committeeOf', [3n])).toEqual(ranked);
    expect(await read(registry, committeeRegistryAbi, 'membersRootOf', [ranked])).toBe((await read(registry, committeeRegistryAbi, 'epochInfo', [3n])).membersRoot);
    expect(await read(registry, committeeRegistryAbi, 'committeeOf', [2n])).toEqual(members);
    // the key stored beside the list still reads back whole
    expect(await read(registry, committeeRegistryAbi, 'groupKey', [3n])).toBe(third.groupKeyEip2537);
    for (const epoch of [0n, 4n]) await expect(read(registry, committeeRegistryAbi, 'committeeOf', [epoch])).rejects.toThrow(/UnknownEpoch/);
  });
});
