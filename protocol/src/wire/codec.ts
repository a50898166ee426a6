// CBOR framing shared by every wire message: size check before decoding, plain maps/byte strings only,
// then a zod schema per message type. Records/structures extensions of cbor-x are off so any
// implementation that speaks RFC 8949 CBOR can interoperate.
import { Decoder, Encoder } from 'cbor-x';
import type { z } from 'zod';
import { WireError } from './errors.ts';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Hard ceiling on any frame, whatever its type (a DKG deal for n=256 is ~45 KiB; inputs dominate). */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;

export function encodeCbor(value: unknown): Uint8Array {
  // Copy into a plain Uint8Array: cbor-x returns a Buffer view of its reusable internal buffer.
  return new Uint8Array(encoder.encode(value));
}

/** Decodes one CBOR item; throws WireError on oversized input, trailing bytes or invalid CBOR. */
export function decodeCbor(bytes: Uint8Array, maxBytes: number, messageType = 'frame'): unknown {
  if (!(bytes instanceof Uint8Array)) throw new WireError(messageType, 'expected a byte array');
  if (bytes.length > maxBytes) {
    throw new WireError(messageType, `frame of ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`, undefined, 'WIRE_OVERSIZED');
  }
  if (bytes.length === 0) throw new WireError(messageType, 'empty frame');
  try {
    // Decode a private copy: cbor-x returns byte strings as views into its input (and caches a DataView
    // on it), and network buffers get reused after the frame is handed over.
    return decoder.decode(new Uint8Array(bytes));
  } catch (err) {
    // Whatever the decoder threw (an Error, a RangeError from a deep stack, in principle anything).
    throw new WireError(messageType, `invalid CBOR (${err instanceof Error ? err.message : 'decoder failed'})`);
  }
}

export interface MessageCodec<T> {
  readonly type: string;
  readonly version: number;
  readonly maxBytes: number;
  encode(msg: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /** Validates an already-decoded value (e.g. one item of a union frame). */
  parse(value: unknown): T;
}

/** First zod issue as `path: message`, so logs name the field that was wrong. */
export function describeIssue(error: z.ZodError): { field: string | undefined; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: undefined, message: 'invalid' };
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  return { field, message: issue.message };
}

export function defineMessage<T extends { type: string; v: number }>(
  type: T['type'],
  version: T['v'],
  maxBytes: number,
  schema: z.ZodType<T>,
): MessageCodec<T> {
  const parse = (value: unknown): T => {
    const r = schema.safeParse(value);
    if (!r.success) {
      const { field, message } = describeIssue(r.error);
      throw new WireError(type, message, field);
    }
    return r.data;
  };
  return {
    type,
    version,
    maxBytes,
    parse,
    encode(msg: T): Uint8Array {
      const checked = parse(msg); // never put a frame on the wire that a peer would reject
      const bytes = encodeCbor(checked);
      if (bytes.length > maxBytes) {
        throw new WireError(type, `encoded size ${bytes.length} exceeds the ${maxBytes}-byte limit`, undefined, 'WIRE_OVERSIZED');
      }
      return bytes;
    },
    decode(bytes: Uint8Array): T {
      return parse(decodeCbor(bytes, maxBytes, type));
    },
  };
}
