// Kill -9 a node mid-round (partial signed, no threshold signature yet), restart it on the same state
// file: it must reload its key share, resume the request and re-send the SAME partial, never sign twice.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { domainTag, evmDestination } from '@destra/protocol';
import { DestraHost } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import { startNode, type OracleNode } from '../src/node.ts';
import { NodeStore } from '../src/store/store.ts';
import { DoubleSignError } from '../src/errors.ts';
import { PROTOCOL_PARTIAL, PartialSignatureCodec, topics, type PartialSignatureMsg } from '../src/wire.ts';
import { ArithmeticModel, PASSWORD, makeCommittee } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-restart-'));
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

function runChild(configPath: string, requestIdHex: string): Promise<{ signature: string; groupKey: string; kill: () => Promise<void> }> {
  const script = fileURLToPath(new URL('./child-node.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, configPath, requestIdHex], {
    env: { ...process.env, DESTRA_TEST_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  cleanup.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`child did not sign in time; stderr: ${err}`)), 60_000);
    child.stderr.on('data', (d) => (err += String(d)));
    child.stdout.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      const msg = JSON.parse(line) as { signature: string; groupKey: string };
      resolve({ ...msg, kill: async () => void (child.kill('SIGKILL'), await exited) });
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
}

describe('kill and restart mid-round', () => {
  it('resumes from SQLite without losing or double-signing anything', async () => {
    const fx = await makeCommittee(dir, 1, 1);
    const configPath = join(dir, 'node1.json');
    writeFileSync(configPath, JSON.stringify(fx.configs[0]));
    const requestId = Buffer.alloc(32, 0x5a);

    // 1. First life: DKG (1-of-1), sign the chain request, then SIGKILL before any aggregator saw it.
    const first = await runChild(configPath, requestId.toString('hex'));
    await first.kill();

    // 2. The state file holds the reserved digest and the signature; the request is still open.
    const dataDir = fx.configs[0]!.dataDir;
    const store = new NodeStore(join(dataDir, 'node.db'));
    const partial = store.ownPartial(requestId, 0)!;
    expect(Buffer.from(partial.signature!).toString('hex')).toBe(first.signature);
    expect(store.getRequest(requestId, 0)!.status).toBe('signed');
    expect(store.cursor('ethereum:31337')).toBe(42n);
    // A different report for the same request id is refused.
    expect(() => store.reservePartial({ requestId, round: 0, epoch: 1, digest: new Uint8Array(32).fill(1), report: partial.report })).toThrow(DoubleSignError);
    store.close();

    // 3. An aggregator comes up; the restarted node (whose model would now answer differently) must
    //    re-send the partial it signed before the kill, not compute and sign a new one.
    const received: PartialSignatureMsg[] = [];
    const cfg = fx.configs[0]!;
    const agg = await DestraHost.create({
      domain: domainTag(cfg.network),
      privateKey: fx.aggregator.privateKey,
      listen: [`/ip4/127.0.0.1/tcp/${fx.aggregator.port}`],
      role: 'aggregator',
      index: 1,
      operatorSecret: fx.aggregator.secret,
      registry: new Registry([
        { role: 'member', index: 1, operatorKey: fx.members[0]!.operatorKey },
        { role: 'aggregator', index: 1, operatorKey: fx.aggregator.operatorKey },
      ]),
      topics: Object.values(topics(cfg.network)),
      log: captureLog('warn').log,
    });
    cleanup.push(() => agg.stop());
    await agg.handleDirect(PROTOCOL_PARTIAL, PartialSignatureCodec.maxBytes, (d) => void received.push(PartialSignatureCodec.decode(d)));

    process.env.DESTRA_TEST_PASSWORD = PASSWORD;
    const model = new ArithmeticModel(7n);
    const node: OracleNode = await startNode(cfg, { inference: model, log: captureLog('warn').log });
    cleanup.push(() => node.stop());
    expect(node.status().dkg.phase).toBe('done'); // share reloaded from its EIP-2335 keystore, no new DKG
    expect(Buffer.from(node.activeKey!.groupKey).toString('hex')).toBe(first.groupKey);

    const deadline = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(received.length).toBeGreaterThan(0);
    expect(Buffer.from(received[0]!.signature).toString('hex')).toBe(first.signature);
    expect(Buffer.from(received[0]!.report)).toEqual(Buffer.from(partial.report));
    expect(model.calls).toBe(0);

    // 4. The watcher replays the same event after restart: ignored, nothing new signed.
    node.engine.onChainRequest({
      source: 'ethereum:31337',
      requestId,
      model: 'arith',
      input: new Uint8Array([9, 8, 7]),
      timestamp: 1_700_000_000,
      destination: evmDestination(31337n, new Uint8Array(20).fill(0xab)),
    });
    await node.engine.idle();
    expect(model.calls).toBe(0);
    expect(node.store.countOwnPartials()).toBe(1);
  }, 120_000);
});
