// Input generators for the fuzz targets: byte-level mutations of valid encodings (bit flips, truncation,
// extension, splices of length headers, range swaps, padding past the size limit) and structured
// mutations of decoded values (field replaced, deleted, added, swapped, arrays and strings grown past
// their limits). Mutating valid encodings reaches the deep checks that random bytes almost never pass.
import * as fc from 'fast-check';

/** Byte values that sit on format boundaries: flag bits, CBOR major types and length codes, sign bits. */
const INTERESTING_BYTES = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x40, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xe0, 0xf9, 0xfb, 0xff];

type ByteOp =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'pad'; extra: number }
  | { kind: 'splice'; at: number; remove: number; insert: Uint8Array }
  | { kind: 'swap'; a: number; b: number; len: number }
  | { kind: 'repeat'; at: number; len: number; times: number };

export interface ByteMutationOptions {
  /** The decoder's size limit: `pad` grows inputs just past it, so over-limit inputs get generated. */
  limit: number;
  /** Format-specific byte sequences spliced in (e.g. CBOR headers declaring 2^64 elements). */
  tokens?: readonly Uint8Array[];
  /** Longest random input (default: a little over the limit, at most 4 KiB). */
  maxRandomLength?: number;
}

function byteOp(opts: ByteMutationOptions): fc.Arbitrary<ByteOp> {
  const insert = opts.tokens && opts.tokens.length > 0 ? fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.constantFrom(...opts.tokens)) : fc.uint8Array({ maxLength: 16 });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(...INTERESTING_BYTES) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pad' as const), extra: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), remove: fc.nat(12), insert }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), len: fc.integer({ min: 1, max: 96 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 48 }), times: fc.integer({ min: 1, max: 8 }) }) },
  );
}

function applyByteOp(input: Uint8Array, op: ByteOp, limit: number): Uint8Array {
  const n = input.length;
  const concat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  switch (op.kind) {
    case 'flip': {
      if (n === 0) return input;
      const out = input.slice();
      out[op.at % n]! ^= 1 << op.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = input.slice();
      out[op.at % n] = op.byte;
      return out;
    }
    case 'truncate':
      return input.slice(0, op.at % (n + 1));
    case 'extend':
      return concat(input, op.bytes);
    case 'pad': {
      // Past the size limit: random tail after the valid prefix, so only the length check can refuse it.
      const out = new Uint8Array(Math.max(n, limit) + op.extra);
      out.set(input);
      out.fill(0x41, n);
      return out;
    }
    case 'splice': {
      const at = op.at % (n + 1);
      return concat(input.subarray(0, at), op.insert, input.subarray(Math.min(n, at + op.remove)));
    }
    case 'swap': {
      const len = Math.min(op.len, Math.floor(n / 2));
      if (len === 0) return input;
      const a = op.a % (n - len + 1);
      const b = op.b % (n - len + 1);
      const out = input.slice();
      out.set(input.subarray(b, b + len), a);
      out.set(input.subarray(a, a + len), b);
      return out;
    }
    case 'repeat': {
      if (n === 0) return input;
      const at = op.at % n;
      const chunk = input.subarray(at, Math.min(n, at + op.len));
      return concat(input.subarray(0, at), ...Array.from({ length: op.times + 1 }, () => chunk), input.subarray(at + chunk.length));
    }
  }
}

/**
 * Bytes for a decoder: mostly 1–4 mutations of a valid encoding, some untouched valid encodings (so the
 * accept path is exercised too) and some fully random bytes.
 */
export function mutatedBytes(seeds: readonly Uint8Array[], opts: ByteMutationOptions): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error('mutatedBytes needs at least one valid encoding');
  const maxRandom = opts.maxRandomLength ?? Math.min(opts.limit + 16, 4096);
  const mutated = fc
    .tuple(fc.nat(seeds.length - 1), fc.array(byteOp(opts), { minLength: 1, maxLength: 4 }))
    .map(([i, ops]) => ops.reduce((b, op) => applyByteOp(b, op, opts.limit), seeds[i]!));
  return fc.oneof(
    { weight: 14, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
  );
}

// ---- Structured mutations ----------------------------------------------------------------------------

type Path = readonly (string | number)[];

export type TreeOp = {
  kind: 'set' | 'delete' | 'add' | 'swap' | 'grow';
  at: number;
  other: number;
  key: string;
  value: unknown;
  size: number;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** Deep copy of plain objects, arrays and byte arrays; other values are shared (never mutated). */
export function cloneTree<T>(v: T): T {
  if (v instanceof Uint8Array) return v.slice() as T;
  if (Array.isArray(v)) return v.map(cloneTree) as T;
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneTree(x)])) as T;
  return v;
}

/** Every path into plain objects and arrays (the first few elements of long arrays), root included. */
function paths(root: unknown): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, p: Path, depth: number): void => {
    out.push(p);
    if (depth > 6) return;
    if (Array.isArray(v)) v.slice(0, 4).forEach((x, i) => walk(x, [...p, i], depth + 1));
    else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, [...p, k], depth + 1);
  };
  walk(root, [], 0);
  return out;
}

function getAt(root: unknown, p: Path): unknown {
  return p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
}

/**
 * An own property, as JSON.parse and cbor-x create them: plain assignment of `__proto__` would instead
 * replace the object's prototype, making objects no decoder ever returns.
 */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Sets (or, with `remove`, deletes) the value at a non-root path. */
function setAt(root: unknown, p: Path, value: unknown, remove = false): void {
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = p[p.length - 1]!;
  if (Array.isArray(parent) && typeof key === 'number') {
    if (remove) parent.splice(key, 1);
    else parent[key] = value;
  } else if (remove) {
    delete (parent as Record<string, unknown>)[key as string];
  } else {
    define(parent as Record<string, unknown>, key as string, value);
  }
}

/** Grows a value to `size` elements / bytes / characters: oversized lengths for every kind of field. */
function grow(v: unknown, size: number): unknown {
  if (Array.isArray(v)) return v.length === 0 ? Array.from({ length: size }, () => 0) : Array.from({ length: size }, (_, i) => v[i % v.length]);
  if (v instanceof Uint8Array) {
    const out = new Uint8Array(size).fill(0x5a);
    out.set(v.subarray(0, size));
    return out;
  }
  if (typeof v === 'string') return (v.length > 0 ? v : 'x').repeat(Math.ceil(size / Math.max(1, v.length))).slice(0, size);
  if (typeof v === 'number') return v + size;
  return v;
}

export function applyTreeOps(seed: unknown, ops: readonly TreeOp[]): unknown {
  let root = cloneTree(seed);
  for (const op of ops) {
    const all = paths(root);
    const p = all[op.at % all.length]!;
    const current = getAt(root, p);
    switch (op.kind) {
      case 'set':
        if (p.length === 0) root = op.value;
        else setAt(root, p, op.value);
        break;
      case 'delete':
        if (p.length > 0) setAt(root, p, undefined, true);
        break;
      case 'add':
        if (Array.isArray(current)) current.push(op.value);
        else if (isPlainObject(current)) define(current, op.key, op.value);
        break;
      case 'swap': {
        const q = all[op.other % all.length]!;
        // Only between disjoint paths (neither inside the other), so the swap is well-defined.
        const prefix = (a: Path, b: Path) => a.length <= b.length && a.every((k, i) => b[i] === k);
        if (p.length === 0 || q.length === 0 || prefix(p, q) || prefix(q, p)) break;
        const other = getAt(root, q);
        setAt(root, p, cloneTree(other));
        setAt(root, q, cloneTree(current));
        break;
      }
      case 'grow':
        if (p.length === 0) root = grow(root, op.size);
        else setAt(root, p, grow(current, op.size));
        break;
    }
  }
  return root;
}

/**
 * 1–3 structured mutations of one of `seeds`. `values` supplies replacement values, `sizes` the lengths
 * that fields are grown to (pick them around the schema's limits), `keys` the names of added fields.
 */
export function mutatedTree(seeds: readonly unknown[], values: fc.Arbitrary<unknown>, sizes: readonly number[], keys: readonly string[] = []): fc.Arbitrary<unknown> {
  const op: fc.Arbitrary<TreeOp> = fc.record({
    kind: fc.constantFrom('set', 'set', 'set', 'delete', 'add', 'swap', 'swap', 'grow'),
    at: fc.nat(),
    other: fc.nat(),
    key: keys.length > 0 ? fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 12 })) : fc.string({ maxLength: 12 }),
    value: values,
    size: fc.constantFrom(...sizes),
  });
  return fc.tuple(fc.nat(seeds.length - 1), fc.array(op, { minLength: 1, maxLength: 3 })).map(([i, ops]) => applyTreeOps(seeds[i], ops));
}

// ---- Value pools ----------------------------------------------------------------------------------------

/** Numbers on the edges of integer schemas (safe integers, u16/u32, member indices, floats). */
export const boundaryNumbers = fc.constantFrom(-1, 0, 1, 2, 255, 256, 257, 1023, 1024, 1025, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -0, 0.5, 1e308, Number.NaN, Infinity, -Infinity);

/** Byte strings of the lengths the schemas care about (and one off each). */
export const boundaryBytes = fc
  .constantFrom(0, 1, 20, 23, 24, 31, 32, 33, 47, 48, 49, 64, 95, 96, 97, 128, 191, 192, 193, 229, 256, 733, 734)
  .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

/** Values for CBOR trees: everything cbor-x can encode, including bigints, maps, dates, errors and regexps. */
export const cborValues = (strings: readonly string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 3, arbitrary: boundaryNumbers },
    { weight: 2, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 3, arbitrary: fc.oneof(fc.bigInt(), fc.bigInt({ min: -300n, max: 300n })) },
    { weight: 3, arbitrary: fc.oneof(fc.constantFrom(...strings, '__proto__', 'constructor', 'toString', ''), fc.string({ maxLength: 40 })) },
    { weight: 3, arbitrary: boundaryBytes },
    { weight: 2, arbitrary: fc.constantFrom(null, undefined, true, false) },
    {
      weight: 2,
      arbitrary: fc.anything({ maxDepth: 2, maxKeys: 4, withBigInt: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }),
    },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(new Error('boom'), /a+$/, new Map<unknown, unknown>([[1, 'a'], [2n, 'b']]), new Map<unknown, unknown>([[{}, 1]]), new Set([1, 2])) },
  );

/** Values for JSON documents (keystores, configs). */
export const jsonValues = (strings: readonly string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 3, arbitrary: boundaryNumbers.map((n) => (Number.isFinite(n) ? n : 0)) },
    { weight: 4, arbitrary: fc.oneof(fc.constantFrom(...strings, '__proto__', 'constructor', '', '0x', '\ud800'), fc.string({ maxLength: 40, unit: 'binary' })) },
    { weight: 2, arbitrary: fc.constantFrom(null, true, false) },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
