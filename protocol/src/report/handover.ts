// Committee handover, docs/report-format.md §4: the old committee signs the new epoch's key.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ByteReader, ByteWriter, requireBytes, requireUint } from './bytes.ts';
import { ReportFormatError } from './errors.ts';
import { SigningPurpose, signingMessage } from './signing.ts';

export const HANDOVER_VERSION = 2;
export const HANDOVER_LENGTH = 341;
export const MAX_COMMITTEE_SIZE = 256;
const G2_UNCOMPRESSED = 192;

export interface Handover {
  domain: Uint8Array;
  oldEpoch: bigint;
  newEpoch: bigint;
  threshold: number;
  committeeSize: number;
  groupKey: Uint8Array; // uncompressed G2, 192 bytes
  sharesRoot: Uint8Array;
  membersRoot: Uint8Array;
  /** `payoutsRoot(payoutTable)`: who the new committee's Solana fees are paid to, by weight (§4). */
  payoutsRoot: Uint8Array;
}

/** One committee member's entry in the Solana fee payout table (docs/report-format.md §4). */
export interface PayoutEntry {
  /** Solana address (32 bytes) the member registered; all zero when it registered none. */
  payee: Uint8Array;
  /** stake at the epoch's snapshot in whole DSYNC (floor(stake / 1e18)), u64 */
  weight: bigint;
}

/** Bytes of one payout entry in the hashed table: payee (32) ‖ weight (u64 big-endian). */
export const PAYOUT_ENTRY_LENGTH = 40;
const WEI_PER_DSYNC = 10n ** 18n;

const U64_MAX = (1n << 64n) - 1n;

/**
 * A member's payout weight: its stake (DSYNC base units, 18 decimals) in whole DSYNC, rounded down, capped
 * at 2^64 − 1 (unreachable with DSYNC's 10^9 supply; the registry's payoutsRootOf caps the same way).
 */
export function payoutWeight(stakeWei: bigint): bigint {
  if (stakeWei < 0n) throw new ReportFormatError('stake', 'must be ≥ 0');
  const w = stakeWei / WEI_PER_DSYNC;
  return w > U64_MAX ? U64_MAX : w;
}

/** The payout table's bytes: `payee_1 ‖ weight_1 ‖ … ‖ payee_n ‖ weight_n`, in committee order. */
export function encodePayoutTable(entries: readonly PayoutEntry[]): Uint8Array {
  const w = new ByteWriter(PAYOUT_ENTRY_LENGTH * entries.length);
  entries.forEach((e, i) => {
    requireBytes(e.payee, 32, `payouts[${i}].payee`);
    requireUint(e.weight, 64, `payouts[${i}].weight`);
    w.raw(e.payee).u64(e.weight);
  });
  return w.finish();
}

/** `keccak256(payee_1 ‖ weight_1 ‖ … )`, weights u64 big-endian: the handover's payoutsRoot. */
export function payoutsRoot(entries: readonly PayoutEntry[]): Uint8Array {
  return keccak_256(encodePayoutTable(entries));
}

function checkHandover(h: Handover): void {
  requireBytes(h.domain, 32, 'domain');
  requireUint(h.oldEpoch, 64, 'oldEpoch');
  requireUint(h.newEpoch, 64, 'newEpoch');
  if (h.newEpoch !== h.oldEpoch + 1n) throw new ReportFormatError('newEpoch', 'must be oldEpoch + 1');
  if (!Number.isInteger(h.committeeSize) || h.committeeSize < 1 || h.committeeSize > MAX_COMMITTEE_SIZE) {
    throw new ReportFormatError('committeeSize', `expected 1..${MAX_COMMITTEE_SIZE}`);
  }
  if (!Number.isInteger(h.threshold) || h.threshold < 1 || h.threshold > h.committeeSize) {
    throw new ReportFormatError('threshold', 'expected 1 ≤ threshold ≤ committeeSize');
  }
  requireBytes(h.groupKey, G2_UNCOMPRESSED, 'groupKey');
  requireBytes(h.sharesRoot, 32, 'sharesRoot');
  requireBytes(h.membersRoot, 32, 'membersRoot');
  requireBytes(h.payoutsRoot, 32, 'payoutsRoot');
}

export function encodeHandover(h: Handover): Uint8Array {
  checkHandover(h);
  return new ByteWriter(HANDOVER_LENGTH)
    .u8(HANDOVER_VERSION)
    .raw(h.domain)
    .u64(h.oldEpoch)
    .u64(h.newEpoch)
    .u16(h.threshold)
    .u16(h.committeeSize)
    .raw(h.groupKey)
    .raw(h.sharesRoot)
    .raw(h.membersRoot)
    .raw(h.payoutsRoot)
    .finish();
}

export function decodeHandover(bytes: Uint8Array): Handover {
  if (!(bytes instanceof Uint8Array) || bytes.length !== HANDOVER_LENGTH) {
    throw new ReportFormatError('handover', `expected ${HANDOVER_LENGTH} bytes`);
  }
  const rd = new ByteReader(bytes);
  const version = rd.u8();
  if (version !== HANDOVER_VERSION) throw new ReportFormatError('version', `unsupported handover version ${version}`);
  const h: Handover = {
    domain: rd.raw(32),
    oldEpoch: rd.u64(),
    newEpoch: rd.u64(),
    threshold: rd.u16(),
    committeeSize: rd.u16(),
    groupKey: rd.raw(G2_UNCOMPRESSED),
    sharesRoot: rd.raw(32),
    membersRoot: rd.raw(32),
    payoutsRoot: rd.raw(32),
  };
  checkHandover(h);
  return h;
}

/** `keccak256(publicShare_1 ‖ … ‖ publicShare_n)`, each an uncompressed G2 point. */
export function sharesRoot(publicShares: readonly Uint8Array[]): Uint8Array {
  publicShares.forEach((s, i) => requireBytes(s, G2_UNCOMPRESSED, `publicShares[${i}]`));
  return keccak_256(concat(publicShares));
}

/** `keccak256(memberId_1 ‖ … ‖ memberId_n)`, each 32 bytes. */
export function membersRoot(memberIds: readonly Uint8Array[]): Uint8Array {
  memberIds.forEach((m, i) => requireBytes(m, 32, `memberIds[${i}]`));
  return keccak_256(concat(memberIds));
}

export function handoverSigningMessage(handoverBytes: Uint8Array): Uint8Array {
  return signingMessage(SigningPurpose.Handover, keccak_256(handoverBytes));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
