import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptKeystore, fromHex, publicKeyOf, secretKeyFromBytes } from '@destra/protocol';
import { parseNodeConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { dkgEncryptionKeyPair } from '../src/keys.ts';
import { startNode } from '../src/node.ts';
import { ArithmeticModel, PASSWORD, makeCommittee } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const member = (index: number) => ({ index, operatorKey: `0x${'11'.repeat(96)}`, encryptionKey: `0x${'22'.repeat(32)}` });
const base = () => ({
  network: 'devnet',
  dataDir: 'data',
  operatorKeystore: 'operator.json',
  password: { env: 'X' },
  committee: { epoch: 1, threshold: 2, members: [member(1), member(2), member(3)] },
});

function fieldOf(raw: unknown): string | undefined {
  try {
    parseNodeConfig(raw, '/base');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).field;
  }
  return undefined;
}

describe('node config', () => {
  it('accepts a minimal config, fills defaults and resolves paths against the config directory', () => {
    const c = parseNodeConfig(base(), '/base');
    expect(c.dataDir).toBe('/base/data');
    expect(c.operatorKeystore).toBe('/base/operator.json');
    expect(c.api).toEqual({ host: '127.0.0.1', port: 0, maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    expect(c.retention).toEqual({ maxAgeHours: 168, maxRows: 1_000_000, intervalMs: 60_000 });
    expect(c.listen).toEqual(['/ip4/127.0.0.1/tcp/0']);
    expect(c.committee!.members[0]!.operatorKey).toHaveLength(96);
    expect(parseNodeConfig(c)).toBe(c); // already parsed: returned as is
  });

  it('names the offending field', () => {
    expect(fieldOf({ ...base(), network: 'Bad Name' })).toBe('network');
    expect(fieldOf({ ...base(), committee: { ...base().committee, threshold: 4 } })).toBe('committee.threshold');
    expect(fieldOf({ ...base(), committee: { ...base().committee, members: [member(1), { ...member(2), operatorKey: '0x11' }] } })).toBe('committee.members.1.operatorKey');
    expect(fieldOf({ ...base(), committee: { ...base().committee, members: [member(2), member(1)] } })).toBe('committee.members');
    expect(fieldOf({ ...base(), api: { host: '0.0.0.0', port: 1 } })).toBe('api.host');
    expect(fieldOf({ ...base(), password: { env: 'X', file: 'y' } })).toBe('password');
    expect(fieldOf({ ...base(), surprise: true })).toBe('(root)');
    expect(fieldOf({ ...base(), feeds: [{ name: 'f', model: 'm', input: '0x00', intervalMs: 10 }] })).toBe('feeds.0.intervalMs');
  });

  it('refuses to start with a keystore that is not a registered member, or a wrong encryption key', async () => {
    process.env.DESTRA_TEST_PASSWORD = PASSWORD;
    const fx = await makeCommittee(join(dir, 'a'), 2, 2);
    const cfg = fx.configs[0]!;
    const other = { ...cfg, operatorKeystore: fx.configs[1]!.operatorKeystore, committee: { ...cfg.committee!, members: [cfg.committee!.members[0]!] , threshold: 1 } };
    await expect(startNode(other, { inference: new ArithmeticModel(), log: captureLog().log })).rejects.toThrow(/not registered in the committee/);
    const members = cfg.committee!.members.map((m, i) => (i === 0 ? { ...m, encryptionKey: `0x${'33'.repeat(32)}` } : m));
    await expect(startNode({ ...cfg, committee: { ...cfg.committee!, members } }, { inference: new ArithmeticModel(), log: captureLog().log })).rejects.toThrow(
      /encryptionKey does not match/,
    );
    await expect(startNode(cfg, { inference: new ArithmeticModel(), log: captureLog().log, password: 'wrong' })).rejects.toThrow(/password|checksum/i);
    delete process.env.DESTRA_TEST_PASSWORD;
    await expect(startNode(cfg, { inference: new ArithmeticModel(), log: captureLog().log })).rejects.toThrow(/DESTRA_TEST_PASSWORD is not set/);
  });
});

describe('destra node CLI', () => {
  const runner = fileURLToPath(new URL('./cli-runner.ts', import.meta.url));
  // Asynchronous: several synchronous CLI runs in one test blocked the vitest worker's event loop past
  // its 60 s RPC timeout on a loaded 2-core machine.
  const cli = (args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', runner, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) }, (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });

  it('init creates a keystore and libp2p identity whose registration matches', async () => {
    const out = await cli(['node', 'init', '--dir', join(dir, 'op'), '--scrypt-n', '1024'], { DESTRA_PASSWORD: 'pw' });
    expect(out.status, out.stderr).toBe(0);
    const { keystore, registration } = JSON.parse(out.stdout) as { keystore: string; registration: Record<string, string> };
    const sk = secretKeyFromBytes(decryptKeystore(readFileSync(keystore, 'utf8'), 'pw'));
    expect(publicKeyOf(sk)).toEqual(fromHex(registration.operatorKey!));
    expect(dkgEncryptionKeyPair(sk).publicKey).toEqual(fromHex(registration.encryptionKey!));
    expect(registration.peerId).toMatch(/^12D3KooW/);
    expect((await cli(['node', 'init', '--dir', join(dir, 'op')], { DESTRA_PASSWORD: 'pw' })).stderr).toMatch(/already exists/);
    // Only the operator can read its keystore.
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('init refuses an empty password and writes nothing', async () => {
    const out = await cli(['node', 'init', '--dir', join(dir, 'empty-pw'), '--scrypt-n', '1024'], { DESTRA_PASSWORD: '' });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/password is empty/);
    expect(existsSync(join(dir, 'empty-pw', 'operator.json'))).toBe(false);
  }, 60_000);

  it('start refuses an operator keystore that other users can read', async () => {
    const fx = await makeCommittee(join(dir, 'perm'), 1, 1);
    const cfg = fx.configs[0]!;
    chmodSync(cfg.operatorKeystore, 0o644);
    const cfgPath = join(dir, 'perm', 'node1.json');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const out = await cli(['node', 'start', '--config', cfgPath], { DESTRA_TEST_PASSWORD: PASSWORD });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`run: chmod 600 ${cfg.operatorKeystore}`);
  }, 60_000);

  it('start runs a node with JSON logs until SIGTERM', async () => {
    const fx = await makeCommittee(join(dir, 'run'), 1, 1);
    const cfgPath = join(dir, 'run', 'node1.json');
    writeFileSync(cfgPath, JSON.stringify({ ...fx.configs[0], logLevel: 'info', models: { models: ['tx-anomaly'] } }));
    const child = spawn(process.execPath, ['--import', 'tsx', runner, 'node', 'start', '--config', cfgPath], {
      env: { ...process.env, DESTRA_TEST_PASSWORD: PASSWORD },
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const lines: Record<string, unknown>[] = [];
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += String(d);
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const l of parts) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      });
      const deadline = Date.now() + 60_000;
      while (!lines.some((l) => l.msg === 'node started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const started = lines.find((l) => l.msg === 'node started')!;
      expect(started).toMatchObject({ level: 30, node: 1, network: 'testnet' });
      // Its key share made, the node is healthy but for its relay path: no aggregator runs in this test.
      let health: Response | undefined;
      let body: { hasKeyShare?: boolean; status?: string; reasons?: string[] } = {};
      while (Date.now() < deadline) {
        health = await fetch(`${started.api as string}/health`);
        body = (await health.json()) as typeof body;
        if (body.hasKeyShare) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(health!.status).toBe(503);
      expect(body).toMatchObject({ status: 'degraded', hasKeyShare: true });
      expect(body.reasons?.[0]).toMatch(/no relay path/);
      // The finding: one request naming an unknown model ended the process. Now: a 400 and the node lives.
      const bad = await fetch(`${started.api as string}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"no-such-model","input":"0x00"}' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toBe('UNKNOWN_MODEL');
      expect(((await (await fetch(`${started.api as string}/health`)).json()) as { hasKeyShare: boolean }).hasKeyShare).toBe(true);
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(lines.some((l) => l.msg === 'node stopped')).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);

  it('check-config and start report the bad field and exit non-zero', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...base(), committee: { ...base().committee, threshold: 0 } }));
    const out = await cli(['node', 'check-config', '--config', bad]);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/config field 'committee.threshold'/);
    const start = await cli(['node', 'start', '--config', join(dir, 'missing.json')]);
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/cannot read config file/);
  }, 60_000);
});
