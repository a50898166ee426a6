// An epoch's committee as nodes see it: members in committee order (member index = position + 1), each
// identified across epochs by its operator key. From the chain (CommitteeRegistry.committeeOf + the
// operators' node info) or, for a fixed committee, from the config.
import { toHex } from '@destra/protocol';

export interface CommitteeMember {
  /** 1-based index within this epoch's committee. */
  index: number;
  /** Compressed G2 operator key. */
  operatorKey: Uint8Array;
  /** X25519 key receiving DKG shares. */
  encryptionKey: Uint8Array;
  /** Operator's Ethereum address (chain-driven committees). */
  address?: string;
  peerId?: string;
  addrs: string[];
}

export interface EpochCommittee {
  epoch: number;
  threshold: number;
  members: CommitteeMember[];
}

/** Looks up committees by epoch: the current one, the one before it (grace) and the next (DKG). */
export interface CommitteeBook {
  committee(epoch: number): EpochCommittee | undefined;
}

/** The member index of the operator with key `operatorKey` (0x-hex or bytes) in `c`, if it is a member. */
export function memberIndexOf(c: EpochCommittee | undefined, operatorKey: string | Uint8Array | undefined): number | undefined {
  if (!c || operatorKey === undefined) return undefined;
  const want = (typeof operatorKey === 'string' ? operatorKey : toHex(operatorKey)).toLowerCase();
  return c.members.find((m) => toHex(m.operatorKey).toLowerCase() === want)?.index;
}

/**
 * The threshold of a committee of `n`: more than two thirds (so a minority can neither sign nor block),
 * and at least the chain's minimum share `minThresholdBps` (the registry checks the same at handover).
 */
export function committeeThreshold(n: number, minThresholdBps: number): number {
  const twoThirds = Math.min(n, Math.floor((2 * n) / 3) + 1);
  const chainMin = Math.ceil((n * minThresholdBps) / 10_000);
  return Math.max(1, Math.min(n, Math.max(twoThirds, chainMin)));
}
