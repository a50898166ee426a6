// Runs one tutorial's steps against a running devnet, printing each step as it passes:
// `tsx test/tutorials/run.ts docs/tutorials/offchain-client.md [--devnet DIR] [--steps 1,5-7]`.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { TutorialSession } from './run-steps.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { devnet: { type: 'string', default: '.devnet' }, steps: { type: 'string' } } });
const only = values.steps
  ? new Set(values.steps.split(',').flatMap((r) => {
    const [a, b] = r.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
  }))
  : undefined;
const session = new TutorialSession({ DESTRA_DEVNET_DIR: resolve(values.devnet!) });
let code = 0;
for (const file of positionals) {
  try {
    await session.runFile(file, { ...(only ? { only } : {}), onStep: (r) => process.stdout.write(`${file} step ${r.step.n} (line ${r.step.line}) ok in ${(r.ms / 1000).toFixed(1)} s\n`) });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    code = 1;
    break;
  }
}
await session.dispose();
process.exit(code);
