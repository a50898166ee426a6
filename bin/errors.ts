// The one error style of every `destra` command: one line on stderr, `destra <command>: <what was wrong>.
// <what to do>`, exit code 1; the stack trace only with --verbose. Typed errors (DestraError and its
// subclasses) already say what to do; other errors (network, file system, viem, JSON) get a hint here.
import type { Command } from 'commander';
import { DestraError } from '@destra/protocol';

/** `destra eth request` for the command being run. */
export function commandPath(cmd: Command | undefined): string {
  const names: string[] = [];
  for (let c: Command | null | undefined = cmd; c; c = c.parent) names.unshift(c.name());
  return names.length ? names.join(' ') : 'destra';
}

const firstLine = (s: string): string => s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
const sentence = (s: string): string => (/[.!?]$/.test(s) ? s : `${s}.`);

interface Described {
  what: string;
  hint?: string;
  code?: string;
}

function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 6; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** What was wrong and what to do, for any thrown value. */
export function describeError(err: unknown): Described {
  if (err instanceof DestraError) return { what: firstLine(err.message), code: err.code };
  if (!(err instanceof Error)) return { what: String(err), hint: 'Run with --verbose for details' };
  const e = err as Error & { shortMessage?: string; url?: string; path?: string; code?: unknown };
  const what = firstLine(e.shortMessage ?? e.message);
  const sys = causeCode(err);
  if (sys === 'ENOENT' && e.path) return { what: `no such file or directory: ${e.path}`, hint: 'Check the path (relative paths start at the current directory)' };
  if (sys === 'EACCES' || sys === 'EPERM') return { what, hint: `Check the file's permissions${e.path ? ` (${e.path})` : ''}` };
  if (sys === 'EISDIR') return { what, hint: 'Give a file, not a directory' };
  if (e.name === 'HttpRequestError' || sys === 'ECONNREFUSED' || sys === 'ENOTFOUND' || sys === 'ECONNRESET' || /fetch failed|HTTP request failed/i.test(what)) {
    const url = e.url ?? /URL: (\S+)/.exec(e.message)?.[1];
    const hint = 'Start the chain or node there, or fix the URL (--rpc / --node)';
    // a command that already said which endpoint (e.g. "cannot reach the JSON-RPC endpoint …") keeps its words
    if (/^cannot reach /i.test(what)) return { what, hint };
    return { what: `cannot reach ${url ?? 'the endpoint'}${sys ? ` (${sys})` : ''}`, hint };
  }
  if (e.name === 'TimeoutError' || /timed? ?out/i.test(what)) return { what, hint: 'Check the endpoint is up and not overloaded, or raise --timeout where the command has one' };
  if (/revert/i.test(e.name) || /revert/i.test(what)) return { what, hint: 'The contract refused the call: check the arguments, the account and its balance/allowance' };
  if (e.name === 'InvalidArgumentError' || e.name === 'CommanderError') return { what, hint: 'See --help for the options' };
  if (err instanceof SyntaxError && /JSON/.test(what)) return { what, hint: 'The input must be valid JSON' };
  return { what, hint: 'Run with --verbose for the stack trace' };
}

/** The text written to stderr: one line, then the stack (and causes) only when verbose. */
export function formatCliError(command: string, err: unknown, verbose: boolean): string {
  const d = describeError(err);
  let line = `${command}: ${d.what}`;
  if (d.hint) line = `${sentence(line)} ${sentence(d.hint)}`;
  if (d.code) line += ` [${d.code}]`;
  if (!verbose) return `${line}\n`;
  const stacks: string[] = [];
  for (let e = err as { stack?: string; cause?: unknown } | undefined, i = 0; e && i < 6; e = e.cause as typeof e, i++) {
    if (typeof e.stack === 'string') stacks.push(i === 0 ? e.stack : `caused by: ${e.stack}`);
  }
  return `${line}\n${stacks.join('\n')}\n`;
}

/** True when --verbose is on for this run (a global option; DESTRA_VERBOSE=1 also turns it on). */
export function isVerbose(cmd?: Command): boolean {
  if (process.env.DESTRA_VERBOSE === '1') return true;
  try {
    if (cmd && (cmd.optsWithGlobals() as { verbose?: boolean }).verbose) return true;
  } catch {
    // a detached command (tests build command trees without the root program)
  }
  return process.argv.includes('--verbose');
}

/** Writes the error in the one style and sets exit code 1 (the process ends when its work is done). */
export function reportCliError(cmd: Command | string | undefined, err: unknown, verbose = typeof cmd === 'string' ? isVerbose() : isVerbose(cmd)): void {
  process.stderr.write(formatCliError(typeof cmd === 'string' ? cmd : commandPath(cmd), err, verbose));
  process.exitCode = 1;
}

/**
 * Wraps a command action so a failure is reported in the one style. Commander passes the command as the
 * action's last argument; that names the command in the message.
 */
export function cliAction<A extends unknown[]>(body: (...args: A) => unknown): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (err) {
      const cmd = args.at(-1);
      reportCliError(isCommand(cmd) ? cmd : undefined, err);
    }
  };
}

function isCommand(v: unknown): v is Command {
  return typeof v === 'object' && v !== null && typeof (v as Command).name === 'function' && 'commands' in (v as object);
}
