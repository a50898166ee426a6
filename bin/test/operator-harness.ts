// Two ways to run `destra operator …` in tests: as a child process through bin/destra.mjs (what a user
// runs), and the same command tree in this process (no start-up cost) for the many error cases.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { Command } from 'commander';
import { register as registerOperator } from '../commands/operator.ts';

const bin = fileURLToPath(new URL('../destra.mjs', import.meta.url));

export function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
}

/** The last line of a command's output as JSON. */
export const json = (s: string) => JSON.parse(s.split('\n').at(-1)!) as Record<string, any>;

export async function inProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let err = '';
  let stdout = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const program = new Command('destra').exitOverride().configureOutput({ writeErr: (s) => void (err += s), writeOut: () => undefined });
  registerOperator(program);
  let code = 0;
  try {
    await program.parseAsync(['node', 'destra', ...args]);
    code = process.exitCode === 1 ? 1 : 0;
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.exitCode = undefined;
    spy.mockRestore();
    out.mockRestore();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
  return { code, out: stdout.trim(), err: err.trim() };
}
