// Stake and rewards on the dashboard, read from a real chain: anvil with the deployed protocol (contracts'
// fixture: four operators self-bonded 10..13 DSYNC), through CommitteeRegistry.staking() → DelegatedStaking.
// Also: an unreachable RPC endpoint keeps the last figures and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEther } from 'viem';
import { ChainStakeReader } from '../src/api/dashboard/stake.ts';
import { setupFixture, type Fixture } from '../../contracts/test/fixture.ts';

describe('dashboard stake reader on anvil', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await setupFixture({ operators: 4 });
  }, 180_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('reads each member operator stake and claimable rewards, cached for ttlMs', async () => {
    let reads = 0;
    const r = new ChainStakeReader({
      rpcUrl: fx.anvil.rpcUrl,
      registry: fx.deployed.addresses.registry,
      operators: () => {
        reads++;
        return fx.operators.map((o, i) => ({ index: i + 1, address: o.address }));
      },
      ttlMs: 60_000,
    });
    expect(r.view()).toEqual({ source: 'chain', operators: [] }); // first call starts the read
    await r.refresh();
    const v = r.view();
    expect(v.error).toBeUndefined();
    expect(v.updatedAt).toBeGreaterThan(0);
    expect(v.operators.map((o) => o.stake)).toEqual([10, 11, 12, 13].map((e) => parseEther(String(e)).toString()));
    expect(v.operators.map((o) => o.index)).toEqual([1, 2, 3, 4]);
    for (const o of v.operators) expect(o.rewards).toMatch(/^\d+$/);
    r.view();
    expect(reads).toBe(1); // within ttlMs: no new read
  }, 60_000);

  it('an unreachable endpoint is reported, not thrown', async () => {
    const r = new ChainStakeReader({ rpcUrl: 'http://127.0.0.1:1', registry: fx.deployed.addresses.registry, operators: () => [] });
    await r.refresh();
    expect(r.view()).toMatchObject({ source: 'chain', operators: [], error: expect.any(String) });
  }, 30_000);
});
