// `npm run bench -- eth-relay`: the Ethereum adapter on a local anvil. Fulfil latency and throughput with
// local nonces, whole-batch gas, and how fast the watcher catches up (polling) or reacts (WebSocket).
import { performance } from 'node:perf_hooks';
import { merkleRoot, reportLeaf } from '@destra/protocol';
import { printTable } from '../../../scripts/bench-table.ts';
import { DestraEthereumClient, FulfillmentSubmitter, RequestWatcher, encodeInput, type OracleRequest } from '../src/index.ts';
import { MODEL_HASH, MODEL_NAME, answerReport, setupChain, signReport, signRoot, type ChainFixture } from '../test/fixture.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function makeRequests(f: ChainFixture, client: DestraEthereumClient, n: number, salt: bigint) {
  const out: { requestId: `0x${string}`; modelHash: `0x${string}`; input: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const input = encodeInput([salt + BigInt(i)]);
    out.push({ requestId: (await client.request({ modelId: MODEL_NAME, input })).requestId, modelHash: MODEL_HASH, input });
  }
  return out;
}

export async function run(): Promise<void> {
  const f = await setupChain();
  try {
    const a = f.account(1);
    const client = new DestraEthereumClient({ publicClient: a.publicClient, walletClient: a.walletClient, router: f.deployed.addresses.router });
    const relayer = f.account(2);
    const submitter = new FulfillmentSubmitter({ publicClient: relayer.publicClient, walletClient: relayer.walletClient, router: f.deployed.addresses.router });
    const rows: Record<string, string | number>[] = [];

    // Sequential fulfils: estimate + send + receipt per report.
    const seq = await makeRequests(f, client, 20, 1_000n);
    const signed = seq.map((r) => {
      const rep = answerReport(f, r, [1n]);
      return { rep, sig: signReport(f, rep) };
    });
    const lat: number[] = [];
    let gas = 0n;
    for (const s of signed) {
      const t = performance.now();
      gas = (await submitter.fulfill(s.rep, s.sig)).gasUsed!;
      lat.push(performance.now() - t);
    }
    rows.push({ operation: 'fulfill, sequential (n=20)', 'median ms': median(lat), 'per second': 1000 / median(lat), 'gas/report': Number(gas) });

    // Concurrent fulfils from one account: local nonce tracking keeps them all in flight.
    const conc = await makeRequests(f, client, 64, 2_000n);
    const csigned = conc.map((r) => {
      const rep = answerReport(f, r, [2n]);
      return { rep, sig: signReport(f, rep) };
    });
    let t = performance.now();
    const results = await Promise.all(csigned.map((s) => submitter.fulfill(s.rep, s.sig)));
    let ms = performance.now() - t;
    rows.push({ operation: 'fulfill, 64 concurrent', 'median ms': ms / 64, 'per second': (64 * 1000) / ms, 'gas/report': Number(results[0]!.gasUsed!) });

    // One whole batch (root rebuilt on chain).
    const batch = await makeRequests(f, client, 128, 3_000n);
    const reports = batch.map((r) => answerReport(f, r, [3n]));
    const root = merkleRoot(reports.map(reportLeaf));
    const sig = signRoot(f, root);
    t = performance.now();
    const br = await submitter.fulfillBatch({ reports, root, signature: sig });
    ms = performance.now() - t;
    rows.push({ operation: 'fulfillBatch, 128 reports', 'median ms': ms, 'per second': (128 * 1000) / ms, 'gas/report': Number(br.gasUsed! / 128n) });
    printTable('Ethereum relay (anvil, one relayer account)', rows);

    // Watcher: catch-up over requests already on chain, in 100-block getLogs ranges.
    const from = await f.clients.publicClient.getBlockNumber();
    await makeRequests(f, client, 200, 4_000n);
    let seen = 0;
    const catchUp = new RequestWatcher({ client: f.clients.publicClient, router: f.deployed.addresses.router, startBlock: from + 1n, maxBlockRange: 100n, pollIntervalMs: 60_000, onRequest: () => void seen++ });
    t = performance.now();
    await catchUp.start();
    ms = performance.now() - t;
    await catchUp.stop();
    const wrows: Record<string, string | number>[] = [{ measure: 'catch-up over 200 requests (http, 100-block ranges)', value: `${((seen * 1000) / ms).toFixed(0)} requests/s` }];

    // Watcher: request mined → onRequest, over the WebSocket subscription.
    const arrivals = new Map<string, number>();
    const live = new RequestWatcher({
      client: f.clients.publicClient, wsClient: f.wsClient(), router: f.deployed.addresses.router, pollIntervalMs: 60_000,
      onRequest: (r: OracleRequest) => void arrivals.set(r.requestId, performance.now()),
    });
    await live.start();
    const wsLat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const [r] = await makeRequests(f, client, 1, 5_000n + BigInt(i));
      const mined = performance.now();
      while (!arrivals.has(r!.requestId)) await new Promise((res) => setTimeout(res, 1));
      wsLat.push(arrivals.get(r!.requestId)! - mined);
    }
    await live.stop();
    wrows.push({ measure: 'receipt seen → onRequest (WebSocket), median of 20', value: `${median(wsLat).toFixed(1)} ms` });
    printTable('Ethereum request watcher (anvil)', wrows);
  } finally {
    await f.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
