// models.ipfs in the node config: checked when the config is parsed, every error naming its field; the
// store directory resolves against the config file; a node without the chain is told what to add.
import { describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { nodeModelsConfig } from '../src/models/node-models.ts';

const member = (index: number) => ({ index, operatorKey: `0x${'11'.repeat(96)}`, encryptionKey: `0x${'22'.repeat(32)}` });
const base = (ipfs: unknown, extra: object = {}) => ({
  network: 'devnet', dataDir: 'data', operatorKeystore: 'operator.json', password: { env: 'X' },
  committee: { epoch: 1, threshold: 2, members: [member(1), member(2), member(3)] },
  models: { intraOpThreads: 1, ipfs },
  ...extra,
});
const REG = `0x${'ab'.repeat(20)}`;

function fieldOf(raw: unknown): string | undefined {
  try {
    nodeModelsConfig(parseNodeConfig(raw, '/base'));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).field;
  }
  return undefined;
}

describe('models.ipfs config', () => {
  it('refuses bad fields by name', () => {
    expect(fieldOf(base({ registry: 'nope', rpcUrl: 'http://127.0.0.1:8545' }))).toBe('models.ipfs.registry');
    expect(fieldOf(base({ registry: REG, rpcUrl: 'http://127.0.0.1:8545', serve: 'everyone' }))).toBe('models.ipfs.serve');
    expect(fieldOf(base({ registry: REG, rpcUrl: 'http://127.0.0.1:8545', maxModelBytes: 0 }))).toBe('models.ipfs.maxModelBytes');
    expect(fieldOf(base({ registry: REG, rpcUrl: 'http://127.0.0.1:8545', bogus: 1 }))).toBe('models.ipfs');
    // a fixed committee has no chain: the registry's chain must be named
    expect(fieldOf(base({ registry: REG }))).toBe('models.ipfs.rpcUrl');
  });

  it('resolves defaults: store under dataDir (or relative to the config), the chain from control', () => {
    const c = nodeModelsConfig(parseNodeConfig(base({ registry: REG, rpcUrl: 'http://127.0.0.1:8545' }), '/base'))!;
    expect(c.storeDir).toBe('/base/data/ipfs');
    expect(c.ipfs).toMatchObject({ serve: 'operators', seed: true, maxModelBytes: 256 * 1024 * 1024, maxManifestBytes: 1024 * 1024 });
    expect(c.engine).toEqual({ intraOpThreads: 1 }); // the rest stays the engine's
    const d = nodeModelsConfig(parseNodeConfig(base({ registry: REG, rpcUrl: 'http://127.0.0.1:8545', storeDir: 'models-store' }), '/base'))!;
    expect(d.storeDir).toBe('/base/models-store');
    const { committee: _c, ...noCommittee } = base({ registry: REG });
    const e = nodeModelsConfig(parseNodeConfig({ ...noCommittee, control: { rpcUrl: 'http://10.0.0.1:8545', registry: REG } }, '/base'))!;
    expect(e.rpcUrl).toBe('http://10.0.0.1:8545');
    expect(nodeModelsConfig(parseNodeConfig({ ...base(undefined), models: {} }, '/base'))).toBeUndefined();
  });
});
