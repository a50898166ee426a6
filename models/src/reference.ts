// Reference vectors: canonical inputs and the canonical outputs the model's publisher computed, the one
// definition of their file format (docs/models.md "Reference vectors"). A node replays them before serving a
// model; the zoo tests replay them through onnxruntime-node. Nothing here trusts the file: sizes come from the
// manifest, the decompressed length is bounded before inflating, and the sha256 the manifest states must match.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ReferenceVectorError } from './errors.ts';
import { inputValueCount, outputValueCount, type ModelManifest } from './manifest.ts';

/** "DRV1": Destra reference vectors, version 1. */
export const REFERENCE_MAGIC = Uint8Array.from([0x44, 0x52, 0x56, 0x31]);
/** magic(4) · rows u32 BE · inputValues u32 BE · outputValues u32 BE. */
export const REFERENCE_HEADER_BYTES = 16;
/** Largest compressed reference file read. */
export const MAX_REFERENCE_FILE_BYTES = 64 * 1024 * 1024;

export interface ReferenceVectors {
  rows: number;
  /** Canonical input values per row (the manifest's inputValueCount). */
  inputValues: number;
  /** Canonical output values per row (k, the manifest's outputValueCount). */
  outputValues: number;
  /** rows · inputValues int64 BE: the rows' canonical inputs concatenated (what inferBatch takes). */
  input: Uint8Array;
  /** rows · outputValues int64 BE: the canonical outputs (what inferBatch returns). */
  output: Uint8Array;
}

/** Decompressed size of a reference file for these dimensions. */
export function referenceByteLength(rows: number, inputValues: number, outputValues: number): number {
  return REFERENCE_HEADER_BYTES + rows * (inputValues + outputValues) * 8;
}

/** The decompressed bytes (header + inputs + outputs), as hashed by the manifest's reference.sha256. */
export function encodeReferenceRaw(v: ReferenceVectors): Uint8Array {
  if (v.input.length !== v.rows * v.inputValues * 8 || v.output.length !== v.rows * v.outputValues * 8) throw new RangeError('reference vectors: input/output byte lengths do not match rows × values × 8');
  const out = new Uint8Array(referenceByteLength(v.rows, v.inputValues, v.outputValues));
  const dv = new DataView(out.buffer);
  out.set(REFERENCE_MAGIC, 0);
  dv.setUint32(4, v.rows);
  dv.setUint32(8, v.inputValues);
  dv.setUint32(12, v.outputValues);
  out.set(v.input, REFERENCE_HEADER_BYTES);
  out.set(v.output, REFERENCE_HEADER_BYTES + v.input.length);
  return out;
}

/** The file's bytes: gzip of encodeReferenceRaw. */
export function encodeReferenceFile(v: ReferenceVectors): Uint8Array {
  return new Uint8Array(gzipSync(encodeReferenceRaw(v), { level: 9 }));
}

/**
 * Pure: a reference file's bytes → vectors, checked against the manifest (dimensions, row count, sha256 of the
 * decompressed bytes). `source` names the file in errors.
 */
export function decodeReferenceFile(file: Uint8Array, manifest: ModelManifest, source: string): ReferenceVectors {
  const ref = manifest.reference;
  if (!ref) throw new ReferenceVectorError(source, 'the manifest declares no "reference"', 'add reference { file, rows, sha256 } to manifest.json');
  if (file.length > MAX_REFERENCE_FILE_BYTES) throw new ReferenceVectorError(source, `${file.length} bytes, above the ${MAX_REFERENCE_FILE_BYTES}-byte limit`, 'ship fewer rows');
  const inputValues = inputValueCount(manifest);
  const outputValues = outputValueCount(manifest);
  const want = referenceByteLength(ref.rows, inputValues, outputValues);
  let raw: Buffer;
  try {
    // One byte of headroom: a longer stream fails the length check below instead of being silently cut.
    raw = gunzipSync(file, { maxOutputLength: want + 1 });
  } catch (e) {
    throw new ReferenceVectorError(source, `not a gzip stream of at most ${want} bytes (${(e as Error).message})`, 'regenerate it with models/train/train_all.py or encodeReferenceFile');
  }
  if (raw.length !== want) throw new ReferenceVectorError(source, `decompresses to ${raw.length} bytes; ${ref.rows} rows of ${inputValues} inputs and ${outputValues} outputs need ${want}`, 'the file and the manifest disagree; regenerate both');
  if (!REFERENCE_MAGIC.every((b, i) => raw[i] === b)) throw new ReferenceVectorError(source, 'does not start with the magic "DRV1"', 'regenerate it');
  const rows = raw.readUInt32BE(4);
  const iv = raw.readUInt32BE(8);
  const ov = raw.readUInt32BE(12);
  if (rows !== ref.rows || iv !== inputValues || ov !== outputValues) {
    throw new ReferenceVectorError(source, `header says ${rows} rows × (${iv} inputs, ${ov} outputs); the manifest says ${ref.rows} × (${inputValues}, ${outputValues})`, 'regenerate the file or fix the manifest');
  }
  const hash = createHash('sha256').update(raw).digest('hex');
  if (hash !== ref.sha256) throw new ReferenceVectorError(source, `sha256 of the decompressed bytes is ${hash}; the manifest says ${ref.sha256}`, 'the file was changed or the manifest is stale');
  const inputEnd = REFERENCE_HEADER_BYTES + rows * iv * 8;
  return { rows, inputValues: iv, outputValues: ov, input: new Uint8Array(raw.subarray(REFERENCE_HEADER_BYTES, inputEnd)), output: new Uint8Array(raw.subarray(inputEnd)) };
}

/** Reads `<dir>/<manifest.reference.file>`; undefined when the manifest declares no reference vectors. */
export function readReferenceVectors(dir: string, manifest: ModelManifest): ReferenceVectors | undefined {
  if (!manifest.reference) return undefined;
  const path = join(dir, manifest.reference.file);
  if (!existsSync(path)) throw new ReferenceVectorError(path, 'the file the manifest names does not exist', 'restore it from the model package');
  const size = statSync(path).size;
  if (size > MAX_REFERENCE_FILE_BYTES) throw new ReferenceVectorError(path, `${size} bytes, above the ${MAX_REFERENCE_FILE_BYTES}-byte limit`, 'ship fewer rows');
  return decodeReferenceFile(new Uint8Array(readFileSync(path)), manifest, path);
}
