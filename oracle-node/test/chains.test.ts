import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainType } from '@destra/protocol';
import { PublicKey } from '@solana/web3.js';
import { chainRequestFromSolana } from '../src/chains/solana.ts';
import { SqliteCheckpointStore, chainRequestFromEthereum, ethereumSource } from '../src/chains/ethereum.ts';
import { ConfigError } from '../src/errors.ts';
import { NodeStore } from '../src/store/store.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-chains-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ethereum request source', () => {
  const modelId = `0x${'ab'.repeat(32)}` as const;
  const event = {
    requestId: `0x${'12'.repeat(32)}` as const,
    requester: `0x${'01'.repeat(20)}` as const,
    modelId,
    modelHash: `0x${'cd'.repeat(32)}` as const,
    input: new Uint8Array([1, 2, 3]),
    callbackGasLimit: 0,
    fee: 1n,
    deadline: 2n,
    seq: 5n,
    blockNumber: 77n,
    blockHash: `0x${'ee'.repeat(32)}` as const,
    blockTimestamp: 1_700_000_500n,
    transactionHash: `0x${'ff'.repeat(32)}` as const,
    logIndex: 0,
    chainId: 31337,
    router: `0x${'aa'.repeat(20)}` as const,
  };

  it('turns a router event into the chain request every node answers identically', () => {
    const r = chainRequestFromEthereum(event, { [modelId]: 'tx-anomaly' });
    expect(r.model).toBe('tx-anomaly');
    expect(r.timestamp).toBe(1_700_000_500);
    expect(r.cursor).toBe(77n);
    expect(r.source).toBe('ethereum:31337');
    expect(Buffer.from(r.requestId).toString('hex')).toBe('12'.repeat(32));
    expect(r.destination.chainType).toBe(ChainType.Evm);
    expect(Buffer.from(r.destination.contract).toString('hex')).toBe(`${'00'.repeat(12)}${'aa'.repeat(20)}`);
    expect(r.destination.chainId[31]).toBe(31337 & 0xff);
    expect(chainRequestFromEthereum(event, {}).model).toBe(modelId);
  });

  it('keeps watcher checkpoints in SQLite across restarts', async () => {
    const path = join(dir, 'cp.db');
    const s1 = new NodeStore(path);
    await new SqliteCheckpointStore(s1).save('31337:0xaa', { blockNumber: 12345678901234n, blockHash: `0x${'11'.repeat(32)}`, logIndex: 3 });
    s1.close();
    const s2 = new NodeStore(path);
    expect(await new SqliteCheckpointStore(s2).load('31337:0xaa')).toEqual({ blockNumber: 12345678901234n, blockHash: `0x${'11'.repeat(32)}`, logIndex: 3 });
    expect(await new SqliteCheckpointStore(s2).load('other')).toBeUndefined();
    s2.close();
  });

  it('rejects a bad watcher config naming the field', () => {
    const store = new NodeStore(join(dir, 'cfg.db'));
    try {
      expect(() => ethereumSource({ rpcUrl: 'http://127.0.0.1:8545', router: '0x12' }, store, captureLog().log)).toThrow(ConfigError);
      expect(() => ethereumSource({ rpcUrl: 'http://127.0.0.1:8545', router: '0x12' }, store, captureLog().log)).toThrow(/chains\.ethereum\.router/);
    } finally {
      store.close();
    }
  });
});

describe('solana request source', () => {
  it('turns a pending request account into a chain request addressed by model hash', () => {
    const address = new PublicKey(new Uint8Array(32).fill(9));
    const program = new PublicKey(new Uint8Array(32).fill(4)).toBytes();
    const cluster = new Uint8Array(32).fill(5);
    const r = chainRequestFromSolana(
      { address, requester: address, nonce: 1n, modelHash: new Uint8Array(32).fill(0xf7), inputHash: new Uint8Array(32), fee: 0n, status: 'pending', createdSlot: 321n, input: new Uint8Array([1]) },
      cluster,
      program,
      1_700_000_900,
    );
    expect(r.requestId).toEqual(new Uint8Array(32).fill(9));
    expect(r.model).toBe(`0x${'f7'.repeat(32)}`);
    expect(r.timestamp).toBe(1_700_000_900);
    expect(r.cursor).toBe(321n);
    expect(r.destination.chainType).toBe(ChainType.Svm);
    expect(r.destination.chainId).toEqual(cluster);
    expect(r.destination.contract).toEqual(program);
  });
});
