// Packs the publishable workspaces with `npm pack` (their prepack builds dist/ and points `exports` at it)
// and installs the tarballs into a scratch npm project under the OS temp directory, outside the repo, so
// nothing resolves from the repo's node_modules or sources.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
/** What a requester installs: the SDK and what it depends on from this repo. */
export const PACKED_WORKSPACES = ['protocol', 'contracts', 'adapters/ethereum'];

export interface ScratchProject {
  dir: string;
  tarballs: string[];
  /** Runs plain `node <args>` in the project (no tsx, no loaders, no NODE_OPTIONS); resolves with stdout. */
  node(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<string>;
  remove(): void;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** Env for child processes without the repo's npm/node settings leaking in (vitest sets NODE_OPTIONS etc.). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(NODE_OPTIONS|NODE_PATH|npm_|VITEST|TSX)/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export async function createScratchProject(o: { fixtures: string[]; timeoutMs?: number }): Promise<ScratchProject> {
  const dir = mkdtempSync(join(tmpdir(), 'destra-packaging-'));
  const timeoutMs = o.timeoutMs ?? 540_000;
  try {
    const dest = join(dir, 'tarballs');
    mkdirSync(dest);
    await run('npm', ['pack', '--pack-destination', dest, ...PACKED_WORKSPACES.flatMap((w) => ['-w', w])], repo, timeoutMs, cleanEnv());
    const tarballs = readdirSync(dest).filter((f) => f.endsWith('.tgz')).map((f) => join(dest, f));
    if (tarballs.length !== PACKED_WORKSPACES.length) throw new Error(`npm pack wrote ${tarballs.length} tarballs for ${PACKED_WORKSPACES.length} workspaces: ${tarballs.join(', ')}`);
    // a Solidity consumer brings its own compiler; the same solc the repo compiles with
    const solc = (createRequire(import.meta.url)('solc/package.json') as { version: string }).version;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'destra-packaging-scratch', private: true, version: '0.0.0' }));
    // --prefer-offline: third-party packages come from the npm cache when it has them (fast, offline-friendly)
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs, `solc@${solc}`], dir, timeoutMs, cleanEnv());
    for (const f of o.fixtures) copyFileSync(f, join(dir, f.split('/').pop()!));
    return {
      dir,
      tarballs,
      node: (args, env = {}, ms = 180_000) => run(process.execPath, args, dir, ms, cleanEnv(env)),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The package.json a tarball carries (read back from the installed copy). */
export function installedManifest(project: ScratchProject, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(project.dir, 'node_modules', name, 'package.json'), 'utf8')) as Record<string, unknown>;
}
