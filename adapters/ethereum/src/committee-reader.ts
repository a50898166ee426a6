// Read-only view of CommitteeRegistry: epochs, group keys (in every encoding a caller needs), the
// selected committee, operator stakes and registry parameters.
import { hexToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { g2FromEip2537 } from '@destra/protocol';
import { committeeRegistryAbi } from '@destra/contracts';
import { MalformedChainDataError } from './errors.ts';

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
  sharesRoot: Hex;
  membersRoot: Hex;
}

export interface OperatorInfo {
  address: Address;
  stake: bigint;
  /** Unix seconds when unbonding completes; 0n while bonded. */
  unbondAt: bigint;
  registered: boolean;
  blsKeyHash: Hex;
  pendingFees: bigint;
}

export interface RegistryParams {
  minStake: bigint;
  unbondingDelay: bigint;
  committeeSize: number;
  slashBps: number;
  totalActiveStake: bigint;
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
    const info = (await this.read('epochInfo', [e])) as { threshold: number; committeeSize: number; sharesRoot: Hex; membersRoot: Hex };
    return { epoch: e, threshold: info.threshold, committeeSize: info.committeeSize, sharesRoot: info.sharesRoot, membersRoot: info.membersRoot };
  }

  /** The top-n operators by stake (the committee the next handover must name); n defaults to the registry's size. */
  async selectedCommittee(n?: number): Promise<Address[]> {
    const size = n ?? Number(await this.read('committeeSize', []));
    return [...((await this.read('nextCommittee', [BigInt(size)])) as readonly Address[])];
  }

  /** True when `members` (in order) is exactly the member list the epoch's membersRoot commits to. */
  async isEpochMembership(members: readonly Address[], epoch?: bigint): Promise<boolean> {
    const [info, root] = await Promise.all([this.epochInfo(epoch), this.read('membersRootOf', [members])]);
    return (root as Hex).toLowerCase() === info.membersRoot.toLowerCase();
  }

  async operator(address: Address): Promise<OperatorInfo> {
    const [op, fees] = await Promise.all([this.read('operators', [address]), this.read('pendingFees', [address])]);
    const [stake, unbondAt, registered, blsKeyHash] = op as readonly [bigint, bigint, boolean, Hex, bigint, bigint];
    return { address, stake, unbondAt, registered, blsKeyHash, pendingFees: fees as bigint };
  }

  /** Every registered operator with its stake. */
  async operators(): Promise<OperatorInfo[]> {
    const count = Number(await this.read('operatorCount', []));
    if (count > MAX_OPERATORS) throw new MalformedChainDataError(`registry reports ${count} operators (max ${MAX_OPERATORS})`);
    const addresses = await Promise.all(Array.from({ length: count }, (_, i) => this.read('operatorList', [BigInt(i)]) as Promise<Address>));
    return Promise.all(addresses.map((a) => this.operator(a)));
  }

  async params(): Promise<RegistryParams> {
    const [minStake, unbondingDelay, committeeSize, slashBps, totalActiveStake, domain] = await Promise.all(
      (['minStake', 'unbondingDelay', 'committeeSize', 'slashBps', 'totalActiveStake', 'domain'] as const).map((f) => this.read(f, [])),
    );
    return {
      minStake: minStake as bigint,
      unbondingDelay: unbondingDelay as bigint,
      committeeSize: Number(committeeSize),
      slashBps: Number(slashBps),
      totalActiveStake: totalActiveStake as bigint,
      domain: domain as Hex,
    };
  }

  private read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.client.readContract({ address: this.registry, abi: committeeRegistryAbi, functionName, args } as Parameters<PublicClient['readContract']>[0]);
  }
}
