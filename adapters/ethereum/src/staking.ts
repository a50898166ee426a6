// The operator and staker side of the protocol's economics: register an operator key, bond DSYNC to an
// operator (its self-bond when the caller is the operator), unbond, withdraw after the delay, claim ETH
// rewards, and read a position. Amounts are DSYNC base units (18 decimals); the CLI parses human amounts.
import { type Address, type Hex, type PublicClient, type WalletClient } from 'viem';
import { g1ToEip2537, g2ToEip2537, provePossession, publicKeyOf, type SecretKey } from '@destra/protocol';
import { committeeRegistryAbi, delegatedStakingAbi, destraTokenAbi } from '@destra/contracts';
import { AdapterConfigError } from './errors.ts';
import { NonceManager } from './nonce.ts';
import { TransactionSender, type SubmissionResult } from './tx-sender.ts';

export { DSYNC_DECIMALS, checkNodeInfo, encodeBase58, formatDsync, formatSolanaAddress, NODE_INFO_LIMITS, parseDsync, parseSolanaAddress, type NodeInfoInput } from './staking-values.ts';
import { checkNodeInfo, formatDsync, type NodeInfoInput } from './staking-values.ts';

export interface StakingAddresses {
  registry: Address;
  staking: Address;
  token: Address;
}

export interface PositionStatus {
  account: Address;
  operator: Address;
  /** The operator: registered, its pool's bonded stake (self + delegated), commission and last committee epoch. */
  operatorInfo: { registered: boolean; poolStake: bigint; commissionBps: number; lastEpoch: bigint; solanaPayout: Hex };
  /** The account's position in that operator's pool. */
  bonded: bigint;
  unbonding: bigint;
  unbondAt: bigint;
  pendingRewardsWei: bigint;
  dsyncBalance: bigint;
  ethBalance: bigint;
}

export class StakingClient {
  private readonly sender: TransactionSender | undefined;

  private constructor(
    readonly publicClient: PublicClient,
    private readonly walletClient: WalletClient | undefined,
    readonly addresses: StakingAddresses,
  ) {
    const account = walletClient?.account;
    this.sender = account
      ? new TransactionSender({
          publicClient,
          walletClient: walletClient!,
          nonces: new NonceManager(publicClient, account.address),
          gasMarginBps: 2000,
          retries: 3,
          minRetryDelayMs: 250,
          maxRetryDelayMs: 4000,
          receiptTimeoutMs: 60_000,
        })
      : undefined;
  }

  /** Finds the staking contract and the token from the registry. */
  static async connect(o: { publicClient: PublicClient; walletClient?: WalletClient; registry: Address }): Promise<StakingClient> {
    const code = await o.publicClient.getCode({ address: o.registry });
    if (!code || code === '0x') throw new AdapterConfigError(`no contract at ${o.registry}: pass the CommitteeRegistry address of this network`);
    const staking = (await o.publicClient.readContract({ address: o.registry, abi: committeeRegistryAbi, functionName: 'staking' })) as Address;
    const token = (await o.publicClient.readContract({ address: staking, abi: delegatedStakingAbi, functionName: 'token' })) as Address;
    return new StakingClient(o.publicClient, o.walletClient, { registry: o.registry, staking, token });
  }

  get account(): Address {
    const a = this.walletClient?.account?.address;
    if (!a) throw new AdapterConfigError('this command sends a transaction: give a signer (--keystore or --key-env)');
    return a;
  }

  private send(address: Address, abi: unknown, functionName: string, args: readonly unknown[]): Promise<SubmissionResult> {
    if (!this.sender) throw new AdapterConfigError('this command sends a transaction: give a signer (--keystore or --key-env)');
    return this.sender.send({ address, abi: abi as never, functionName, args }, async () => undefined);
  }

  private read<T>(address: Address, abi: unknown, functionName: string, args: readonly unknown[] = []): Promise<T> {
    return this.publicClient.readContract({ address, abi: abi as never, functionName, args } as never) as Promise<T>;
  }

  /** The operator's registered BLS key (EIP-2537 G2, 256 bytes); '0x' when not registered. */
  blsKeyOf(operator: Address): Promise<Hex> {
    return this.read<Hex>(this.addresses.registry, committeeRegistryAbi, 'blsKeyOf', [operator]);
  }

  isOperator(operator: Address): Promise<boolean> {
    return this.read<boolean>(this.addresses.registry, committeeRegistryAbi, 'isOperator', [operator]);
  }

  /** Registers the caller as an operator: its BLS key (EIP-2537 G2) with a proof of possession. */
  register(operatorSecret: SecretKey): Promise<SubmissionResult> {
    return this.send(this.addresses.registry, committeeRegistryAbi, 'registerOperator', [hex(g2ToEip2537(publicKeyOf(operatorSecret))), hex(g1ToEip2537(provePossession(operatorSecret)))]);
  }

  /** Approves (when the allowance is short) and bonds `amount` to `operator`. */
  async delegate(operator: Address, amount: bigint): Promise<SubmissionResult> {
    const me = this.account;
    if (!(await this.isOperator(operator))) throw new AdapterConfigError(`${operator} is not a registered operator`);
    const balance = await this.read<bigint>(this.addresses.token, destraTokenAbi, 'balanceOf', [me]);
    if (balance < amount) throw new AdapterConfigError(`${me} holds ${formatDsync(balance)} DSYNC, less than the ${formatDsync(amount)} to bond`);
    const allowance = await this.read<bigint>(this.addresses.token, destraTokenAbi, 'allowance', [me, this.addresses.staking]);
    if (allowance < amount) await this.send(this.addresses.token, destraTokenAbi, 'approve', [this.addresses.staking, amount]);
    return this.send(this.addresses.staking, delegatedStakingAbi, 'delegate', [operator, amount]);
  }

  /** An operator's self-bond: registers first when needed (which takes the operator's BLS secret). */
  async stake(amount: bigint, operatorSecret?: SecretKey): Promise<{ registered?: SubmissionResult; bonded: SubmissionResult }> {
    const me = this.account;
    let registered: SubmissionResult | undefined;
    if (!(await this.isOperator(me))) {
      if (!operatorSecret) throw new AdapterConfigError(`${me} is not a registered operator yet: give its BLS keystore (--operator-keystore) to register it`);
      registered = await this.register(operatorSecret);
    }
    return { ...(registered ? { registered } : {}), bonded: await this.delegate(me, amount) };
  }

  /** Sets the Solana address the caller's share of Solana request fees is paid to (it must be a registered operator). */
  async setSolanaPayout(payout: Hex): Promise<SubmissionResult> {
    const me = this.account;
    if (!(await this.isOperator(me))) throw new AdapterConfigError(`${me} is not a registered operator: register and stake first (destra operator stake)`);
    return this.send(this.addresses.registry, committeeRegistryAbi, 'setSolanaPayout', [payout]);
  }

  /** Publishes (or replaces) what peers need to reach the caller's node (it must be a registered operator). */
  async setNodeInfo(info: NodeInfoInput): Promise<SubmissionResult> {
    checkNodeInfo(info);
    const me = this.account;
    if (!(await this.isOperator(me))) throw new AdapterConfigError(`${me} is not a registered operator: register first (destra operator register)`);
    return this.send(this.addresses.registry, committeeRegistryAbi, 'setNodeInfo', [info.encryptionKey, info.peerId, [...info.multiaddrs]]);
  }

  /** The node info `operator` published: X25519 key, peer id multihash bytes, multiaddrs (zero / '0x' / [] when none). */
  async nodeInfoOf(operator: Address): Promise<NodeInfoInput> {
    const [encryptionKey, peerId, multiaddrs] = await this.read<readonly [Hex, Hex, readonly string[]]>(this.addresses.registry, committeeRegistryAbi, 'nodeInfoOf', [operator]);
    return { encryptionKey, peerId, multiaddrs: [...multiaddrs] };
  }

  solanaPayoutOf(operator: Address): Promise<Hex> {
    return this.read<Hex>(this.addresses.registry, committeeRegistryAbi, 'solanaPayoutOf', [operator]);
  }

  unbond(operator: Address, amount: bigint): Promise<SubmissionResult> {
    return this.send(this.addresses.staking, delegatedStakingAbi, 'requestUnbond', [operator, amount]);
  }

  withdraw(operator: Address): Promise<SubmissionResult> {
    return this.send(this.addresses.staking, delegatedStakingAbi, 'withdraw', [operator]);
  }

  claim(operator: Address): Promise<SubmissionResult> {
    return this.send(this.addresses.staking, delegatedStakingAbi, 'claimRewards', [operator]);
  }

  async status(account: Address, operator: Address): Promise<PositionStatus> {
    const { registry, staking, token } = this.addresses;
    const [registered, pool, position, bonded, unbonding, pending, lastEpoch, dsyncBalance, ethBalance, solanaPayout] = await Promise.all([
      this.isOperator(operator),
      this.read<readonly bigint[]>(staking, delegatedStakingAbi, 'pools', [operator]),
      this.read<readonly bigint[]>(staking, delegatedStakingAbi, 'positions', [operator, account]),
      this.read<bigint>(staking, delegatedStakingAbi, 'stakeOf', [operator, account]),
      this.read<bigint>(staking, delegatedStakingAbi, 'unbondingOf', [operator, account]),
      this.read<bigint>(staking, delegatedStakingAbi, 'pendingRewards', [operator, account]),
      this.read<bigint>(registry, committeeRegistryAbi, 'lastEpochOf', [operator]),
      this.read<bigint>(token, destraTokenAbi, 'balanceOf', [account]),
      this.publicClient.getBalance({ address: account }),
      this.solanaPayoutOf(operator),
    ]);
    return {
      account,
      operator,
      operatorInfo: { registered, poolStake: BigInt(pool[0]!), commissionBps: Number(pool[4]), lastEpoch, solanaPayout },
      bonded,
      unbonding,
      unbondAt: BigInt(position[2]!),
      pendingRewardsWei: pending,
      dsyncBalance,
      ethBalance,
    };
  }
}

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
