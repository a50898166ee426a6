// `destra aggregator start` chain connections and status endpoint: config.chains parsing (errors name the
// field), the Ethereum sink (relayer key from a variable or a V3 keystore) and the Solana sink (RpcTransport
// over a web3.js Connection, payer from a keypair file) built from config, the chain probes, and /health +
// /metrics of a running aggregator. The relay round trip itself is in test/e2e/aggregator-cli.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Keypair } from '@solana/web3.js';
import { privateKeyToAccount } from 'viem/accounts';
import { dealShares } from '@destra/protocol';
import { encryptV3 } from '@destra/adapter-ethereum';
import { RpcTransport } from '@destra/adapter-solana';
import {
  AggregatorConfigError, connectChains, connectEthereum, connectSolana, health, parseAggregatorConfig, ProbeCache, startAggregator, startStatusServer,
  type AggregatorConfigInput, type StatusDeps,
} from '../src/index.ts';
import { writeLocalCommittee } from '../../test/devnet/committee.ts';

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const;
const ROUTER = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const base = (chains: unknown): unknown => ({
  network: 'test',
  index: 1,
  dataDir: 'data',
  operatorKeystore: 'operator.json',
  password: { env: 'PW' },
  committee: { epoch: 1, members: [{ index: 1, operatorKey: '00'.repeat(96) }] },
  chains,
});

describe('aggregator config: chains', () => {
  const parseErr = (chains: unknown, extra: Record<string, unknown> = {}): string => {
    try {
      parseAggregatorConfig({ ...(base(chains) as object), ...extra });
    } catch (e) {
      expect(e).toBeInstanceOf(AggregatorConfigError);
      return (e as Error).message;
    }
    throw new Error('parsed');
  };

  it('names the offending field', () => {
    expect(parseErr({ ethereum: { rpcUrl: 'http://x', router: '0x12', relayer: { keyEnv: 'K' } } })).toMatch(/'chains\.ethereum\.router': expected a 20-byte address/);
    expect(parseErr({ ethereum: { rpcUrl: 'ws://x', router: ROUTER, relayer: { keyEnv: 'K' } } })).toMatch(/'chains\.ethereum\.rpcUrl': expected an http\(s\) URL/);
    expect(parseErr({ ethereum: { rpcUrl: 'http://x', router: ROUTER, relayer: { keystore: 'k.json' } } })).toMatch(/'chains\.ethereum\.relayer': expected \{ "keystore"/);
    expect(parseErr({ ethereum: { rpcUrl: 'http://x', router: ROUTER } })).toMatch(/'chains\.ethereum\.relayer'/);
    expect(parseErr({ ethereum: { rpcUrl: 'http://x', router: ROUTER, relayer: { keyEnv: 'K' }, extra: 1 } })).toMatch(/'chains\.ethereum'.*extra/);
    expect(parseErr({ solana: { rpcUrl: 'http://x', programId: 'not-base58!', payer: { keypairFile: 'p.json' } } })).toMatch(/'chains\.solana\.programId': expected a base58/);
    expect(parseErr({ solana: { rpcUrl: 'http://x', programId: Keypair.generate().publicKey.toBase58(), payer: {} } })).toMatch(/'chains\.solana\.payer\.keypairFile'/);
    expect(parseErr({ bitcoin: {} })).toMatch(/'chains'.*bitcoin/);
    expect(parseErr({}, { committee: { epoch: 1, members: [{ index: 1, operatorKey: '00'.repeat(96), operatorAddress: '0x1234' }] } })).toMatch(/'committee\.members\.0\.operatorAddress'/);
  });

  it('resolves key, password and keypair paths against the config directory', () => {
    const c = parseAggregatorConfig(
      base({
        ethereum: { rpcUrl: 'http://127.0.0.1:8545', router: ROUTER, registry: ROUTER, relayer: { keystore: 'relayer.json', password: { file: 'pw.txt' } } },
        solana: { rpcUrl: 'http://127.0.0.1:8899', programId: Keypair.generate().publicKey.toBase58(), payer: { keypairFile: 'payer.json' } },
      }),
      '/etc/destra',
    );
    expect(c.chains.ethereum!.relayer).toEqual({ keystore: '/etc/destra/relayer.json', password: { file: '/etc/destra/pw.txt' } });
    expect(c.chains.solana!.payer.keypairFile).toBe('/etc/destra/payer.json');
  });
});

describe('chain connections from config', () => {
  let dir: string;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'destra-agg-chains-'));
    port = await closedPort();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Ethereum: relayer from a key variable or a V3 keystore; the probe reports an unreachable RPC', async () => {
    process.env.DESTRA_TEST_RELAYER_KEY = KEY;
    const rpcUrl = `http://127.0.0.1:${port}`;
    const a = await connectEthereum({ rpcUrl, chainId: 31337, router: ROUTER, relayer: { keyEnv: 'DESTRA_TEST_RELAYER_KEY' } });
    expect(a.relayer).toBe(privateKeyToAccount(KEY).address);
    expect(a.sink.chain).toBe('ethereum');
    expect(a.sink.submitter.account).toBe(a.relayer);
    const h = await new ProbeCache(a.probe, { timeoutMs: 1500 }).check();
    expect(h.ok).toBe(false);
    expect(h.lastError).toBeTruthy();

    writeFileSync(join(dir, 'relayer.json'), await encryptV3(KEY, 'pw', 1024));
    writeFileSync(join(dir, 'pw.txt'), 'pw\n');
    const b = await connectEthereum({ rpcUrl, chainId: 31337, router: ROUTER, relayer: { keystore: join(dir, 'relayer.json'), password: { file: join(dir, 'pw.txt') } } });
    expect(b.relayer).toBe(a.relayer);
    writeFileSync(join(dir, 'bad.txt'), 'nope');
    await expect(connectEthereum({ rpcUrl, chainId: 1, router: ROUTER, relayer: { keystore: join(dir, 'relayer.json'), password: { file: join(dir, 'bad.txt') } } })).rejects.toThrow(
      /'chains\.ethereum\.relayer': wrong password/,
    );
    await expect(connectEthereum({ rpcUrl, chainId: 1, router: ROUTER, relayer: { keyEnv: 'DESTRA_TEST_UNSET_VAR' } })).rejects.toThrow(/'chains\.ethereum\.relayer': set DESTRA_TEST_UNSET_VAR/);
    // without chainId it is read from the endpoint: an unreachable one is named
    await expect(connectEthereum({ rpcUrl, router: ROUTER, relayer: { keyEnv: 'DESTRA_TEST_RELAYER_KEY' } })).rejects.toThrow(/'chains\.ethereum\.rpcUrl': cannot read the chain id/);
  });

  it('Solana: SolanaSink over RpcTransport(Connection), payer from a keypair file; the probe reports an unreachable RPC', async () => {
    const payer = Keypair.generate();
    writeFileSync(join(dir, 'payer.json'), JSON.stringify(Array.from(payer.secretKey)));
    const programId = Keypair.generate().publicKey.toBase58();
    const s = connectSolana({ rpcUrl: `http://127.0.0.1:${port}`, programId, payer: { keypairFile: join(dir, 'payer.json') } });
    expect(s.sink.chain).toBe('solana');
    expect(s.payer.publicKey.equals(payer.publicKey)).toBe(true);
    expect(s.client.transport).toBeInstanceOf(RpcTransport);
    expect(s.client.programId.toBase58()).toBe(programId);
    expect(s.connection.rpcEndpoint).toBe(`http://127.0.0.1:${port}`);
    const h = await new ProbeCache(s.probe, { timeoutMs: 1500 }).check();
    expect(h.ok).toBe(false);

    writeFileSync(join(dir, 'short.json'), JSON.stringify([1, 2, 3]));
    expect(() => connectSolana({ rpcUrl: 'http://x', programId, payer: { keypairFile: join(dir, 'short.json') } })).toThrow(/'chains\.solana\.payer\.keypairFile'.*64 bytes/);
    expect(() => connectSolana({ rpcUrl: 'http://x', programId, payer: { keypairFile: join(dir, 'missing.json') } })).toThrow(/'chains\.solana\.payer\.keypairFile': cannot read/);
  });

  it('connectChains builds one sink and one probe per configured chain', async () => {
    process.env.DESTRA_TEST_RELAYER_KEY = KEY;
    const cfg = parseAggregatorConfig(
      base({
        ethereum: { rpcUrl: `http://127.0.0.1:${port}`, chainId: 31337, router: ROUTER, relayer: { keyEnv: 'DESTRA_TEST_RELAYER_KEY' } },
        solana: { rpcUrl: `http://127.0.0.1:${port}`, programId: Keypair.generate().publicKey.toBase58(), payer: { keypairFile: join(dir, 'payer.json') } },
      }),
      dir,
    );
    const c = await connectChains(cfg);
    expect(c.sinks.map((s) => s.chain)).toEqual(['ethereum', 'solana']);
    expect(c.probes.map((p) => p.chain)).toEqual(['ethereum', 'solana']);
  });
});

describe('status endpoint', () => {
  it('ProbeCache caches answers for ttlMs and times out a hanging probe', async () => {
    let calls = 0;
    let now = 0;
    const up = new ProbeCache({ chain: 'ethereum', probe: async () => void calls++ }, { ttlMs: 1000, now: () => now });
    await up.check();
    await up.check();
    expect(calls).toBe(1);
    now = 1500;
    await up.check();
    expect(calls).toBe(2);
    const hang = new ProbeCache({ chain: 'solana', probe: () => new Promise(() => undefined) }, { timeoutMs: 50 });
    expect(await hang.check()).toMatchObject({ ok: false, lastError: 'no answer within 50 ms' });
  });

  it('/health: ok, degraded below t members or with no chain reachable; /metrics', async () => {
    let members = 3;
    let ethUp = true;
    const deps: StatusDeps = {
      connectedMembers: () => members,
      threshold: 3,
      committeeSize: 4,
      probes: [
        new ProbeCache({ chain: 'ethereum', probe: async () => { if (!ethUp) throw new Error('connection refused'); } }, { ttlMs: 0 }),
        new ProbeCache({ chain: 'solana', probe: async () => { throw new Error('fetch failed'); } }, { ttlMs: 0 }),
      ],
      pendingRelays: () => 2,
      counters: () => ({ results_total: 5 }),
    };
    const srv = await startStatusServer(0, deps);
    try {
      const get = async (path: string) => {
        const r = await fetch(`${srv.url}${path}`);
        return { code: r.status, body: path === '/metrics' ? await r.text() : await r.json() };
      };
      expect(await get('/health')).toEqual({
        code: 200,
        body: { status: 'ok', members: 3, threshold: 3, chains: { ethereum: { ok: true }, solana: { ok: false, lastError: 'fetch failed' } }, pendingRelays: 2 },
      });
      members = 2;
      let h = await get('/health');
      expect(h.code).toBe(503);
      expect(h.body).toMatchObject({ status: 'degraded', members: 2, reasons: ['2 of 4 members connected, threshold 3'] });
      members = 4;
      ethUp = false;
      h = await get('/health');
      expect(h.code).toBe(503);
      expect(h.body).toMatchObject({ status: 'degraded', chains: { ethereum: { ok: false, lastError: 'connection refused' } }, reasons: ['no configured chain is reachable'] });
      const m = await get('/metrics');
      expect(m.body).toContain('destra_aggregator_up 0');
      expect(m.body).toContain('destra_aggregator_members_connected 4');
      expect(m.body).toContain('destra_aggregator_chain_up{chain="ethereum"} 0');
      expect(m.body).toContain('destra_aggregator_pending_relays 2');
      expect(m.body).toContain('destra_aggregator_results_total 5');
      expect((await get('/nope')).code).toBe(404);
    } finally {
      await srv.close();
    }
    // no chains configured: only the members count
    expect((await health({ ...deps, probes: [], connectedMembers: () => 3 })).status).toBe('ok');
  });

  it('startAggregator builds its sinks from config.chains and serves /health on statusPort', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destra-agg-status-'));
    process.env.DESTRA_TEST_RELAYER_KEY = KEY;
    const port = await closedPort();
    try {
      const committee = await writeLocalCommittee({ dir, network: 'status', n: 3, t: 2, logLevel: 'silent' });
      const cfg = parseAggregatorConfig({
        ...committee.aggregatorConfig,
        statusPort: 0,
        chains: { ethereum: { rpcUrl: `http://127.0.0.1:${port}`, chainId: 31337, router: ROUTER, relayer: { keyEnv: 'DESTRA_TEST_RELAYER_KEY' } } },
      } satisfies AggregatorConfigInput);
      const agg = await startAggregator(cfg, { sharing: dealShares(2, 3).sharing, log: pino({ level: 'silent' }), probeTimeoutMs: 1000 });
      try {
        expect(agg.chains?.sinks.map((s) => s.chain)).toEqual(['ethereum']);
        const r = await fetch(`${agg.status!.url}/health`);
        expect(r.status).toBe(503);
        const body = (await r.json()) as { status: string; members: number; threshold: number; chains: { ethereum: { ok: boolean } }; pendingRelays: number };
        expect(body).toMatchObject({ status: 'degraded', members: 0, threshold: 2, chains: { ethereum: { ok: false } }, pendingRelays: 0 });
      } finally {
        await agg.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
