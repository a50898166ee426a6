// A model package as bytes: manifest.json and the ONNX file it names, checked the same way a model
// directory is (schema, size, sha256), plus the hashes a registry entry states for it. Used by nodes for
// packages fetched over IPFS: nothing here trusts where the bytes came from.
import { createHash } from 'node:crypto';
import { ManifestError, ModelHashMismatchError, ModelPackageError } from './errors.ts';
import type { ModelManifest } from './manifest.ts';

/** Largest manifest.json accepted (the shipped ones are a few KiB). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface VerifiedModelBytes {
  manifest: ModelManifest;
  manifestBytes: Uint8Array;
  /** sha256 of manifest.json's bytes, hex (what ModelRegistry calls manifestHash). */
  manifestHashHex: string;
  bytes: Uint8Array;
  /** sha256 of the ONNX bytes, raw and hex (= manifest.sha256, the report's modelHash). */
  hash: Uint8Array;
  hashHex: string;
}

export interface PackageExpectations {
  /** sha256 of manifest.json as the registry states it (hex, with or without 0x). */
  manifestHash?: string;
  /** sha256 of the ONNX file as the registry states it (its modelHash). */
  modelHash?: string;
  maxModelBytes?: number;
  maxManifestBytes?: number;
}

const hex = (h: string): string => h.toLowerCase().replace(/^0x/, '');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Checks a package's bytes: manifest size, JSON and schema, ONNX size, ONNX sha256 against the manifest,
 * and both hashes against what the registry states. `where` names the package in errors (a CID or name).
 * `parse` is the manifest parser (index.ts's parseManifest; passed in to keep this module free of cycles).
 */
export function verifyModelBytes(
  where: string,
  manifestBytes: Uint8Array,
  bytes: Uint8Array,
  parse: (raw: unknown, where: string) => ModelManifest,
  expect: PackageExpectations = {},
): VerifiedModelBytes {
  const maxManifest = expect.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  if (manifestBytes.length > maxManifest) throw new ModelPackageError(where, `manifest.json is ${manifestBytes.length} bytes, above the ${maxManifest}-byte limit`, 'raise models.ipfs.maxManifestBytes only if the manifest is genuine');
  const manifestHashHex = sha256(manifestBytes);
  if (expect.manifestHash !== undefined && hex(expect.manifestHash) !== manifestHashHex) {
    throw new ModelPackageError(where, `manifest.json sha256 ${manifestHashHex} differs from the registry's manifestHash ${hex(expect.manifestHash)}`, 'the package or the registry entry is wrong; re-publish the package and register its CID and manifest hash together');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes));
  } catch (e) {
    throw new ManifestError(where, `manifest.json is not UTF-8 JSON (${(e as Error).message})`);
  }
  const manifest = parse(raw, where);
  const maxModel = expect.maxModelBytes;
  if (maxModel !== undefined && bytes.length > maxModel) throw new ModelPackageError(where, `ONNX file is ${bytes.length} bytes, above the ${maxModel}-byte limit`, 'raise models.ipfs.maxModelBytes if this model is meant to be served');
  const hashHex = sha256(bytes);
  if (hashHex !== manifest.sha256) throw new ModelHashMismatchError(manifest.name, manifest.sha256, hashHex);
  if (expect.modelHash !== undefined && hex(expect.modelHash) !== hashHex) {
    throw new ModelPackageError(where, `ONNX sha256 ${hashHex} differs from the registry's modelHash ${hex(expect.modelHash)}`, 'the registry entry names another model than this package holds');
  }
  return { manifest, manifestBytes, manifestHashHex, bytes, hash: Uint8Array.from(Buffer.from(hashHex, 'hex')), hashHex };
}
