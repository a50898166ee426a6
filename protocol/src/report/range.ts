// Range batches: on an ordered request stream (every node sees the same requests in the same order,
// e.g. a contract's request nonce), requests start..start+count-1 form a batch without anyone proposing
// it. The range id names the batch in aggregation state and in misbehaviour evidence.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ReportFormatError } from './errors.ts';
import { MAX_BATCH_SIZE } from './merkle.ts';

/** Domain byte of range ids (0x00 is the leaf prefix, 0x01 the inner-node prefix). */
const RANGE_PREFIX = 0x02;

/** keccak256(0x02 ‖ stream ‖ uint64 start ‖ uint32 count), big-endian. */
export function rangeId(stream: Uint8Array, start: number, count: number): Uint8Array {
  if (stream.length !== 32) throw new ReportFormatError('stream', `expected 32 bytes, got ${stream.length}`);
  if (!Number.isSafeInteger(start) || start < 0) throw new ReportFormatError('start', 'expected a non-negative safe integer');
  if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH_SIZE) throw new ReportFormatError('count', `expected 1..${MAX_BATCH_SIZE}`);
  const buf = new Uint8Array(45);
  buf[0] = RANGE_PREFIX;
  buf.set(stream, 1);
  const view = new DataView(buf.buffer);
  view.setBigUint64(33, BigInt(start));
  view.setUint32(41, count);
  return keccak_256(buf);
}
