// The CLI as users run it: a real child process through bin/destra.mjs.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { publicKeyOf, randomSecretKey, secretKeyToBytes, sign } from '@destra/protocol';

const bin = fileURLToPath(new URL('../destra.mjs', import.meta.url));
// Asynchronous on purpose: a test body of several synchronous CLI runs blocked the vitest worker's event
// loop past its 60 s RPC timeout on a loaded 2-core machine.
const run = (...args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, out: stdout.trim(), err: stderr.trim() });
    });
  });

describe('destra bls', () => {
  const sk = randomSecretKey();
  const msg = utf8ToBytes('hello destra');
  const pk = bytesToHex(publicKeyOf(sk));
  const sig = bytesToHex(sign(sk, msg));

  it('verify: valid → exit 0, wrong → exit 1, malformed → typed error exit 1', { timeout: 600_000 }, async () => {
    expect(await run('bls', 'verify', '--pk', pk, '--sig', sig, '--msg', bytesToHex(msg))).toMatchObject({ code: 0, out: 'valid' });
    expect(await run('bls', 'verify', '--pk', `0x${pk}`, '--sig', sig, '--msg', '00')).toMatchObject({ code: 1, out: 'invalid' });
    const bad = await run('bls', 'verify', '--pk', pk, '--sig', 'c0' + '00'.repeat(47), '--msg', '00');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/InvalidPointError \[INVALID_POINT\].*identity/);
    const wrongDst = await run('bls', 'verify', '--pk', pk, '--sig', sig, '--msg', bytesToHex(msg), '--dst', 'OTHER_DST');
    expect(wrongDst).toMatchObject({ code: 1, out: 'invalid' });
    const notHex = await run('bls', 'verify', '--pk', 'zz', '--sig', sig, '--msg', '00');
    expect(notHex.code).not.toBe(0);
    expect(notHex.err).toMatch(/--pk.*hex/);
  });

  it('sign agrees with verify; --help exists on every command', async () => {
    const s = await run('bls', 'sign', '--sk', bytesToHex(secretKeyToBytes(sk)), '--msg', bytesToHex(msg));
    expect(s.out).toBe(sig);
    for (const cmd of [[], ['bls'], ['bls', 'verify'], ['bls', 'sign'], ['bls', 'keygen'], ['dkg'], ['dkg', 'simulate']]) {
      const h = await run(...cmd, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toMatch(/Usage: destra/);
    }
  }, 600_000); // 8 CLI start-ups: ~20 s each at load 30 on the shared 2-core box
});

describe('destra dkg simulate', () => {
  it('runs a ceremony with faulty members, signs with t shares and reports timings', async () => {
    const r = await run('dkg', 'simulate', '--n', '7', '--t', '5', '--faulty', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| deal/);
    expect(r.out).toMatch(/\| finalise/);
    expect(r.out).toMatch(/qualified dealers: 5\/7/);
    expect(r.out).toMatch(/→ valid/);
  });

  it('rejects bad arguments with a message naming the option', async () => {
    const r = await run('dkg', 'simulate', '--n', '3', '--t', 'x');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--t must be an integer/);
  });
});
