// Fixed-width big-endian helpers shared by the report and handover codecs.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ReportFormatError } from './errors.ts';

export type Hex = `0x${string}`;

export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

export function toHex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

/** Parses `0x`-prefixed (or bare) hex; `field` names the input in the error. */
export function fromHex(hex: string, field = 'hex'): Uint8Array {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw new ReportFormatError(field, 'expected an even-length hex string');
  }
  return hexToBytes(body);
}

export function requireBytes(value: Uint8Array, length: number, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ReportFormatError(field, 'expected bytes');
  if (value.length !== length) {
    throw new ReportFormatError(field, `expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

export function requireUint(value: bigint, bits: number, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << BigInt(bits)) {
    throw new ReportFormatError(field, `expected an unsigned ${bits}-bit integer`);
  }
  return value;
}

export function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** Sequential writer over a pre-sized buffer; every encoder knows its exact length up front. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): this {
    this.view.setUint8(this.offset, v);
    this.offset += 1;
    return this;
  }
  u16(v: number): this {
    this.view.setUint16(this.offset, v);
    this.offset += 2;
    return this;
  }
  u64(v: bigint): this {
    this.view.setBigUint64(this.offset, v);
    this.offset += 8;
    return this;
  }
  i64(v: bigint): this {
    this.view.setBigInt64(this.offset, v);
    this.offset += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.offset);
    this.offset += b.length;
    return this;
  }
  finish(): Uint8Array {
    if (this.offset !== this.bytes.length) throw new Error(`encoder wrote ${this.offset} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** Sequential reader; callers check the total length first, so reads never run past the end. */
export class ByteReader {
  private readonly view: DataView;
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(): number {
    return this.view.getUint8(this.offset++);
  }
  u16(): number {
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  u64(): bigint {
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }
  i64(): bigint {
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }
  raw(n: number): Uint8Array {
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}
