// The feature row of one Ethereum transaction for the `tx-anomaly` model, derived from its block alone
// (docs/node.md "Block feeds: transaction features"). Integer arithmetic only: every node must build
// the same bytes from the same block, on any machine and Node version, so no floating point (Math.log
// may differ in the last bit between engines) is used anywhere.
//
// The model's 10 inputs are fixed-point values at scale 16 (1/16 steps) in -8..7.9375, i.e. integers
// -128..127 here. Sender-history features the model was trained with (hour deviation, time since the
// sender's last transaction, failed ratio) cannot be derived from one block and are 0 (the sender's
// average); the others are measured against the block's own transactions.
import { FeedInputError } from './errors.ts';

export interface BlockTx {
  hash: Uint8Array;
  from: Uint8Array;
  /** null for a contract creation. */
  to: Uint8Array | null;
  value: bigint;
  /** Effective gas price (legacy gasPrice, or the EIP-1559 maxFeePerGas when no gasPrice is given). */
  gasPrice: bigint;
  input: Uint8Array;
}

/** tx-anomaly's input order (models/tx-anomaly/manifest.json). */
export const TX_FEATURES = [
  'value_z', 'gas_price_z', 'hour_deviation', 'new_recipient', 'nonce_gap',
  'contract_call', 'approval_amount_z', 'time_since_last_z', 'fan_out_z', 'failed_ratio_z',
] as const;
export const TX_FEATURE_SCALE = 16;
const MIN = -128n;
const MAX = 127n;
/** ERC-20 approve(address,uint256). */
const APPROVE = [0x09, 0x5e, 0xa7, 0xb3];

const clamp = (v: bigint): bigint => (v < MIN ? MIN : v > MAX ? MAX : v);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** log2(x) in 1/16 steps: 16·(bitLength − 1) + the next 4 bits below the top one (0 for x ≤ 1). */
export function log2q(x: bigint): bigint {
  if (x < 0n) throw new FeedInputError(`log2q of a negative value ${x}`);
  if (x <= 1n) return 0n;
  const bits = BigInt(x.toString(2).length);
  return 16n * (bits - 1n) + (((x << 4n) >> (bits - 1n)) - 16n);
}

/** The lower median (sorted index ⌊(n−1)/2⌋). */
function median(values: readonly bigint[]): bigint {
  const s = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Integer division rounding toward zero (BigInt's own rule), named so the intent is visible. */
const div = (a: bigint, b: bigint): bigint => a / b;

/**
 * The feature rows of a block's transactions, in block order: row i is 10 values (scale 16) of tx i.
 *   value_z           (log2(value) − median over the block) / 4
 *   gas_price_z       log2(gas price) − median over the block
 *   hour_deviation    0 (needs the sender's history)
 *   new_recipient     1 for a contract creation, else 0
 *   nonce_gap         (transactions of the same sender in the block) − 1
 *   contract_call     1 when the calldata holds at least a 4-byte selector, else 0
 *   approval_amount_z log2(amount) / 32 for an ERC-20 approve(spender, amount), else 0 (unlimited: 8)
 *   time_since_last_z 0 (needs the sender's history)
 *   fan_out_z         (distinct recipients of the same sender in the block) − 1
 *   failed_ratio_z    0 (needs receipts)
 * each clamped to the manifest's -8..7.9375.
 */
export function txFeatureRows(txs: readonly BlockTx[]): bigint[][] {
  if (txs.length === 0) return [];
  const valueQ = txs.map((t) => log2q(t.value));
  const gasQ = txs.map((t) => log2q(t.gasPrice));
  const mValue = median(valueQ);
  const mGas = median(gasQ);
  const perSender = new Map<string, { count: number; recipients: Set<string> }>();
  for (const t of txs) {
    const k = hex(t.from);
    const s = perSender.get(k) ?? { count: 0, recipients: new Set<string>() };
    s.count++;
    s.recipients.add(t.to ? hex(t.to) : 'create');
    perSender.set(k, s);
  }
  return txs.map((t, i) => {
    const s = perSender.get(hex(t.from))!;
    const isApprove = t.input.length >= 68 && APPROVE.every((b, j) => t.input[j] === b);
    const approval = isApprove ? div(log2q(BigInt(`0x${hex(t.input.subarray(36, 68))}`) + 1n), 32n) : 0n;
    return [
      div(valueQ[i]! - mValue, 4n),
      gasQ[i]! - mGas,
      0n,
      t.to === null ? 16n : 0n,
      16n * BigInt(s.count - 1),
      t.input.length >= 4 ? 16n : 0n,
      approval,
      0n,
      16n * BigInt(s.recipients.size - 1),
      0n,
    ].map(clamp);
  });
}

/** A row as the model's canonical input bytes (int64 big-endian per value). */
export function rowBytes(row: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(8 * row.length);
  const view = new DataView(out.buffer);
  row.forEach((v, i) => view.setBigInt64(8 * i, v));
  return out;
}
