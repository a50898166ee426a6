// What a fuzz target is, and the one verdict every target gives. Shared by the vitest fuzz tests
// (protocol/test/fuzz/*.test.ts, oracle-node/test/fuzz-config.test.ts: small budget, fixed seed) and
// `npm run bench -- fuzz` (protocol/bench/fuzz.ts: long budget), so both check the same properties.
import * as fc from 'fast-check';

/** An error class, for "threw exactly this" checks. */
export type ErrorClass = abstract new (...args: never[]) => Error;

export interface FuzzTarget<I = unknown> {
  /** Decoder under test, as printed in the bench table (e.g. `wire partial`, `bls decodeG2 (noble)`). */
  readonly name: string;
  /** The only error class the decoder may throw. */
  readonly typedError: ErrorClass;
  /** Inputs: random bytes and structured mutations of valid encodings. */
  readonly arbitrary: fc.Arbitrary<I>;
  /**
   * Loads what the target needs (a crypto backend). Returns why the target cannot run on this machine
   * (e.g. the native addon is not built) so the caller can skip it and say so, or undefined.
   */
  setup?(): Promise<string | undefined>;
  /** Runs the decoder on one input: undefined when the property holds, else what went wrong. */
  check(input: I): string | undefined;
}

/** Erases the input type so targets of different inputs share one list. */
export const target = <I>(t: FuzzTarget<I>): FuzzTarget<unknown> => t as FuzzTarget<unknown>;

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message.slice(0, 200)}`;
  return `non-error ${typeof err}`;
}

/**
 * Inputs that decoders accepted, across all targets: the bench reports each target's share, so a
 * generator that never gets past the first check shows up as 0 accepted.
 */
export const tally = { accepted: 0 };

/**
 * The property of every decoder: `decode()` either throws exactly `typedError`, or returns a value that
 * `accepted` finds consistent (re-encodes to the same value, respects the size limit). Anything else
 * (TypeError, RangeError, a plain Error, an inconsistent value) is a finding, described in the result.
 */
export function verdict<T>(typedError: ErrorClass, decode: () => T, accepted: (value: T) => string | undefined): string | undefined {
  let value: T;
  try {
    value = decode();
  } catch (err) {
    return err instanceof typedError ? undefined : `threw ${describeError(err)} (expected ${typedError.name} only)`;
  }
  tally.accepted++;
  try {
    return accepted(value);
  } catch (err) {
    return `accepted the input, but re-encoding its value threw ${describeError(err)}`;
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Hex of at most `max` bytes, for counterexamples that must fit in a log line. */
export function shortHex(bytes: Uint8Array, max = 96): string {
  const hex = Buffer.from(bytes.subarray(0, max)).toString('hex');
  return bytes.length > max ? `${hex}… (${bytes.length} bytes)` : `${hex} (${bytes.length} bytes)`;
}

/** Fixed seed of the fuzz tests: the same inputs on every run, so a failure reproduces. */
export const FUZZ_SEED = 42;

/**
 * The test-suite form of a target: fast-check runs `numRuns` inputs from `seed`, shrinks the first
 * failing one and throws with it. Call `setup` first (and skip the target when it names a reason).
 */
export function assertTarget(t: FuzzTarget<unknown>, numRuns: number, seed = FUZZ_SEED): void {
  fc.assert(
    fc.property(t.arbitrary, (input) => {
      const finding = t.check(input);
      if (finding !== undefined) throw new Error(`${t.name}: ${finding}`);
    }),
    { seed, numRuns },
  );
}

export interface FuzzStats {
  inputs: number;
  /** Inputs the decoder accepted (and that were then checked for consistency). */
  accepted: number;
  /** Seconds spent in the decoder and its checks (input generation excluded). */
  seconds: number;
  findings: number;
  first?: { input: unknown; finding: string };
}

/**
 * The bench form: `numRuns` inputs from `seed` (generated in chunks so memory stays flat), every finding
 * counted instead of stopping at the first. `onProgress` gets the running count now and then.
 */
export function runTarget(t: FuzzTarget<unknown>, numRuns: number, seed = FUZZ_SEED, onProgress?: (done: number) => void): FuzzStats {
  const stats: FuzzStats = { inputs: 0, accepted: 0, seconds: 0, findings: 0 };
  const acceptedBefore = tally.accepted;
  const chunk = 1000;
  for (let c = 0; stats.inputs < numRuns; c++) {
    const inputs = fc.sample(t.arbitrary, { seed: seed + c, numRuns: Math.min(chunk, numRuns - stats.inputs) });
    const t0 = performance.now();
    for (const input of inputs) {
      const finding = t.check(input);
      if (finding !== undefined) {
        stats.findings++;
        stats.first ??= { input, finding };
      }
    }
    stats.seconds += (performance.now() - t0) / 1000;
    stats.inputs += inputs.length;
    onProgress?.(stats.inputs);
  }
  stats.accepted = tally.accepted - acceptedBefore;
  return stats;
}
