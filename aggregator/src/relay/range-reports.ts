// The report bytes of a committed range, member → aggregators, for relaying a certified chain range: the
// RangeCommit carries only the root, so whoever lands the range on chain needs the reports themselves.
// Only members 1..n−t+1 send them (any t committers include one of those), once per range, on their own
// direct protocol. The aggregator keeps a frame only until the range is certified or it ages out, and
// uses it only when its reports hash to the certified root — a member sending junk costs nothing but
// its own bandwidth.
//
// Frame (big-endian): version u8 (1) ‖ epoch u64 ‖ index u16 ‖ stream 32 ‖ start u64 ‖ count u32 ‖
// count × (length u16 ‖ report bytes). Reports have variable length (answers of any model, failures).
import { MAX_BATCH_SIZE } from '@destra/protocol';
import { RangeReportsError } from '../errors.ts';

export const PROTOCOL_RANGE_REPORTS = '/destra/range-reports/1';

const VERSION = 1;
const HEADER = 1 + 8 + 2 + 32 + 8 + 4;
/** Shortest and longest report (docs/report-format.md §1: 222 + 8k bytes, k ≤ 64). */
const MIN_REPORT = 222;
const MAX_REPORT = 222 + 8 * 64;
/** Reports per frame: chain ranges are cut far smaller (the node's maxRangeSize), this bounds the frame. */
export const MAX_RANGE_REPORTS = 4096;
export const RANGE_REPORTS_MAX_BYTES = HEADER + MAX_RANGE_REPORTS * (2 + MAX_REPORT);

export interface RangeReports {
  epoch: number;
  /** The sender's member index in that epoch. */
  index: number;
  stream: Uint8Array;
  start: number;
  /** The range's reports in sequence order (its Merkle tree's leaves). */
  reports: Uint8Array[];
}

export function encodeRangeReports(m: RangeReports): Uint8Array {
  check(m.reports.length >= 1 && m.reports.length <= MAX_RANGE_REPORTS, 'count', `expected 1..${MAX_RANGE_REPORTS} reports, got ${m.reports.length}`);
  check(m.stream.length === 32, 'stream', `expected 32 bytes, got ${m.stream.length}`);
  check(Number.isSafeInteger(m.start) && m.start >= 0, 'start', 'expected a non-negative safe integer');
  check(Number.isSafeInteger(m.epoch) && m.epoch >= 0, 'epoch', 'expected a non-negative safe integer');
  check(Number.isInteger(m.index) && m.index >= 1 && m.index <= 0xffff, 'index', 'expected 1..65535');
  let size = HEADER;
  for (const [i, r] of m.reports.entries()) {
    check(r.length >= MIN_REPORT && r.length <= MAX_REPORT, `reports[${i}]`, `expected ${MIN_REPORT}..${MAX_REPORT} bytes, got ${r.length}`);
    size += 2 + r.length;
  }
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out[0] = VERSION;
  v.setBigUint64(1, BigInt(m.epoch));
  v.setUint16(9, m.index);
  out.set(m.stream, 11);
  v.setBigUint64(43, BigInt(m.start));
  v.setUint32(51, m.reports.length);
  let at = HEADER;
  for (const r of m.reports) {
    v.setUint16(at, r.length);
    out.set(r, at + 2);
    at += 2 + r.length;
  }
  return out;
}

/** Decodes one frame; throws RangeReportsError naming the field for anything malformed or oversized. */
export function decodeRangeReports(data: Uint8Array): RangeReports {
  check(data.length <= RANGE_REPORTS_MAX_BYTES, 'frame', `${data.length} bytes exceeds ${RANGE_REPORTS_MAX_BYTES}`);
  check(data.length >= HEADER, 'frame', `${data.length} bytes is shorter than the ${HEADER}-byte header`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  check(data[0] === VERSION, 'version', `expected ${VERSION}, got ${data[0]}`);
  const epoch = v.getBigUint64(1);
  check(epoch <= BigInt(Number.MAX_SAFE_INTEGER), 'epoch', 'too large');
  const index = v.getUint16(9);
  check(index >= 1, 'index', 'expected 1..65535');
  const start = v.getBigUint64(43);
  const count = v.getUint32(51);
  check(count >= 1 && count <= MAX_RANGE_REPORTS, 'count', `expected 1..${MAX_RANGE_REPORTS}, got ${count}`);
  check(start + BigInt(count) <= BigInt(Number.MAX_SAFE_INTEGER), 'start', 'too large');
  check(count <= MAX_BATCH_SIZE, 'count', `more than ${MAX_BATCH_SIZE}`);
  const reports: Uint8Array[] = [];
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    check(at + 2 <= data.length, `reports[${i}]`, 'frame ends before its length');
    const len = v.getUint16(at);
    check(len >= MIN_REPORT && len <= MAX_REPORT, `reports[${i}]`, `length ${len} outside ${MIN_REPORT}..${MAX_REPORT}`);
    check(at + 2 + len <= data.length, `reports[${i}]`, 'frame ends inside the report');
    reports.push(data.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  check(at === data.length, 'frame', `${data.length - at} bytes after the last report`);
  return { epoch: Number(epoch), index, stream: data.slice(11, 43), start: Number(start), reports };
}

function check(ok: boolean, field: string, why: string): asserts ok {
  if (!ok) throw new RangeReportsError(field, why);
}
