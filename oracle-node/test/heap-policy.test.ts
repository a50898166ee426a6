// The heap policy of the node and aggregator processes: the default, the override, and a clear error for
// a bad value (before anything starts).
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.ts';
import { DEFAULT_HEAP_GROWING_PERCENT, applyHeapPolicy, heapGrowingPercent } from '../src/heap-policy.ts';

describe('heap policy', () => {
  it('grows the old generation 4x by default, takes an override, and 0 leaves V8 alone', () => {
    const set: string[] = [];
    expect(applyHeapPolicy({}, (f) => set.push(f))).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(applyHeapPolicy({ DESTRA_HEAP_GROWING_PERCENT: '150' }, (f) => set.push(f))).toBe(150);
    expect(applyHeapPolicy({ DESTRA_HEAP_GROWING_PERCENT: '0' }, (f) => set.push(f))).toBe(0);
    expect(set).toEqual(['--heap-growing-percent=300', '--heap-growing-percent=150']);
  });

  it('refuses a value that is not an integer 0..1000, naming the variable', () => {
    for (const bad of ['-1', '1001', '2.5', 'lots', '0x10']) {
      let err: unknown;
      try {
        heapGrowingPercent({ DESTRA_HEAP_GROWING_PERCENT: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/DESTRA_HEAP_GROWING_PERCENT must be an integer 0\.\.1000/);
    }
  });
});
