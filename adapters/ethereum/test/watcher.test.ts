// RequestWatcher against a real anvil: WebSocket and polling delivery, resume from a checkpoint without
// gaps or duplicates, confirmations, bounded getLogs ranges.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createTestClient, custom, http, type Hex, type PublicClient } from 'viem';
import { DeepReorgError, DestraEthereumClient, JsonFileCheckpointStore, createWebSocketPublicClient, MemoryCheckpointStore, RequestWatcher, encodeInput, type OracleRequest } from '../src/index.ts';
import { MODEL_HASH, MODEL_NAME, addressOf, setupChain, type ChainFixture } from './fixture.ts';

let f: ChainFixture;
let client: DestraEthereumClient;
let dir: string;

beforeAll(async () => {
  f = await setupChain();
  const a = f.account(7);
  client = new DestraEthereumClient({ publicClient: a.publicClient, walletClient: a.walletClient, router: f.deployed.addresses.router });
  dir = await mkdtemp(join(tmpdir(), 'destra-watcher-'));
});
afterAll(async () => {
  await f?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const send = async (n: bigint) => (await client.request({ modelId: MODEL_NAME, input: [n, -n] })).requestId;

describe('RequestWatcher', () => {
  it('delivers requests over a WebSocket subscription with every typed field', async () => {
    const got: OracleRequest[] = [];
    const errors: Error[] = [];
    // A long poll period proves the socket, not the timer, delivers the request.
    const w = new RequestWatcher({
      client: f.clients.publicClient, wsClient: f.wsClient(), router: f.deployed.addresses.router, pollIntervalMs: 60_000,
      onRequest: (r) => void got.push(r), onError: (e) => void errors.push(e),
    });
    await w.start();
    expect(w.mode).toBe('websocket');
    const id = await send(3n);
    await until(() => got.length === 1, 5_000);
    await w.stop();
    const r = got[0]!;
    expect(r.requestId).toBe(id);
    expect(r.requester).toBe(addressOf(f.anvil.privateKeys[7]!));
    expect(r.modelId).toBe(f.modelId);
    expect(r.modelHash).toBe(MODEL_HASH);
    expect(r.input).toEqual(encodeInput([3n, -3n]));
    expect(r.fee).toBe(10n ** 15n);
    expect(r.callbackGasLimit).toBe(0);
    expect(r.chainId).toBe(f.anvil.chainId);
    expect(r.router).toBe(f.deployed.addresses.router);
    expect(r.blockTimestamp).toBeGreaterThan(0n);
    expect(r.deadline).toBe(r.blockTimestamp + 3600n);
    expect(errors).toEqual([]);
  });

  it('delivers by polling over http, scanning in bounded ranges from a start block', async () => {
    const start = await f.clients.publicClient.getBlockNumber();
    const ids = [await send(1n), await send(2n), await send(3n)];
    const got: Hex[] = [];
    const w = new RequestWatcher({
      client: f.clients.publicClient, router: f.deployed.addresses.router, startBlock: start + 1n, maxBlockRange: 1n, pollIntervalMs: 50,
      onRequest: (r) => void got.push(r.requestId),
    });
    await w.start();
    expect(w.mode).toBe('polling');
    expect(got).toEqual(ids); // caught up during start(), in chain order
    const later = await send(4n);
    await until(() => got.length === 4);
    await w.stop();
    expect(got[3]).toBe(later);
  });

  it('resumes from a JSON checkpoint after a restart without missing or duplicating', async () => {
    const store = new JsonFileCheckpointStore(join(dir, 'cp.json'));
    const start = (await f.clients.publicClient.getBlockNumber()) + 1n;
    const seen: Hex[] = [];
    const sent: Hex[] = [];
    const opts = { client: f.clients.publicClient, router: f.deployed.addresses.router, checkpointStore: store, startBlock: start, pollIntervalMs: 50, onRequest: (r: OracleRequest) => void seen.push(r.requestId) };
    const first = new RequestWatcher(opts);
    await first.start();
    sent.push(await send(10n), await send(11n));
    await until(() => seen.length === 2);
    await first.stop();
    // Requests land while the node is down...
    sent.push(await send(12n), await send(13n));
    // ...and a new process (new store object, same file) picks up exactly where the last one stopped.
    const second = new RequestWatcher({ ...opts, checkpointStore: new JsonFileCheckpointStore(join(dir, 'cp.json')), startBlock: 0n });
    await second.start();
    sent.push(await send(14n));
    await until(() => seen.length === 5);
    await new Promise((r) => setTimeout(r, 200)); // give a duplicate the chance to show up
    await second.stop();
    expect(seen).toEqual(sent);
    const cp = await store.load(`${f.anvil.chainId}:${f.deployed.addresses.router.toLowerCase()}`);
    expect(cp?.blockNumber).toBe(await f.clients.publicClient.getBlockNumber());
  });

  it('retries a request whose handler failed, without advancing past it', async () => {
    const start = (await f.clients.publicClient.getBlockNumber()) + 1n;
    const id = await send(20n);
    let calls = 0;
    const errors: Error[] = [];
    const got: Hex[] = [];
    const w = new RequestWatcher({
      client: f.clients.publicClient, router: f.deployed.addresses.router, startBlock: start, pollIntervalMs: 30,
      onRequest: (r) => {
        if (++calls === 1) throw new Error('database busy');
        got.push(r.requestId);
      },
      onError: (e) => void errors.push(e),
    });
    await w.start();
    await until(() => got.length === 1);
    await w.stop();
    expect(got).toEqual([id]);
    expect(calls).toBe(2);
    expect(errors.map((e) => e.message)).toEqual(['database busy']);
  });

  it('falls back to polling when the WebSocket cannot connect', async () => {
    const { freePort } = await import('@destra/contracts');
    const dead = createWebSocketPublicClient(`ws://127.0.0.1:${await freePort()}`, f.clients.chain, { retryCount: 0 });
    const errors: Error[] = [];
    const got: Hex[] = [];
    const w = new RequestWatcher({
      client: f.clients.publicClient, wsClient: dead, router: f.deployed.addresses.router, pollIntervalMs: 50,
      onRequest: (r) => void got.push(r.requestId), onError: (e) => void errors.push(e),
    });
    await w.start();
    expect(w.mode).toBe('polling');
    expect(errors.some((e) => /WebSocket subscription failed/.test(e.message))).toBe(true);
    const id = await send(40n);
    await until(() => got.length === 1);
    await w.stop();
    expect(got).toEqual([id]);
  });

  it('rejects a chain id that does not match the RPC', async () => {
    const w = new RequestWatcher({ client: f.clients.publicClient, router: f.deployed.addresses.router, chainId: 1, onRequest: () => undefined });
    await expect(w.start()).rejects.toThrow(/chain 31337 but the watcher was configured for chain 1/);
  });

  it('rescans after a reorg deeper than its confirmations and emits the new chain\'s requests', async () => {
    const test = createTestClient({ mode: 'anvil', chain: f.clients.chain, transport: http(f.anvil.rpcUrl) });
    const got: OracleRequest[] = [];
    const errors: Error[] = [];
    const w = new RequestWatcher({
      client: f.clients.publicClient, router: f.deployed.addresses.router, pollIntervalMs: 60_000,
      onRequest: (r) => void got.push(r), onError: (e) => void errors.push(e),
    });
    await w.start();
    const snapshot = await test.snapshot();
    const orphan = await send(50n);
    await w.sync();
    expect(got.map((r) => r.requestId)).toEqual([orphan]);
    // The block holding `orphan` is replaced by a different chain of the same height and more.
    await test.revert({ id: snapshot });
    await test.mine({ blocks: 1 });
    const replacement = await send(51n);
    await w.sync();
    await w.stop();
    expect(errors.some((e) => e instanceof DeepReorgError)).toBe(true);
    // The router nonce rolled back with the chain, so the new request reuses the id with another input.
    expect(replacement).toBe(orphan);
    expect(got).toHaveLength(2);
    expect(got[1]!.input).toEqual(encodeInput([51n, -51n]));
    expect(got[1]!.transactionHash).not.toBe(got[0]!.transactionHash);
    // Rescanning the same canonical chain emits nothing more.
    await w.sync();
    expect(got).toHaveLength(2);
  });

  it('an idle poll is one eth_getBlockByNumber; a same-height replacement of the checkpointed block is still a reorg', async () => {
    const calls: string[] = [];
    const inner = createPublicClient({ transport: http(f.anvil.rpcUrl) });
    const counting = createPublicClient({
      transport: custom({ request: ({ method, params }: { method: string; params?: unknown }) => (calls.push(method), inner.request({ method, params } as never)) }),
    }) as PublicClient;
    const test = createTestClient({ mode: 'anvil', chain: f.clients.chain, transport: http(f.anvil.rpcUrl) });
    const got: OracleRequest[] = [];
    const errors: Error[] = [];
    const w = new RequestWatcher({ client: counting, router: f.deployed.addresses.router, pollIntervalMs: 60_000, onRequest: (r) => void got.push(r), onError: (e) => void errors.push(e) });
    await w.start();
    const snapshot = await test.snapshot();
    const orphan = await send(60n);
    await w.sync();
    expect(got.map((r) => r.requestId)).toEqual([orphan]);
    calls.length = 0;
    await w.sync();
    await w.sync();
    expect(calls).toEqual(['eth_getBlockByNumber', 'eth_getBlockByNumber']);
    // The checkpointed head block is replaced by another block of the same height (no new head number).
    await test.revert({ id: snapshot });
    const replacement = await send(61n);
    await w.sync();
    await w.stop();
    expect(errors.some((e) => e instanceof DeepReorgError)).toBe(true);
    expect(replacement).toBe(orphan);
    expect(got).toHaveLength(2);
    expect(got[1]!.input).toEqual(encodeInput([61n, -61n]));
  });

  it('stores its checkpoint once per scanned block range, not per request; a failing handler stores it as far as it got', async () => {
    class CountingStore extends MemoryCheckpointStore {
      saves = 0;
      override async save(key: string, cp: Parameters<MemoryCheckpointStore['save']>[1]): Promise<void> {
        this.saves++;
        return super.save(key, cp);
      }
    }
    const start = (await f.clients.publicClient.getBlockNumber()) + 1n;
    const ids: Hex[] = [];
    for (let i = 0n; i < 5n; i++) ids.push(await send(60n + i));
    const store = new CountingStore();
    const got: Hex[] = [];
    const opts = { client: f.clients.publicClient, router: f.deployed.addresses.router, startBlock: start, pollIntervalMs: 60_000, checkpointKey: 'burst' };
    const w = new RequestWatcher({ ...opts, checkpointStore: store, onRequest: (r) => void got.push(r.requestId) });
    await w.start();
    await w.stop();
    expect(got).toEqual(ids);
    expect(store.saves).toBe(1); // one range of five blocks: one write (it was one per request and block)
    // A handler that fails on the third request: the stored checkpoint is just after the second, and a
    // new watcher on that store resumes with the third.
    const failing = new CountingStore();
    const seen: Hex[] = [];
    const errors: Error[] = [];
    const w2 = new RequestWatcher({
      ...opts, checkpointStore: failing, onError: (e) => void errors.push(e),
      onRequest: (r) => {
        if (seen.length === 2) throw new Error('handler down');
        seen.push(r.requestId);
      },
    });
    await w2.start();
    await w2.stop();
    expect(seen).toEqual(ids.slice(0, 2));
    expect(errors.map((e) => e.message)).toContain('handler down');
    const resumed: Hex[] = [];
    const w3 = new RequestWatcher({ ...opts, checkpointStore: failing, onRequest: (r) => void resumed.push(r.requestId) });
    await w3.start();
    await w3.stop();
    expect(resumed).toEqual(ids.slice(2));
  });

  it('waits for confirmations before emitting', async () => {
    const test = createTestClient({ mode: 'anvil', chain: f.clients.chain, transport: http(f.anvil.rpcUrl) });
    const store = new MemoryCheckpointStore();
    const got: Hex[] = [];
    const w = new RequestWatcher({
      client: f.clients.publicClient, router: f.deployed.addresses.router, confirmations: 3, checkpointStore: store, pollIntervalMs: 30,
      onRequest: (r) => void got.push(r.requestId),
    });
    await w.start();
    const id = await send(30n);
    await w.sync();
    expect(got).toEqual([]); // 0 confirmations so far
    await test.mine({ blocks: 2 });
    await w.sync();
    expect(got).toEqual([]);
    await test.mine({ blocks: 1 });
    await w.sync();
    expect(got).toEqual([id]);
    await w.stop();
  });
});
