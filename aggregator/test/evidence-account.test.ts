// Config evidence.account: the account equivocation evidence is sent from, on its own nonce sequence.
// It is what lets an aggregator started with its caller's chain sinks (in-process networks, where no
// relayer connection is built) submit evidence at all — before it, such an aggregator named equivocations
// and silently submitted nothing. Parsing (errors name the field, keystore paths resolved against the
// config directory) and the clients built from it; the on-chain slashing through it runs in
// test/chaos/chaos.test.ts (an equivocating node process slashed by the aggregator's own submission).
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { AggregatorConfigError, connectEvidenceAccount, parseAggregatorConfig } from '../src/index.ts';

const KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a' as const;
const ROUTER = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

const base = (evidence: unknown): unknown => ({
  network: 'test',
  index: 1,
  dataDir: 'data',
  operatorKeystore: 'operator.json',
  password: { env: 'PW' },
  epochs: { source: 'chain' },
  chains: { ethereum: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, router: ROUTER, registry: ROUTER, relayer: { keyEnv: 'RELAYER' } } },
  evidence,
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('aggregator config: evidence.account', () => {
  it('is optional (default: the relayer account) and takes a key variable or a keystore resolved against the config dir', () => {
    expect(parseAggregatorConfig(base(undefined), '/etc/destra').evidence).toEqual({ submit: true });
    expect(parseAggregatorConfig(base({ account: { keyEnv: 'EVIDENCE_KEY' } }), '/etc/destra').evidence.account).toEqual({ keyEnv: 'EVIDENCE_KEY' });
    const ks = parseAggregatorConfig(base({ account: { keystore: 'keys/evidence.json', password: { file: 'pw.txt' } } }), '/etc/destra').evidence.account;
    expect(ks).toEqual({ keystore: '/etc/destra/keys/evidence.json', password: { file: '/etc/destra/pw.txt' } });
  });

  it('names the field when the account is malformed', () => {
    expect(() => parseAggregatorConfig(base({ account: { key: KEY } }), '/etc')).toThrow(AggregatorConfigError);
    expect(() => parseAggregatorConfig(base({ account: { key: KEY } }), '/etc')).toThrow(/'evidence\.account'/);
    expect(() => parseAggregatorConfig(base({ submit: 'yes' }), '/etc')).toThrow(/'evidence\.submit'/);
  });

  it("builds clients for the account's own address; an unset variable names the field", async () => {
    const cfg = parseAggregatorConfig(base({ account: { keyEnv: 'DESTRA_TEST_EVIDENCE_KEY' } }), '/etc');
    const eth = { ...cfg.chains.ethereum!, rpcUrl: `http://127.0.0.1:${await closedPort()}` };
    process.env.DESTRA_TEST_EVIDENCE_KEY = KEY;
    const c = await connectEvidenceAccount(eth, cfg.evidence.account!);
    expect(c.account).toBe(privateKeyToAccount(KEY).address);
    expect(c.walletClient.account?.address).toBe(c.account);
    expect(c.nonceManager).toBeUndefined(); // its own sequence, not the relayer's
    delete process.env.DESTRA_TEST_EVIDENCE_KEY;
    await expect(connectEvidenceAccount(eth, cfg.evidence.account!)).rejects.toThrow(/'evidence\.account': set DESTRA_TEST_EVIDENCE_KEY/);
  });
});
