// A model package as content: manifest.json and the ONNX file it names, imported as one UnixFS directory
// with fixed settings so anyone recomputes the same CID from the same two files (docs/models.md):
//   CIDv1, sha2-256, raw leaves, fixed-size chunks of 1 MiB, balanced layout with at most 1024 links per
//   node, the two files wrapped in one directory (entries sorted by name), no mode and no mtime — the
//   IPIP-499 "unixfs-v1-2025" profile. Reading a package back checks its shape and sizes before any
//   byte is trusted; the hashes are checked by @destra/models' loadModelFromBytes.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { unixfs } from '@helia/unixfs';
import * as dagPb from '@ipld/dag-pb';
import type { Blockstore } from 'interface-blockstore';
import { exporter } from 'ipfs-unixfs-exporter';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { MemoryBlockstore } from 'blockstore-core/memory';
import { loadModelFromBytes, MAX_MANIFEST_BYTES, MAX_MODEL_BYTES, MAX_REFERENCE_FILE_BYTES, ModelPackageError, type LoadedModel, type PackageExpectations } from '@destra/models';

export const MANIFEST_FILE = 'manifest.json';

/** The import settings; changing any of them changes every package CID. */
export const PACKAGE_IMPORT = {
  profile: 'unixfs-v1-2025',
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  wrapWithDirectory: true,
  chunkSize: 1024 * 1024,
  maxChildrenPerNode: 1024,
} as const;

export interface PackageLimits {
  maxModelBytes: number;
  maxManifestBytes: number;
}

export const DEFAULT_PACKAGE_LIMITS: PackageLimits = { maxModelBytes: MAX_MODEL_BYTES, maxManifestBytes: MAX_MANIFEST_BYTES };

export interface PackageFiles {
  manifestBytes: Uint8Array;
  /** The ONNX file's name inside the package (the manifest's `file`). */
  file: string;
  onnxBytes: Uint8Array;
  /** The reference vectors the manifest names (`reference.file`, gzip), carried so a fetching node can self-check. */
  reference?: { file: string; bytes: Uint8Array };
}

/** A verified package model; `referenceBytes` is the reference file it carried (checked against the manifest by the self-check). */
export type PackageModel = LoadedModel & { manifestHashHex: string; referenceBytes?: Uint8Array };

const REFERENCE_NAME = /^[A-Za-z0-9._-]+\.bin\.gz$/;

/**
 * The model in a package's files: every check loadModelFromBytes makes, plus that a carried reference file
 * is the one the manifest names (its content is checked against the manifest's sha256 when decoded).
 */
export function packageModel(where: string, files: PackageFiles, expect: PackageExpectations, dir: string): PackageModel {
  const model = loadModelFromBytes(where, files.manifestBytes, files.onnxBytes, expect, dir);
  if (!files.reference) return model;
  if (files.reference.file !== model.manifest.reference?.file) {
    throw new ModelPackageError(where, `carries ${files.reference.file}, but its manifest names ${model.manifest.reference ? model.manifest.reference.file : 'no reference file'}`, 'a package holds the manifest, its ONNX file and the reference file the manifest names');
  }
  return { ...model, referenceBytes: files.reference.bytes };
}

type Store = Pick<Blockstore, 'get' | 'put' | 'has'>;

/** Reads a model directory (manifest.json + the ONNX file it names) and checks it like a node would. */
export function readModelDir(dir: string, limits: PackageLimits = DEFAULT_PACKAGE_LIMITS): { files: PackageFiles; model: PackageModel } {
  const manifestPath = join(dir, MANIFEST_FILE);
  let manifestBytes: Uint8Array;
  try {
    if (statSync(manifestPath).size > limits.maxManifestBytes) throw new ModelPackageError(dir, `${MANIFEST_FILE} is larger than ${limits.maxManifestBytes} bytes`, 'a manifest is a few KiB of JSON');
    manifestBytes = new Uint8Array(readFileSync(manifestPath));
  } catch (e) {
    if (e instanceof ModelPackageError) throw e;
    throw new ModelPackageError(dir, `cannot read ${manifestPath} (${(e as Error).message})`, 'point at a model directory holding manifest.json and its ONNX file');
  }
  let file: string;
  try {
    file = String((JSON.parse(new TextDecoder().decode(manifestBytes)) as { file?: unknown }).file ?? '');
  } catch {
    file = '';
  }
  const onnxPath = join(dir, file);
  let onnxBytes: Uint8Array = new Uint8Array(0);
  if (/^[A-Za-z0-9._-]+\.onnx$/.test(file)) {
    try {
      const size = statSync(onnxPath).size;
      if (size > limits.maxModelBytes) throw new ModelPackageError(dir, `${file} is ${size} bytes, above the ${limits.maxModelBytes}-byte limit`, 'raise models.ipfs.maxModelBytes if this model is meant to be served');
      onnxBytes = new Uint8Array(readFileSync(onnxPath));
    } catch (e) {
      if (e instanceof ModelPackageError) throw e;
      throw new ModelPackageError(dir, `cannot read the ONNX file ${onnxPath} (${(e as Error).message})`, 'the manifest\'s "file" must name a file next to it');
    }
  }
  // schema, sizes and the ONNX sha256 against the manifest (a bad "file" fails the schema here)
  const model = loadModelFromBytes(dir, manifestBytes, onnxBytes, limits, dir);
  const ref = model.manifest.reference?.file;
  let reference: PackageFiles['reference'];
  if (ref) {
    try {
      const size = statSync(join(dir, ref)).size;
      if (size > MAX_REFERENCE_FILE_BYTES) throw new ModelPackageError(dir, `${ref} is ${size} bytes, above the ${MAX_REFERENCE_FILE_BYTES}-byte limit`, 'ship fewer reference rows');
      reference = { file: ref, bytes: new Uint8Array(readFileSync(join(dir, ref))) };
    } catch (e) {
      if (e instanceof ModelPackageError) throw e;
      throw new ModelPackageError(dir, `cannot read the reference file ${join(dir, ref)} (${(e as Error).message})`, 'the manifest\'s reference.file must name a file next to it');
    }
  }
  const files: PackageFiles = { manifestBytes, file: model.manifest.file, onnxBytes, ...(reference ? { reference } : {}) };
  return { files, model: { ...model, ...(reference ? { referenceBytes: reference.bytes } : {}) } };
}

/** Imports the package into `blockstore` with PACKAGE_IMPORT and returns the directory's CID. */
export async function importPackage(blockstore: Store, files: PackageFiles): Promise<CID> {
  if (files.file === MANIFEST_FILE) throw new ModelPackageError(files.file, 'the ONNX file cannot be called manifest.json', 'rename the model file');
  if (files.reference && !REFERENCE_NAME.test(files.reference.file)) throw new ModelPackageError(files.reference.file, 'a reference file name must end in .bin.gz', 'rename it (and the manifest\'s reference.file)');
  const fs = unixfs({ blockstore });
  let root: CID | undefined;
  for await (const entry of fs.addAll(
    [
      { path: MANIFEST_FILE, content: files.manifestBytes },
      { path: files.file, content: files.onnxBytes },
      ...(files.reference ? [{ path: files.reference.file, content: files.reference.bytes }] : []),
    ],
    {
      profile: PACKAGE_IMPORT.profile,
      cidVersion: PACKAGE_IMPORT.cidVersion,
      rawLeaves: PACKAGE_IMPORT.rawLeaves,
      reduceSingleLeafToSelf: PACKAGE_IMPORT.reduceSingleLeafToSelf,
      wrapWithDirectory: PACKAGE_IMPORT.wrapWithDirectory,
      chunker: fixedSize({ chunkSize: PACKAGE_IMPORT.chunkSize }),
      layout: balanced({ maxChildrenPerNode: PACKAGE_IMPORT.maxChildrenPerNode }),
    },
  )) {
    if (entry.path === '') root = entry.cid;
  }
  if (!root) throw new ModelPackageError(files.file, 'the importer produced no directory', 'this is a bug: report it');
  return CID.asCID(root) ?? CID.decode(root.bytes);
}

/** The package CID of a model directory, computed in memory (nothing is stored). */
export async function packageCid(dir: string, limits: PackageLimits = DEFAULT_PACKAGE_LIMITS): Promise<{ cid: CID; model: PackageModel; files: PackageFiles }> {
  const { files, model } = readModelDir(dir, limits);
  return { cid: await importPackage(new MemoryBlockstore(), files), model, files };
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Only the local blockstore (no network). */
  offline?: boolean;
}

/** Concatenates a byte stream, refusing it once it passes `max` bytes. */
async function collect(stream: AsyncIterable<Uint8Array>, max: number, what: () => ModelPackageError): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > max) throw what();
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/**
 * Reads a package by CID from `blockstore` (Helia's, which fetches missing blocks and checks each against
 * its CID): exactly manifest.json and one ONNX file, each within its size limit (checked from the DAG's
 * stated size first, then while streaming, so a lying DAG cannot make the node buffer more).
 * Paths go to the exporter as strings: it parses them with its own copy of multiformats.
 */
export async function readPackage(blockstore: Store, cid: CID, limits: PackageLimits, o: ReadOptions = {}): Promise<PackageFiles> {
  const where = cid.toString();
  const opts = { ...(o.signal ? { signal: o.signal } : {}), ...(o.offline ? { offline: true } : {}) };
  if (cid.code !== dagPb.code) throw new ModelPackageError(where, 'is not a UnixFS directory (dag-pb)', 'register the CID of the package directory, not of a file');
  const shape = `a package is exactly ${MANIFEST_FILE}, one .onnx file and at most one .bin.gz reference file`;
  const dir = await exporter(where, blockstore as never, opts);
  if (dir.type !== 'directory') throw new ModelPackageError(where, `is a UnixFS ${dir.type}, not a directory`, shape);
  const names: string[] = [];
  for await (const entry of dir.entries(opts)) {
    names.push(entry.name);
    if (names.length > 3) break;
  }
  const onnx = names.filter((n) => /^[A-Za-z0-9._-]+\.onnx$/.test(n));
  const refs = names.filter((n) => REFERENCE_NAME.test(n));
  if (names.length > 3 || !names.includes(MANIFEST_FILE) || onnx.length !== 1 || refs.length > 1 || names.length !== 2 + refs.length) {
    throw new ModelPackageError(where, `holds [${names.join(', ')}${names.length > 3 ? ', …' : ''}]`, shape);
  }
  const file = onnx[0]!;
  const sized = async (name: string, max: number): Promise<Uint8Array> => {
    const e = await exporter(`${where}/${name}`, blockstore as never, opts);
    if (e.type !== 'file' && e.type !== 'raw') throw new ModelPackageError(where, `${name} is a ${e.type}`, shape);
    const tooBig = (size: bigint | string) =>
      new ModelPackageError(where, `${name} is ${size} bytes, above the ${max}-byte limit`, name === MANIFEST_FILE ? 'raise models.ipfs.maxManifestBytes only if the manifest is genuine' : 'raise models.ipfs.maxModelBytes if this model is meant to be served');
    if (e.size > BigInt(max)) throw tooBig(e.size);
    return collect(e.content(opts), max, () => tooBig(`more than ${max}`));
  };
  const manifestBytes = await sized(MANIFEST_FILE, limits.maxManifestBytes);
  const onnxBytes = await sized(file, limits.maxModelBytes);
  const reference = refs[0] ? { file: refs[0], bytes: await sized(refs[0], MAX_REFERENCE_FILE_BYTES) } : undefined;
  return { manifestBytes, file, onnxBytes, ...(reference ? { reference } : {}) };
}

/** Every block CID of the DAG under `root` (dag-pb links followed, raw leaves), from `blockstore` offline. */
export async function dagBlocks(blockstore: Pick<Blockstore, 'get'>, root: CID, o: { signal?: AbortSignal; limit?: number } = {}): Promise<CID[]> {
  const out: CID[] = [];
  const seen = new Set<string>();
  const stack: CID[] = [root];
  const limit = o.limit ?? 1_000_000;
  while (stack.length > 0) {
    const cid = stack.pop()!;
    const key = cid.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(cid);
    if (out.length > limit) throw new ModelPackageError(root.toString(), `has more than ${limit} blocks`, 'a model package is a few hundred blocks at most');
    if (cid.code === raw.code) continue;
    if (cid.code !== dagPb.code) throw new ModelPackageError(root.toString(), `holds a block of codec 0x${cid.code.toString(16)}`, 'a package holds only dag-pb and raw blocks');
    const bytes = await collectBlock(blockstore, cid, o.signal);
    for (const link of dagPb.decode(bytes).Links) stack.push(CID.asCID(link.Hash) ?? CID.decode(link.Hash.bytes));
  }
  return out;
}

async function collectBlock(blockstore: Pick<Blockstore, 'get'>, cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
  const got: unknown = blockstore.get(cid, signal ? { signal } : {});
  // stores stream a block (async or sync generator) or return its bytes (or a promise of them)
  const v = got instanceof Uint8Array ? got : await (got as Promise<unknown>);
  if (v instanceof Uint8Array) return v;
  if (v && (typeof (v as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function' || typeof (v as Iterable<Uint8Array>)[Symbol.iterator] === 'function')) {
    const parts: Uint8Array[] = [];
    for await (const p of v as AsyncIterable<Uint8Array>) parts.push(p);
    return Buffer.concat(parts);
  }
  throw new ModelPackageError(cid.toString(), 'the blockstore returned no bytes for a block', 'this is a bug: report it');
}

/** What ModelRegistry.setModelPackage takes for a model directory: binary CID and manifest sha256, 0x-hex. */
export async function packageRegistration(dir: string): Promise<{ cid: `0x${string}`; manifestHash: `0x${string}`; cidString: string }> {
  const { cid, model } = await packageCid(dir);
  return { cid: `0x${Buffer.from(cid.bytes).toString('hex')}`, manifestHash: `0x${model.manifestHashHex}`, cidString: cid.toString() };
}
