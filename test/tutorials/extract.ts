// The runnable steps of a tutorial: fenced code blocks whose info string carries the `tutorial` marker,
// in document order. Two kinds:
//   ```bash tutorial [timeout=SECONDS]      a shell step; `# expect: TEXT` lines name output it must print
//   ```<lang> tutorial file=PATH            a source file the reader creates; the repo's PATH must equal it
// Every other block (no marker) is prose: shown to the reader, never run. A tiny fence scanner (CommonMark
// backtick fences only) is enough for docs we write ourselves; an unclosed or malformed marker block is an
// error, never silently skipped.

export interface ShellStep {
  kind: 'shell';
  /** 1-based among the tutorial's runnable steps. */
  n: number;
  /** 1-based line of the opening fence. */
  line: number;
  script: string;
  /** Text the step's output (stdout + stderr) must contain, from `# expect: TEXT` lines. */
  expect: string[];
  timeoutMs: number;
}

export interface FileStep {
  kind: 'file';
  n: number;
  line: number;
  lang: string;
  /** Repo-relative path the block's content is (examples/...). */
  path: string;
  content: string;
}

export type Step = ShellStep | FileStep;

export class TutorialFormatError extends Error {
  constructor(readonly tutorial: string, readonly line: number, message: string) {
    super(`${tutorial}:${line}: ${message}`);
    this.name = 'TutorialFormatError';
  }
}

const DEFAULT_TIMEOUT_S = 120;
const FENCE = /^(\s{0,3})(`{3,})(.*)$/;

/** The runnable steps of `markdown` in order; `name` only labels errors. */
export function extractSteps(markdown: string, name: string): Step[] {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, ticks, info] = open;
    const start = i;
    const body: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      const l = lines[i]!;
      if (new RegExp(`^\\s{0,3}\`{${ticks!.length},}\\s*$`).test(l)) {
        closed = true;
        break;
      }
      // Content of an indented fence loses up to the fence's indentation (CommonMark).
      body.push(indent ? l.replace(new RegExp(`^ {0,${indent.length}}`), '') : l);
    }
    const words = info!.trim().split(/\s+/).filter(Boolean);
    if (!words.includes('tutorial')) continue;
    if (!closed) throw new TutorialFormatError(name, start + 1, 'tutorial block is never closed');
    const lang = words[0]!;
    const attrs = new Map(words.slice(1).filter((w) => w.includes('=')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
    const n = steps.length + 1;
    const file = attrs.get('file');
    if (file !== undefined) {
      if (!/^examples\/[\w./-]+$/.test(file) || file.includes('..')) throw new TutorialFormatError(name, start + 1, `file=${file}: tutorial files live under examples/`);
      steps.push({ kind: 'file', n, line: start + 1, lang, path: file, content: body.join('\n') });
      continue;
    }
    if (lang !== 'bash' && lang !== 'sh') throw new TutorialFormatError(name, start + 1, `a runnable block is bash (or has file=PATH), got '${lang}'`);
    const t = attrs.get('timeout') ?? String(DEFAULT_TIMEOUT_S);
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 600) throw new TutorialFormatError(name, start + 1, `timeout=${t}: seconds in 1..600`);
    const expect = body.map((l) => /^\s*# expect: (.+)$/.exec(l)?.[1]?.trim()).filter((e): e is string => !!e);
    steps.push({ kind: 'shell', n, line: start + 1, script: body.join('\n'), expect, timeoutMs: Number(t) * 1000 });
  }
  return steps;
}
