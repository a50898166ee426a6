// Self-check before serving: a node recomputes a model's reference vectors (canonical inputs and the
// canonical outputs its publisher computed) through the very paths it serves with — the micro-batched
// single-request path and the batch path — and refuses the model when one byte differs
// (docs/determinism.md, "Self-check"). The result names the first differing row and both byte strings so
// an operator can see what their hardware computed.
import type { Exactness, ModelManifest } from '@destra/models';
import type { ModelPlan } from './codec.ts';
import type { HardwareFamily } from './hardware.ts';

/** Canonical rows back to back: `rows · valueCount · 8` input bytes, `rows · k · 8` output bytes. */
export interface ReferenceVectors {
  rows: number;
  input: Uint8Array;
  output: Uint8Array;
  /** Where they came from (a file path or package name), for log lines. */
  source: string;
}


export type { Exactness };

export interface SelfCheckResult {
  model: string;
  exactness: Exactness;
  /** The family this node computed on (`hardware.ts`). */
  family: string;
  rows: number;
  ok: boolean;
  /** Why the model is refused (absent when ok). */
  reason?: string;
  /** First row whose canonical output differs, with the expected and computed bytes (hex). */
  mismatch?: { row: number; path: 'single' | 'batch'; expected: string; actual: string };
}

/** The engine paths a self-check drives (InferenceEngine implements it). */
export interface CheckTarget {
  plan(model: string): ModelPlan;
  infer(model: string, input: Uint8Array): Promise<{ outputBytes: Uint8Array }>;
  inferBatch(model: string, input: Uint8Array, chunkRows?: number): Promise<Uint8Array>;
}

/** A manifest's declared exactness (@destra/models validates it). */
export function exactnessOf(m: ModelManifest): Exactness {
  return m.exactness;
}

/** The hardware family a same-family model is pinned to by its manifest, if any. */
export function pinnedFamily(m: ModelManifest): string | undefined {
  return m.family;
}

/**
 * Pure: whether this node may serve `m` at all on `family`. A same-family model whose manifest pins a
 * family is served only by nodes of exactly that family: nodes of another family abstain, so a committee
 * signs it only when at least t members share the family and never splits into two signed outputs.
 * An unpinned same-family model is admitted here and left to the self-check (its reference rows act as
 * the family fingerprint).
 */
export function familyAllows(m: ModelManifest, family: HardwareFamily): { ok: true } | { ok: false; reason: string } {
  if (exactnessOf(m) === 'any-hardware') return { ok: true };
  const pin = pinnedFamily(m);
  if (pin === undefined || pin === family.id) return { ok: true };
  return { ok: false, reason: `same-family model pinned to hardware family '${pin}'; this node is '${family.id}' (it abstains rather than risk signing different bits)` };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function firstDiff(expected: Uint8Array, actual: Uint8Array, rowBytes: number): number {
  for (let p = 0; p < expected.length; p++) if (expected[p] !== actual[p]) return Math.floor(p / rowBytes);
  return -1;
}

/** Checks the vectors' shape against the plan; returns a reason or undefined. */
export function vectorShapeProblem(plan: ModelPlan, v: ReferenceVectors): string | undefined {
  if (v.rows < 1) return `${v.source} holds no rows`;
  if (v.input.length !== v.rows * plan.valueCount * 8) return `${v.source}: ${v.rows} rows need ${v.rows * plan.valueCount * 8} input bytes (${plan.valueCount} values per row), found ${v.input.length}`;
  if (v.output.length !== v.rows * plan.k * 8) return `${v.source}: ${v.rows} rows need ${v.rows * plan.k * 8} output bytes (${plan.k} values per row), found ${v.output.length}`;
  return undefined;
}

/** Rows also replayed as single requests (spread over the file); all rows go through the batch path. */
export const SINGLE_PATH_ROWS = 256;

/**
 * Runs the reference rows through `target`: every row through the batch path, and SINGLE_PATH_ROWS of them
 * (every ⌈rows/256⌉-th) as their own requests, micro-batched the way concurrent requests are — by the padding
 * rule both run the same kernels, and the batch pass is what a large model can afford at start — then
 * compares every output byte.
 */
export async function runSelfCheck(target: CheckTarget, model: string, manifest: ModelManifest, family: HardwareFamily, v: ReferenceVectors): Promise<SelfCheckResult> {
  const base = { model, exactness: exactnessOf(manifest), family: family.id, rows: v.rows };
  const plan = target.plan(model);
  const shape = vectorShapeProblem(plan, v);
  if (shape) return { ...base, ok: false, reason: `reference vectors unusable: ${shape}` };
  const inBytes = plan.valueCount * 8;
  const outBytes = plan.k * 8;
  let single: Uint8Array;
  let batch: Uint8Array;
  try {
    batch = await target.inferBatch(model, v.input);
    // rows not replayed singly keep the expected bytes, so only replayed rows can differ on this path
    single = new Uint8Array(v.output);
    const stride = Math.max(1, Math.ceil(v.rows / SINGLE_PATH_ROWS));
    const picked = Array.from({ length: Math.ceil(v.rows / stride) }, (_, i) => i * stride);
    const outs = await Promise.all(picked.map((r) => target.infer(model, v.input.subarray(r * inBytes, (r + 1) * inBytes))));
    outs.forEach((o, i) => single.set(o.outputBytes, picked[i]! * outBytes));
  } catch (e) {
    return { ...base, ok: false, reason: `reference inputs did not run: ${(e as Error).message}` };
  }
  for (const [path, actual] of [['batch', batch], ['single', single]] as const) {
    const row = firstDiff(v.output, actual, outBytes);
    if (row < 0) continue;
    const expected = hex(v.output.subarray(row * outBytes, (row + 1) * outBytes));
    const got = hex(actual.subarray(row * outBytes, (row + 1) * outBytes));
    return { ...base, ok: false, reason: `output of reference row ${row} (${path} path) differs: expected 0x${expected}, computed 0x${got}`, mismatch: { row, path, expected, actual: got } };
  }
  return { ...base, ok: true };
}

/** The /health detail on models: this node's family, what it serves and what it refused and why. */
export interface ModelsHealth {
  /** This node's CPU family (a model served on CUDA shows its own family in `served`). */
  family: string;
  served: { model: string; exactness: Exactness; family: string }[];
  refused: { model: string; exactness: Exactness; family: string; reason: string }[];
}
