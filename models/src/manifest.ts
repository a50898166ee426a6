// The model manifest: what a node needs to know about an ONNX file to feed it canonical inputs and to
// turn its outputs into the canonical int64 values a report carries (docs/models.md, docs/report-format.md).
import { z } from 'zod';

/** Tensor element types the engine can feed and read. Integer inputs receive the canonical integer itself. */
export const INPUT_DTYPES = ['float32', 'int8', 'uint8', 'int32', 'int64'] as const;
export const OUTPUT_DTYPES = ['float32', 'float64', 'int8', 'uint8', 'int32', 'int64'] as const;
export type InputDtype = (typeof INPUT_DTYPES)[number];
export type OutputDtype = (typeof OUTPUT_DTYPES)[number];

/** Largest number of input values in one request (keeps a request well under 64 KiB of canonical bytes). */
export const MAX_INPUT_VALUES = 4096;
/** Largest number of signed outputs (report format: 1 ≤ k ≤ 64). */
export const MAX_OUTPUT_VALUES = 64;

const featureSchema = z.strictObject({
  name: z.string().min(1).max(128),
  min: z.number().finite(),
  max: z.number().finite(),
});

const inputSchema = z
  .strictObject({
    name: z.string().min(1).max(128),
    dtype: z.enum(INPUT_DTYPES),
    /** [-1, F]: a batch dimension then the feature count. */
    shape: z.tuple([z.literal(-1), z.number().int().min(1).max(MAX_INPUT_VALUES)]),
    /** Canonical input integer = round(value · scale). A positive integer so that value/scale is well defined. */
    scale: z.number().int().min(1).max(1e15),
    features: z.array(featureSchema).min(1).max(MAX_INPUT_VALUES),
  })
  .refine((i) => i.features.length === i.shape[1], { message: 'features must list exactly shape[1] entries', path: ['features'] })
  .refine((i) => i.features.every((f) => f.min <= f.max), { message: 'every feature needs min <= max', path: ['features'] });

const outputSchema = z.strictObject({
  name: z.string().min(1).max(128),
  dtype: z.enum(OUTPUT_DTYPES),
  /** Columns of the [N, C] (or [N]) output tensor that are signed, in order. */
  columns: z.array(z.number().int().min(0).max(65535)).min(1).max(MAX_OUTPUT_VALUES),
  /** Float outputs: canonical = roundHalfEven(value · scale). Integer outputs: canonical = value; scale documents its unit. */
  scale: z.number().positive().finite(),
  labels: z.array(z.string().min(1).max(128)).optional(),
});

export const manifestSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" or "-", at most 64 characters'),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'semantic version like 1.0.0'),
    task: z.enum(['regression', 'binary-classification', 'multiclass-classification', 'scoring']),
    domain: z.string().min(1).max(64),
    description: z.string().max(2000).default(''),
    file: z.string().regex(/^[A-Za-z0-9._-]+\.onnx$/, 'a file name inside the model directory ending in .onnx'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters'),
    inputs: z.array(inputSchema).min(1).max(16),
    outputs: z.array(outputSchema).min(1).max(MAX_OUTPUT_VALUES),
    metrics: z.record(z.string(), z.unknown()).default({}),
    training: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((m) => m.inputs.reduce((n, i) => n + i.shape[1], 0) <= MAX_INPUT_VALUES, { message: `at most ${MAX_INPUT_VALUES} input values in all`, path: ['inputs'] })
  .refine((m) => m.outputs.reduce((n, o) => n + o.columns.length, 0) <= MAX_OUTPUT_VALUES, { message: `at most ${MAX_OUTPUT_VALUES} signed outputs in all (report format)`, path: ['outputs'] })
  .refine((m) => m.outputs.every((o) => o.labels === undefined || o.labels.length === o.columns.length), { message: 'labels must name every signed column', path: ['outputs'] });

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestInput = ModelManifest['inputs'][number];
export type ManifestOutput = ModelManifest['outputs'][number];

/** Number of canonical input values (int64 each) a request carries. */
export function inputValueCount(m: ModelManifest): number {
  return m.inputs.reduce((n, i) => n + i.shape[1], 0);
}

/** Number k of canonical output values (the report's outputCount). */
export function outputValueCount(m: ModelManifest): number {
  return m.outputs.reduce((n, o) => n + o.columns.length, 0);
}
