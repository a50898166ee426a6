// Feed batches (docs/report-format.md §6): the committee signs one Merkle root per feed window (every
// timed feed due in it) and one per scored Ethereum block (one leaf per transaction). Pure, no I/O.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { requireBytes, requireUint } from './bytes.ts';

/** Domain byte of feed batch stream ids (0x00 leaf, 0x01 inner node, 0x02 range id). */
const FEED_STREAM_PREFIX = 0x03;

/** Scope of the timed-feed window batches (all FIXED feeds due in one window share one tree). */
export const TIMED_FEEDS_SCOPE = new Uint8Array(32);

/**
 * keccak256(0x03 ‖ scope ‖ uint64 round): names one feed batch in aggregation state and certificates.
 * `scope` is the block feed's id for a block's tree (round = block number), TIMED_FEEDS_SCOPE for a window
 * of timed feeds (round = the window's start, unix seconds).
 */
export function feedBatchStream(scope: Uint8Array, round: bigint): Uint8Array {
  requireBytes(scope, 32, 'scope');
  requireUint(round, 64, 'round');
  const buf = new Uint8Array(41);
  buf[0] = FEED_STREAM_PREFIX;
  buf.set(scope, 1);
  new DataView(buf.buffer).setBigUint64(33, round);
  return keccak_256(buf);
}

/**
 * A block feed leaf's inputHash: keccak256(uint64 blockNumber ‖ blockHash ‖ txHash ‖ input), where
 * `input` is the transaction's canonical feature row. It names the block and the transaction, so a proof
 * of the leaf is a proof of that transaction's score (BlockScores.verifyTxScore recomputes it).
 */
export function blockTxInputHash(blockNumber: bigint, blockHash: Uint8Array, txHash: Uint8Array, input: Uint8Array): Uint8Array {
  requireUint(blockNumber, 64, 'blockNumber');
  requireBytes(blockHash, 32, 'blockHash');
  requireBytes(txHash, 32, 'txHash');
  const buf = new Uint8Array(72 + input.length);
  new DataView(buf.buffer).setBigUint64(0, blockNumber);
  buf.set(blockHash, 8);
  buf.set(txHash, 40);
  buf.set(input, 72);
  return keccak_256(buf);
}
