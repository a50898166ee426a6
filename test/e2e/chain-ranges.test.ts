// Chain requests signed in ranges, end to end: 4 in-process nodes (libp2p, DKG, SQLite, the real ONNX
// engine) signing the router's and the Solana program's request streams in ranges, one aggregator relaying
// certified ranges with fulfillBatch (anvil mining many requests per block) and verify_root +
// post_batched_report (LiteSVM). A few hundred Ethereum requests from the example consumer land with
// their callbacks; Solana requests of one slot land under one verified root. Hostile and faulty parts: member 2 computes wrong outputs (its ranges' roots
// differ: excluded from every certificate and named by the aggregator; it also carries report bytes,
// which are never relayed), and member 3 reads the chain through an RPC that drops one request log the
// first time (its stream finds the gap from the router's counter and re-reads it). Bounded in time.
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { decodeEventLog, decodeFunctionData, parseEventLogs, toHex as vToHex, type Hex } from 'viem';
import { namehash, oracleRouterAbi, riskLendingMarketAbi } from '@destra/contracts';
import { EthereumRangeSink } from '@destra/adapter-ethereum';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { PublicKey } from '@solana/web3.js';
import { ethereumSource, solanaSource } from '@destra/oracle-node';
import { decodeReport, evmDestination, requestStream, toHex } from '@destra/protocol';
import { SolanaRangeSink, type Evidence } from '@destra/aggregator';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { CLUSTER_ID, startChains, type Chains } from '../devnet/chains.ts';
import { startLocalCluster, type LocalCluster } from '../devnet/cluster.ts';
import { testFaultWrongOutput } from './fault.ts';

const engineAvailable = existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)));
const REQUESTS = 300;
const PER_BLOCK = 50;
const FAULTY = 2;
const GAPPY = 3;

/** A JSON-RPC proxy to anvil that leaves one request log (by sequence number) out of the first eth_getLogs answer holding it. */
async function droppingProxy(target: string, dropSeq: bigint): Promise<{ url: string; dropped: () => number; close: () => Promise<void> }> {
  let dropped = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      let text = await upstream.text();
      const call = JSON.parse(body) as { method?: string };
      if (call.method === 'eth_getLogs' && dropped === 0) {
        const out = JSON.parse(text) as { result?: { data: Hex; topics: Hex[] }[] };
        const keep = (out.result ?? []).filter((log) => {
          try {
            const ev = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
            if (ev.eventName === 'InferenceRequested' && ev.args.seq === dropSeq) {
              dropped++;
              return false;
            }
          } catch {
            /* not a request log */
          }
          return true;
        });
        if (out.result) text = JSON.stringify({ ...out, result: keep });
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, dropped: () => dropped, close: () => new Promise((r) => server.close(() => r())) };
}

describe.skipIf(!engineAvailable)('e2e: chain requests signed in ranges, relayed with fulfillBatch / verify_root + post_batched_report', () => {
  let model: BenchModel;
  let chains: Chains;
  let cluster: LocalCluster;
  let proxy: Awaited<ReturnType<typeof droppingProxy>>;
  const evidence: Evidence[] = [];
  const log = pino({ level: process.env.DESTRA_E2E_LOG ?? 'silent' });

  beforeAll(async () => {
    model = await loadBenchModel();
    const network = 'ranges';
    chains = await startChains({ network, n: 4, modelName: model.model });
    const router = chains.deployed.addresses.router;
    const relayer = chains.relayerClients;
    const rangeSink = new EthereumRangeSink({ publicClient: relayer.publicClient, walletClient: relayer.walletClient, router, nonceManager: chains.ethSink.submitter.nonces });
    cluster = await startLocalCluster({
      network, n: 4, t: 3, log, models: model.models,
      inference: (i) => (i === FAULTY ? testFaultWrongOutput(model.inference) : model.inference),
      sinks: [chains.ethSink, chains.solSink], rangeSinks: [rangeSink, new SolanaRangeSink({ client: chains.solana, payer: chains.solPayer, clusterId: CLUSTER_ID })],
    });
    await chains.stake(cluster.committee.operators.slice(1));
    await chains.genesis(cluster.sharing);
    await chains.registerModel(model.model, model.modelHash);
    cluster.aggregator.service.on('misbehaviour', (e) => evidence.push(e));
    const startBlock = Number(await chains.clients.publicClient.getBlockNumber()) + 1;
    proxy = await droppingProxy(chains.anvil.rpcUrl, 137n);
    for (const [i, node] of cluster.nodes) {
      const src = ethereumSource(
        {
          rpcUrl: i === GAPPY ? proxy.url : chains.anvil.rpcUrl, router, chainId: chains.anvil.chainId, startBlock, pollIntervalMs: 100,
          models: { [namehash(model.model)]: model.model }, signing: 'range', maxRangeSize: 64, certifyTimeoutMs: 60_000,
        },
        node.store, log.child({ node: i }),
        { ranges: node.range!.service, inference: i === FAULTY ? testFaultWrongOutput(model.inference) : model.inference, domain: node.domain, activeKey: () => node.currentKey(), host: node.host },
      );
      node.sources.push(src); // stopped with the node
      await src.start((r) => node.engine.onChainRequest(r), undefined);
      // the Solana program's stream: one slot per range (LiteSVM's slot is its clock: the slot as timestamp)
      const sol = solanaSource({
        client: chains.solana, clusterId: CLUSTER_ID, slotTime: async (slot) => Number(slot), name: 'solana', intervalMs: 100,
        models: { [toHex(model.modelHash).toLowerCase()]: model.model }, log: log.child({ node: i, chain: 'solana' }),
        range: { ranges: node.range!.service, inference: i === FAULTY ? testFaultWrongOutput(model.inference) : model.inference, domain: node.domain, activeKey: () => node.currentKey(), host: node.host, certifyTimeoutMs: 60_000 },
      });
      node.sources.push(sol);
      await sol.start((r) => node.engine.onChainRequest(r), undefined);
    }
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
    await proxy?.close();
    await chains?.stop();
    await model?.close();
  }, 60_000);

  it(`fulfils ${REQUESTS} consumer requests from certified ranges; every callback lands; the faulty member is named; the dropped log is recovered`, async () => {
    const pub = chains.clients.publicClient;
    const wallet = chains.clients.walletClient;
    const market = chains.market;
    const [value] = (await pub.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
    // Many requests per block: automine off, a block mined every PER_BLOCK requests.
    await pub.request({ method: 'evm_setAutomine' as never, params: [false] as never });
    let nonce = await pub.getTransactionCount({ address: wallet.account!.address, blockTag: 'pending' });
    const hashes: Hex[] = [];
    const inputs: Uint8Array[] = [];
    try {
      for (let i = 0; i < REQUESTS; i++) {
        const input = model.input(1000 + i);
        inputs.push(input);
        hashes.push(await wallet.writeContract({ address: market, abi: riskLendingMarketAbi, functionName: 'requestRiskScore', args: [vToHex(input)], value, nonce: nonce++, gas: 700_000n, account: wallet.account!, chain: chains.clients.chain }));
        if ((i + 1) % PER_BLOCK === 0) await pub.request({ method: 'evm_mine' as never, params: [] as never });
      }
      await pub.request({ method: 'evm_mine' as never, params: [] as never });
    } finally {
      await pub.request({ method: 'evm_setAutomine' as never, params: [true] as never });
    }
    const receipts = await Promise.all(hashes.map((hash) => pub.waitForTransactionReceipt({ hash })));
    expect(receipts.every((r) => r.status === 'success')).toBe(true);
    const requested = receipts.map((r) => parseEventLogs({ abi: oracleRouterAbi, logs: r.logs, eventName: 'InferenceRequested' })[0]!.args);
    expect(new Set(receipts.map((r) => r.blockNumber)).size).toBeLessThanOrEqual(REQUESTS / PER_BLOCK + 1);

    // every request answered on chain through fulfillBatch, each callback succeeded with the committee's output
    const fulfilledIn = new Map<string, { ok: boolean; tx: Hex }>();
    const deadline = Date.now() + 150_000;
    let from = receipts[0]!.blockNumber;
    while (fulfilledIn.size < REQUESTS && Date.now() < deadline) {
      const head = await pub.getBlockNumber();
      if (head >= from) {
        const logs = await pub.getContractEvents({ address: chains.deployed.addresses.router, abi: oracleRouterAbi, eventName: 'RequestFulfilled', fromBlock: from, toBlock: head });
        for (const l of logs) fulfilledIn.set(l.args.requestId!.toLowerCase(), { ok: l.args.callbackSucceeded!, tx: l.transactionHash });
        from = head + 1n;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(fulfilledIn.size).toBe(REQUESTS);
    for (const r of requested) expect(fulfilledIn.get(r.requestId.toLowerCase())?.ok).toBe(true);
    // by fulfillBatch, a handful of transactions for all of them (not one per request)
    const txs = new Set([...fulfilledIn.values()].map((v) => v.tx));
    expect(txs.size).toBeLessThan(REQUESTS / 4);
    for (const tx of [...txs].slice(0, 3)) {
      const t = await pub.getTransaction({ hash: tx });
      expect(decodeFunctionData({ abi: oracleRouterAbi, data: t.input }).functionName).toBe('fulfillBatch');
    }
    // the consumer recorded the committee's score (the last request's, from the honest members' model)
    const last = requested.at(-1)!;
    const expected = (await model.inference.infer(model.model, inputs.at(-1)!)).output[0];
    expect(await pub.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'lastRiskScore', args: [wallet.account!.address] })).toBe(expected);
    expect(last.seq).toBe(BigInt(REQUESTS - 1) + requested[0]!.seq);

    // ranges, not rounds: the honest members certified (nearly) everything by range
    const streams = [...cluster.nodes.values()].map((n) => (n.sources.at(-2) as { stream?: { stats: { certifiedRequests: number; gapsRecovered: number; fallbackRequests: number } } }).stream!.stats);
    expect(streams[0]!.certifiedRequests).toBe(REQUESTS);
    expect(streams[0]!.fallbackRequests).toBe(0);
    // member 2's wrong roots: named as conflicting for the ranges, never part of a certificate
    await new Promise((r) => setTimeout(r, 500));
    const named = evidence.filter((e) => e.member === FAULTY && e.kind === 'conflicting-digest');
    expect(named.length).toBeGreaterThan(0);
    expect(evidence.some((e) => e.member !== FAULTY)).toBe(false);
    // member 3's watcher missed seq 137 once; its stream re-read it and certified every range too
    expect(proxy.dropped()).toBe(1);
    expect(streams[GAPPY - 1]!.gapsRecovered).toBeGreaterThanOrEqual(1);
    expect(streams[GAPPY - 1]!.certifiedRequests).toBe(REQUESTS);
    // one report as a member serves it: the range's report with its proof, the honest output
    const stream = requestStream(evmDestination(BigInt(chains.anvil.chainId), Uint8Array.from(Buffer.from(chains.deployed.addresses.router.slice(2), 'hex'))));
    const signed = cluster.nodes.get(1)!.range!.service.signedResult(stream, Number(last.seq));
    expect(signed && decodeReport(signed.report).output[0]).toBe(expected);
    expect(toHex(signed!.root)).toMatch(/^0x/);
  }, 240_000);

  it('answers Solana requests of one slot as one range: one verify_root, a post per request, the committee output in each result', async () => {
    const svm = chains.svm.svm;
    const inputs = Array.from({ length: 40 }, (_, i) => model.input(9000 + i));
    const ids: Uint8Array[] = [];
    for (const input of inputs) ids.push(await chains.solRequest(model.modelHash, input));
    const slot = svm.getClock().slot;
    svm.warpToSlot(slot + 1n); // the slot is over: the nodes may cut it
    const deadline = Date.now() + 90_000;
    for (;;) {
      const statuses = await Promise.all(ids.map(async (id) => (await chains.solana.fetchRequest(new PublicKey(id)))?.status));
      if (statuses.every((x) => x === 'fulfilled')) break;
      if (Date.now() > deadline) throw new Error(`Solana requests not answered: ${statuses.filter((x) => x !== 'fulfilled').length} open`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const [i, id] of ids.entries()) {
      const expected = (await model.inference.infer(model.model, inputs[i]!)).output;
      expect((await chains.solana.fetchResult(id))?.output).toEqual(expected);
    }
    const solStream = (cluster.nodes.get(1)!.sources.at(-1) as { stream?: { stats: { certifiedRequests: number; fallbackRequests: number } } }).stream!.stats;
    expect(solStream.certifiedRequests).toBeGreaterThanOrEqual(40);
    expect(solStream.fallbackRequests).toBe(0);
    const relayed = cluster.aggregator.rangeRelay!.stats;
    expect(relayed.rangesRelayed).toBeGreaterThanOrEqual(1);
    // ORACLE_PROGRAM_ID's stream: requests numbered in the program from 0
    expect((await chains.solana.fetchConfig())?.requestSeq).toBe(BigInt(ids.length));
    expect(ORACLE_PROGRAM_ID.toBase58()).toBe(chains.solana.programId.toBase58());
  }, 120_000);
});
