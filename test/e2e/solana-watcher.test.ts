// A node's `chains.solana` watcher, as an operator configures it: the devnet's SVM bridge serves Solana
// JSON-RPC over an in-process LiteSVM with the oracle program initialised; a node started from a config
// naming that RPC sees a request created after its start (in its store and /v1/rounds, source
// `solana:<cluster id>`, timestamp = the request slot's getBlockTime, model mapped from its hash).
// Also: the bridge's JSON-RPC surface (read-only) and config validation, in-process and through
// `destra node check-config`.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { domainTag, g2Uncompressed, publicKeyPoint, randomSecretKey, ReportKind, toHex } from '@destra/protocol';
import { accountDiscriminator, createLocalDeployment, ORACLE_PROGRAM_ID, RpcTransport, OracleClient, type LocalDeployment } from '@destra/adapter-solana';
import { ConfigError, parseNodeConfig, startNode, type OracleNode } from '@destra/oracle-node';
import { rpcSlotTime } from '../../oracle-node/src/chains/solana.ts';
import { ARITH_MODEL_HASH, ArithmeticModel, PASSWORD, makeCommittee } from '../../oracle-node/test/fixtures.ts';
import { captureLog } from '../../oracle-node/test/helpers.ts';
import { BridgeTransport, startSvmBridge } from '../devnet/svm-bridge.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const runner = fileURLToPath(new URL('../../oracle-node/test/cli-runner.ts', import.meta.url));
// Asynchronous so a CLI run never blocks the vitest worker's event loop (its RPC times out after 60 s).
const cli = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', runner, ...args], { env: { ...process.env }, encoding: 'utf8', cwd: repoRoot }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });

const CLUSTER_ID = Uint8Array.from(Buffer.from('destra-test-litesvm-cluster-id'.padEnd(32, '\0')));
const CLUSTER_HEX = toHex(CLUSTER_ID);
const T0 = 1_764_000_000n;
const dir = mkdtempSync(join(tmpdir(), 'destra-solwatch-'));

let d: LocalDeployment;
let bridge: Awaited<ReturnType<typeof startSvmBridge>>;

const setClock = (slot: bigint, unix: bigint): void => {
  const c = d.transport.svm.getClock();
  c.slot = slot;
  c.unixTimestamp = unix;
  d.transport.svm.setClock(c);
};

async function rpc(body: unknown): Promise<Record<string, unknown> & { result?: unknown; error?: { code: number; message: string } }> {
  const res = await fetch(bridge.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  d = await createLocalDeployment({ groupKey: g2Uncompressed(publicKeyPoint(randomSecretKey())), domain: domainTag('testnet'), clusterId: CLUSTER_ID });
  setClock(1000n, T0);
  bridge = await startSvmBridge(d.transport);
});

afterAll(async () => {
  await bridge?.close();
  rmSync(dir, { recursive: true, force: true });
});

let nonce = 0n;
async function request(input: Uint8Array): Promise<PublicKey> {
  const requester = Keypair.generate();
  d.transport.airdrop(requester.publicKey, 10_000_000_000n);
  const n = ++nonce;
  await d.client.send([d.client.requestInferenceIx({ requester: requester.publicKey, nonce: n, modelHash: ARITH_MODEL_HASH, input })], [requester]);
  return d.client.requestAddress(requester.publicKey, n);
}

describe('devnet SVM bridge: Solana JSON-RPC (read-only)', () => {
  it('serves what web3.js reads: accounts, program accounts with memcmp/dataSize filters, slot, block time', async () => {
    const conn = new Connection(bridge.rpcUrl, 'confirmed');
    const cfg = await conn.getAccountInfo(d.client.configAddress());
    expect(cfg?.owner.equals(ORACLE_PROGRAM_ID)).toBe(true);
    expect(cfg?.data.length).toBeGreaterThan(100);
    expect(await conn.getAccountInfo(Keypair.generate().publicKey)).toBeNull();
    expect(await conn.getSlot()).toBe(1000);
    expect(await conn.getBlockTime(1000)).toBe(Number(T0));

    // RpcTransport over the bridge reads exactly what the in-process transport reads
    const viaRpc = new OracleClient(new RpcTransport(conn), ORACLE_PROGRAM_ID);
    expect((await viaRpc.fetchConfig())!.clusterId).toEqual(CLUSTER_ID);
    const addr = await request(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));
    const pending = await viaRpc.listPendingRequests();
    expect(pending.map((r) => r.address.toBase58())).toContain(addr.toBase58());
    expect(pending.find((r) => r.address.equals(addr))!.input).toEqual(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));

    // memcmp in base58 (web3.js's default encoding) and dataSize
    const size = (await d.transport.getAccount(addr))!.data.length;
    const disc = accountDiscriminator('InferenceRequest');
    const byDisc = await conn.getProgramAccounts(ORACLE_PROGRAM_ID, { filters: [{ memcmp: { offset: 0, bytes: Buffer.from(disc).toString('base64'), encoding: 'base64' } }, { dataSize: size }] });
    expect(byDisc.map((a) => a.pubkey.toBase58())).toContain(addr.toBase58());
    expect(await conn.getProgramAccounts(ORACLE_PROGRAM_ID, { filters: [{ dataSize: size + 1 }] })).toEqual([]);
    const b58 = await rpc({ jsonrpc: '2.0', id: 1, method: 'getProgramAccounts', params: [ORACLE_PROGRAM_ID.toBase58(), { encoding: 'base64', filters: [{ memcmp: { offset: 8, bytes: (await d.client.fetchRequest(addr))!.requester.toBase58() } }] }] });
    expect((b58.result as { pubkey: string }[]).map((a) => a.pubkey)).toEqual([addr.toBase58()]);

    // the existing routes still answer
    const legacy = new BridgeTransport(bridge.url);
    expect((await legacy.getAccount(addr))!.data).toEqual((await d.transport.getAccount(addr))!.data);
    expect((await legacy.getProgramAccounts(ORACLE_PROGRAM_ID, [{ offset: 0, bytes: disc }])).map((a) => a.address.toBase58())).toContain(addr.toBase58());
  });

  it('answers a slot with one time forever, refuses future slots, writes, bad JSON and oversized bodies', async () => {
    setClock(1010n, T0 + 4n);
    expect((await rpc({ jsonrpc: '2.0', id: 'a', method: 'getBlockTime', params: [1010] })).result).toBe(Number(T0) + 4);
    setClock(1020n, T0 + 8n);
    // a slot between two noted ones gets the time of the first noted slot at or after it, and keeps it
    expect((await rpc({ jsonrpc: '2.0', id: 'b', method: 'getBlockTime', params: [1005] })).result).toBe(Number(T0) + 4);
    expect((await rpc({ jsonrpc: '2.0', id: 'c', method: 'getBlockTime', params: [1010] })).result).toBe(Number(T0) + 4);
    expect((await rpc({ jsonrpc: '2.0', id: 'd', method: 'getBlockTime', params: [1021] })).error?.code).toBe(-32004);

    const send = await rpc({ jsonrpc: '2.0', id: 7, method: 'sendTransaction', params: ['AQ=='] });
    expect(send.id).toBe(7);
    expect(send.error?.message).toMatch(/read-only/);
    expect((await rpc({ jsonrpc: '2.0', id: 8, method: 'getVoteAccounts', params: [] })).error?.code).toBe(-32601);
    const batch = (await rpc([{ jsonrpc: '2.0', id: 1, method: 'getSlot' }, { jsonrpc: '2.0', id: 2, method: 'requestAirdrop', params: [] }])) as unknown as { id: number; result?: number; error?: unknown }[];
    expect(batch[0]!.result).toBe(1020);
    expect(batch[1]!.error).toBeDefined();
    const bad = await fetch(bridge.rpcUrl, { method: 'POST', body: '{"jsonrpc":' });
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32700);
    await expect(fetch(bridge.rpcUrl, { method: 'POST', body: 'x'.repeat(70 * 1024) }).then((r) => r.text())).rejects.toThrow();
    expect(new URL(bridge.rpcUrl).hostname).toBe('127.0.0.1');
  });
});

describe('node config chains.solana', () => {
  const good = (over: Record<string, unknown> = {}) => ({ rpcUrl: bridge.rpcUrl, programId: ORACLE_PROGRAM_ID.toBase58(), clusterId: CLUSTER_HEX, pollIntervalMs: 100, models: { [toHex(ARITH_MODEL_HASH)]: 'arith' }, ...over });
  const base = (solana: unknown) => ({
    network: 'testnet',
    dataDir: 'data',
    operatorKeystore: 'operator.json',
    password: { env: 'X' },
    committee: { epoch: 1, threshold: 1, members: [{ index: 1, operatorKey: `0x${'11'.repeat(96)}`, encryptionKey: `0x${'22'.repeat(32)}` }] },
    chains: { solana },
  });
  const fieldOf = (solana: unknown): string | undefined => {
    try {
      parseNodeConfig(base(solana), dir);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).field;
    }
    return undefined;
  };

  it('is validated field by field', () => {
    expect(fieldOf(good())).toBeUndefined();
    expect(parseNodeConfig(base({ rpcUrl: 'https://api.devnet.solana.com', programId: ORACLE_PROGRAM_ID.toBase58(), clusterId: CLUSTER_HEX.slice(2) }), dir).chains.solana).toMatchObject({ pollIntervalMs: 1000, models: {} });
    expect(fieldOf(good({ programId: 'not-a-program-0OIl' }))).toBe('chains.solana.programId');
    expect(fieldOf(good({ programId: '1111' }))).toBe('chains.solana.programId'); // base58, but not 32 bytes
    expect(fieldOf(good({ rpcUrl: 'ws://127.0.0.1:8900' }))).toBe('chains.solana.rpcUrl');
    expect(fieldOf(good({ clusterId: '0x1234' }))).toBe('chains.solana.clusterId');
    expect(fieldOf(good({ commitment: 'recent' }))).toBe('chains.solana.commitment');
    expect(fieldOf(good({ pollIntervalMs: 1 }))).toBe('chains.solana.pollIntervalMs');
    expect(fieldOf(good({ models: { '0x12': 'arith' } }))).toBe('chains.solana.models.0x12');
    expect(fieldOf({ ...good(), surprise: 1 })).toBe('chains.solana');
  });

  it('destra node check-config says Solana is watched, and rejects a bad programId naming the field', async () => {
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, JSON.stringify(base(good())));
    const out = await cli(['node', 'check-config', '--config', ok]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^config ok: network testnet/);
    expect(out.stdout).toContain(`chain watchers: solana (program ${ORACLE_PROGRAM_ID.toBase58()}, cluster ${CLUSTER_HEX} at ${bridge.rpcUrl})`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(base(good({ programId: 'not-a-program-0OIl' }))));
    const no = await cli(['node', 'check-config', '--config', bad]);
    expect(no.status).toBe(1);
    expect(no.stderr).toMatch(/config field 'chains\.solana\.programId'/);
  }, 60_000);

  it('a cluster without a block time for the slot is an explicit error', async () => {
    await expect(rpcSlotTime({ getBlockTime: async () => null })(5n)).rejects.toThrow(/no block time for slot 5/);
    let calls = 0;
    const t = rpcSlotTime({ getBlockTime: async () => ++calls });
    expect([await t(1n), await t(1n), await t(2n)]).toEqual([1, 1, 2]); // cached per slot
  });
});

describe('a node started from a config with chains.solana', () => {
  let node: OracleNode | undefined;
  afterAll(async () => {
    await node?.stop();
  });

  it('refuses a clusterId the program was not initialised with', async () => {
    const fx = await makeCommittee(join(dir, 'wrong'), 1, 1);
    const cfg = { ...fx.configs[0]!, chains: { solana: { rpcUrl: bridge.rpcUrl, programId: ORACLE_PROGRAM_ID.toBase58(), clusterId: `0x${'ab'.repeat(32)}` } } };
    await expect(startNode(cfg, { inference: new ArithmeticModel(), log: captureLog().log, password: PASSWORD })).rejects.toThrow(/config field 'chains\.solana\.clusterId'.*initialised with cluster id/);
  }, 60_000);

  it('sees a Solana request created after its start', async () => {
    const fx = await makeCommittee(join(dir, 'node'), 1, 1);
    const { log, lines } = captureLog();
    const cfg = {
      ...fx.configs[0]!,
      chains: { solana: { rpcUrl: bridge.rpcUrl, programId: ORACLE_PROGRAM_ID.toBase58(), clusterId: CLUSTER_HEX, commitment: 'confirmed' as const, pollIntervalMs: 100, models: { [toHex(ARITH_MODEL_HASH)]: 'arith' } } },
    };
    node = await startNode(cfg, { inference: new ArithmeticModel(), log, password: PASSWORD });
    const source = `solana:${CLUSTER_HEX.slice(2)}`;
    expect(node.sources.map((s) => s.name)).toContain(source);
    expect(lines.some((l) => l.msg === 'solana watcher started' && l.program === ORACLE_PROGRAM_ID.toBase58())).toBe(true);

    setClock(1100n, T0 + 40n);
    const addr = await request(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const id = addr.toBytes();
    const stored = await until('the request in the node store', () => node!.store.getRequest(id, 0));
    expect(stored.source).toBe(source);
    expect(stored.kind).toBe(ReportKind.Request);
    expect(stored.model).toBe('arith');
    expect(stored.timestamp).toBe(Number(T0) + 40); // getBlockTime of the request's slot (LiteSVM Clock)
    expect(node.store.cursor(source)).toBe(1100n);
    const rounds = (await (await fetch(`${node.url}/v1/rounds`)).json()) as { requestId: string; kind: number; model: string }[];
    expect(rounds.find((r) => r.requestId === toHex(id))).toMatchObject({ kind: ReportKind.Request, model: 'arith' });
  }, 90_000);
});

describe('destra node start (CLI) with chains.solana', () => {
  it('watches Solana: a request created after start shows in /v1/rounds', async () => {
    const fx = await makeCommittee(join(dir, 'cli'), 1, 1);
    const cfgPath = join(dir, 'cli', 'node1.json');
    const solana = { rpcUrl: bridge.rpcUrl, programId: ORACLE_PROGRAM_ID.toBase58(), clusterId: CLUSTER_HEX, pollIntervalMs: 100 };
    writeFileSync(cfgPath, JSON.stringify({ ...fx.configs[0], logLevel: 'info', models: { models: ['tx-anomaly'] }, chains: { solana } }));
    const child = spawn(process.execPath, ['--import', 'tsx', runner, 'node', 'start', '--config', cfgPath], { env: { ...process.env, DESTRA_TEST_PASSWORD: PASSWORD }, cwd: repoRoot });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += String(c);
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) if (l.trim().startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    try {
      const started = await until('node started', () => lines.find((l) => l.msg === 'node started'), 60_000);
      expect(lines.some((l) => l.msg === 'solana watcher started' && l.source === `solana:${CLUSTER_HEX.slice(2)}`)).toBe(true);
      setClock(1200n, T0 + 80n);
      // a model hash this node does not serve: still a chain request (answered with an UNKNOWN_MODEL failure report)
      const addr = await request(new Uint8Array(8).fill(4));
      const round = await until(
        'the request in /v1/rounds',
        async () => ((await (await fetch(`${started.api as string}/v1/rounds`)).json()) as { requestId: string; kind: number; model: string }[]).find((r) => r.requestId === toHex(addr.toBytes())),
        30_000,
      );
      expect(round).toMatchObject({ kind: ReportKind.Request, model: toHex(ARITH_MODEL_HASH) });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
