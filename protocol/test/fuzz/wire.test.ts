// Fuzz properties of every wire decoder (definitions in wire-targets.ts, shared with
// `npm run bench -- fuzz`), plus the counterexamples fuzzing found, kept as plain regression tests.
import { describe, expect, it } from 'vitest';
import { WireError, decodeWire, encodeCbor, encodeWire, type WireMessage } from '../../src/wire/index.ts';
import { assertTarget } from './harness.ts';
import { WIRE_SEEDS, wireTargets } from './wire-targets.ts';

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

function wireErrorOf(f: () => unknown): WireError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return err as WireError;
  }
  throw new Error('expected a WireError, nothing was thrown');
}

describe('fuzz: wire decoders throw only WireError and re-encode what they accept', () => {
  for (const t of wireTargets) it(t.name, () => assertTarget(t, t.name === 'wire decodeWire' ? 2000 : 500));
});

describe('wire decoder regressions', () => {
  it('a bigint message type is a WireError, not a TypeError from JSON.stringify (security issue 11, finding 7)', () => {
    for (const type of [5n, 10n ** 30n, -(2n ** 70n)]) {
      const err = wireErrorOf(() => decodeWire(encodeCbor({ type, v: 1 }), ['partial', 'batch-partial']));
      expect(err.field).toBe('type');
      expect(err.message).toMatch(/unexpected message type a bigint/);
    }
  });

  it('a cyclic message type (CBOR shared-value tags 28/29) is a WireError', () => {
    // {"type": shareable({"a": reference(0)})}: the type is an object that contains itself.
    const err = wireErrorOf(() => decodeWire(hex('a1 64 74797065 d81c a1 61 61 d81d 00'), ['combined']));
    expect(err.message).toMatch(/unexpected message type an object/);
  });

  it('names other non-string types without echoing them, and cuts long type strings', () => {
    expect(wireErrorOf(() => decodeWire(encodeCbor({ type: new Uint8Array(9) }), ['dkg'])).message).toMatch(/a 9-byte string/);
    expect(wireErrorOf(() => decodeWire(encodeCbor({ type: null }), ['dkg'])).message).toMatch(/type null/);
    const long = wireErrorOf(() => decodeWire(encodeCbor({ type: 'x'.repeat(5000) }), ['dkg'])).message;
    expect(long.length).toBeLessThan(200);
    expect(long).toMatch(/5000 chars/);
  });

  it('a channel configured with an unknown type is a WireError, not a TypeError', () => {
    const frame = encodeWire(WIRE_SEEDS[0]!);
    expect(wireErrorOf(() => decodeWire(frame, ['no-such-type' as WireMessage['type']])).message).toMatch(/no codec for message type "no-such-type"/);
    expect(wireErrorOf(() => encodeWire({ ...WIRE_SEEDS[0]!, type: 'constructor' } as unknown as WireMessage)).message).toMatch(/unknown message type/);
  });
});
