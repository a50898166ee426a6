// Runs the programs' Rust unit tests (decoders, Merkle proofs, hash-to-G1 hint checks against the shared
// vectors in test/vectors) as part of the project suite. cargo comes with programs/build.sh's toolchain.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const programs = fileURLToPath(new URL('../../../programs', import.meta.url));
const cargo = existsSync('/usr/bin/cargo') ? '/usr/bin/cargo' : 'cargo';
const rustc = existsSync('/usr/bin/rustc') ? '/usr/bin/rustc' : 'rustc';

describe('Rust program unit tests', () => {
  // asynchronous: a synchronous child blocks the worker's event loop, and a first build (minutes) then
  // makes vitest's worker RPC time out ("Timeout calling onTaskUpdate") although the tests pass
  it('cargo test passes for destra_oracle, destra_consumer and destra_client', async () => {
    const { stdout: out } = await promisify(execFile)(cargo, ['test', '--release', '-j', '2', '-p', 'destra_oracle', '-p', 'destra_consumer', '-p', 'destra_client'], {
      cwd: programs, env: { ...process.env, RUSTC: rustc }, encoding: 'utf8', timeout: 590_000, maxBuffer: 16 * 1024 * 1024,
    });
    const passed = [...out.matchAll(/test result: ok\. (\d+) passed; 0 failed/g)].reduce((n, m) => n + Number(m[1]), 0);
    expect(passed).toBeGreaterThanOrEqual(20);
  }, 600_000);
});
