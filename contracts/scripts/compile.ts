// Compiles contracts/src/*.sol (+ test harnesses) offline with the npm `solc` (wasm) into contracts/out/,
// and regenerates the typed ABIs in contracts/src-ts/abi.ts. Skipped when the sources are unchanged.
// Usage: npx tsx contracts/scripts/compile.ts [--force]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
type Solc = { compile(input: string, opts: { import: (p: string) => { contents: string } | { error: string } }): string; version(): string };
// Loading the solc wasm takes seconds, so the up-to-date check uses the package version and loads it lazily.
const solcPackageVersion = (require('solc/package.json') as { version: string }).version;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'out');
const sourceDirs = [join(root, 'src'), join(root, 'test', 'harness')];
const abiFile = join(root, 'src-ts', 'abi.ts');
/** Contracts whose ABIs the TypeScript side uses (harnesses stay out of the public ABI module). */
const PUBLIC = ['OracleRouter', 'FeedStore', 'FeedRegistry', 'BlockScores', 'CommitteeRegistry', 'DelegatedStaking', 'DestraToken', 'ModelRegistry', 'DestraGovernor', 'RiskLendingMarket', 'IDestraConsumer', 'IOracleRouter', 'DestraConsumer'];

function solFiles(): string[] {
  return sourceDirs.filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.sol')).map((f) => join(d, f))).sort();
}

function findImport(path: string): { contents: string } | { error: string } {
  for (const base of [join(root, 'node_modules'), join(root, '..', 'node_modules'), root]) {
    const p = join(base, path);
    if (existsSync(p)) return { contents: readFileSync(p, 'utf8') };
  }
  return { error: `import not found: ${path} (is @openzeppelin/contracts installed? run npm run bootstrap)` };
}

function sourcesDigest(files: string[]): string {
  const hash = createHash('sha256');
  hash.update(solcPackageVersion).update((require('@openzeppelin/contracts/package.json') as { version: string }).version);
  for (const f of files) hash.update(relative(root, f)).update(readFileSync(f));
  return hash.digest('hex');
}

const stamp = join(outDir, '.sources-hash');

function upToDate(digest: string): boolean {
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === digest && existsSync(abiFile);
}

/**
 * For test workers: compiles in a child process (solc-js blocks its thread for a minute or more, which
 * would starve a vitest worker's RPC) and only once when several workers start together (a lock
 * directory; the others wait for it without blocking).
 */
export async function ensureCompiled(): Promise<void> {
  if (upToDate(sourcesDigest(solFiles()))) return;
  mkdirSync(outDir, { recursive: true });
  const lock = join(outDir, '.compile.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true }); // a crashed compile
      await new Promise((r) => setTimeout(r, 250));
      if (upToDate(sourcesDigest(solFiles()))) return;
    }
  }
  try {
    if (upToDate(sourcesDigest(solFiles()))) return;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`contracts/scripts/compile.ts exited with ${code}`))));
    });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function compile(force = false): void {
  const files = solFiles();
  const digest = sourcesDigest(files);
  if (!force && upToDate(digest)) return;

  const solc = require('solc') as Solc;
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(files.map((f) => [relative(root, f), { content: readFileSync(f, 'utf8') }])),
    settings: {
      evmVersion: 'prague',
      optimizer: { enabled: true, runs: 200 },
      viaIR: true,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) {
    console.error(errors.map((e) => e.formattedMessage).join('\n'));
    throw new Error(`solc: ${errors.length} compilation error(s)`);
  }
  mkdirSync(outDir, { recursive: true });
  const abis: Record<string, unknown[]> = {};
  for (const [, contracts] of Object.entries(output.contracts)) {
    for (const [name, c] of Object.entries(contracts)) {
      writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }));
      if (PUBLIC.includes(name)) abis[name] = c.abi;
    }
  }
  const lines = [
    '// Generated by contracts/scripts/compile.ts from contracts/src/*.sol. Do not edit by hand.',
    ...Object.entries(abis)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, abi]) => `export const ${name[0]!.toLowerCase()}${name.slice(1)}Abi = ${JSON.stringify(abi)} as const;`),
    '',
  ];
  mkdirSync(dirname(abiFile), { recursive: true });
  writeFileSync(abiFile, lines.join('\n'));
  writeFileSync(stamp, digest);
  console.log(`compiled ${files.length} source files with solc ${solc.version()} → contracts/out`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) compile(process.argv.includes('--force'));
