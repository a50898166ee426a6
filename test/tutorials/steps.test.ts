// The tutorial runner itself (no network): steps come out in document order with their expectations,
// prose blocks are never run, and each way a tutorial can drift from the product fails naming the
// tutorial and step — a command exiting non-zero, an expected line missing, a shown file differing
// from the repo's, a step hanging. Exports and the working directory carry across steps as in a shell.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractSteps, TutorialFormatError } from './extract.ts';
import { TutorialSession, TutorialStepError, repoRoot } from './run-steps.ts';

const fence = '```';
const md = (...blocks: string[]) => blocks.join('\n\nSome prose.\n\n');

describe('extractSteps', () => {
  it('takes only marked blocks, in order, with expectations, timeouts and files', () => {
    const steps = extractSteps(
      md(
        `${fence}bash\necho not run\n${fence}`,
        `${fence}bash tutorial\necho one\n# expect: one\n${fence}`,
        `  ${fence}ts tutorial file=examples/x.ts\n  const a = 1;\n  ${fence}`,
        `${fence}bash tutorial timeout=5\necho two\n${fence}`,
      ),
      't.md',
    );
    expect(steps.map((s) => [s.n, s.kind])).toEqual([[1, 'shell'], [2, 'file'], [3, 'shell']]);
    expect(steps[0]).toMatchObject({ expect: ['one'], timeoutMs: 120_000, line: 7 });
    expect(steps[1]).toMatchObject({ path: 'examples/x.ts', content: 'const a = 1;' });
    expect(steps[2]).toMatchObject({ timeoutMs: 5000 });
  });

  it('refuses malformed marker blocks instead of skipping them', () => {
    expect(() => extractSteps(`${fence}bash tutorial\necho never closed\n`, 'a.md')).toThrow(TutorialFormatError);
    expect(() => extractSteps(`${fence}ts tutorial\nconst a = 1;\n${fence}`, 'b.md')).toThrow(/bash \(or has file=PATH\)/);
    expect(() => extractSteps(`${fence}ts tutorial file=../etc/passwd\n${fence}`, 'c.md')).toThrow(/under examples/);
    expect(() => extractSteps(`${fence}bash tutorial timeout=0\n${fence}`, 'd.md')).toThrow(/timeout=0/);
  });
});

describe('TutorialSession', () => {
  const root = mkdtempSync(join(tmpdir(), 'tutorial-runner-'));
  mkdirSync(join(root, 'examples'));
  writeFileSync(join(root, 'examples/shown.ts'), 'export const x = 1;\n');
  const session = new TutorialSession({ GREETING: 'hello' }, root);
  afterAll(() => session.dispose());

  it('carries exports and the directory across steps and checks expected output', async () => {
    const run = await session.run('ok.md', md(
      `${fence}bash tutorial\nexport NAME=$GREETING-world\nmkdir -p sub && cd sub\n${fence}`,
      `${fence}ts tutorial file=examples/shown.ts\nexport const x = 1;\n${fence}`,
      `${fence}bash tutorial\necho "$NAME in $(basename "$PWD")"\n# expect: hello-world in sub\n${fence}`,
    ));
    expect(run.results.map((r) => r.step.n)).toEqual([1, 2, 3]);
  });

  it('fails with the tutorial name and step number', async () => {
    const failing = async (doc: string) => session.run('bad.md', doc).then(() => undefined, (e: unknown) => e as TutorialStepError);
    const exit = await failing(md(`${fence}bash tutorial\ntrue\n${fence}`, `${fence}bash tutorial\necho partial; false; echo never\n${fence}`));
    expect(exit).toBeInstanceOf(TutorialStepError);
    expect(exit!.message).toMatch(/^bad\.md step 2 \(line \d+\): exited 1/);
    expect(exit!.message).toContain('partial');
    const missing = await failing(`${fence}bash tutorial\necho verified: no\n# expect: verified: yes\n${fence}`);
    expect(missing!.message).toMatch(/step 1 .*output lacks "verified: yes"/);
    const drift = await failing(`${fence}ts tutorial file=examples/shown.ts\nexport const x = 2;\n${fence}`);
    expect(drift!.message).toMatch(/examples\/shown\.ts differs .* line 1/s);
    const absent = await failing(`${fence}ts tutorial file=examples/nope.ts\n${fence}`);
    expect(absent!.message).toMatch(/does not exist/);
    const hang = await failing(`${fence}bash tutorial timeout=1\nsleep 30\n${fence}`);
    expect(hang!.message).toMatch(/did not finish within 1 s/);
  });
});

// Without a network: every tutorial has runnable steps, is run by tutorials.test.ts, and every source
// file it shows is byte for byte the one under examples/ (the live test checks it again in order).
describe('docs/tutorials', () => {
  const dir = join(repoRoot, 'docs/tutorials');
  const tutorials = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');
  const live = readFileSync(join(repoRoot, 'test/tutorials/tutorials.test.ts'), 'utf8');
  const index = readFileSync(join(dir, 'README.md'), 'utf8');

  it.each(tutorials)('%s: runnable, run by the live test, listed in the index, shown files equal examples/', (f) => {
    const steps = extractSteps(readFileSync(join(dir, f), 'utf8'), f);
    expect(steps.filter((s) => s.kind === 'shell').length).toBeGreaterThan(0);
    expect(live).toContain(`'docs/tutorials/${f}'`);
    expect(index).toContain(`(${f})`);
    for (const s of steps) if (s.kind === 'file') expect(readFileSync(join(repoRoot, s.path), 'utf8').trimEnd(), `${f} step ${s.n}: ${s.path}`).toBe(s.content.trimEnd());
  });
});
