#!/usr/bin/env node
// `destra` CLI entry: registers tsx so the TypeScript sources run without a build step.
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

// The CUDA execution provider's libraries (scripts/install-cuda-ep.sh) must be on LD_LIBRARY_PATH before
// the process starts (the dynamic loader reads it once): re-run this command with it when installed.
const cudaPaths = new URL('../.cuda-ep/ld-library-path', import.meta.url);
if (existsSync(cudaPaths) && process.env.DESTRA_CUDA_ENV !== '1') {
  const dirs = readFileSync(cudaPaths, 'utf8').trim();
  const { spawnSync } = await import('node:child_process');
  const env = { ...process.env, DESTRA_CUDA_ENV: '1', LD_LIBRARY_PATH: [dirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

register();
const { main } = await import('./cli.ts');
await main(process.argv);
