// Fuzz property of the node config loader: mutated config files make loadNodeConfig throw ConfigError
// and nothing else. The target (seeds, mutations, checks) is protocol/test/fuzz/config-targets.ts,
// shared with `npm run bench -- fuzz`.
import { describe, it } from 'vitest';
import { assertTarget } from '../../protocol/test/fuzz/harness.ts';
import { configTargets } from '../../protocol/test/fuzz/config-targets.ts';

describe('fuzz: node config loader throws only ConfigError', () => {
  for (const t of configTargets) {
    it(t.name, async () => {
      await t.setup?.();
      assertTarget(t, 2000);
    });
  }
});
