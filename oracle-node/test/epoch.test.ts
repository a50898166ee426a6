// A committee change (new epoch, a member joins) runs a fresh DKG over the network on start; the
// previous epoch's share stays on disk, and the unchanged committee never re-runs its DKG.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type OracleNode } from '../src/node.ts';
import { ArithmeticModel, PASSWORD, makeCommittee } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-epoch-'));
const running: OracleNode[] = [];
afterAll(async () => {
  await Promise.allSettled(running.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const start = async (cfg: Parameters<typeof startNode>[0]) => {
  const n = await startNode(cfg, { inference: new ArithmeticModel(), log: captureLog('warn').log });
  running.push(n);
  return n;
};

describe('epoch change', () => {
  it('runs a new DKG when the committee changes and keeps the old share', async () => {
    process.env.DESTRA_TEST_PASSWORD = PASSWORD;
    const fx = await makeCommittee(dir, 2, 2);
    // Epoch 1: member 1 alone (1-of-1).
    const solo = { ...fx.configs[0]!, committee: { ...fx.configs[0]!.committee!, epoch: 1, threshold: 1, members: [fx.configs[0]!.committee!.members[0]!] } };
    const a1 = await start(solo);
    const k1 = await a1.ready();
    expect(k1.epoch).toBe(1);
    await a1.stop();

    // Same committee again: the stored share is reused, no DKG.
    const a1b = await start(solo);
    expect(a1b.status().dkg.phase).toBe('done');
    expect(Buffer.from(a1b.activeKey!.groupKey)).toEqual(Buffer.from(k1.groupKey));
    await a1b.stop();

    // Epoch 2: member 2 joins, 2-of-2; both run the DKG over libp2p.
    const epoch2 = (i: number) => ({ ...fx.configs[i]!, committee: { ...fx.configs[i]!.committee!, epoch: 2, threshold: 2 } });
    const [a2, b2] = await Promise.all([start(epoch2(0)), start(epoch2(1))]);
    const [ka, kb] = await Promise.all([a2.ready(), b2.ready()]);
    expect(ka.epoch).toBe(2);
    expect(Buffer.from(ka.groupKey)).toEqual(Buffer.from(kb.groupKey));
    expect(Buffer.from(ka.groupKey)).not.toEqual(Buffer.from(k1.groupKey));
    expect(a2.store.keyShare(1)?.n).toBe(1); // epoch 1 share retained
    expect(a2.store.keyShare(2)?.qualified).toEqual([1, 2]);
  }, 120_000);
});
