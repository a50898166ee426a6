// The one build of every publishable workspace (protocol, contracts, adapters): ESM + CommonJS + type
// declarations into <package>/dist, one bundle per `exports` entry. Workspace siblings and third-party
// packages stay external (they are dependencies); relative imports are bundled. In the repo nothing
// needs this build: package.json `exports` point at the .ts sources, and scripts/build/pack-manifest.mjs
// points them at dist/ only inside the packed tarball (npm prepack/postpack).
import { defineConfig, type Options } from 'tsup';

export function packageBuild(entry: Record<string, string>, extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    outDir: 'dist',
    clean: true,
    sourcemap: true,
    platform: 'node',
    target: 'node20',
    // import.meta.url in the CommonJS build (artifact and addon paths are resolved from it)
    shims: true,
    splitting: false,
    // dist/metafile-esm.json lists the build's inputs: pack-manifest.mjs rebuilds only when one changed
    metafile: true,
    ...extra,
  });
}
