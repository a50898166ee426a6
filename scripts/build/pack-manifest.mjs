// npm prepack/postpack of the publishable workspaces (protocol, contracts, adapters). In the repo their
// package.json `exports` name the .ts sources, so tests, tsx and the devnet run with no build step. For a
// tarball (`npm pack`, `npm publish`), prepack builds dist/ with tsup when its inputs changed and rewrites
// package.json so every .ts export points at the built JavaScript and declarations; postpack puts the
// repo's package.json back byte for byte.
// Usage (from a package's directory, as npm runs it): node <repo>/scripts/build/pack-manifest.mjs prepack|postpack
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkgDir = process.cwd();
const manifest = join(pkgDir, 'package.json');
const backup = join(pkgDir, 'package.json.repo');
const stamp = join(pkgDir, 'dist', '.inputs-hash');

class PackError extends Error {
  name = 'PackError';
}

/** dist/<name>.js for an export target ./src/<name>.ts (tsup's entry names are the file names). */
function distExport(target) {
  const name = target.replace(/^\.\/(src|src-ts)\//, '').replace(/\.ts$/, '');
  if (name.includes('/')) throw new PackError(`export target ${target}: only top-level source files are built (add it to tsup.config.ts entries)`);
  return {
    import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
    require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
  };
}

/** The workspace packages' versions, so `"@destra/protocol": "*"` becomes a real range in the tarball. */
function workspaceVersions() {
  const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const out = new Map();
  for (const ws of root.workspaces ?? []) {
    const p = join(repo, ws, 'package.json');
    if (!existsSync(p)) continue;
    const m = JSON.parse(readFileSync(p, 'utf8'));
    out.set(m.name, m.version);
  }
  return out;
}

export function packedManifest(m, versions) {
  const out = { ...m };
  const exportsIn = typeof m.exports === 'string' ? { '.': m.exports } : (m.exports ?? {});
  out.exports = Object.fromEntries(Object.entries(exportsIn).map(([k, v]) => [k, typeof v === 'string' && v.endsWith('.ts') ? distExport(v) : v]));
  out.exports['./package.json'] = './package.json';
  const main = exportsIn['.'];
  if (typeof main === 'string' && main.endsWith('.ts')) {
    const d = distExport(main);
    Object.assign(out, { main: d.require.default, module: d.import.default, types: d.import.types });
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    if (!m[field]) continue;
    out[field] = Object.fromEntries(Object.entries(m[field]).map(([name, range]) => [name, range === '*' && versions.has(name) ? `^${versions.get(name)}` : range]));
  }
  delete out.devDependencies; // the repo's test tools; a consumer installs only what runs
  delete out.scripts; // prepack/postpack and repo-relative helpers mean nothing in the tarball
  return out;
}

/** Hash of every input the last build read (tsup's metafile), so an unchanged package is not rebuilt. */
function inputsHash() {
  const meta = join(pkgDir, 'dist', 'metafile-esm.json');
  if (!existsSync(meta)) return undefined;
  const hash = createHash('sha256');
  const cfg = ['tsup.config.ts', join(repo, 'scripts', 'build', 'tsup-package.ts')].map((f) => resolve(pkgDir, f));
  const inputs = Object.keys(JSON.parse(readFileSync(meta, 'utf8')).inputs).map((f) => resolve(pkgDir, f));
  for (const f of [...cfg, manifest, ...inputs.sort()]) {
    if (!existsSync(f)) return undefined;
    hash.update(relative(repo, f)).update(readFileSync(f));
  }
  return hash.digest('hex');
}

function build() {
  const current = inputsHash();
  if (current && existsSync(stamp) && readFileSync(stamp, 'utf8') === current) return;
  const tsup = join(repo, 'node_modules', '.bin', 'tsup');
  // tsup's progress goes to stderr: `npm pack --json` owns stdout
  const r = spawnSync(tsup, [], { cwd: pkgDir, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new PackError(`tsup failed in ${relative(repo, pkgDir)} (exit ${r.status ?? r.signal}): fix the build before packing`);
  const built = inputsHash();
  if (!built) throw new PackError(`tsup wrote no dist/metafile-esm.json in ${relative(repo, pkgDir)}: is metafile on in scripts/build/tsup-package.ts?`);
  writeFileSync(stamp, built);
}

function restore() {
  if (existsSync(backup)) renameSync(backup, manifest);
}

const step = process.argv[2];
if (step === 'prepack') {
  restore(); // a pack that died before its postpack left the rewritten manifest behind
  build();
  const original = readFileSync(manifest, 'utf8');
  writeFileSync(backup, original);
  writeFileSync(manifest, `${JSON.stringify(packedManifest(JSON.parse(original), workspaceVersions()), null, 2)}\n`);
} else if (step === 'postpack') {
  restore();
} else if (step !== undefined || process.argv[1] === fileURLToPath(import.meta.url)) {
  console.error('usage: node scripts/build/pack-manifest.mjs prepack|postpack (run by npm pack in a package directory)');
  process.exit(2);
}
