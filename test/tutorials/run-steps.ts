// Runs a tutorial's steps (extract.ts) the way a reader would: shell steps one after another in one
// logical shell session (each step is its own `bash`, but exported variables and the working directory
// carry over through a state file), from the repo root, asynchronously (spawn; a step never blocks the
// test worker). A step fails when it exits non-zero, runs past its timeout, or its output lacks an
// `# expect:` text; a file step fails when the repo's file differs from the block. Errors name the
// tutorial, the step number and its line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractSteps, type ShellStep, type Step } from './extract.ts';

export const repoRoot = new URL('../../', import.meta.url).pathname;

export class TutorialStepError extends Error {
  constructor(readonly tutorial: string, readonly step: Step, message: string, readonly output = '') {
    super(`${tutorial} step ${step.n} (line ${step.line}): ${message}${output ? `\n--- output (last 3000 chars) ---\n${output.slice(-3000)}` : ''}`);
    this.name = 'TutorialStepError';
  }
}

export interface StepResult {
  step: Step;
  output: string;
  ms: number;
}

export interface TutorialRun {
  results: StepResult[];
}

/**
 * One reader's session over tutorials: environment given to every step, and every process group a step
 * started (its background processes, e.g. a node) killed by `dispose()`.
 */
export class TutorialSession {
  private readonly dir = mkdtempSync(join(tmpdir(), 'destra-tutorial-'));
  private readonly groups = new Set<number>();

  constructor(private readonly env: Record<string, string> = {}, private readonly cwd = repoRoot) {}

  /** Runs every step of the markdown file at `path` (repo-relative), in order; throws TutorialStepError on the first failure. */
  async runFile(path: string, o: { onStep?: (r: StepResult) => void; only?: Set<number> } = {}): Promise<TutorialRun> {
    const md = readFileSync(join(this.cwd, path), 'utf8');
    return this.run(path, md, o);
  }

  async run(name: string, markdown: string, o: { onStep?: (r: StepResult) => void; only?: Set<number> } = {}): Promise<TutorialRun> {
    const steps = extractSteps(markdown, name);
    if (steps.length === 0) throw new Error(`${name} has no runnable steps (blocks marked \`tutorial\`)`);
    // Each tutorial starts like a fresh terminal in the repo root.
    const state = join(this.dir, `${steps.length}-${Date.now()}.env`);
    const cwdFile = `${state}.cwd`;
    writeFileSync(state, '');
    writeFileSync(cwdFile, this.cwd);
    const results: StepResult[] = [];
    for (const step of steps) {
      // Writing a tutorial: rerun some steps against a network whose state the others already made.
      if (o.only && !o.only.has(step.n)) continue;
      const t0 = performance.now();
      let output = '';
      if (step.kind === 'file') {
        let actual: string;
        try {
          actual = readFileSync(join(this.cwd, step.path), 'utf8');
        } catch {
          throw new TutorialStepError(name, step, `${step.path} does not exist (the tutorial shows it)`);
        }
        if (actual.trimEnd() !== step.content.trimEnd()) {
          const a = actual.trimEnd().split('\n');
          const b = step.content.trimEnd().split('\n');
          const i = a.findIndex((l, k) => l !== b[k]);
          const at = i < 0 ? Math.min(a.length, b.length) : i;
          throw new TutorialStepError(name, step, `${step.path} differs from the tutorial's block at its line ${at + 1}:\n  file:     ${a[at] ?? '(end)'}\n  tutorial: ${b[at] ?? '(end)'}`);
        }
      } else {
        output = await this.shell(name, step, state, cwdFile);
      }
      const r = { step, output, ms: performance.now() - t0 };
      results.push(r);
      o.onStep?.(r);
    }
    return { results };
  }

  private shell(name: string, step: ShellStep, state: string, cwdFile: string): Promise<string> {
    const script = [
      'set -eo pipefail',
      `source ${JSON.stringify(state)}`,
      `cd "$(cat ${JSON.stringify(cwdFile)})"`,
      step.script,
      `export -p > ${JSON.stringify(state)}`,
      `pwd > ${JSON.stringify(cwdFile)}`,
    ].join('\n');
    return new Promise((resolve, reject) => {
      // Its own process group: a timeout (and dispose) reaches whatever the step started.
      const child = spawn('bash', ['-c', script], { cwd: this.cwd, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.groups.add(child.pid!);
      let out = '';
      const take = (b: Buffer) => {
        out += b.toString();
        if (out.length > 1_000_000) out = out.slice(-500_000);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, step.timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new TutorialStepError(name, step, `bash did not start: ${err.message}`));
      });
      // 'exit', not 'close': a background process the step started may keep the pipes open; its output
      // belongs in its own log file. A moment for the pipes to drain what the step itself wrote.
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          if (timedOut) return reject(new TutorialStepError(name, step, `did not finish within ${step.timeoutMs / 1000} s`, out));
          if (code !== 0) return reject(new TutorialStepError(name, step, `exited ${code ?? signal}`, out));
          const missing = step.expect.filter((e) => !out.includes(e));
          if (missing.length > 0) return reject(new TutorialStepError(name, step, `output lacks ${missing.map((m) => JSON.stringify(m)).join(', ')}`, out));
          resolve(out);
        }, 200);
      });
    });
  }

  /** Stops every process group a step started (background nodes included) and removes the session's files. */
  async dispose(): Promise<void> {
    for (const pgid of this.groups) {
      try {
        process.kill(-pgid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const pgid of this.groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.groups.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
