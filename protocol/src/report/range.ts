// Range batches: on an ordered request stream (every node sees the same requests in the same order,
// e.g. a contract's request nonce), requests start..start+count-1 form a batch without anyone proposing
// it. The range id names the batch in aggregation state and in misbehaviour evidence.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ReportFormatError } from './errors.ts';
import { MAX_BATCH_SIZE } from './merkle.ts';
import type { Destination } from './report.ts';

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

const JOB_STREAM_TAG = new TextEncoder().encode('destra-job-stream-v1');

/**
 * The ordered stream of a batch job (POST /v1/infer/batch): keccak256("destra-job-stream-v1" ‖ domain ‖
 * proposer's operator key (compressed G2) ‖ job id (16 bytes)). It names the proposer, so a member can
 * only ever propose ranges on its own streams, and the domain keeps deployments apart.
 */
export function jobStream(domain: Uint8Array, operatorKey: Uint8Array, job: Uint8Array): Uint8Array {
  if (domain.length !== 32) throw new ReportFormatError('domain', `expected 32 bytes, got ${domain.length}`);
  if (operatorKey.length !== 96) throw new ReportFormatError('operatorKey', `expected a 96-byte compressed G2 key, got ${operatorKey.length} bytes`);
  if (job.length !== 16) throw new ReportFormatError('job', `expected 16 bytes, got ${job.length}`);
  const buf = new Uint8Array(JOB_STREAM_TAG.length + 32 + 96 + 16);
  buf.set(JOB_STREAM_TAG, 0);
  buf.set(domain, JOB_STREAM_TAG.length);
  buf.set(operatorKey, JOB_STREAM_TAG.length + 32);
  buf.set(job, JOB_STREAM_TAG.length + 128);
  return keccak_256(buf);
}

/** Report id of sequence number `seq` on a stream: keccak256(stream ‖ uint64 seq), big-endian. */
export function streamRequestId(stream: Uint8Array, seq: number): Uint8Array {
  if (stream.length !== 32) throw new ReportFormatError('stream', `expected 32 bytes, got ${stream.length}`);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new ReportFormatError('seq', 'expected a non-negative safe integer');
  const buf = new Uint8Array(40);
  buf.set(stream, 0);
  new DataView(buf.buffer).setBigUint64(32, BigInt(seq));
  return keccak_256(buf);
}

/** Domain byte of chain request stream ids. */
const REQUEST_STREAM_PREFIX = 0x03;

/**
 * The request stream of a chain destination — an OracleRouter on an EVM chain, or the oracle program on a
 * Solana cluster: keccak256(0x03 ‖ destChainType ‖ destChainId ‖ destContract), the destination exactly
 * as it sits in the reports (bytes 42..106). Its sequence numbers are the router's request nonce / the
 * program's request_seq; ranges of it are signed under one root (docs/ethereum.md, docs/solana.md).
 */
export function requestStream(destination: Destination): Uint8Array {
  if (destination.chainId.length !== 32 || destination.contract.length !== 32) throw new ReportFormatError('destination', 'expected a 32-byte chain id and contract');
  const buf = new Uint8Array(66);
  buf[0] = REQUEST_STREAM_PREFIX;
  buf[1] = destination.chainType;
  buf.set(destination.chainId, 2);
  buf.set(destination.contract, 34);
  return keccak_256(buf);
}

/** What one range of a batch job commits to besides the job: everything that goes into its reports. */
export interface JobRangeContent {
  /** Model name as proposed. */
  model: string;
  /** Report timestamp (unix seconds). */
  timestamp: number;
  epoch: number;
  rowLength: number;
  /** keccak256 of the range's canonical rows, back to back. */
  rowsHash: Uint8Array;
}

/**
 * The stream of one range of a batch job: keccak256(jobStream ‖ keccak256(model) ‖ uint64 timestamp ‖
 * uint64 epoch ‖ uint32 rowLength ‖ rowsHash). The range id then fixes every byte of the range's reports
 * (inference is deterministic): a proposer that sends different rows, model, timestamp or epoch to
 * different members makes different ranges (nothing certifies), never two roots under one range id that
 * would name honest members as conflicting; signing a range id twice can only sign the same root.
 * Sequence numbers stay the rows' positions in the job.
 */
export function jobRangeStream(jobStream: Uint8Array, c: JobRangeContent): Uint8Array {
  if (jobStream.length !== 32) throw new ReportFormatError('jobStream', `expected 32 bytes, got ${jobStream.length}`);
  if (c.rowsHash.length !== 32) throw new ReportFormatError('rowsHash', `expected 32 bytes, got ${c.rowsHash.length}`);
  for (const [field, v, max] of [['timestamp', c.timestamp, Number.MAX_SAFE_INTEGER], ['epoch', c.epoch, Number.MAX_SAFE_INTEGER], ['rowLength', c.rowLength, 0xffffffff]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new ReportFormatError(field, `expected an integer 0..${max}`);
  }
  const buf = new Uint8Array(32 + 32 + 8 + 8 + 4 + 32);
  const view = new DataView(buf.buffer);
  buf.set(jobStream, 0);
  buf.set(keccak_256(new TextEncoder().encode(c.model)), 32);
  view.setBigUint64(64, BigInt(c.timestamp));
  view.setBigUint64(72, BigInt(c.epoch));
  view.setUint32(80, c.rowLength);
  buf.set(c.rowsHash, 84);
  return keccak_256(buf);
}
