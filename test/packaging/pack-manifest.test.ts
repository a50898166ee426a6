// The tarball manifest (scripts/build/pack-manifest.mjs) and the repo manifests it starts from: in the repo
// every publishable workspace points at its .ts sources (no build step for tests, tsx or the devnet);
// in the tarball the same entries point at dist/ with import/require and declaration conditions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without declarations
import { packedManifest } from '../../scripts/build/pack-manifest.mjs';

const PUBLISHED = ['protocol', 'contracts', 'adapters/ethereum', 'adapters/solana'];
const manifest = (ws: string) => JSON.parse(readFileSync(new URL(`../../${ws}/package.json`, import.meta.url), 'utf8')) as Record<string, any>;
const pack = packedManifest as (m: Record<string, unknown>, versions: Map<string, string>) => Record<string, any>;

describe('pack manifest', () => {
  it('repo manifests: installable (not private), sources as entry points, dist shipped, pack hooks set', () => {
    for (const ws of PUBLISHED) {
      const m = manifest(ws);
      expect(m.private, ws).toBeUndefined();
      expect(m.exports['.'], ws).toMatch(/^\.\/src(-ts)?\/index\.ts$/);
      expect(m.files, ws).toContain('dist');
      expect(m.scripts.prepack, ws).toMatch(/pack-manifest\.mjs prepack$/);
      expect(m.scripts.postpack, ws).toMatch(/pack-manifest\.mjs postpack$/);
    }
  });

  it('tarball manifest: .ts exports become dist conditions, other exports stay, workspace ranges become real', () => {
    const out = pack(manifest('adapters/ethereum'), new Map([['@destra/protocol', '0.1.0'], ['@destra/contracts', '0.2.0']]));
    expect(out.exports['.']).toEqual({
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    });
    expect(out.exports['./cli'].require.default).toBe('./dist/cli.cjs');
    expect(out).toMatchObject({ main: './dist/index.cjs', module: './dist/index.js', types: './dist/index.d.ts' });
    expect(out.dependencies['@destra/protocol']).toBe('^0.1.0');
    expect(out.dependencies['@destra/contracts']).toBe('^0.2.0');
    expect(out.dependencies.viem).toBe(manifest('adapters/ethereum').dependencies.viem);
    expect(out.scripts).toBeUndefined();
    expect(out.devDependencies).toBeUndefined();
    const contracts = pack(manifest('contracts'), new Map());
    expect(contracts.exports['./src/*.sol']).toBe('./src/*.sol');
    expect(contracts.dependencies['@openzeppelin/contracts']).toBeDefined();
  });

  it('refuses an export target it would not build (a nested source file), naming it', () => {
    expect(() => pack({ name: 'x', exports: { './deep': './src/a/b.ts' } }, new Map())).toThrow(/\.\/src\/a\/b\.ts: only top-level source files/);
  });
});
