// Cross-configuration agreement: run every model on the same canonical inputs under each execution
// configuration (intra-op threads, batch size, graph optimisation, CPU/CUDA) and compare the canonical
// output bytes with a reference configuration. Used by `destra models check` and the tests.
import { InferenceEngine, type EngineOptions } from './engine.ts';
import { roundHalfEven, writeInt64, readInt64, type ModelPlan } from './codec.ts';
import { gpuPresent, type GraphOptimization } from './session.ts';
import { loadReferenceVectors } from './reference.ts';
import type { Exactness } from './selfcheck.ts';

export interface CheckConfig {
  threads: number;
  batch: number;
  optimization: GraphOptimization;
  provider: 'cpu' | 'cuda';
}

export function configLabel(c: CheckConfig): string {
  return `${c.provider} t${c.threads} b${c.batch} opt:${c.optimization === 'disabled' ? 'off' : c.optimization}`;
}

/**
 * The default matrix: threads 1/2 × batch 1/64/8192 × optimisation off/all, per backend (CPU, and CUDA
 * when a GPU exists; `providers` chooses them explicitly).
 */
export function checkConfigs(opts: { threads?: number[]; batches?: number[]; optimizations?: GraphOptimization[]; cuda?: boolean; providers?: ('cpu' | 'cuda')[] } = {}): CheckConfig[] {
  const providers: ('cpu' | 'cuda')[] = opts.providers ?? ((opts.cuda ?? gpuPresent()) ? ['cpu', 'cuda'] : ['cpu']);
  const out: CheckConfig[] = [];
  for (const provider of providers)
    for (const optimization of opts.optimizations ?? (['disabled', 'all'] as GraphOptimization[]))
      for (const threads of opts.threads ?? [1, 2])
        for (const batch of opts.batches ?? [1, 64, 8192]) out.push({ threads, batch, optimization, provider });
  return out;
}

/** Deterministic pseudo-random generator (splitmix64 over BigInt state, 53-bit outputs). */
function rng(seed: number): () => number {
  let s = BigInt(seed) & 0xffffffffffffffffn;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    z ^= z >> 31n;
    return Number(z >> 11n) / 2 ** 53;
  };
}

/**
 * `rows` rows of canonical input covering each feature's manifest range: the first two rows are all-min
 * and all-max, the rest uniform (a quarter of features drawn near zero, where the float models are most
 * sensitive to rounding).
 */
export function sampleInputs(plan: ModelPlan, rows: number, seed = 1): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(rows * plan.valueCount * 8);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (let r = 0; r < rows; r++) {
    for (const inp of plan.inputs) {
      for (let j = 0; j < inp.count; j++, p += 8) {
        const lo = inp.lo[j]!;
        const hi = inp.hi[j]!;
        let n: number;
        if (r === 0) n = lo;
        else if (r === 1) n = hi;
        else if (next() < 0.25 && lo <= 0 && hi >= 0) n = roundHalfEven((next() - 0.5) * Math.min(hi - lo, 4 * inp.scale));
        else n = Math.min(hi, Math.max(lo, roundHalfEven(lo + next() * (hi - lo))));
        writeInt64(dv, p, Math.min(hi, Math.max(lo, n)));
      }
    }
  }
  return out;
}

export interface ModelAgreement {
  model: string;
  rows: number;
  /** Per config (same order as `configs`): rows whose canonical bytes equal the reference's. */
  identical: number[];
  /** Per config: largest absolute difference of any canonical value from the reference (0 = identical). */
  maxDiff: number[];
  /** Per config: seconds the batch run took (rows / seconds = throughput of that configuration). */
  seconds: number[];
  exactness: Exactness;
  parameters: number;
  /**
   * The model's reference vectors replayed under the first configuration: rows that equal the
   * publisher's bytes, of `rows` (undefined when the manifest ships none).
   */
  reference?: { rows: number; identical: number };
}

export interface AgreementResult {
  configs: CheckConfig[];
  models: ModelAgreement[];
  /** True when every row of every model is bit-identical under every configuration. */
  allAgree: boolean;
  /** Configurations that did not run as labelled (CUDA requested, CPU used because the EP is missing). */
  notes: string[];
  /** Labels of the CUDA configurations that ran on CPU: their agreement says nothing about CUDA. */
  fellBack: string[];
}

export async function checkAgreement(opts: {
  dir?: string;
  models?: string[];
  configs?: CheckConfig[];
  rows?: number;
  seed?: number;
  engineOptions?: Omit<EngineOptions, 'intraOpThreads' | 'graphOptimization' | 'executionProvider' | 'dir'>;
}): Promise<AgreementResult> {
  const configs = opts.configs ?? checkConfigs();
  const rows = opts.rows ?? 8192;
  const engines = new Map<string, InferenceEngine>();
  const engineFor = async (c: CheckConfig): Promise<InferenceEngine> => {
    const key = `${c.provider}/${c.threads}/${c.optimization}`;
    let e = engines.get(key);
    if (!e) {
      e = await InferenceEngine.load(opts.dir, {
        ...opts.engineOptions,
        ...(opts.models ? { models: opts.models } : {}),
        intraOpThreads: c.threads,
        graphOptimization: c.optimization,
        executionProvider: c.provider,
        maxRowsPerRun: Math.max(8192, ...configs.map((x) => x.batch)),
      });
      engines.set(key, e);
    }
    return e;
  };
  try {
    const first = await engineFor(configs[0]!);
    const models: ModelAgreement[] = [];
    for (const info of first.models()) {
      const plan = first.plan(info.name);
      const input = sampleInputs(plan, rows, opts.seed ?? 1);
      const outputs: Uint8Array[] = [];
      const seconds: number[] = [];
      for (const c of configs) {
        const e = await engineFor(c);
        const t0 = performance.now();
        outputs.push(await e.inferBatch(info.name, input, c.batch));
        seconds.push((performance.now() - t0) / 1000);
      }
      const ref = outputs[0]!;
      const rowBytes = plan.k * 8;
      const identical: number[] = [];
      const maxDiff: number[] = [];
      for (const out of outputs) {
        let same = 0;
        let diff = 0;
        const a = new DataView(ref.buffer, ref.byteOffset, ref.byteLength);
        const b = new DataView(out.buffer, out.byteOffset, out.byteLength);
        for (let r = 0; r < rows; r++) {
          let rowSame = true;
          for (let p = r * rowBytes; p < (r + 1) * rowBytes; p += 8) {
            if (a.getBigInt64(p) !== b.getBigInt64(p)) {
              rowSame = false;
              diff = Math.max(diff, Math.abs(readInt64(a, p) - readInt64(b, p)));
            }
          }
          if (rowSame) same++;
        }
        identical.push(same);
        maxDiff.push(diff);
      }
      const loaded = first.loadedModel(info.name);
      const vectors = loadReferenceVectors(loaded);
      let reference: ModelAgreement['reference'];
      if (vectors) {
        const got = await first.inferBatch(info.name, vectors.input);
        let same = 0;
        for (let r = 0; r < vectors.rows; r++) if (Buffer.compare(got.subarray(r * rowBytes, (r + 1) * rowBytes), vectors.output.subarray(r * rowBytes, (r + 1) * rowBytes)) === 0) same++;
        reference = { rows: vectors.rows, identical: same };
      }
      models.push({ model: info.name, rows, identical, maxDiff, seconds, exactness: info.exactness, parameters: loaded.manifest.parameters, ...(reference ? { reference } : {}) });
    }
    const notes: string[] = [];
    const fellBack = new Set<string>();
    for (const c of configs) {
      if (c.provider !== 'cuda') continue;
      const used = (await engineFor(c)).models().filter((m) => m.provider !== 'cuda');
      if (used.length) {
        fellBack.add(configLabel(c));
        notes.push(`${configLabel(c)}: CUDA execution provider unavailable, ran on CPU for ${used.map((m) => m.name).join(', ')} (install it with scripts/install-cuda-ep.sh)`);
      }
    }
    const allAgree = models.every((m) => m.identical.every((n) => n === m.rows) && (!m.reference || m.reference.identical === m.reference.rows));
    return { configs, models, allAgree, notes: [...new Set(notes)], fellBack: [...fellBack] };
  } finally {
    for (const e of engines.values()) await e.close();
  }
}
