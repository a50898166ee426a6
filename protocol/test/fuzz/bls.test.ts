// Fuzz properties of the BLS12-381 point decoders on every backend that decodes (definitions in
// bls-targets.ts, shared with `npm run bench -- fuzz`). Backends that cannot load here are skipped.
import { describe, it } from 'vitest';
import { assertTarget } from './harness.ts';
import { blsTargets } from './bls-targets.ts';

// Decoding with a subgroup check costs ~1 ms (G2 in JS), so these budgets are smaller than elsewhere.
const RUNS: Record<string, number> = { 'bls decodeG2 (noble)': 600, 'bls g2FromEip2537 (noble)': 600, 'bls mclG1 (mcl)': 600 };

describe('fuzz: BLS point decoders throw only InvalidPointError, re-encode canonically and agree across backends', () => {
  for (const t of blsTargets) {
    it(t.name, async (ctx) => {
      const skip = await t.setup?.();
      if (skip !== undefined) ctx.skip(skip);
      assertTarget(t, RUNS[t.name] ?? 1000);
    });
  }
});
