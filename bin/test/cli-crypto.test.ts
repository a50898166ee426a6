// The CLI as users run it: a real child process through bin/destra.mjs.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { publicKeyOf, randomSecretKey, secretKeyToBytes, sign } from '@destra/protocol';

const bin = fileURLToPath(new URL('../destra.mjs', import.meta.url));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
};

describe('destra bls', () => {
  const sk = randomSecretKey();
  const msg = utf8ToBytes('hello destra');
  const pk = bytesToHex(publicKeyOf(sk));
  const sig = bytesToHex(sign(sk, msg));

  it('verify: valid → exit 0, wrong → exit 1, malformed → typed error exit 1', () => {
    expect(run('bls', 'verify', '--pk', pk, '--sig', sig, '--msg', bytesToHex(msg))).toMatchObject({ code: 0, out: 'valid' });
    expect(run('bls', 'verify', '--pk', `0x${pk}`, '--sig', sig, '--msg', '00')).toMatchObject({ code: 1, out: 'invalid' });
    const bad = run('bls', 'verify', '--pk', pk, '--sig', 'c0' + '00'.repeat(47), '--msg', '00');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/InvalidPointError \[INVALID_POINT\].*identity/);
    const wrongDst = run('bls', 'verify', '--pk', pk, '--sig', sig, '--msg', bytesToHex(msg), '--dst', 'OTHER_DST');
    expect(wrongDst).toMatchObject({ code: 1, out: 'invalid' });
    const notHex = run('bls', 'verify', '--pk', 'zz', '--sig', sig, '--msg', '00');
    expect(notHex.code).not.toBe(0);
    expect(notHex.err).toMatch(/--pk.*hex/);
  });

  it('sign agrees with verify; --help exists on every command', () => {
    const s = run('bls', 'sign', '--sk', bytesToHex(secretKeyToBytes(sk)), '--msg', bytesToHex(msg));
    expect(s.out).toBe(sig);
    for (const cmd of [[], ['bls'], ['bls', 'verify'], ['bls', 'sign'], ['bls', 'keygen'], ['dkg'], ['dkg', 'simulate']]) {
      const h = run(...cmd, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toMatch(/Usage: destra/);
    }
  });
});

describe('destra dkg simulate', () => {
  it('runs a ceremony with faulty members, signs with t shares and reports timings', () => {
    const r = run('dkg', 'simulate', '--n', '7', '--t', '5', '--faulty', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| deal/);
    expect(r.out).toMatch(/\| finalise/);
    expect(r.out).toMatch(/qualified dealers: 5\/7/);
    expect(r.out).toMatch(/→ valid/);
  });

  it('rejects bad arguments with a message naming the option', () => {
    const r = run('dkg', 'simulate', '--n', '3', '--t', 'x');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--t must be an integer/);
  });
});
