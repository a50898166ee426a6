// How far V8 lets the old generation grow past what survived the last full GC, for the long-running
// processes (`destra node start`, `destra aggregator start`). V8's own factor (≈1.3 at a node's ~70 MB of
// live heap) set off a full mark-compact every 1–2 s on every node under batch load: each range's
// buffers and promises live long enough to be promoted, and a full GC costs tens of milliseconds on the
// main thread plus concurrent marking on V8's helper threads (measured with --trace-gc and perf: those
// threads were 45% of the node processes' CPU). Growing 4× before the next full GC cut full GCs from 24
// to ~6 per node in a 20 s batch run and CPU per verified result by ~40%, for a larger heap between GCs
// (bounded by --max-old-space-size as ever). DESTRA_HEAP_GROWING_PERCENT overrides it (0: V8's default).
// Installed by the process entries, not by startNode: a test runner's heap stays as it is.
import { setFlagsFromString } from 'node:v8';
import { ConfigError } from './errors.ts';

export const DEFAULT_HEAP_GROWING_PERCENT = 300;
const MAX_HEAP_GROWING_PERCENT = 1000;

/** The growing percent `env` asks for (default 300); throws ConfigError naming the variable when it is not 0..1000. */
export function heapGrowingPercent(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DESTRA_HEAP_GROWING_PERCENT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_HEAP_GROWING_PERCENT;
  const v = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(v) || v > MAX_HEAP_GROWING_PERCENT) {
    throw new ConfigError(`environment variable DESTRA_HEAP_GROWING_PERCENT must be an integer 0..${MAX_HEAP_GROWING_PERCENT} (percent the old generation grows past the live heap before the next full GC; 0 keeps V8's default), got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** Applies heapGrowingPercent (V8 reads the flag at every full GC's limit computation); returns it. */
export function applyHeapPolicy(env: NodeJS.ProcessEnv = process.env, setFlags: (flags: string) => void = setFlagsFromString): number {
  const percent = heapGrowingPercent(env);
  if (percent > 0) setFlags(`--heap-growing-percent=${percent}`);
  return percent;
}
