// Read-only view of CommitteeRegistry and its DelegatedStaking: epochs, group keys (in every encoding a
// caller needs), the selected committee, operator stakes (DSYNC self-bond + delegations) and parameters.
import { bytesToHex, hexToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { g2FromEip2537 } from '@destra/protocol';
import { committeeRegistryAbi, delegatedStakingAbi } from '@destra/contracts';
import { MalformedChainDataError } from './errors.ts';
import { encodeBase58, formatSolanaAddress } from './staking.ts';

export interface GroupKey {
  epoch: bigint;
  /** 256-byte EIP-2537 G2 encoding, as stored on chain. */
  eip2537: Hex;
  /** 96-byte compressed ZCash encoding (what the protocol's verify takes). */
  compressed: Uint8Array;
}

export interface EpochInfo {
  epoch: bigint;
  threshold: number;
  committeeSize: number;
  /** Unix seconds of the genesis/handover that installed the epoch's key. */
  activatedAt: bigint;
  sharesRoot: Hex;
  membersRoot: Hex;
}

export interface OperatorInfo {
  address: Address;
  /** Bonded DSYNC backing the operator: self-bond + delegations (what ranks it and weighs its votes). */
  stake: bigint;
  selfBond: bigint;
  delegated: bigint;
  /** DSYNC of the operator's pool waiting to be withdrawn (still slashable). */
  unbonding: bigint;
  registered: boolean;
  /** Latest committee epoch the operator was named in (0n: never). */
  lastEpoch: bigint;
  blsKeyHash: Hex;
  commissionBps: number;
  /** The operator's own claimable ETH in its pool (commission + self-bond share). */
  pendingRewards: bigint;
}

/** What peers need to reach an operator's node, as published with `CommitteeRegistry.setNodeInfo`. */
export interface NodeInfo {
  /** X25519 public key receiving DKG shares (32 bytes); null when none was published. */
  encryptionKey: Hex | null;
  /** libp2p peer id in text form (base58btc of the multihash bytes); null when none was published. */
  peerId: string | null;
  /** The peer id's multihash bytes as stored on chain ('0x' when none). */
  peerIdBytes: Hex;
  multiaddrs: string[];
}

/** One registered operator with everything peers need: keys, node info, Solana payout address. */
export interface DirectoryEntry extends NodeInfo {
  address: Address;
  /** BLS operator key, 96-byte compressed G2 (the `operatorKey` of a node config's committee member). */
  operatorKey: Hex;
  /** The same key in the 256-byte EIP-2537 encoding stored on chain. */
  operatorKeyEip2537: Hex;
  /** Base58 Solana address its share of Solana fees is paid to; null when none. */
  solanaPayout: string | null;
}

export interface RegistryParams {
  staking: Address;
  /** Minimum self-bond (DSYNC base units) to rank for the committee. */
  minSelfBond: bigint;
  unbondingDelay: bigint;
  committeeSize: number;
  slashBps: number;
  minThresholdBps: number;
  epochLength: bigint;
  handoverGrace: bigint;
  totalBonded: bigint;
  domain: Hex;
}

/** Bounds an operator scan so a hostile or broken registry cannot make us loop forever. */
const MAX_OPERATORS = 512;

export class CommitteeReader {
  constructor(
    private readonly client: PublicClient,
    readonly registry: Address,
  ) {}

  currentEpoch(): Promise<bigint> {
    return this.read('currentEpoch', []) as Promise<bigint>;
  }

  async groupKey(epoch?: bigint): Promise<GroupKey> {
    const e = epoch ?? (await this.currentEpoch());
    const key = (await this.read('groupKey', [e])) as Hex;
    let compressed: Uint8Array;
    try {
      compressed = g2FromEip2537(hexToBytes(key)).toBytes(true);
    } catch (err) {
      throw new MalformedChainDataError(`registry ${this.registry} returned an invalid group key for epoch ${e}: ${(err as Error).message}`, { cause: err });
    }
    return { epoch: e, eip2537: key, compressed };
  }

  async epochInfo(epoch?: bigint): Promise<EpochInfo> {
    const e = epoch ?? (await this.currentEpoch());
    const info = (await this.read('epochInfo', [e])) as { threshold: number; committeeSize: number; activatedAt: bigint; sharesRoot: Hex; membersRoot: Hex };
    return { epoch: e, threshold: info.threshold, committeeSize: info.committeeSize, activatedAt: info.activatedAt, sharesRoot: info.sharesRoot, membersRoot: info.membersRoot };
  }

  /** The top-n operators by stake, self + delegated (the committee the next handover must name); n defaults to the registry's size. */
  async selectedCommittee(n?: number): Promise<Address[]> {
    const size = n ?? Number(await this.read('committeeSize', []));
    return [...((await this.read('nextCommittee', [BigInt(size)])) as readonly Address[])];
  }

  /**
   * The epoch's committee in committee order (member i holds key share i + 1), as the registry recorded it
   * when genesis / the handover installed the epoch. An epoch not installed yet rejects with the
   * registry's UnknownEpoch revert.
   */
  async committeeOf(epoch: bigint): Promise<Address[]> {
    return [...((await this.read('committeeOf', [epoch])) as readonly Address[])];
  }

  /** Directory entries (keys, node info, Solana payout) of the epoch's members, in committee order. */
  async committeeDirectory(epoch: bigint): Promise<DirectoryEntry[]> {
    return Promise.all((await this.committeeOf(epoch)).map((a) => this.directoryEntry(a)));
  }

  /** The payoutsRoot a handover naming `members` (committee order) commits to at the current state. */
  async payoutsRootOf(members: readonly Address[]): Promise<Hex> {
    return (await this.read('payoutsRootOf', [members])) as Hex;
  }

  /** keccak256 of the members' 32-byte ids: the membersRoot a handover naming them must carry. */
  async membersRootOf(members: readonly Address[]): Promise<Hex> {
    return (await this.read('membersRootOf', [members])) as Hex;
  }

  /**
   * The latest block's timestamp (unix seconds): the clock the registry compares epochLength and
   * handoverGrace against, which can differ from the local clock (and on test chains, jump).
   */
  async chainTime(): Promise<bigint> {
    return (await this.client.getBlock({ blockTag: 'latest' })).timestamp;
  }

  /** True when `members` (in order) is exactly the member list the epoch's membersRoot commits to. */
  async isEpochMembership(members: readonly Address[], epoch?: bigint): Promise<boolean> {
    const [info, root] = await Promise.all([this.epochInfo(epoch), this.read('membersRootOf', [members])]);
    return (root as Hex).toLowerCase() === info.membersRoot.toLowerCase();
  }

  /** The DelegatedStaking contract the registry ranks operators by (read once). */
  staking(): Promise<Address> {
    this.stakingAddress ??= this.read('staking', []) as Promise<Address>;
    return this.stakingAddress;
  }

  async operator(address: Address): Promise<OperatorInfo> {
    const [op, pool, selfBond, rewards] = await Promise.all([
      this.read('operators', [address]),
      this.readStaking('pools', [address]),
      this.readStaking('stakeOf', [address, address]),
      this.readStaking('pendingRewards', [address, address]),
    ]);
    const [registered, lastEpoch, blsKeyHash] = op as readonly [boolean, bigint, Hex];
    const [stake, , unbonding, , commissionBps] = pool as readonly [bigint, bigint, bigint, bigint, number];
    return {
      address, stake, selfBond: selfBond as bigint, delegated: stake - (selfBond as bigint), unbonding, registered, lastEpoch, blsKeyHash,
      commissionBps: Number(commissionBps), pendingRewards: rewards as bigint,
    };
  }

  /** Every registered operator's address, in registration order. */
  async operatorAddresses(): Promise<Address[]> {
    const count = Number(await this.read('operatorCount', []));
    if (count > MAX_OPERATORS) throw new MalformedChainDataError(`registry reports ${count} operators (max ${MAX_OPERATORS})`);
    return Promise.all(Array.from({ length: count }, (_, i) => this.read('operatorList', [BigInt(i)]) as Promise<Address>));
  }

  /** Every registered operator with its stake. */
  async operators(): Promise<OperatorInfo[]> {
    return Promise.all((await this.operatorAddresses()).map((a) => this.operator(a)));
  }

  /** The node info an operator published (setNodeInfo); empty fields when it published none. */
  async nodeInfoOf(operator: Address): Promise<NodeInfo> {
    const [encryptionKey, peerId, multiaddrs] = (await this.read('nodeInfoOf', [operator])) as readonly [Hex, Hex, readonly string[]];
    return {
      encryptionKey: BigInt(encryptionKey) === 0n ? null : encryptionKey,
      peerId: peerId === '0x' ? null : encodeBase58(hexToBytes(peerId)),
      peerIdBytes: peerId,
      multiaddrs: [...multiaddrs],
    };
  }

  /** One operator's directory entry: BLS key (both encodings), node info and Solana payout address. */
  async directoryEntry(operator: Address): Promise<DirectoryEntry> {
    const [key, info, payout] = await Promise.all([
      this.read('blsKeyOf', [operator]) as Promise<Hex>,
      this.nodeInfoOf(operator),
      this.read('solanaPayoutOf', [operator]) as Promise<Hex>,
    ]);
    let compressed: Uint8Array;
    try {
      compressed = g2FromEip2537(hexToBytes(key)).toBytes(true);
    } catch (err) {
      throw new MalformedChainDataError(`registry ${this.registry} returned an invalid BLS key for operator ${operator}: ${(err as Error).message}`, { cause: err });
    }
    return { address: operator, operatorKey: bytesToHex(compressed), operatorKeyEip2537: key, ...info, solanaPayout: formatSolanaAddress(payout) };
  }

  /** Every registered operator's directory entry, in registration order: what nodes need to find and admit each other. */
  async operatorDirectory(): Promise<DirectoryEntry[]> {
    return Promise.all((await this.operatorAddresses()).map((a) => this.directoryEntry(a)));
  }

  async params(): Promise<RegistryParams> {
    const [unbondingDelay, committeeSize, slashBps, minThresholdBps, epochLength, handoverGrace, domain] = await Promise.all(
      (['unbondingDelay', 'committeeSize', 'slashBps', 'minThresholdBps', 'epochLength', 'handoverGrace', 'domain'] as const).map((f) => this.read(f, [])),
    );
    const [staking, minSelfBond, totalBonded] = await Promise.all([this.staking(), this.readStaking('minSelfBond', []), this.readStaking('totalBonded', [])]);
    return {
      staking,
      minSelfBond: minSelfBond as bigint,
      unbondingDelay: unbondingDelay as bigint,
      committeeSize: Number(committeeSize),
      slashBps: Number(slashBps),
      minThresholdBps: Number(minThresholdBps),
      epochLength: epochLength as bigint,
      handoverGrace: handoverGrace as bigint,
      totalBonded: totalBonded as bigint,
      domain: domain as Hex,
    };
  }

  private stakingAddress: Promise<Address> | undefined;

  private async readStaking(functionName: string, args: readonly unknown[]): Promise<unknown> {
    const address = await this.staking();
    return this.client.readContract({ address, abi: delegatedStakingAbi, functionName, args } as Parameters<PublicClient['readContract']>[0]);
  }

  private read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.client.readContract({ address: this.registry, abi: committeeRegistryAbi, functionName, args } as Parameters<PublicClient['readContract']>[0]);
  }
}

/** Every registered operator of `registry` with its BLS key, encryption key, peer id, multiaddrs and Solana payout address. */
export function operatorDirectory(client: PublicClient, registry: Address): Promise<DirectoryEntry[]> {
  return new CommitteeReader(client, registry).operatorDirectory();
}
