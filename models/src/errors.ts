// Typed errors of the model registry: `code` is stable for programs, the message says what to do.
import { DestraError } from '@destra/protocol';

/** A manifest is missing, not JSON, or fails the schema; `field` names the offending path. */
export class ManifestError extends DestraError {
  readonly model: string;
  readonly field: string | undefined;
  constructor(model: string, message: string, field?: string) {
    super('MODEL_MANIFEST', `model '${model}': ${field ? `manifest field '${field}': ` : ''}${message}`);
    this.name = 'ManifestError';
    this.model = model;
    this.field = field;
  }
}

/** The ONNX file's sha256 differs from the manifest's: the file was changed or the manifest is stale. */
export class ModelHashMismatchError extends DestraError {
  readonly model: string;
  readonly expected: string;
  readonly actual: string;
  constructor(model: string, expected: string, actual: string) {
    super(
      'MODEL_HASH_MISMATCH',
      `model '${model}': ONNX file sha256 ${actual} does not match manifest sha256 ${expected}; refusing to load it. ` +
        'Restore the original file, or if the change is intended update "sha256" in its manifest.json',
    );
    this.name = 'ModelHashMismatchError';
    this.model = model;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The models directory is unusable (missing, empty, duplicate names or hashes). */
export class ModelRegistryError extends DestraError {
  constructor(message: string) {
    super('MODEL_REGISTRY', message);
    this.name = 'ModelRegistryError';
  }
}

/** A model package (manifest.json + ONNX file, e.g. fetched by CID) that fails a check; says what to do. */
export class ModelPackageError extends DestraError {
  readonly where: string;
  constructor(where: string, problem: string, remedy: string) {
    super('MODEL_PACKAGE', `model package ${where}: ${problem}; ${remedy}`);
    this.name = 'ModelPackageError';
    this.where = where;
  }
}

/** A reference-vector file that is missing, malformed, or disagrees with its manifest (models/src/reference.ts). */
export class ReferenceVectorError extends DestraError {
  readonly source: string;
  constructor(source: string, problem: string, remedy: string) {
    super('MODEL_REFERENCE', `reference vectors ${source}: ${problem}; ${remedy}`);
    this.name = 'ReferenceVectorError';
    this.source = source;
  }
}
