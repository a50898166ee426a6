// Fuzz target for the node config loader (oracle-node/src/config.ts): config files mutated byte-wise
// and structurally, loaded with loadNodeConfig, which must throw only ConfigError. The one target from
// outside protocol/: it lives here so oracle-node/test/fuzz-config.test.ts and the fuzz bench share it.
// Configs have no encoder, so an accepted config is checked against the schema's own invariants.
import { ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { isParsedNodeConfig, loadNodeConfig, parseNodeConfig } from '../../../oracle-node/src/config.ts';
import { ConfigError } from '../../../oracle-node/src/errors.ts';
import { target, verdict, type FuzzTarget } from './harness.ts';
import { jsonValues, mutatedBytes, mutatedTree } from './mutators.ts';

const member = (index: number) => ({ index, operatorKey: `0x${'11'.repeat(96)}`, encryptionKey: `0x${'22'.repeat(32)}`, peerId: '12D3KooWExample', addrs: ['/ip4/127.0.0.1/tcp/4001'] });

export const CONFIG_SEEDS: readonly object[] = [
  { network: 'devnet', dataDir: 'data', operatorKeystore: 'operator.json', password: { env: 'DESTRA_PASSWORD' }, committee: { epoch: 1, threshold: 2, members: [member(1), member(2), member(3)] } },
  {
    network: 'testnet-2',
    dataDir: '/var/lib/destra',
    listen: ['/ip4/0.0.0.0/tcp/4001'],
    api: { host: '127.0.0.1', port: 8080 },
    operatorKeystore: 'keys/operator.json',
    password: { file: 'secrets/password' },
    committee: { epoch: 0, threshold: 1, members: [member(1)], aggregators: [{ index: 1, operatorKey: `0x${'33'.repeat(96)}`, addrs: [] }] },
    models: { dir: 'models' },
    feeds: [{ name: 'eth-usd', model: 'price-mlp', input: '0x0102', intervalMs: 60_000 }],
    chains: { ethereum: { rpcUrl: 'http://127.0.0.1:8545', router: `0x${'44'.repeat(20)}`, confirmations: 2, models: { [`0x${'55'.repeat(32)}`]: 'price-mlp' } }, solana: { rpcUrl: 'http://127.0.0.1:8899', programId: '11111111111111111111111111111111', clusterId: `0x${'66'.repeat(32)}`, models: { [`0x${'55'.repeat(32)}`]: 'price-mlp' } } },
    dkg: { phaseTimeoutMs: 20_000 },
    rounds: { maxSkewSeconds: 10, timeoutMs: 5_000 },
    shareKdf: { function: 'pbkdf2', c: 1000 },
    logLevel: 'debug',
  },
];

const STRINGS = ['127.0.0.1', '0.0.0.0', 'scrypt', 'pbkdf2', 'info', 'http://x', 'not a url', `0x${'11'.repeat(96)}`, `0x${'22'.repeat(32)}`, '0x1', 'Bad Name'];
const KEYS = ['network', 'dataDir', 'committee', 'members', 'index', 'threshold', 'chains', 'ethereum', 'env', 'file', 'extra'];
const SIZES = [0, 1, 2, 65, 129, 257];

// One file, rewritten in place per input: write, then cut to the new length. Truncating to zero first
// (as writeFileSync does) makes ext4 flush the data when the loader closes the file: ~3 ms per input
// instead of ~0.03 ms.
let file: { path: string; fd: number } | undefined;

const configTarget = target<Uint8Array>({
  name: 'config loadNodeConfig',
  typedError: ConfigError,
  arbitrary: fc.oneof(
    mutatedTree(CONFIG_SEEDS, jsonValues(STRINGS), SIZES, KEYS).map((v) => new TextEncoder().encode(JSON.stringify(v) ?? '')),
    mutatedBytes(CONFIG_SEEDS.map((c) => new TextEncoder().encode(JSON.stringify(c, null, 2))), { limit: 64 * 1024, maxRandomLength: 256 }),
  ),
  setup: async () => {
    if (!file) {
      const dir = mkdtempSync(join(tmpdir(), 'destra-fuzz-config-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, 'node.json');
      file = { path, fd: openSync(path, 'w') };
    }
    return undefined;
  },
  check: (bytes) => {
    if (!file) return 'setup not run';
    writeSync(file.fd, bytes, 0, bytes.length, 0);
    ftruncateSync(file.fd, bytes.length);
    return verdict(ConfigError, () => loadNodeConfig(file!.path), (c) => {
      if (!isParsedNodeConfig(c) || parseNodeConfig(c) !== c) return 'the loaded config is not marked as parsed';
      const n = c.committee!.members.length;
      if (n < 1 || n > 256 || c.committee!.threshold < 1 || c.committee!.threshold > n) return `accepted a ${c.committee!.threshold}-of-${n} committee`;
      if (c.committee!.members.some((m, i) => m.index !== i + 1 || m.operatorKey.length !== 96 || m.encryptionKey.length !== 32)) return 'accepted a malformed committee member';
      if (!/^[a-z0-9-]{1,64}$/.test(c.network)) return `accepted network name ${JSON.stringify(c.network)}`;
      return undefined;
    });
  },
});

export const configTargets: readonly FuzzTarget<unknown>[] = [configTarget];
