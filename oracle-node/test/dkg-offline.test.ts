// A member that never comes online: the other three finish the DKG after the phase deadlines with it
// disqualified as silent, and still produce threshold signatures (t=3 of the 3 qualified).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rootSigningMessage, signPartial, combinePartials, verify } from '@destra/protocol';
import { startNode, type OracleNode } from '../src/node.ts';
import { ArithmeticModel, PASSWORD, makeCommittee } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-dkg-offline-'));
let nodes: OracleNode[] = [];
afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('DKG with an offline member', () => {
  it('disqualifies the silent member and keys the rest', async () => {
    process.env.DESTRA_TEST_PASSWORD = PASSWORD;
    const fx = await makeCommittee(dir, 4, 3);
    const configs = fx.configs.slice(0, 3).map((c) => ({ ...c, dkg: { phaseTimeoutMs: 1500 } }));
    nodes = await Promise.all(configs.map((c) => startNode(c, { inference: new ArithmeticModel(), log: captureLog('warn').log })));
    const keys = await Promise.all(nodes.map((n) => n.ready()));
    for (const k of keys) expect(Buffer.from(k.groupKey)).toEqual(Buffer.from(keys[0]!.groupKey));
    const rec = nodes[0]!.store.keyShare(1)!;
    expect(rec.qualified).toEqual([1, 2, 3]);
    expect(rec.disqualified).toEqual([{ dealer: 4, reason: 'silent' }]);
    const msg = rootSigningMessage(new Uint8Array(32).fill(1));
    const sig = combinePartials(keys.map((k) => signPartial(k.share, msg)), 3);
    expect(verify(keys[0]!.groupKey, msg, sig)).toBe(true);
  }, 60_000);
});
