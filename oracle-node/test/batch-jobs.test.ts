// The batch job table (limits per job / client / node, range outcomes, listeners, retention) and the
// pure helpers of the range path (rows per range, the flat seq messages behind report ids).
import { describe, expect, it } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { MAX_BATCH_SIZE, jobRangeStream, jobStream, streamRequestId } from '@destra/protocol';
import { RoundError } from '../src/errors.ts';
import { loadFastHasher } from '@destra/aggregator/fast-hash';
import { JobTable, rangeStreamOf, rowsPerRange, seqMessages, type CertifiedRange, type JobEvent } from '../src/range/index.ts';
import { MAX_RANGE_ROWS_BYTES } from '../src/wire.ts';

const limits = { maxRowsPerJob: 100, maxJobsPerClient: 2, maxJobs: 3, jobRetentionMs: 1000, maxRetainedRows: 150 };
const stream = () => new Uint8Array(32).fill(9);
const fakeCert = (count: number) => ({ count }) as unknown as CertifiedRange;

function refusal(f: () => unknown): RoundError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(RoundError);
    return err as RoundError;
  }
  throw new Error('expected a RoundError');
}

describe('JobTable', () => {
  it('refuses jobs over the row limit (413), over the per-client limit (429) and over the node limit (503)', () => {
    const t = new JobTable(limits);
    expect(refusal(() => t.admit('a', 101))).toMatchObject({ code: 'TOO_MANY_ROWS', status: 413 });
    expect(refusal(() => t.admit('a', 0))).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    t.create('a', 'm', 10, stream);
    t.create('a', 'm', 10, stream);
    expect(refusal(() => t.create('a', 'm', 10, stream))).toMatchObject({ code: 'TOO_MANY_JOBS', status: 429 });
    t.create('b', 'm', 10, stream);
    expect(refusal(() => t.create('c', 'm', 10, stream))).toMatchObject({ code: 'BUSY', status: 503 });
    expect(t.runningJobs).toBe(3);
  });

  it('a job is done when every row is certified or failed; listeners see each range and the end; limits free up', () => {
    const t = new JobTable(limits);
    const j = t.create('a', 'm', 30, stream);
    expect(j.id).toMatch(/^0x[0-9a-f]{32}$/);
    expect(t.get(j.id.toUpperCase().replace('0X', '0x'))).toBe(j);
    const events: JobEvent[] = [];
    t.listen(j, (e) => events.push(e));
    const r0 = t.addRange(j, { row: 0, start: 0, count: 10, id: '0x01', epoch: 1, stream: stream() });
    const r1 = t.addRange(j, { row: 10, start: 10, count: 10, id: '0x02', epoch: 1, stream: stream() });
    t.certify(j, r1, fakeCert(10));
    t.fail(j, r1, 'late'); // an outcome is final
    expect(r1.state).toBe('certified');
    t.fail(j, r0, 'no certificate');
    expect(t.status(j)).toBe('running');
    expect(t.rangeOfRow(j, 15)).toEqual({ range: r1, index: 5 });
    expect(t.rangeOfRow(j, 25)).toBeUndefined();
    t.failRest(j, 20, 'stopped');
    expect(t.status(j)).toBe('done');
    expect([j.certified, j.failed]).toEqual([10, 20]);
    expect(events.map((e) => (e.type === 'range' ? e.range.state : 'done'))).toEqual(['certified', 'failed', 'failed', 'done']);
    expect(t.rangeOfRow(j, 25)!.range.error).toBe('stopped');
    expect(t.runningJobs).toBe(0);
    t.create('a', 'm', 1, stream);
    t.create('a', 'm', 1, stream); // the finished job no longer counts against the client
  });

  it('finished jobs are dropped after jobRetentionMs, and oldest first beyond maxRetainedRows', () => {
    let now = 0;
    const t = new JobTable(limits, () => now);
    const finish = (rows: number) => {
      const j = t.create('x', 'm', rows, stream);
      t.certify(j, t.addRange(j, { row: 0, start: 0, count: rows, id: '0x', epoch: 1, stream: stream() }), fakeCert(rows));
      now += 10;
      return j;
    };
    const a = finish(60);
    const b = finish(60);
    const c = finish(60); // 180 rows retained > 150
    t.sweep();
    expect([t.get(a.id), t.get(b.id), t.get(c.id)].map(Boolean)).toEqual([false, true, true]);
    const running = t.create('y', 'm', 100, stream);
    now += 2000;
    t.sweep();
    expect([t.get(b.id), t.get(c.id), t.get(running.id)].map(Boolean)).toEqual([false, false, true]); // running jobs stay
  });
});

describe('range helpers', () => {
  it('rows per range: the configured size, capped by the frame limit and the tree limit', () => {
    expect(rowsPerRange(16_384, 56)).toBe(16_384);
    expect(rowsPerRange(MAX_BATCH_SIZE * 2, 8)).toBe(Math.min(MAX_BATCH_SIZE, Math.floor(MAX_RANGE_ROWS_BYTES / 8)));
    expect(rowsPerRange(16_384, 1024)).toBe(Math.floor(MAX_RANGE_ROWS_BYTES / 1024));
    expect(rowsPerRange(16_384, MAX_RANGE_ROWS_BYTES)).toBe(1);
  });

  it('seqMessages hashes to the same report ids as streamRequestId, also past 2^32', () => {
    const s = keccak_256(new Uint8Array([1, 2, 3]));
    for (const start of [0, 7, 2 ** 32 - 2, 2 ** 40 + 5]) {
      const msgs = seqMessages(s, start, 4);
      for (let i = 0; i < 4; i++) expect(keccak_256(msgs.subarray(i * 40, (i + 1) * 40))).toEqual(streamRequestId(s, start + i));
    }
  });

  it('a job stream names domain, proposer and job: any change gives another stream', () => {
    const d = new Uint8Array(32).fill(1);
    const k = new Uint8Array(96).fill(2);
    const j = new Uint8Array(16).fill(3);
    const base = jobStream(d, k, j);
    expect(jobStream(d, k, j)).toEqual(base);
    expect(jobStream(new Uint8Array(32).fill(4), k, j)).not.toEqual(base);
    expect(jobStream(d, new Uint8Array(96).fill(4), j)).not.toEqual(base);
    expect(jobStream(d, k, new Uint8Array(16).fill(4))).not.toEqual(base);
    expect(() => jobStream(d, k, new Uint8Array(15))).toThrow(/16 bytes/);
  });

  it('a range stream fixes everything its reports hold: model, timestamp, epoch, row length and rows', () => {
    const js = new Uint8Array(32).fill(5);
    const c = { model: 'm', timestamp: 1_700_000_000, epoch: 3, rowLength: 56, rowsHash: new Uint8Array(32).fill(6) };
    const base = jobRangeStream(js, c);
    expect(jobRangeStream(js, { ...c })).toEqual(base);
    for (const other of [{ model: 'n' }, { timestamp: c.timestamp + 1 }, { epoch: 4 }, { rowLength: 8 }, { rowsHash: new Uint8Array(32).fill(7) }]) {
      expect(jobRangeStream(js, { ...c, ...other })).not.toEqual(base);
    }
    expect(jobRangeStream(new Uint8Array(32).fill(8), c)).not.toEqual(base);
    expect(() => jobRangeStream(js, { ...c, epoch: -1 })).toThrow(/epoch/);
  });

  it('rangeStreamOf hashes the rows as one Keccak-256 message, the same with the native and the wasm hasher', async () => {
    const js = new Uint8Array(32).fill(5);
    const rows = new Uint8Array(56 * 1000).map((_, i) => (i * 31) & 0xff);
    const p = { type: 'range-proposal', v: 1, epoch: 2, proposer: 1, job: new Uint8Array(16), start: 0, model: 'm', timestamp: 1_700_000_000, rowLength: 56, rows } as const;
    const want = jobRangeStream(js, { model: 'm', timestamp: 1_700_000_000, epoch: 2, rowLength: 56, rowsHash: keccak_256(rows) });
    expect(rangeStreamOf(js, p, await loadFastHasher())).toEqual(want);
    expect(rangeStreamOf(js, p, await loadFastHasher({ native: false }))).toEqual(want);
    rows[55_999] = rows[55_999]! ^ 1;
    expect(rangeStreamOf(js, p, await loadFastHasher())).not.toEqual(want);
  });
});
