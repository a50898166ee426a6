// The inference engine: one onnxruntime session per model (created once at load), canonical input
// decoding and validation, micro-batched execution, canonical int64 outputs.
import { createHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { loadModels, MODELS_DIR, type LoadedModel, type ModelManifest } from '@destra/models';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { MicroBatcher } from './batcher.ts';
import { allocInputs, canonicalizeRows, checkLength, decodeRows, encodeInput, outputValues, planFor, type InputArray, type ModelPlan, type OutputTensorLike } from './codec.ts';
import { ConfigError } from '../errors.ts';
import { EngineClosedError, InferenceInputError, InferenceOutputError, InferenceRuntimeError, UnknownModelError } from './errors.ts';
import { createSession, type Logger, type SessionSettings } from './session.ts';
import { checkSignature } from './signature.ts';
import { hardwareFamily, type HardwareFamily } from './hardware.ts';
import { loadReferenceVectors } from './reference.ts';
import { exactnessOf, familyAllows, runSelfCheck, type Exactness, type ModelsHealth, type ReferenceVectors, type SelfCheckResult } from './selfcheck.ts';

export const engineOptionsSchema = z.strictObject({
  /** Directory of model subdirectories (default: the shipped zoo in models/). */
  dir: z.string().min(1).optional(),
  /** Load only these model names (default: all). */
  models: z.array(z.string().min(1)).optional(),
  intraOpThreads: z.number().int().min(1).max(64).default(1),
  graphOptimization: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  executionProvider: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /** Micro-batching: most rows per batch, and the longest a request waits for company (0: until the end of the current event-loop turn, so requests submitted together share one run). */
  maxBatch: z.number().int().min(1).max(65536).default(256),
  batchWindowMs: z.number().min(0).max(1000).default(0),
  /** inferBatch splits larger inputs into runs of at most this many rows. */
  maxRowsPerRun: z.number().int().min(1).max(1 << 20).default(8192),
  /**
   * Every run is padded to a multiple of this many rows (copies of the last row, results dropped), so a
   * lone request takes the same GEMM kernel path as a full batch: MLAS treats a 1-row product as a GEMV
   * whose summation order differs (docs/determinism.md).
   */
  rowQuantum: z.number().int().min(1).max(4096).default(16),
  /**
   * Self-check before serving (selfcheck.ts): 'require' refuses a model without reference vectors too,
   * 'if-present' checks the models that ship them, 'off' skips it (tools that compare configurations).
   */
  selfCheck: z.enum(['require', 'if-present', 'off']).default('off'),
});
export type EngineOptions = z.input<typeof engineOptionsSchema> & { log?: Logger };
type Settings = z.output<typeof engineOptionsSchema>;

export interface InferenceOutput {
  model: string;
  /** Canonical fixed-point int64 outputs (the report's output values). */
  output: bigint[];
  /** The same values as 8·k big-endian bytes. */
  outputBytes: Uint8Array;
  /** sha256 of the ONNX file. */
  modelHash: Uint8Array;
  /** keccak256 of the canonical input bytes. */
  inputHash: Uint8Array;
}

export interface ModelInfo {
  name: string;
  version: string;
  task: string;
  domain: string;
  hash: string;
  provider: 'cpu' | 'cuda';
  inputValues: number;
  outputValues: number;
  inputScale: number[];
  outputScale: number[];
  metrics: Record<string, unknown>;
  exactness: Exactness;
  /** The hardware family this model runs on here (cpu:<isa>:<vendor> or cuda:<gpu>). */
  family: string;
}

/** Self-checks passed in this process (keys: model, family, settings and vectors hashed). */
const PASSED = new Set<string>();

/** Reference vectors for a loaded model (default: the manifest's reference file in its directory). */
export type VectorSource = (model: LoadedModel) => ReferenceVectors | undefined;

/** Overwrites rows `rows..padded-1` of `a` with copies of row `rows-1`. */
function fillPadding(a: InputArray, rows: number, padded: number, width: number): void {
  const last = (a as Float32Array).subarray((rows - 1) * width, rows * width);
  for (let r = rows; r < padded; r++) (a as Float32Array).set(last, r * width);
}

/** `rows` rows of `src` followed by copies of the last row up to `padded` rows. */
function padRows(src: InputArray, rows: number, padded: number, width: number): InputArray {
  const Ctor = src.constructor as new (n: number) => InputArray;
  const dst = new Ctor(padded * width);
  (dst as Float32Array).set((src as Float32Array).subarray(0, rows * width));
  fillPadding(dst, rows, padded, width);
  return dst;
}

class Model {
  private readonly rowQuantum: number;
  readonly plan: ModelPlan;
  readonly batcher: MicroBatcher<InputArray[], Uint8Array>;
  constructor(
    readonly loaded: LoadedModel,
    readonly session: ort.InferenceSession,
    readonly provider: 'cpu' | 'cuda',
    settings: Settings,
  ) {
    this.rowQuantum = settings.rowQuantum;
    this.plan = planFor(loaded.manifest);
    this.batcher = new MicroBatcher({ run: (rows) => this.runRows(rows) }, settings.maxBatch, settings.batchWindowMs);
  }

  get manifest(): ModelManifest {
    return this.loaded.manifest;
  }

  /** Runs `rows` rows already decoded into `inputs`; returns rows · k · 8 canonical bytes. */
  async runDecoded(inputs: InputArray[], rows: number, out: Uint8Array, dstRow: number): Promise<void> {
    const feeds: Record<string, ort.Tensor> = {};
    const q = this.rowQuantum;
    const padded = Math.ceil(rows / q) * q;
    this.plan.inputs.forEach((p, i) => {
      let data = inputs[i]!;
      if (data.length < padded * p.count) data = padRows(data, rows, padded, p.count);
      else {
        if (data.length > padded * p.count) data = data.subarray(0, padded * p.count);
        fillPadding(data, rows, padded, p.count);
      }
      feeds[p.name] = new ort.Tensor(p.dtype, data, [padded, p.count]);
    });
    let results: Record<string, OutputTensorLike>;
    try {
      results = await this.session.run(feeds, this.plan.outputs.map((o) => o.name));
    } catch (e) {
      throw new InferenceRuntimeError(this.plan.model, `onnxruntime run failed: ${(e as Error).message}`);
    }
    canonicalizeRows(this.plan, results, rows, out, dstRow, padded);
  }

  private async runRows(rows: InputArray[][]): Promise<Uint8Array[]> {
    const n = rows.length;
    const batch = allocInputs(this.plan, Math.ceil(n / this.rowQuantum) * this.rowQuantum);
    this.plan.inputs.forEach((p, i) => {
      const dst = batch[i]!;
      for (let r = 0; r < n; r++) (dst as Float32Array).set(rows[r]![i] as Float32Array, r * p.count);
    });
    const rowBytes = this.plan.k * 8;
    const out = new Uint8Array(n * rowBytes);
    await this.runDecoded(batch, n, out, 0);
    return rows.map((_, r) => out.subarray(r * rowBytes, (r + 1) * rowBytes));
  }
}

export class InferenceEngine {
  private closed = false;
  private readonly byKey = new Map<string, Model>();
  /** Self-check outcomes of this engine's load, refused models included (they are not served). */
  readonly selfChecks: SelfCheckResult[] = [];

  private constructor(
    private list: Model[],
    readonly settings: Readonly<Settings>,
  ) {
    for (const m of list) {
      this.byKey.set(m.manifest.name, m);
      this.byKey.set(m.loaded.hashHex, m);
    }
  }

  /** Loads and verifies every model under `dir` and creates its session once. */
  static async load(dir?: string, opts: EngineOptions = {}): Promise<InferenceEngine> {
    const { log, ...rest } = opts;
    const parsed = engineOptionsSchema.safeParse({ ...rest, ...(dir ? { dir } : {}) });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(issue.message, `models.${issue.path.join('.')}`);
    }
    const settings = parsed.data;
    return InferenceEngine.fromLoaded(loadModels(settings.dir ?? MODELS_DIR, settings.models), settings, log);
  }

  /** An engine over models already loaded and verified by the caller (e.g. packages fetched by CID). */
  static async fromLoaded(loaded: readonly LoadedModel[], opts: Omit<EngineOptions, 'dir' | 'models' | 'log'> = {}, log?: Logger, vectors: VectorSource = loadReferenceVectors): Promise<InferenceEngine> {
    const parsed = engineOptionsSchema.safeParse(opts);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(issue.message, `models.${issue.path.join('.')}`);
    }
    const settings = parsed.data;
    const session: SessionSettings = { intraOpThreads: settings.intraOpThreads, graphOptimization: settings.graphOptimization, executionProvider: settings.executionProvider };
    const models: Model[] = [];
    for (const l of loaded) {
      // 'auto' keeps float (same-family) models on CPU: onnxruntime-node passes only deviceId to CUDA, so
      // TF32 matmuls and cuDNN's per-process algorithm search stay on there (docs/determinism.md, GPU).
      const sessionFor = settings.executionProvider === 'auto' && l.manifest.exactness === 'same-family' ? { ...session, executionProvider: 'cpu' as const } : session;
      const { session: s, provider } = await createSession(l.manifest.name, l.bytes, sessionFor, log);
      try {
        checkSignature(l.manifest, s.inputMetadata, s.outputMetadata);
      } catch (e) {
        await Promise.all([s, ...models.map((m) => m.session)].map((x) => x.release()));
        throw e;
      }
      models.push(new Model(l, s, provider, settings));
    }
    const engine = new InferenceEngine(models, settings);
    if (settings.selfCheck !== 'off') await engine.selfCheckAll(vectors, settings.selfCheck === 'require', log);
    log?.info({ models: engine.list.map((m) => m.manifest.name), intraOpThreads: settings.intraOpThreads, graphOptimization: settings.graphOptimization, providers: [...new Set(models.map((m) => m.provider))] }, 'inference engine ready');
    return engine;
  }

  /**
   * Recomputes every model's reference vectors through the serving paths; a model that differs by one
   * bit, lacks vectors (when required) or is pinned to another hardware family stops being served.
   */
  private async selfCheckAll(vectors: VectorSource, require: boolean, log?: Logger): Promise<void> {
    for (const m of [...this.list]) {
      const name = m.manifest.name;
      const family = hardwareFamily(m.provider);
      const base = { model: name, exactness: exactnessOf(m.manifest), family: family.id, rows: 0 };
      let r: SelfCheckResult;
      const allowed = familyAllows(m.manifest, family);
      if (!allowed.ok) r = { ...base, ok: false, reason: allowed.reason };
      else {
        let v: ReferenceVectors | undefined;
        try {
          v = vectors(m.loaded);
        } catch (e) {
          r = { ...base, ok: false, reason: (e as Error).message };
        }
        if (v) {
          // A pass is a fixed function of these inputs: nodes sharing a process (tests, devnet) check once.
          const key = createHash('sha256').update(`${m.loaded.hashHex}|${family.id}|${m.provider}|${this.settings.rowQuantum}|${this.settings.graphOptimization}|`).update(v.input).update(v.output).digest('hex');
          r = PASSED.has(key) ? { ...base, rows: v.rows, ok: true } : await runSelfCheck(this, name, m.manifest, family, v);
          if (r.ok) PASSED.add(key);
        }
        else r ??= require ? { ...base, ok: false, reason: 'no reference vectors: the node cannot show it computes the publisher\'s bits' } : { ...base, ok: true, reason: 'no reference vectors (not checked)' };
      }
      this.selfChecks.push(r);
      if (r.ok) {
        log?.info({ model: name, rows: r.rows, family: r.family, exactness: r.exactness }, 'model self-check passed');
        continue;
      }
      log?.warn({ model: name, family: r.family, exactness: r.exactness, ...(r.mismatch ?? {}), reason: r.reason }, `model ${name} refused: self-check failed (${r.reason}); it is not served`);
      await this.remove(m);
    }
  }

  private async remove(m: Model): Promise<void> {
    this.list = this.list.filter((x) => x !== m);
    for (const [k, v] of [...this.byKey]) if (v === m) this.byKey.delete(k);
    await m.batcher.idle();
    await m.session.release();
  }

  models(): ModelInfo[] {
    return this.list.map((m) => ({
      name: m.manifest.name,
      version: m.manifest.version,
      task: m.manifest.task,
      domain: m.manifest.domain,
      hash: m.loaded.hashHex,
      provider: m.provider,
      inputValues: m.plan.valueCount,
      outputValues: m.plan.k,
      inputScale: m.manifest.inputs.map((i) => i.scale),
      outputScale: m.manifest.outputs.map((o) => o.scale),
      metrics: m.manifest.metrics,
      exactness: exactnessOf(m.manifest),
      family: hardwareFamily(m.provider).id,
    }));
  }

  manifest(model: string): ModelManifest {
    return this.get(model).manifest;
  }

  /** The verified model (manifest, ONNX bytes, directory) serving `model`. */
  loadedModel(model: string): LoadedModel {
    return this.get(model).loaded;
  }

  /** /health detail: this node's family, served models, and the models the self-check refused. */
  health(): ModelsHealth {
    const refused = this.selfChecks.filter((r) => !r.ok).map((r) => ({ model: r.model, exactness: r.exactness, family: r.family, reason: r.reason ?? '' }));
    return { family: hardwareFamily('cpu').id, served: this.models().map((m) => ({ model: m.name, exactness: m.exactness, family: m.family })), refused };
  }

  plan(model: string): ModelPlan {
    return this.get(model).plan;
  }

  /** Canonical input bytes for plain values (manifest order); the client-side encoder. */
  encodeInput(model: string, values: readonly number[]): Uint8Array {
    return encodeInput(this.get(model).plan, values);
  }

  /** Throws UnknownModelError / InferenceInputError unless `input` is one valid canonical row for `model`. */
  validate(model: string, input: Uint8Array): void {
    const m = this.get(model);
    checkLength(m.plan, input, 1);
    decodeRows(m.plan, input, 0, 1, allocInputs(m.plan, 1), 0);
  }

  /** sha256 of the ONNX file serving `model` (a name or a sha256); throws UnknownModelError. */
  modelHash(model: string): Uint8Array {
    return this.get(model).loaded.hash;
  }

  /** One request: validated, micro-batched with concurrent requests for the same model, canonicalised. */
  async infer(model: string, input: Uint8Array): Promise<InferenceOutput> {
    const m = this.get(model);
    checkLength(m.plan, input, 1);
    const row = allocInputs(m.plan, 1);
    decodeRows(m.plan, input, 0, 1, row, 0);
    const inputHash = keccak_256(input);
    let outputBytes: Uint8Array;
    try {
      outputBytes = await m.batcher.submit(row);
    } catch (e) {
      // A non-representable output fails its whole micro-batch. The committee signs this row's verdict
      // (an OUTPUT_INVALID failure report), so it must not depend on its batch mates: run it alone.
      if (!(e instanceof InferenceOutputError && e.problem === 'value')) throw e;
      outputBytes = new Uint8Array(m.plan.k * 8);
      await m.runDecoded(row, 1, outputBytes, 0);
    }
    return { model: m.manifest.name, output: outputValues(outputBytes), outputBytes, modelHash: m.loaded.hash, inputHash };
  }

  /**
   * Many rows at once (bench, `models check`, batch feeds): `input` holds rows back to back; returns the
   * canonical outputs back to back (rows · k · 8 bytes). Runs in chunks of `chunkRows` (default
   * maxRowsPerRun) without the micro-batcher.
   */
  async inferBatch(model: string, input: Uint8Array, chunkRows?: number): Promise<Uint8Array> {
    const m = this.get(model);
    const rowBytes = m.plan.valueCount * 8;
    if (input.length === 0 || input.length % rowBytes !== 0) {
      throw new InferenceInputError(m.plan.model, `batch input must be a non-zero multiple of ${rowBytes} bytes (${m.plan.valueCount} int64 values per row), got ${input.length}`, undefined, 'length');
    }
    const rows = input.length / rowBytes;
    const chunk = Math.min(chunkRows ?? this.settings.maxRowsPerRun, this.settings.maxRowsPerRun);
    const out = new Uint8Array(rows * m.plan.k * 8);
    for (let r = 0; r < rows; r += chunk) {
      const n = Math.min(chunk, rows - r);
      const tensors = allocInputs(m.plan, Math.ceil(n / this.settings.rowQuantum) * this.settings.rowQuantum);
      decodeRows(m.plan, input, r * rowBytes, n, tensors, 0);
      await m.runDecoded(tensors, n, out, r);
    }
    return out;
  }

  /** Waits until every queued request has been answered. */
  async idle(): Promise<void> {
    await Promise.all(this.list.map((m) => m.batcher.idle()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle();
    await Promise.all(this.list.map((m) => m.session.release()));
  }

  private get(model: string): Model {
    if (this.closed) throw new EngineClosedError();
    const key = model.startsWith('0x') ? model.slice(2).toLowerCase() : model;
    const m = this.byKey.get(key) ?? this.byKey.get(key.toLowerCase());
    if (!m) throw new UnknownModelError(model, this.list.map((x) => x.manifest.name));
    return m;
  }
}

/** Factory used by the node (`config.models` is passed through as options). */
export async function createInferenceEngine(opts: unknown = {}, log?: Logger): Promise<InferenceEngine> {
  const o = (opts ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw new ConfigError('must be an object of inference engine options', 'models');
  // A node checks every model against its reference vectors before serving it (docs/determinism.md).
  return InferenceEngine.load(undefined, { selfCheck: 'require', ...(o as EngineOptions), ...(log ? { log } : {}) });
}
