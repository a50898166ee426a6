// Where a model's reference vectors come from for the self-check: the file its manifest names
// (`reference`, format and checks in @destra/models' reference.ts), read from the model's directory or
// decoded from the bytes a package carried.
import { decodeReferenceFile, readReferenceVectors, type LoadedModel } from '@destra/models';
import { join } from 'node:path';
import type { ReferenceVectors } from './selfcheck.ts';

/** The reference vectors beside a model on disk; undefined when its manifest declares none. */
export function loadReferenceVectors(model: LoadedModel): ReferenceVectors | undefined {
  if (!model.dir || !model.manifest.reference) return undefined;
  const v = readReferenceVectors(model.dir, model.manifest);
  return v && { rows: v.rows, input: v.input, output: v.output, source: join(model.dir, model.manifest.reference.file) };
}

/** The reference vectors from a reference file's bytes (e.g. fetched in a package), checked against the manifest. */
export function referenceFromBytes(model: LoadedModel, file: Uint8Array, source: string): ReferenceVectors {
  const v = decodeReferenceFile(file, model.manifest, source);
  return { rows: v.rows, input: v.input, output: v.output, source };
}
