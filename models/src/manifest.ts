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

/**
 * How far a model's outputs can be trusted to agree across machines (docs/models.md, docs/determinism.md):
 * - `any-hardware`: every op between input and signed output is integer (int8 weights/activations, int32/int64
 *   accumulation, integer requantisation), or a tree ensemble whose comparisons and dyadic leaf sums are exact.
 *   Any CPU vendor or GPU gives the same bytes; a node must match every reference row exactly.
 * - `same-family`: a float graph. Nodes agree when they run the same onnxruntime build on the same CPU family;
 *   a different kernel (another vendor, a GPU, unpadded batches) can move an output by one unit on rare rows.
 */
export const EXACTNESS = ['any-hardware', 'same-family'] as const;
export type Exactness = (typeof EXACTNESS)[number];

/** Fewest rows a reference-vector file holds (the node self-check replays all of them). */
export const MIN_REFERENCE_ROWS = 4096;
/** Most rows a reference-vector file may declare (keeps a hostile manifest from sizing a huge read). */
export const MAX_REFERENCE_ROWS = 1 << 20;

/**
 * The model's reference vectors: canonical inputs and the canonical outputs its publisher computed, in a
 * gzip-compressed binary file beside the manifest (format: docs/models.md "Reference vectors",
 * reader/writer: reference.ts). `sha256` is over the decompressed bytes, so the manifest commits to them.
 */
const referenceSchema = z.strictObject({
  file: z.string().regex(/^[A-Za-z0-9._-]+\.bin\.gz$/, 'a file name inside the model directory ending in .bin.gz'),
  rows: z.number().int().min(MIN_REFERENCE_ROWS).max(MAX_REFERENCE_ROWS),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters'),
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
    /** Which hardware is guaranteed to reproduce the outputs bit for bit (EXACTNESS above). */
    exactness: z.enum(EXACTNESS, { message: `one of ${EXACTNESS.map((e) => `"${e}"`).join(', ')}: "any-hardware" only for integer-only graphs or exact tree ensembles` }),
    /** Number of learned weights: graph initializer elements, or a tree ensemble's thresholds plus leaf weights. */
    parameters: z.number({ message: 'the number of learned weights (a non-negative integer)' }).int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Reference vectors (every zoo model ships ≥ MIN_REFERENCE_ROWS of them). Optional for third-party models. */
    reference: referenceSchema.optional(),
    /**
     * Hardware family a same-family model is pinned to (`cpu:<x86-64 level>:<vendor>` or `cuda:<GPU model>`,
     * docs/determinism.md): nodes of another family do not serve it. Ignored for any-hardware models.
     */
    family: z.string().regex(/^(cpu|cuda):[\x20-\x7e]{1,126}$/, '"cpu:<isa>:<vendor>" or "cuda:<GPU model>"').optional(),
    metrics: z.record(z.string(), z.unknown()).default({}),
    training: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((m) => m.inputs.reduce((n, i) => n + i.shape[1], 0) <= MAX_INPUT_VALUES, { message: `at most ${MAX_INPUT_VALUES} input values in all`, path: ['inputs'] })
  .refine((m) => m.outputs.reduce((n, o) => n + o.columns.length, 0) <= MAX_OUTPUT_VALUES, { message: `at most ${MAX_OUTPUT_VALUES} signed outputs in all (report format)`, path: ['outputs'] })
  .refine((m) => m.outputs.every((o) => o.labels === undefined || o.labels.length === o.columns.length), { message: 'labels must name every signed column', path: ['outputs'] });

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestInput = ModelManifest['inputs'][number];
export type ManifestOutput = ModelManifest['outputs'][number];
export type ManifestReference = NonNullable<ModelManifest['reference']>;

/** Number of canonical input values (int64 each) a request carries. */
export function inputValueCount(m: ModelManifest): number {
  return m.inputs.reduce((n, i) => n + i.shape[1], 0);
}

/** Number k of canonical output values (the report's outputCount). */
export function outputValueCount(m: ModelManifest): number {
  return m.outputs.reduce((n, o) => n + o.columns.length, 0);
}
