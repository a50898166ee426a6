// The model registry: every `<dir>/<name>/manifest.json` next to its ONNX file. Loading verifies each
// manifest against the schema and each file against its sha256, so a node never runs bytes it did not
// mean to (the sha256 is the modelHash that signed reports carry).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManifestError, ModelHashMismatchError, ModelRegistryError } from './errors.ts';
import { anyHardwareViolations } from './exactness.ts';
import { manifestSchema, type ModelManifest } from './manifest.ts';
import { verifyModelBytes, type PackageExpectations } from './package.ts';

export * from './errors.ts';
export * from './manifest.ts';
export * from './reference.ts';
export { anyHardwareViolations, exactTreeViolations, integerOnlyViolations } from './exactness.ts';
export { MAX_MANIFEST_BYTES, type PackageExpectations, type VerifiedModelBytes } from './package.ts';

/** The shipped zoo (this package's directory). */
export const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Largest ONNX file the registry accepts (the shipped ones are KBs). */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024;

export interface LoadedModel {
  manifest: ModelManifest;
  /** The verified ONNX bytes. */
  bytes: Uint8Array;
  /** sha256 of the bytes (= manifest.sha256), raw. */
  hash: Uint8Array;
  hashHex: string;
  dir: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Parses and validates a manifest object; throws ManifestError naming the first bad field. */
export function parseManifest(raw: unknown, where: string): ModelManifest {
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ManifestError(where, issue.message, issue.path.join('.') || undefined);
  }
  return r.data;
}

/** Refuses an `exactness: "any-hardware"` claim the graph does not back (exactness.ts). */
export function checkExactnessClaim(manifest: ModelManifest, bytes: Uint8Array, where: string = manifest.name): void {
  if (manifest.exactness !== 'any-hardware') return;
  const why = anyHardwareViolations(bytes);
  if (why.length) throw new ManifestError(where, `"any-hardware" needs an integer-only graph or an exact tree ensemble, but ${why[0]}${why.length > 1 ? ` (and ${why.length - 1} more)` : ''}; declare "same-family" or quantise the model`, 'exactness');
}

/** Reads one model directory: manifest, schema, then the ONNX bytes checked against the manifest hash. */
export function loadModel(dir: string): LoadedModel {
  const where = dir.split(/[\\/]/).pop() ?? dir;
  const path = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ManifestError(where, `cannot read ${path} as JSON (${(e as Error).message}); every model directory needs a manifest.json`);
  }
  const manifest = parseManifest(raw, where);
  if (manifest.name !== where) throw new ManifestError(where, `name '${manifest.name}' must equal the directory name '${where}'`, 'name');
  const file = join(dir, manifest.file);
  if (!existsSync(file)) throw new ManifestError(where, `ONNX file ${file} does not exist`, 'file');
  const size = statSync(file).size;
  if (size > MAX_MODEL_BYTES) throw new ManifestError(where, `ONNX file is ${size} bytes, above the ${MAX_MODEL_BYTES}-byte limit`, 'file');
  const bytes = new Uint8Array(readFileSync(file));
  const actual = sha256Hex(bytes);
  if (actual !== manifest.sha256) throw new ModelHashMismatchError(manifest.name, manifest.sha256, actual);
  checkExactnessClaim(manifest, bytes, where);
  return { manifest, bytes, hash: Uint8Array.from(Buffer.from(actual, 'hex')), hashHex: actual, dir };
}

/** Every model under `dir` (subdirectories holding a manifest.json), sorted by name. */
export function loadModels(dir: string = MODELS_DIR, only?: readonly string[]): LoadedModel[] {
  if (!existsSync(dir)) throw new ModelRegistryError(`models directory ${dir} does not exist; point the node's models.dir at the model zoo`);
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'manifest.json')))
    .map((d) => d.name)
    .sort();
  if (only) {
    const missing = only.filter((n) => !names.includes(n));
    if (missing.length) throw new ModelRegistryError(`model(s) ${missing.join(', ')} not found in ${dir}; available: ${names.join(', ')}`);
  }
  const models = names.filter((n) => !only || only.includes(n)).map((n) => loadModel(join(dir, n)));
  if (models.length === 0) throw new ModelRegistryError(`no model directories with a manifest.json under ${dir}`);
  const seen = new Map<string, string>();
  for (const m of models) {
    const other = seen.get(m.hashHex);
    if (other) throw new ModelRegistryError(`models '${other}' and '${m.manifest.name}' have the same ONNX hash ${m.hashHex}; a hash must identify one model`);
    seen.set(m.hashHex, m.manifest.name);
  }
  return models;
}

/**
 * A model from package bytes (manifest.json + ONNX file, e.g. fetched by CID): every check loadModel makes,
 * plus the registry's manifest and model hashes when given. `dir` is where the caller keeps the package.
 */
export function loadModelFromBytes(where: string, manifestBytes: Uint8Array, bytes: Uint8Array, expect: PackageExpectations = {}, dir = ''): LoadedModel & { manifestHashHex: string } {
  const v = verifyModelBytes(where, manifestBytes, bytes, parseManifest, { maxModelBytes: MAX_MODEL_BYTES, ...expect });
  checkExactnessClaim(v.manifest, v.bytes, where);
  return { manifest: v.manifest, bytes: v.bytes, hash: v.hash, hashHex: v.hashHex, dir, manifestHashHex: v.manifestHashHex };
}
