// Operator onboarding and delegation in DSYNC: register the BLS key (with its proof of possession) in
// CommitteeRegistry, approve DelegatedStaking, bond. Used by the devnet, tests and benches.
import { hexToBytes, parseEventLogs, type Address, type Hex, type PublicClient } from 'viem';
import { payoutWeight, type PayoutEntry } from '@destra/protocol';
import { committeeRegistryAbi, delegatedStakingAbi, destraTokenAbi } from './abi.ts';
import { sendTx, type Clients } from './deploy-util.ts';
import type { ProtocolAddresses } from './deploy.ts';

type Addrs = Pick<ProtocolAddresses, 'token' | 'staking' | 'registry'>;

/** Moves DSYNC from `from` (e.g. the genesis holder) to `to`. */
export function transferDsync(from: Clients, a: Pick<ProtocolAddresses, 'token'>, to: Address, amount: bigint) {
  return sendTx(from, a.token, destraTokenAbi, 'transfer', [to, amount]);
}

/** Approves and bonds `amount` DSYNC from the caller to `operator` (its self-bond when the caller is the operator). */
export async function delegateDsync(c: Clients, a: Addrs, operator: Address, amount: bigint) {
  await sendTx(c, a.token, destraTokenAbi, 'approve', [a.staking, amount]);
  return sendTx(c, a.staking, delegatedStakingAbi, 'delegate', [operator, amount]);
}

/**
 * Registers the caller as an operator (BLS key in EIP-2537 G2 encoding, proof of possession in EIP-2537
 * G1) and self-bonds `selfBond` DSYNC it already holds. Returns the two receipts (register, delegate).
 */
export async function registerOperator(c: Clients, a: Addrs, blsKeyEip2537: Hex, popEip2537: Hex, selfBond: bigint) {
  const register = await sendTx(c, a.registry, committeeRegistryAbi, 'registerOperator', [blsKeyEip2537, popEip2537]);
  const bond = await delegateDsync(c, a, c.walletClient.account!.address, selfBond);
  return { register, bond };
}

/**
 * The Solana fee payout table of a committee (docs/report-format.md §4), read from the registry now (or at
 * `blockNumber`): per member in committee order, its registered Solana payout address (`solanaPayoutOf`,
 * zero when none) and its weight, the selection stake in whole DSYNC (`staking.selectionStake / 1e18`,
 * floor). `payoutsRoot(table)` from @destra/protocol is the handover's payoutsRoot, and the table is what
 * `distribute_fees` on Solana takes.
 */
export async function payoutTable(
  publicClient: PublicClient, registry: Address, members: readonly Address[], blockNumber?: bigint,
): Promise<PayoutEntry[]> {
  const at = blockNumber === undefined ? {} : { blockNumber };
  const staking = (await publicClient.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'staking', ...at })) as Address;
  return Promise.all(members.map(async (m) => {
    const [payee, stake] = await Promise.all([
      publicClient.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'solanaPayoutOf', args: [m], ...at }) as Promise<Hex>,
      publicClient.readContract({ address: staking, abi: delegatedStakingAbi, functionName: 'selectionStake', args: [m], ...at }) as Promise<bigint>,
    ]);
    return { payee: hexToBytes(payee), weight: payoutWeight(stake) };
  }));
}

/**
 * Claims the caller's ETH rewards from `operator`'s pool (an operator claiming its own pool also gets its
 * commission) and returns the amount paid (0 when there was nothing to claim).
 */
export async function claimRewards(c: Clients, a: Pick<ProtocolAddresses, 'staking'>, operator: Address): Promise<bigint> {
  const account = c.walletClient.account!.address;
  const pending = (await c.publicClient.readContract({ address: a.staking, abi: delegatedStakingAbi, functionName: 'pendingRewards', args: [operator, account] })) as bigint;
  if (pending === 0n) return 0n;
  const receipt = await sendTx(c, a.staking, delegatedStakingAbi, 'claimRewards', [operator]);
  const [ev] = parseEventLogs({ abi: delegatedStakingAbi, logs: receipt.logs, eventName: 'RewardsClaimed' });
  return ev?.args.amount ?? 0n;
}
