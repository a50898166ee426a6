// Runs a whole `destra` command tree in this process (no start-up cost per call), through main()'s error
// handling, capturing stdout/stderr and the exit code.
import { vi } from 'vitest';
import type { Command } from 'commander';
import { runProgram } from '../cli.ts';

export async function inProcessProgram(build: () => Command, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let err = '';
  let out = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((err += String(c)), true));
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((out += String(c)), true));
  const logs = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const program = build();
  // commands copy settings when created: the tree is built, so each one gets exitOverride itself
  const noExit = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(noExit);
  };
  noExit(program);
  let code = 0;
  try {
    await runProgram(program, ['node', 'destra', ...args]);
    code = process.exitCode === 1 ? 1 : 0;
  } catch (x) {
    code = (x as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.exitCode = undefined;
    e.mockRestore();
    o.mockRestore();
    logs.mockRestore();
  }
  return { code, out: out.trim(), err: err.trim() };
}
