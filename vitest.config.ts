import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'programs/**/target/**', '.devnet/**'],
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // 2-core machines: files run in parallel, capped so anvil/libp2p-heavy files do not starve each other.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
