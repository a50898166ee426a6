// `destra models list` and `destra models check`: the model zoo and the proof that every execution
// configuration yields bit-identical canonical outputs (docs/determinism.md).
import { Command, InvalidArgumentError } from 'commander';
import { loadModels, MODELS_DIR } from '@destra/models';
import { checkAgreement, checkConfigs, configLabel } from '../../oracle-node/src/inference/check.ts';
import { printTable } from '../../scripts/bench-table.ts';

function intList(name: string, min: number, max: number) {
  return (v: string): number[] => {
    const xs = v.split(',').map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((n) => !Number.isInteger(n) || n < min || n > max)) throw new InvalidArgumentError(`${name} must be a comma-separated list of integers in ${min}..${max}`);
    return xs;
  };
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

function metricSummary(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .filter(([k, v]) => typeof v === 'number' && k !== 'heldOutRows')
    .slice(0, 3)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function register(program: Command): void {
  const models = program.command('models').description('the ONNX model zoo: list models, check cross-configuration determinism');

  models
    .command('list')
    .description('every model with its task, domain, sha256 (the report modelHash) and held-out metrics')
    .option('--dir <dir>', 'models directory', MODELS_DIR)
    .option('--json', 'print JSON instead of a table')
    .action((o: { dir: string; json?: boolean }) => {
      const list = loadModels(o.dir);
      if (o.json) {
        console.log(JSON.stringify(list.map((m) => ({ name: m.manifest.name, version: m.manifest.version, task: m.manifest.task, domain: m.manifest.domain, sha256: m.hashHex, bytes: m.bytes.length, metrics: m.manifest.metrics })), null, 2));
        return;
      }
      printTable(`models in ${o.dir}`, list.map((m) => ({
        model: m.manifest.name,
        version: m.manifest.version,
        domain: m.manifest.domain,
        task: m.manifest.task,
        inputs: m.manifest.inputs.map((i) => `${i.dtype}[${i.shape[1]}]`).join(' '),
        k: m.manifest.outputs.reduce((n, x) => n + x.columns.length, 0),
        sha256: `${m.hashHex.slice(0, 16)}…`,
        metrics: metricSummary(m.manifest.metrics),
      })));
    });

  models
    .command('check')
    .description('run every model under intra-op threads × batch sizes × graph optimisation (× CUDA when a GPU exists) and compare canonical outputs bit for bit; exits 1 on any disagreement')
    .option('--model <name>', 'check one model only')
    .option('--dir <dir>', 'models directory', MODELS_DIR)
    .option('--rows <n>', 'input rows per model (first two are the all-min and all-max rows)', intArg('--rows', 2, 1 << 20), 8192)
    .option('--threads <list>', 'intra-op thread counts', intList('--threads', 1, 64), [1, 2])
    .option('--batches <list>', 'batch sizes', intList('--batches', 1, 1 << 20), [1, 64, 8192])
    .option('--seed <n>', 'input generator seed', intArg('--seed', 0, 2 ** 31), 1)
    .option('--row-quantum <n>', 'pad every run to a multiple of n rows (the engine default is 16; 1 shows the raw GEMV effect)', intArg('--row-quantum', 1, 4096))
    .action(async (o: { model?: string; dir: string; rows: number; threads: number[]; batches: number[]; seed: number; rowQuantum?: number }) => {
      const configs = checkConfigs({ threads: o.threads, batches: o.batches });
      const started = performance.now();
      const r = await checkAgreement({
        dir: o.dir,
        ...(o.model ? { models: [o.model] } : {}),
        configs,
        rows: o.rows,
        seed: o.seed,
        engineOptions: o.rowQuantum ? { rowQuantum: o.rowQuantum } : {},
      });
      const secs = (performance.now() - started) / 1000;
      printTable(
        `agreement with "${configLabel(configs[0]!)}" (${o.rows} rows per model, ${secs.toFixed(1)} s)`,
        r.models.map((m) => {
          const row: Record<string, string | number> = { model: m.model };
          configs.forEach((c, i) => {
            const same = m.identical[i]!;
            row[configLabel(c)] = same === m.rows ? '100%' : `${((100 * same) / m.rows).toFixed(2)}% Δ${m.maxDiff[i]}`;
          });
          return row;
        }),
      );
      for (const n of r.notes) console.log(`note: ${n}`);
      const bad = r.models.filter((m) => m.identical.some((n) => n !== m.rows));
      if (bad.length) {
        console.log(`\nDISAGREEMENT in ${bad.map((m) => m.model).join(', ')}: canonical outputs differ between configurations (Δ = largest difference in output units). See docs/determinism.md.`);
        process.exitCode = 1;
      } else {
        console.log(`\nall ${r.models.length} model(s) bit-identical across ${configs.length} configurations`);
      }
    });
}
