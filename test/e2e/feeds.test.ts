// Feeds defined on chain, end to end with real node processes (test/devnet/live-network.ts with feeds):
// governance adds a timed feed (the network model on a fixed input, to both chains) and the tx-anomaly
// block feed through proposals; the four nodes pick them up from FeedRegistry's events without a restart,
// sign window and block roots, the aggregator relays them in batches to FeedStore, the Solana feed account
// and BlockScores; a scored transaction is checked by proof off chain (node API, group signature) and on
// chain (BlockScores.verifyTxScore); a change and a removal on chain reach every node live. Bounded in time;
// afterAll stops every process (logs kept in the printed directory on failure, or with DESTRA_E2E_KEEP=1).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import type { BenchModel } from '../bench/inference.ts';
import type { LiveNetwork } from '../devnet/live-network.ts';
import type { DevnetFeeds } from '../devnet/feeds.ts';

const N = 4;

const engine: { model?: BenchModel; reason?: string } = await (async () => {
  if (!existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)))) return { reason: 'the ONNX inference engine is not present' };
  try {
    const { loadBenchModel } = await import('../bench/inference.ts');
    const model = await loadBenchModel();
    await model.inference.infer(model.model, model.input(0));
    return { model };
  } catch (err) {
    return { reason: `the ONNX inference engine does not load: ${(err as Error).message.split('\n')[0]}` };
  }
})();
if (engine.reason) console.warn(`e2e feeds skipped: ${engine.reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface FeedsView { feeds: { id: string; name: string; kind: string; revision: number; heartbeatSec?: number }[] }

describe.skipIf(!engine.model)('e2e: feeds defined on chain, run by the nodes, written to both chains in batches', () => {
  let net: LiveNetwork;
  let dir: string;
  let defs: DevnetFeeds;
  let feeds: typeof import('../devnet/feeds.ts');
  let failed = false;

  const feedsOf = async (k: number): Promise<FeedsView | undefined> => {
    const r = await fetch(`${net.node(k).api}/v1/feeds`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    return r?.ok ? ((await r.json()) as FeedsView) : undefined;
  };
  const everyNode = async (ok: (v: FeedsView) => boolean) => {
    const views = await Promise.all(Array.from({ length: N }, (_, i) => feedsOf(i + 1)));
    return views.every((v) => v && ok(v)) ? true : undefined;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'destra-feeds-'));
    failed = true;
    const { LiveNetwork } = await import('../devnet/live-network.ts');
    feeds = await import('../devnet/feeds.ts');
    // no rotation during the test: feeds run in epoch 1
    net = new LiveNetwork({ dir, network: 'feeds-e2e', n: N, joiners: 0, epochLengthSec: 3600, dkgPhaseTimeoutMs: 5000, logLevel: 'info', model: engine.model!, feeds: true });
    await net.start();
    defs = feeds.devnetFeeds({ modelName: net.model.model, input: net.model.input(0), heartbeatSec: 6, deviationBps: 50, confirmations: 1 });
    failed = false;
  }, 240_000);

  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      failed = true;
    });
  });

  afterAll(async () => {
    await net?.stop();
    if (!dir) return;
    if (failed || process.env.DESTRA_E2E_KEEP === '1') console.log(`feeds e2e: logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the devnet hand-off (env.json) describes this network: schema, funded free accounts, reachable node APIs', async () => {
    const { devnetEnvOf, writeDevnetEnv, checkDevnetEnv } = await import('../devnet/env-file.ts');
    const { readFileSync } = await import('node:fs');
    const env = checkDevnetEnv(JSON.parse(readFileSync(writeDevnetEnv(dir, devnetEnvOf(net, { feeds: true })), 'utf8')));
    expect(env.models.map((m) => m.name)).toEqual([net.model.model, 'tx-anomaly']);
    for (const a of env.ethereum.freeAccounts) {
      // funded, and no devnet process has sent from it (a user's script would race its nonces)
      expect(await net.chains.clients.publicClient.getBalance({ address: a.address as Hex })).toBeGreaterThan(0n);
      expect(await net.chains.clients.publicClient.getTransactionCount({ address: a.address as Hex })).toBe(0);
    }
    expect((await fetch(`${env.nodes[0]!.api}/health`)).status).toBeLessThan(600);
  });

  it('governance adds two feeds; every node follows them live; rounds reach FeedStore and the Solana feed account with the committee\'s value', async () => {
    await feeds.governFeeds(net.chains, N, 'add', [defs.timed, defs.block]);
    await until('every node runs both feeds (no restart)', () => everyNode((v) => v.feeds.length === 2), 30_000);
    const want = (await net.model.inference.infer(net.model.model, defs.timed.input)).output;
    const first = await until('a round on both chains', async () => {
      const r = await feeds.feedRounds(net.chains, defs.timed.name);
      return r.ethereum && r.solana ? r : undefined;
    }, 60_000);
    expect(first.ethereum!.values).toEqual(want);
    expect(first.solana!.values).toEqual(want);
    // the round number is the window start; the heartbeat (6 s) brings the next one
    expect(first.ethereum!.round % 5n).toBe(0n);
    await until('a heartbeat round after the first', async () => ((await feeds.feedRounds(net.chains, defs.timed.name)).ethereum!.round > first.ethereum!.round ? true : undefined), 45_000);
  }, 150_000);

  it("a block's transactions are scored: one root per block in BlockScores, a transaction's score verifies by proof off and on chain", async () => {
    for (let i = 0; i < 3; i++) await net.ethRequest(500 + i); // blocks with transactions
    const c = net.chains.clients.publicClient;
    const { feedIdOf, blockScoresAbi } = await import('@destra/contracts');
    const block = await until('a block root in BlockScores', async () => {
      const b = (await c.readContract({ address: net.chains.deployed.addresses.blockScores, abi: blockScoresAbi, functionName: 'latestBlock', args: [feedIdOf(defs.block.name)] })) as bigint;
      return b > 0n ? b : undefined;
    }, 60_000);
    const txs = (await c.getBlock({ blockNumber: block })).transactions as Hex[];
    expect(txs.length).toBeGreaterThan(0);
    const view = await until('node 1 serves the certified score', async () => {
      const v = await feeds.txScoreOf(net.node(1).api, block, txs[0]!);
      return v?.certified ? v : undefined;
    }, 30_000);
    expect(await feeds.checkTxScore(net.chains, defs.block.name, view)).toBeUndefined();
    // every member built the same tree: another node serves the same leaf and root
    const other = await until('node 3 serves it too', () => feeds.txScoreOf(net.node(3).api, block, txs[0]!), 30_000);
    expect([other.report, other.root]).toEqual([view.report, view.root]);
    // a forged score (another value under the same proof) is refused on chain
    const forged = { ...view, score: ['1'], report: `${view.report.slice(0, -16)}${'00'.repeat(7)}01` as Hex };
    expect(await feeds.checkTxScore(net.chains, defs.block.name, forged)).toMatch(/proof|refused/);
    // the node API refuses malformed queries and answers 404 for what it did not score
    expect((await fetch(`${net.node(1).api}/v1/feeds/blocks/abc/tx/${txs[0]}`)).status).toBe(400);
    expect((await fetch(`${net.node(1).api}/v1/feeds/blocks/${block}/tx/0x${'11'.repeat(32)}`)).status).toBe(404);
    const tally = await new feeds.FeedWatch(net.chains, defs).tally();
    expect(tally.blocksScored).toBeGreaterThan(0);
  }, 120_000);

  it('a feed changed on chain restarts on every node; a removed one stops everywhere', async () => {
    await feeds.governFeeds(net.chains, N, 'update', [{ ...defs.timed, heartbeatSec: 30 }]);
    await until('every node runs revision 2', () => everyNode((v) => v.feeds.some((f) => f.name === defs.timed.name && f.revision === 2 && f.heartbeatSec === 30)), 30_000);
    await feeds.governFeeds(net.chains, N, 'remove', [defs.timed]);
    await until('no node runs the removed feed', () => everyNode((v) => !v.feeds.some((f) => f.name === defs.timed.name)), 30_000);
    const at = (await feeds.feedRounds(net.chains, defs.timed.name)).ethereum!.round;
    await sleep(12_000); // two windows and more: anything signed before the removal has landed by now
    const settled = (await feeds.feedRounds(net.chains, defs.timed.name)).ethereum!.round;
    await sleep(12_000);
    expect((await feeds.feedRounds(net.chains, defs.timed.name)).ethereum!.round).toBe(settled);
    expect(settled - at).toBeLessThanOrEqual(10n);
  }, 120_000);
});
