// Every fuzz target, for `npm run bench -- fuzz`. The vitest files import the per-area modules directly
// (wire-targets.ts, report-targets.ts, bls-targets.ts, keystore-targets.ts, config-targets.ts): the same
// property definitions, a smaller budget.
import type { FuzzTarget } from './harness.ts';
import { blsTargets } from './bls-targets.ts';
import { configTargets } from './config-targets.ts';
import { keystoreTargets } from './keystore-targets.ts';
import { reportTargets } from './report-targets.ts';
import { wireTargets } from './wire-targets.ts';

export const allTargets: readonly FuzzTarget<unknown>[] = [...wireTargets, ...reportTargets, ...blsTargets, ...keystoreTargets, ...configTargets];
