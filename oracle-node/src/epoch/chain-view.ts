// What a node reads from CommitteeRegistry to follow the network: the operator directory (who may
// connect), the current and previous epoch's committee and key, and the committee the next handover
// must name (with its membersRoot and payoutsRoot). One immutable snapshot per poll.
import { fromHex } from '@destra/protocol';
import type { CommitteeMember, EpochCommittee } from './committee.ts';

export interface DirectoryOperator {
  /** 1-based position in CommitteeRegistry.operatorList: the Hello index of its node. */
  registryIndex: number;
  address: string;
  operatorKey: Uint8Array;
  encryptionKey: Uint8Array | null;
  peerId: string | null;
  addrs: string[];
}

export interface ChainEpoch {
  committee: EpochCommittee;
  /** Compressed G2 group key installed for the epoch. */
  groupKey: Uint8Array;
  /** Unix seconds of the genesis/handover that installed it. */
  activatedAt: number;
}

export interface NextCommittee {
  members: CommitteeMember[];
  /** Threshold the handover must carry (committeeThreshold of the size and the chain's minimum). */
  threshold: number;
  membersRoot: Uint8Array;
  payoutsRoot: Uint8Array;
}

export interface ChainSnapshot {
  domain: Uint8Array;
  /** 0 until genesis. */
  currentEpoch: number;
  current?: ChainEpoch;
  previous?: ChainEpoch;
  next: NextCommittee;
  /** Target seconds between handovers (governance). */
  epochLength: number;
  handoverGrace: number;
  minThresholdBps: number;
  directory: DirectoryOperator[];
}

/** Reads a snapshot (implemented over the Ethereum adapter's CommitteeReader in chain-control.ts). */
export interface ChainViewReader {
  read(): Promise<ChainSnapshot>;
}

export const hexBytes = (h: string): Uint8Array => fromHex(h);
