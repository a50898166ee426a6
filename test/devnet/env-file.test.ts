// The devnet hand-off file (.devnet/env.json): built by the pure devnetEnv, held to its schema, written
// 0600; free accounts are exactly those no devnet process uses. (Against a running network: the
// hand-off test in test/e2e/feeds.test.ts.)
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { namehash } from '@destra/contracts';
import { checkDevnetEnv, devnetEnv, devnetEnvSummary, writeDevnetEnv, type DevnetEnvInput } from './env-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-env-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keys = Array.from({ length: 12 }, () => generatePrivateKey());
const addr = (b: number) => `0x${b.toString(16).padStart(2, '0').repeat(20)}`;
const input = (over: Partial<DevnetEnvInput> = {}): DevnetEnvInput => ({
  network: 'devnet',
  ethereum: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, contracts: { router: addr(1), registry: addr(2), models: addr(3), token: addr(4), feeds: addr(5) } },
  solana: { oracleProgramId: '11111111111111111111111111111111', consumerProgramId: 'BPFLoaderUpgradeab1e11111111111111111111111', clusterId: `0x${'ab'.repeat(32)}`, svmBridgeUrl: 'http://127.0.0.1:9100' },
  privateKeys: keys,
  roles: new Map([[0, 'deployer'], [1, 'operator 1'], [2, 'operator 2'], [3, 'handover relayer'], [9, 'delegator'], [10, 'evidence submitter'], [11, 'result relayer']]),
  models: ['liquidation-risk', 'tx-anomaly', 'liquidation-risk'],
  nodes: [{ index: 1, api: 'http://127.0.0.1:9001' }, { index: 2, api: 'http://127.0.0.1:9002/' }],
  aggregators: [{ index: 1, peerId: '12D3KooWabc', addrs: ['/ip4/127.0.0.1/tcp/4001'] }],
  ...over,
});

describe('devnet hand-off (env.json)', () => {
  it('lists every free funded account with its key, the used ones with their role, models by name and id, node endpoints', () => {
    const env = devnetEnv(input());
    expect(env.ethereum.freeAccounts.map((a) => a.index)).toEqual([4, 5, 6, 7, 8]);
    for (const a of [...env.ethereum.freeAccounts, ...env.ethereum.usedAccounts]) expect(a.address).toBe(privateKeyToAccount(a.privateKey as `0x${string}`).address);
    expect(env.ethereum.usedAccounts.find((a) => a.index === 11)?.role).toBe('result relayer');
    expect(env.models).toEqual([{ name: 'liquidation-risk', modelId: namehash('liquidation-risk') }, { name: 'tx-anomaly', modelId: namehash('tx-anomaly') }]);
    expect(env.nodes.map((n) => n.infer)).toEqual(['http://127.0.0.1:9001/v1/infer', 'http://127.0.0.1:9002/v1/infer']);
    expect(env.solana.rpcUrl).toBe('http://127.0.0.1:9100/');
    expect(env.aggregators[0]!.statusUrl).toBeNull();
    const summary = devnetEnvSummary(env, '/x/env.json');
    expect(summary).toContain(`DESTRA_ETH_PRIVATE_KEY=${keys[4]} npx destra eth request --rpc http://127.0.0.1:8545 --router ${addr(1)} --model liquidation-risk --values`);
  });

  it('writes a file that reads back under the schema, readable by the owner only', () => {
    const path = writeDevnetEnv(dir, devnetEnv(input()));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const back = checkDevnetEnv(JSON.parse(readFileSync(path, 'utf8')));
    expect(back.ethereum.contracts.router).toBe(addr(1));
  });

  it('refuses a hand-off a script could not use, naming the field', () => {
    const { router: _, ...noRouter } = input().ethereum.contracts;
    expect(() => devnetEnv(input({ ethereum: { ...input().ethereum, contracts: noRouter } }))).toThrow(/field 'ethereum\.contracts': router, registry, models and token are required/);
    expect(() => devnetEnv(input({ roles: new Map(keys.map((_, i) => [i, 'busy'])) }))).toThrow(/field 'ethereum\.freeAccounts'/);
    expect(() => devnetEnv(input({ nodes: [{ index: 1, api: 'not a url' }] }))).toThrow(/field 'nodes\.0\.api'/);
    expect(() => checkDevnetEnv({ ...devnetEnv(input()), extra: 1 })).toThrow(/devnet env/);
  });
});
