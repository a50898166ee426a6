// The control plane's poll on a real chain (anvil, the deployed protocol, four operators and genesis): a poll
// with no change costs one eth_blockNumber (no eth_call), a new block without registry or staking events
// adds one eth_getLogs, a registry change (setNodeInfo) or a staking change (a delegation that reorders the
// next committee) is in the snapshot of the very next poll, and the safety full read runs every
// `fullReadEvery` polls. Calls are counted at the JSON-RPC transport.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, custom, http, parseEther, type PublicClient } from 'viem';
import { committeeRegistryAbi, delegateDsync } from '@destra/contracts';
import { setupFixture, write, type Fixture } from '../../contracts/test/fixture.ts';
import { RegistryChainView, controlSchema } from '../src/epoch/chain-control.ts';
import { RegistryChanges } from '../src/epoch/registry-changes.ts';

describe('registry poll: full read only when the chain changed', () => {
  let fx: Fixture;
  const calls: string[] = [];
  let client: PublicClient;
  const view = async (fullReadEvery: number): Promise<RegistryChainView> =>
    RegistryChainView.connect(controlSchema.parse({ rpcUrl: fx.anvil.rpcUrl, registry: fx.deployed.addresses.registry }), { client, fullReadEvery });
  const counted = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const m of calls.splice(0)) out[m] = (out[m] ?? 0) + 1;
    return out;
  };

  beforeAll(async () => {
    fx = await setupFixture({ operators: 4 });
    const inner = createPublicClient({ transport: http(fx.anvil.rpcUrl) });
    client = createPublicClient({
      transport: custom({
        request: ({ method, params }: { method: string; params?: unknown }) => {
          calls.push(method);
          return inner.request({ method, params } as never);
        },
      }),
    });
  }, 180_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('reads in full once, then checks the head only while nothing changes', async () => {
    const v = await view(1000);
    const first = await v.read();
    expect(first.currentEpoch).toBe(1);
    expect(first.directory).toHaveLength(4);
    expect(counted().eth_call).toBeGreaterThan(10);
    for (let i = 0; i < 3; i++) expect(await v.read()).toBe(first);
    expect(counted()).toEqual({ eth_blockNumber: 3 });
    // A block with nothing for the registry or staking: one logs query, still no full read.
    await fx.clients.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    expect(await v.read()).toBe(first);
    expect(counted()).toEqual({ eth_blockNumber: 1, eth_getLogs: 1 });
    expect(await v.read()).toBe(first);
    expect(counted()).toEqual({ eth_blockNumber: 1 });
    expect(v.changes.stats).toMatchObject({ checks: 6, logQueries: 1, fullReads: 1 });
  }, 60_000);

  it('a registry change (node info) is in the next poll', async () => {
    const v = await view(1000);
    const before = await v.read();
    const op = fx.operators[0]!;
    const addr = '/ip4/127.0.0.1/tcp/4242';
    await write(op.clients, fx.deployed.addresses.registry, committeeRegistryAbi, 'setNodeInfo', [`0x${'11'.repeat(32)}`, `0x0024${'ab'.repeat(36)}`, [addr]]);
    calls.length = 0;
    const after = await v.read();
    expect(after).not.toBe(before);
    const counts = counted();
    expect(counts.eth_getLogs).toBe(1);
    expect(counts.eth_call).toBeGreaterThan(10);
    const entry = after.directory.find((d) => d.address.toLowerCase() === op.address.toLowerCase())!;
    expect(entry.addrs[0]).toMatch(new RegExp(`^${addr}/p2p/`));
    expect(await v.read()).toBe(after); // and quiet again
  }, 60_000);

  it('a staking change (delegation reordering the next committee) is in the next poll', async () => {
    const v = await view(1000);
    const before = await v.read();
    const last = fx.operators[0]!; // fixture stakes 10..13 DSYNC: operator 1 ranks last
    const key = (s: typeof before) => s.next.members.map((m) => m.address!.toLowerCase());
    expect(key(before).at(-1)).toBe(last.address.toLowerCase());
    await delegateDsync(last.clients, fx.deployed.addresses, last.address, parseEther('50'));
    const after = await v.read();
    expect(after).not.toBe(before);
    expect(key(after)[0]).toBe(last.address.toLowerCase());
    expect(Buffer.from(after.next.payoutsRoot).equals(Buffer.from(before.next.payoutsRoot))).toBe(false);
  }, 60_000);

  it('reads in full every fullReadEvery polls even when nothing changed', async () => {
    const v = await view(3);
    await v.read();
    calls.length = 0;
    await v.read();
    await v.read();
    expect(counted()).toEqual({ eth_blockNumber: 2 });
    const s = await v.read(); // the third poll after the full read: the safety read
    expect(counted().eth_call).toBeGreaterThan(10);
    expect(s.currentEpoch).toBe(1);
  }, 60_000);

  it('a failed full read is retried at the next poll, not skipped', async () => {
    let failNext = false;
    const flaky = {
      getBlockNumber: () => client.getBlockNumber({ cacheTime: 0 }),
      request: (a: never) => (failNext ? Promise.reject(new Error('rpc down')) : client.request(a)),
    };
    const ch = new RegistryChanges(flaky, async () => [fx.deployed.addresses.registry], 1000);
    const first = await ch.check();
    expect(first.reason).toBe('first');
    ch.acknowledge(first.head);
    await write(fx.operators[1]!.clients, fx.deployed.addresses.registry, committeeRegistryAbi, 'setNodeInfo', [`0x${'22'.repeat(32)}`, `0x0024${'cd'.repeat(36)}`, ['/ip4/127.0.0.1/tcp/4343']]);
    failNext = true;
    await expect(ch.check()).rejects.toThrow('rpc down');
    failNext = false;
    expect((await ch.check()).reason).toBe('events'); // not acknowledged: still seen as changed
    expect((await ch.check()).reason).toBe('events'); // until a full read is acknowledged
  }, 60_000);
});
