// `npm run bench -- fuzz`: the fuzz properties of protocol/test/fuzz with a long budget. Per decoder:
// inputs run, how many the decoder accepted (so a generator that never passes the first check shows),
// inputs/s (decoder and checks only, generation excluded) and findings (inputs that threw anything but
// the decoder's typed error, or decoded to an inconsistent value), with the first counterexample
// printed. Environment:
//   DESTRA_FUZZ_RUNS     inputs per decoder (default 100000)
//   DESTRA_FUZZ_SEED     first seed (default 42; chunk i of 1000 inputs uses seed + i)
//   DESTRA_FUZZ_TARGETS  comma-separated substrings of decoder names to run (default: all)
import * as fc from 'fast-check';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { runTarget } from '../test/fuzz/harness.ts';
import { allTargets } from '../test/fuzz/targets.ts';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return v;
}

export async function run(): Promise<void> {
  const runs = envInt('DESTRA_FUZZ_RUNS', 100_000);
  const seed = envInt('DESTRA_FUZZ_SEED', 42);
  const filters = (process.env.DESTRA_FUZZ_TARGETS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const targets = allTargets.filter((t) => filters.length === 0 || filters.some((f) => t.name.includes(f)));
  console.log(`${targets.length} decoders, ${runs.toLocaleString('en-US')} inputs each, seed ${seed}`);
  const rows: BenchRow[] = [];
  const counterexamples: string[] = [];
  for (const t of targets) {
    const skip = await t.setup?.();
    if (skip !== undefined) {
      rows.push({ decoder: t.name, inputs: 0, 'inputs/s': '-', findings: `skipped: ${skip}` });
      continue;
    }
    const t0 = performance.now();
    const stats = runTarget(t, runs, seed, (done) => {
      if (process.stderr.isTTY) process.stderr.write(`\r  ${t.name}: ${done.toLocaleString('en-US')} inputs`);
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const wall = (performance.now() - t0) / 1000;
    rows.push({ decoder: t.name, 'typed error': t.typedError.name, inputs: stats.inputs, accepted: stats.accepted, 'inputs/s': stats.inputs / stats.seconds, 'wall s': wall, findings: stats.findings });
    if (stats.first) counterexamples.push(`- ${t.name}: ${stats.first.finding}\n  input: ${fc.stringify(stats.first.input).slice(0, 600)}`);
    console.log(`  ${t.name}: ${stats.inputs} inputs, ${stats.findings} findings, ${wall.toFixed(1)} s`);
  }
  printTable(`fuzz: decoders on mutated and random inputs (${runs.toLocaleString('en-US')} per decoder, seed ${seed})`, rows);
  console.log(counterexamples.length === 0 ? '\nno findings' : `\nfirst counterexample per decoder with findings:\n${counterexamples.join('\n')}`);
  if (counterexamples.length > 0) process.exitCode = 1;
}
