// Decoders of POST /v1/infer/batch bodies: the DRB1 binary framing (malformed, truncated, padded,
// oversized, fuzzed) and the JSON form (structure checked before any row is converted).
import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { BatchBodyError, decodeBatchBody, encodeBatchBody } from '@destra/protocol';
import { decodeJsonBatch } from '../src/api/batch-body.ts';
import { RoundError } from '../src/errors.ts';
import { MAX_INPUT_BYTES } from '../src/wire.ts';

const limits = { maxRows: 1000, maxBytes: 64 * 1024 };
const rows = (n: number, len: number, fill = 1): Uint8Array[] => Array.from({ length: n }, (_, i) => new Uint8Array(len).fill((fill + i) & 0xff));

function errorOf(f: () => unknown): BatchBodyError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(BatchBodyError);
    return err as BatchBodyError;
  }
  throw new Error('expected a BatchBodyError, nothing was thrown');
}

describe('binary batch body (DRB1)', () => {
  it('round-trips model, row length and rows; rows are a view into the body', () => {
    const body = encodeBatchBody('liquidation-risk', rows(3, 56));
    expect(body.length).toBe(13 + 16 + 3 * 56);
    const d = decodeBatchBody(body, limits);
    expect(d).toMatchObject({ model: 'liquidation-risk', rowLength: 56, count: 3 });
    expect(d.rows).toEqual(new Uint8Array(Buffer.concat(rows(3, 56))));
    expect(d.rows.buffer).toBe(body.buffer);
    const flat = encodeBatchBody('m', { rows: d.rows, rowLength: 56 });
    expect(decodeBatchBody(flat, limits).rows).toEqual(d.rows);
    expect(decodeBatchBody(encodeBatchBody('modèle', rows(1, 1)), limits).model).toBe('modèle');
  });

  it('rejects each malformed field with what was wrong', () => {
    const good = encodeBatchBody('abc', rows(2, 4));
    const at = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    expect(errorOf(() => decodeBatchBody(new Uint8Array(0), limits)).message).toMatch(/shorter than its header/);
    expect(errorOf(() => decodeBatchBody(at(0, 0x45), limits)).message).toMatch(/magic "DRB1"/);
    expect(errorOf(() => decodeBatchBody(at(4, 0), limits)).message).toMatch(/model name length 0/);
    expect(errorOf(() => decodeBatchBody(at(4, 200), limits)).message).toMatch(/model name length 200/);
    expect(errorOf(() => decodeBatchBody(at(5, 0xff), limits)).message).toMatch(/not valid UTF-8/);
    const view = (b: Uint8Array) => new DataView(b.buffer);
    const rowLen0 = good.slice();
    view(rowLen0).setUint32(8, 0);
    expect(errorOf(() => decodeBatchBody(rowLen0, limits)).message).toMatch(/row length 0/);
    const rowLenHuge = good.slice();
    view(rowLenHuge).setUint32(8, MAX_INPUT_BYTES + 1);
    expect(errorOf(() => decodeBatchBody(rowLenHuge, limits)).message).toMatch(/row length/);
    const count0 = good.slice();
    view(count0).setUint32(12, 0);
    expect(errorOf(() => decodeBatchBody(count0, limits)).message).toMatch(/at least 1/);
    // Truncated, padded, and a header that claims more rows than sent.
    expect(errorOf(() => decodeBatchBody(good.subarray(0, good.length - 1), limits)).message).toMatch(/needs exactly/);
    expect(errorOf(() => decodeBatchBody(new Uint8Array([...good, 0]), limits)).message).toMatch(/needs exactly/);
    const more = good.slice();
    view(more).setUint32(12, 3);
    expect(errorOf(() => decodeBatchBody(more, limits)).message).toMatch(/needs exactly/);
    expect(errorOf(() => decodeBatchBody(good.subarray(0, 9), limits)).message).toMatch(/ends inside its header|shorter/);
  });

  it('refuses oversized bodies and too many rows with 413 before looking further', () => {
    const big = errorOf(() => decodeBatchBody(new Uint8Array(limits.maxBytes + 1), limits));
    expect([big.status, big.code]).toEqual([413, 'BODY_TOO_LARGE']);
    // The header's row count is checked before the length: a 4-billion-row claim costs nothing.
    const claim = encodeBatchBody('m', rows(1, 1));
    new DataView(claim.buffer).setUint32(10, 0xffffffff);
    const many = errorOf(() => decodeBatchBody(claim, limits));
    expect([many.status, many.code]).toEqual([413, 'TOO_MANY_ROWS']);
    expect(() => encodeBatchBody('m', [new Uint8Array(2), new Uint8Array(3)])).toThrow(/one length/);
    expect(() => encodeBatchBody('', rows(1, 1))).toThrow(BatchBodyError);
  });

  it('fuzz: any bytes and any mutation of a valid body decode consistently or throw BatchBodyError', () => {
    const valid = fc
      .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 20 }))
      .filter(([m]) => new TextEncoder().encode(m).length <= 128)
      .map(([m, len, n]) => encodeBatchBody(m, rows(n, len)));
    const mutated = fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.integer({ min: -8, max: 8 })).map(([b, edits, grow]) => {
      let out = b.slice();
      for (const [i, v] of edits) out[i % out.length] = v;
      if (grow < 0) out = out.subarray(0, Math.max(0, out.length + grow));
      else if (grow > 0) out = new Uint8Array([...out, ...new Uint8Array(grow)]);
      return out;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), valid, mutated), (body) => {
        let d;
        try {
          d = decodeBatchBody(body, limits);
        } catch (err) {
          return err instanceof BatchBodyError && (err.status === 400 || err.status === 413);
        }
        // Accepted: the fields describe the body exactly, and re-encoding gives the same bytes.
        return d.count >= 1 && d.rows.length === d.count * d.rowLength && Buffer.compare(encodeBatchBody(d.model, { rows: d.rows, rowLength: d.rowLength }), body) === 0;
      }),
      { numRuns: 1000, seed: 424242 },
    );
  });
});

describe('JSON batch body', () => {
  const enc = (_m: string, v: number[]) => Uint8Array.from(v.map((x) => x * 2));
  const json = (raw: unknown) => decodeJsonBatch(raw, { maxRows: 10 }, enc);

  it('hex rows and number rows become one flat buffer of one row length', () => {
    const d = json({ model: 'm', rows: ['0x0102', '0304', [5, 6]] });
    expect(d).toMatchObject({ model: 'm', rowLength: 2, count: 3 });
    expect([...d.rows]).toEqual([1, 2, 3, 4, 10, 12]);
  });

  it('names the first fault and stops there', () => {
    const msg = (raw: unknown) => {
      try {
        json(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(BatchBodyError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(msg([])).toMatch(/JSON object/);
    expect(msg({ model: 'm', rows: ['0x01'], extra: 1 })).toMatch(/field 'extra': unknown field/);
    expect(msg({ rows: ['0x01'] })).toMatch(/field 'model'/);
    expect(msg({ model: 'm', rows: [] })).toMatch(/field 'rows'/);
    expect(msg({ model: 'm', rows: ['0x01', '0xzz'] })).toMatch(/field 'rows.1'/);
    expect(msg({ model: 'm', rows: ['0x010', '0x01'] })).toMatch(/field 'rows.0'/);
    expect(msg({ model: 'm', rows: [[1, Number.NaN]] })).toMatch(/field 'rows.0.1'/);
    expect(msg({ model: 'm', rows: [[1, '2']] })).toMatch(/field 'rows.0.1'/);
    expect(msg({ model: 'm', rows: ['0x01', '0x0102'] })).toMatch(/field 'rows.1': 2 bytes, row 0 has 1/);
    expect(msg({ model: 'm', rows: [{}] })).toMatch(/hex string or an array of numbers/);
    const tooMany = (() => {
      try {
        json({ model: 'm', rows: Array.from({ length: 11 }, () => '0x01') });
      } catch (err) {
        return err as BatchBodyError;
      }
    })()!;
    expect([tooMany.status, tooMany.code]).toEqual([413, 'TOO_MANY_ROWS']);
    // An encoder error names the row.
    const failing = () => decodeJsonBatch({ model: 'm', rows: ['0x01', [1]] }, { maxRows: 10 }, () => {
      throw Object.assign(new Error('value out of range'), { code: 'INFERENCE_INPUT' });
    });
    expect(failing).toThrow(/field 'rows.1': value out of range/);
    try {
      failing();
    } catch (err) {
      expect(err).toBeInstanceOf(RoundError);
      expect((err as RoundError).code).toBe('INFERENCE_INPUT');
    }
  });
});
