// DSYNC staking with delegation on a real anvil: committee by total stake, commission (time-locked),
// fee rewards per share, pro-rata slashing of self-bond and delegations (bonded and unbonding), and the
// deployer holding no role once deployProtocol returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, hexToBytes, parseEther, parseSignature, toHex, zeroAddress, type Abi, type Address } from 'viem';
import {
  ReportKind, anyDestination, encodeReport, feedId, g1ToEip2537, g2ToEip2537, provePossession, publicKeyOf, randomSecretKey, reportLeaf,
  rootSigningMessage, signPartial, type Report,
} from '@destra/protocol';
import { GOVERNED, delegateDsync, localClients, registerOperator, transferDsync, type Clients } from '../src-ts/index.ts';
import * as abis from '../src-ts/abi.ts';
import { committeeRegistryAbi, delegatedStakingAbi, destraGovernorAbi, destraTokenAbi } from '../src-ts/abi.ts';
import { setupFixture, write, type Fixture } from './fixture.ts';

let f: Fixture;
let staking: Address;
let registry: Address;
let members: Address[];
let delegator: Clients;
let dAddr: Address;
const read = (address: Address, abi: any, functionName: string, args: unknown[] = []) => f.clients.publicClient.readContract({ address, abi, functionName, args }) as Promise<any>;
const simulate = (address: Address, abi: any, functionName: string, args: unknown[], account: any) =>
  f.clients.publicClient.simulateContract({ address, abi, functionName, args, account } as any);
const timeTravel = async (seconds: number) => {
  await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [seconds] as any });
  await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
};
const stakeOf = (op: Address, who: Address) => read(staking, delegatedStakingAbi, 'stakeOf', [op, who]) as Promise<bigint>;
const pending = (op: Address, who: Address) => read(staking, delegatedStakingAbi, 'pendingRewards', [op, who]) as Promise<bigint>;

beforeAll(async () => {
  // stakes 10, 11, 12, 13 DSYNC: operator 0 ranks last
  f = await setupFixture({ operators: 4 });
  ({ staking, registry } = f.deployed.addresses);
  members = await read(registry, committeeRegistryAbi, 'nextCommittee', [4n]);
  delegator = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[9]!);
  dAddr = delegator.walletClient.account!.address;
  await transferDsync(f.clients, f.deployed.addresses, dAddr, parseEther('1000'));
});
afterAll(async () => f?.stop());

describe('delegation', () => {
  it('anyone delegates DSYNC to an operator; the committee ranks operators by self + delegated stake', async () => {
    const op = f.operators[0]!.address; // last by self-bond
    expect((await read(registry, committeeRegistryAbi, 'nextCommittee', [4n]))[3]).toBe(op);
    await expect(simulate(staking, delegatedStakingAbi, 'delegate', [dAddr, parseEther('1')], delegator.walletClient.account!)).rejects.toThrow(/NotOperator/);
    await delegateDsync(delegator, f.deployed.addresses, op, parseEther('30'));
    expect(await stakeOf(op, dAddr)).toBe(parseEther('30'));
    expect(await read(staking, delegatedStakingAbi, 'selectionStake', [op])).toBe(parseEther('40'));
    expect((await read(registry, committeeRegistryAbi, 'nextCommittee', [4n]))[0]).toBe(op);
  });

  it('fees go to the operator commission and its delegators pro rata; commission changes wait for the delay', async () => {
    const opC = f.operators[0]!.clients;
    const op = f.operators[0]!.address;
    await expect(simulate(staking, delegatedStakingAbi, 'setCommission', [6_000], opC.walletClient.account!)).rejects.toThrow(/CommissionTooHigh/);
    await write(opC, staking, delegatedStakingAbi, 'setCommission', [1_000]); // 10%, queued: the pool has a delegator
    expect((await read(staking, delegatedStakingAbi, 'pools', [op]))[4]).toBe(0);
    await timeTravel(601);
    const total = (await read(staking, delegatedStakingAbi, 'totalBonded')) as bigint; // 10+30 + 11 + 12 + 13 = 76
    expect(total).toBe(parseEther('76'));
    const [o0, d0] = [await pending(op, op), await pending(op, dAddr)];
    const fee = parseEther('7.6');
    await write(f.clients, staking, delegatedStakingAbi, 'depositFees', [], fee);
    const poolEarned = (fee * parseEther('40')) / total; // 4 ETH
    const commission = poolEarned / 10n;
    const gotOp = (await pending(op, op)) - o0;
    const gotD = (await pending(op, dAddr)) - d0;
    expect(gotOp + gotD).toBeGreaterThanOrEqual(poolEarned - 10n);
    expect(gotD).toBeGreaterThanOrEqual(((poolEarned - commission) * 3n) / 4n - 10n);
    expect(gotD).toBeLessThanOrEqual(((poolEarned - commission) * 3n) / 4n);
    expect(gotOp).toBeGreaterThanOrEqual(commission + (poolEarned - commission) / 4n - 10n);
    const before = await f.clients.publicClient.getBalance({ address: dAddr });
    const receipt = await write(delegator, staking, delegatedStakingAbi, 'claimRewards', [op]);
    expect((await f.clients.publicClient.getBalance({ address: dAddr })) - before + receipt.gasUsed * receipt.effectiveGasPrice).toBe(gotD + d0);
    await expect(simulate(staking, delegatedStakingAbi, 'claimRewards', [op], delegator.walletClient.account!)).rejects.toThrow(/NothingToClaim/);
  });

  it('a slash takes the self-bond and every delegation pro rata, bonded and unbonding alike', async () => {
    const op = f.operators[0]!.address;
    const index = members.indexOf(op) + 1; // the genesis committee (before the delegation)
    await write(delegator, staking, delegatedStakingAbi, 'requestUnbond', [op, parseEther('10')]);
    const [self0, d0, u0] = [await stakeOf(op, op), await stakeOf(op, dAddr), await read(staking, delegatedStakingAbi, 'unbondingOf', [op, dAddr])];
    expect([self0, d0, u0]).toEqual([parseEther('10'), parseEther('20'), parseEther('10')]);
    const report = (o: Partial<Report>) => encodeReport({
      kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: feedId('x'),
      modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: 1n, round: 4n, output: [1n], ...o,
    });
    const [a, b] = [report({ output: [1n] }), report({ output: [2n] })];
    const sig = (r: Uint8Array) => toHex(g1ToEip2537(signPartial(f.committee.share(index), rootSigningMessage(reportLeaf(r))).signature));
    const shares = toHex(Uint8Array.from(f.committee.publicSharesUncompressed.flatMap((s) => [...s])));
    await write(f.clients, registry, committeeRegistryAbi, 'slashEquivocation', [1n, index, shares, members, toHex(a), sig(a), toHex(b), sig(b)]);
    expect(await stakeOf(op, op)).toBe(self0 - self0 / 10n);
    expect(await stakeOf(op, dAddr)).toBe(d0 - d0 / 10n);
    expect(await read(staking, delegatedStakingAbi, 'unbondingOf', [op, dAddr])).toBe(u0 - u0 / 10n);
    // the unbonded part stays locked while the operator's epoch is current (evidence can still come)
    await timeTravel(3601);
    await expect(simulate(staking, delegatedStakingAbi, 'withdraw', [op], delegator.walletClient.account!)).rejects.toThrow(/StakeLocked/);
  });

  it('a holder delegates in one transaction with an ERC-2612 permit', async () => {
    const op = f.operators[2]!.address;
    const amount = parseEther('3');
    const token = f.deployed.addresses.token;
    const nonce = (await read(token, destraTokenAbi, 'nonces', [dAddr])) as bigint;
    const deadline = (await f.clients.publicClient.getBlock()).timestamp + 3600n;
    const signature = await delegator.walletClient.signTypedData({
      account: delegator.walletClient.account!,
      domain: { name: 'Destra Sync', version: '1', chainId: f.chainId, verifyingContract: token },
      types: { Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
      primaryType: 'Permit',
      message: { owner: dAddr, spender: staking, value: amount, nonce, deadline },
    });
    const { r, s: sig, v } = parseSignature(signature);
    const before = await stakeOf(op, dAddr);
    await write(delegator, staking, delegatedStakingAbi, 'delegateWithPermit', [op, amount, deadline, Number(v), r, sig]);
    expect((await stakeOf(op, dAddr)) - before).toBe(amount);
    // replaying the used permit does not bond again without an allowance
    await expect(simulate(staking, delegatedStakingAbi, 'delegateWithPermit', [op, amount, deadline, Number(v), r, sig], delegator.walletClient.account!)).rejects.toThrow(/ERC20InsufficientAllowance|reverted/);
  });

  it('a delegation to an operator outside any committee withdraws after the unbonding delay alone', async () => {
    const c = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[7]!);
    const sk = randomSecretKey();
    await transferDsync(f.clients, f.deployed.addresses, c.walletClient.account!.address, parseEther('5'));
    await registerOperator(c, f.deployed.addresses, toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk))), parseEther('5'));
    const op = c.walletClient.account!.address;
    await delegateDsync(delegator, f.deployed.addresses, op, parseEther('7'));
    await write(delegator, staking, delegatedStakingAbi, 'requestUnbond', [op, parseEther('7')]);
    await expect(simulate(staking, delegatedStakingAbi, 'withdraw', [op], delegator.walletClient.account!)).rejects.toThrow(/StillUnbonding/);
    await timeTravel(3601);
    const before = (await read(f.deployed.addresses.token, destraTokenAbi, 'balanceOf', [dAddr])) as bigint;
    await write(delegator, staking, delegatedStakingAbi, 'withdraw', [op]);
    expect((await read(f.deployed.addresses.token, destraTokenAbi, 'balanceOf', [dAddr])) - before).toBe(parseEther('7'));
  });
});

describe('governance in control', () => {
  it('after deployProtocol (and genesis) the deployer holds no owner or role anywhere; the governor holds them all', async () => {
    const deployer = f.clients.walletClient.account!.address.toLowerCase();
    const governor = f.deployed.addresses.governor.toLowerCase();
    const roleGetters = ['owner', 'governance', 'admin', 'pendingOwner', 'genesisAuthority', 'minter'];
    const byAddress: Record<string, Abi> = {
      [f.deployed.addresses.token]: abis.destraTokenAbi as Abi,
      [f.deployed.addresses.staking]: abis.delegatedStakingAbi as Abi,
      [f.deployed.addresses.registry]: abis.committeeRegistryAbi as Abi,
      [f.deployed.addresses.models]: abis.modelRegistryAbi as Abi,
      [f.deployed.addresses.router]: abis.oracleRouterAbi as Abi,
      [f.deployed.addresses.feeds]: abis.feedStoreAbi as Abi,
      [f.deployed.addresses.feedRegistry]: abis.feedRegistryAbi as Abi,
      [f.deployed.addresses.governor]: abis.destraGovernorAbi as Abi,
    };
    let checked = 0;
    for (const [address, abi] of Object.entries(byAddress)) {
      for (const item of abi) {
        if (item.type !== 'function' || item.inputs.length !== 0 || item.outputs?.[0]?.type !== 'address' || item.outputs.length !== 1) continue;
        if (!roleGetters.includes(item.name)) continue;
        const holder = ((await read(address as Address, abi, item.name)) as string).toLowerCase();
        expect(holder, `${address}.${item.name}`).not.toBe(deployer);
        expect([governor, zeroAddress], `${address}.${item.name}`).toContain(holder);
        checked++;
      }
    }
    expect(checked).toBe(GOVERNED.length + 1); // five governance() slots + the spent genesis right
    for (const name of GOVERNED) {
      const address = f.deployed.addresses[name];
      expect((await read(address, byAddress[address]!, 'governance')).toLowerCase()).toBe(governor);
      expect(await read(f.deployed.addresses.governor, destraGovernorAbi, 'governed', [address])).toBe(true);
    }
    expect(await read(f.deployed.addresses.governor, destraGovernorAbi, 'governed', [f.deployed.addresses.governor])).toBe(true);
    expect(await read(registry, committeeRegistryAbi, 'genesisAuthority')).toBe(zeroAddress);
    // every governance-only setter refuses the deployer
    const me = f.clients.walletClient.account!;
    await expect(simulate(registry, committeeRegistryAbi, 'setParams', [3600n, 4, 1000, 5000, 86_400n, 300n], me)).rejects.toThrow(/NotGovernance/);
    await expect(simulate(staking, delegatedStakingAbi, 'setParams', [1n, 1n, 1], me)).rejects.toThrow(/NotGovernance/);
    await expect(simulate(f.deployed.addresses.router, abis.oracleRouterAbi, 'setParams', [1n, 1, 1n], me)).rejects.toThrow(/NotGovernance/);
    await expect(simulate(registry, committeeRegistryAbi, 'initGenesis', [`0x${'00'.repeat(256)}`, 1, 1, `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`], me)).rejects.toThrow(/NotGenesisAuthority/);
    // the token has a fixed supply and no owner
    expect((abis.destraTokenAbi as Abi).some((i) => i.type === 'function' && ['mint', 'owner'].includes(i.name))).toBe(false);
  });

  it('a passed proposal changes a registry parameter (the handover grace) through the timelock', async () => {
    const governor = f.deployed.addresses.governor;
    const data = encodeFunctionData({ abi: committeeRegistryAbi, functionName: 'setParams', args: [3600n, 4, 1000, 5000, 86_400n, 120n] });
    const voters = f.operators;
    await write(voters[0]!.clients, governor, destraGovernorAbi, 'propose', [registry, data, 'shorter handover grace']);
    const id = (await read(governor, destraGovernorAbi, 'proposalCount')) - 1n;
    for (const v of voters) await write(v.clients, governor, destraGovernorAbi, 'castVote', [id, true]);
    await timeTravel(601);
    await write(voters[0]!.clients, governor, destraGovernorAbi, 'queue', [id]);
    await timeTravel(301);
    await write(voters[1]!.clients, governor, destraGovernorAbi, 'execute', [id]);
    expect(await read(registry, committeeRegistryAbi, 'handoverGrace')).toBe(120n);
  });

  it('votes are weighed by staked DSYNC (self + delegated) at the snapshot', async () => {
    const op = f.operators[0]!.address;
    const block = await f.clients.publicClient.getBlockNumber();
    await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
    const pool = await read(staking, delegatedStakingAbi, 'pools', [op]);
    expect(await read(staking, delegatedStakingAbi, 'votesAt', [op, block])).toBe(pool[0]);
    expect(await read(f.deployed.addresses.governor, destraGovernorAbi, 'votingPower', [op])).toBe(pool[0]);
    expect(await read(f.deployed.addresses.governor, destraGovernorAbi, 'votingPower', [dAddr])).toBe(0n); // delegators vote through their operator
  });
});
