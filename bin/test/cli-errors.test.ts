// The one error style of every `destra` command: one line `destra <command>: what was wrong. what to do`,
// exit code 1, no stack trace unless --verbose; `npx destra` prints no npm warning; `bls verify` says what
// message it checked. The cases run through main()'s error handling in this process (cli-harness.ts); a
// child process through bin/destra.mjs proves the same for what users run (exit status, stderr).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@noble/hashes/utils.js';
import { publicKeyOf, randomSecretKey, reportLeaf, rootSigningMessage, sign } from '@destra/protocol';
import { cli } from './operator-harness.ts';
import { inProcessProgram } from './cli-harness.ts';
import { buildProgram } from '../cli.ts';

const run = (args: string[]) => inProcessProgram(buildProgram, args);

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A 127.0.0.1 port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const noStack = /\n\s+at /;

describe('destra: one error style for every command', () => {
  it('bad address, unreachable RPC, missing file, bad model name: one line, exit 1, no stack', async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    const router = `0x${'11'.repeat(20)}`;
    const cases: [string[], RegExp][] = [
      [['eth', 'committee', '--rpc', rpc, '--router', '0x1234'], /^destra eth committee: option '--router <address>' argument '0x1234' is invalid\. expected a 20-byte 0x address\. See 'destra eth committee --help'\.$/],
      [['eth', 'committee', '--rpc', rpc, '--router', router], new RegExp(`^destra eth committee: cannot reach ${rpc}/? \\(ECONNREFUSED\\)\\. Start the chain or node there, or fix the URL`)],
      [['eth', 'result', '--rpc', rpc, '--router', router, '--id', `0x${'22'.repeat(32)}`], /^destra eth result: cannot reach /],
      [['report', 'verify', '/nonexistent/answer.json', '--group-key', '00'], /^destra report verify: cannot read \/nonexistent\/answer\.json: .*ENOENT.*\. Check the path/],
      [['aggregator', 'start', '--config', '/nonexistent/aggregator.json'], /^destra aggregator start: cannot read config file \/nonexistent\/aggregator\.json: .* \[AGG_CONFIG\]$/],
      [['node', 'check-config', '--config', '/nonexistent/node.json'], /^destra node check-config: cannot read config file \/nonexistent\/node\.json.* \[CONFIG\]$/],
      [['models', 'encode', '--model', 'risk-score.destra', '--values', '1'], /^destra models encode: model\(s\) risk-score\.destra not found .*available: .*liquidation-risk.*give the model's manifest name/],
      [['bls', 'verify', '--pk', '00', '--sig', '00'], /^destra bls verify: give exactly one of --msg, --root or --report\. See --help/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(re);
      expect(r.err.split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err).not.toMatch(noStack);
    }
  }, 600_000);

  it('as a child process: one line on stderr, exit status 1', async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(['eth', 'committee', '--rpc', rpc, '--router', `0x${'11'.repeat(20)}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^destra eth committee: cannot reach /);
    expect(r.err.split('\n')).toHaveLength(1);
    const usage = await cli(['eth', 'committee', '--rpc', rpc, '--router', '0x1234']);
    expect(usage.code).toBe(1);
    expect(usage.err).toMatch(/^destra eth committee: option '--router <address>' argument '0x1234' is invalid/);
    expect(usage.err.split('\n')).toHaveLength(1);
  }, 300_000);

  it('--verbose (anywhere on the line) adds the stack trace', async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(['eth', 'committee', '--rpc', rpc, '--router', `0x${'11'.repeat(20)}`, '--verbose']);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toMatch(/^destra eth committee: cannot reach /);
    expect(r.err).toMatch(noStack);
    const missing = await run(['--verbose', 'aggregator', 'start', '--config', '/nonexistent/aggregator.json']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(noStack);
  }, 300_000);

  it('npx destra prints no npm warning', async () => {
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn('npx', ['destra', '--help'], { cwd: root, env: process.env });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (err += String(d)));
      child.on('close', (code) => resolve({ code, out, err }));
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: destra/);
    expect(r.err).not.toMatch(/npm warn/i);
  }, 300_000);
});

describe('destra bls verify with a root or a report', () => {
  const sk = randomSecretKey();
  const pk = bytesToHex(publicKeyOf(sk));
  const report = Uint8Array.from({ length: 120 }, (_, i) => i);
  const leaf = reportLeaf(report);
  const sig = bytesToHex(sign(sk, rootSigningMessage(leaf)));

  it('checks 0x01 ‖ root, and 0x01 ‖ keccak256(0x00 ‖ report), saying which message', async () => {
    const byRoot = await run(['bls', 'verify', '--pk', pk, '--sig', sig, '--root', bytesToHex(leaf)]);
    expect(byRoot.code, byRoot.err).toBe(0);
    expect(byRoot.out).toBe(`valid (message 0x01 ‖ root = 0x01${bytesToHex(leaf)})`);
    const byReport = await run(['bls', 'verify', '--pk', pk, '--sig', sig, '--report', bytesToHex(report)]);
    expect(byReport.code, byReport.err).toBe(0);
    expect(byReport.out).toMatch(/^valid \(message 0x01 ‖ keccak256\(0x00 ‖ report\) = 0x01/);
  }, 300_000);

  it('the root given as --msg fails with the 0x01 ‖ root hint', async () => {
    const r = await run(['bls', 'verify', '--pk', pk, '--sig', sig, '--msg', bytesToHex(leaf)]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('invalid');
    expect(r.err).toMatch(/^hint: this checked the 32 bytes as the message itself; if they are a report root, a Destra report signature signs 0x01 ‖ root, .*keccak256\(0x00 ‖ report\).*give --root instead of --msg$/);
    const other = await run(['bls', 'verify', '--pk', pk, '--sig', sig, '--report', bytesToHex(report.slice(1))]);
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/^invalid \(message 0x01 ‖ keccak256/);
    expect(other.err).toMatch(/^hint: checked the report as a single report .*give --root with the root from its proof/);
  }, 300_000);
});
