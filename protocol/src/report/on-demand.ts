// Report ids of on-demand rounds (POST /v1/infer): derived from everything the round's reports hold, so
// one id can only ever mean one report (inference is deterministic). A hostile leader that sends two
// contents under one id is refused by every member (the id does not match), so an honest member never
// holds two digests for one id, even across a crash: its signing guard needs no fsync (docs/node.md).
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ReportFormatError } from './errors.ts';

const ON_DEMAND_TAG = new TextEncoder().encode('destra-on-demand-v1');

/** What an on-demand round's report is made of besides the inference itself. */
export interface OnDemandContent {
  /** The deployment's domain tag (32 bytes). */
  domain: Uint8Array;
  epoch: number;
  /** The leader's member index in `epoch`. */
  leader: number;
  /** Model name as proposed. */
  model: string;
  /** keccak256 of the canonical input (the report's inputHash). */
  inputHash: Uint8Array;
  /** Report timestamp (unix seconds). */
  timestamp: number;
  round: number;
  /** The leader's random 16 bytes: two requests with the same content are still two rounds. */
  nonce: Uint8Array;
}

/**
 * keccak256("destra-on-demand-v1" ‖ domain ‖ uint64 epoch ‖ uint32 leader ‖ keccak256(model) ‖ inputHash ‖
 * uint64 timestamp ‖ uint64 round ‖ nonce), big-endian.
 */
export function onDemandRequestId(c: OnDemandContent): Uint8Array {
  if (c.domain.length !== 32) throw new ReportFormatError('domain', `expected 32 bytes, got ${c.domain.length}`);
  if (c.inputHash.length !== 32) throw new ReportFormatError('inputHash', `expected 32 bytes, got ${c.inputHash.length}`);
  if (c.nonce.length !== 16) throw new ReportFormatError('nonce', `expected 16 bytes, got ${c.nonce.length}`);
  for (const [field, v, max] of [['epoch', c.epoch, Number.MAX_SAFE_INTEGER], ['leader', c.leader, 0xffffffff], ['timestamp', c.timestamp, Number.MAX_SAFE_INTEGER], ['round', c.round, Number.MAX_SAFE_INTEGER]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new ReportFormatError(field, `expected an integer 0..${max}`);
  }
  const t = ON_DEMAND_TAG.length;
  const buf = new Uint8Array(t + 32 + 8 + 4 + 32 + 32 + 8 + 8 + 16);
  const view = new DataView(buf.buffer);
  buf.set(ON_DEMAND_TAG, 0);
  buf.set(c.domain, t);
  view.setBigUint64(t + 32, BigInt(c.epoch));
  view.setUint32(t + 40, c.leader);
  buf.set(keccak_256(new TextEncoder().encode(c.model)), t + 44);
  buf.set(c.inputHash, t + 76);
  view.setBigUint64(t + 108, BigInt(c.timestamp));
  view.setBigUint64(t + 116, BigInt(c.round));
  buf.set(c.nonce, t + 124);
  return keccak_256(buf);
}
