// Chain requests signed in ranges (chains.ethereum.signing 'range') and relayed with fulfillBatch: 4
// in-process nodes (real libp2p, SQLite, ONNX liquidation-risk, range service) and the real aggregator.
//   signed:  each node's ChainRequestStream fed a router stream held in memory (blocks of 1,024 requests,
//            the chain's counter per block), so the chain's own speed does not bound it: requests/s from
//            the first block handed over to every request certified on node 1 (inference, report bytes,
//            Merkle tree, one root signature per range, aggregator certificate, member check).
//   relayed: anvil, the example consumer's requests (callback gas 150k each) mined ~200 per block, nodes
//            watching the router: requests/s from the first block mined to the last RequestFulfilled, the
//            fulfillBatch transactions and gas per request.
// `npm run bench -- node` prints these rows after the node table; DESTRA_CHAIN_BENCH_SIGNED / _RELAYED set
// the request counts (default 32,768 / 1,000).
import { pino } from 'pino';
import { parseEventLogs, toHex as vToHex, type Hex } from 'viem';
import { EthereumRangeSink } from '@destra/adapter-ethereum';
import { namehash, oracleRouterAbi, riskLendingMarketAbi } from '@destra/contracts';
import { ethereumSource, type OracleNode } from '@destra/oracle-node';
import { evmDestination, requestStream } from '@destra/protocol';
import { ChainRequestStream } from '../../oracle-node/src/chains/chain-stream.ts';
import type { SequencedRequest } from '../../oracle-node/src/chains/request-stream.ts';
import type { BenchRow } from '../../scripts/bench-table.ts';
import { printTable } from '../../scripts/bench-table.ts';
import { startChains } from '../devnet/chains.ts';
import { startLocalCluster } from '../devnet/cluster.ts';
import { loadBenchModel, type BenchModel } from './inference.ts';

const silent = pino({ level: process.env.DESTRA_BENCH_DEBUG ? 'warn' : 'silent' });
const BLOCK = 1024;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`chain-ranges bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Signing rate over a stream held in memory (no chain in the way). */
async function signed(model: BenchModel, count: number): Promise<BenchRow[]> {
  const cluster = await startLocalCluster({ network: 'bench-chain-signed', n: 4, t: 3, log: silent, models: model.models, inference: () => model.inference });
  try {
    const router = new Uint8Array(20).fill(0xab);
    const destination = evmDestination(31337n, router);
    const stream = requestStream(destination);
    const total = BLOCK * 2 + count; // two blocks of warm-up
    const requests: SequencedRequest[] = Array.from({ length: total }, (_, seq) => {
      const requestId = new Uint8Array(32);
      new DataView(requestId.buffer).setUint32(28, seq + 1);
      const block = BigInt(Math.floor(seq / BLOCK) + 1);
      return { source: 'ethereum:31337', requestId, model: model.model, modelHash: model.modelHash, input: model.input(seq % 4096), timestamp: 1_700_000_000 + Number(block), destination, seq, block };
    });
    const reader = {
      nextSeqAfter: async (block: bigint) => Math.min(total, Number(block) * BLOCK),
      requestsIn: async (from: bigint, to: bigint) => requests.filter((r) => r.block >= from && r.block <= to),
    };
    const streams = [...cluster.nodes.values()].map(
      (node: OracleNode) =>
        new ChainRequestStream({
          stream, reader, ranges: node.range!.service, inference: model.inference, domain: node.domain, activeKey: () => node.currentKey(), host: node.host,
          fallback: () => undefined, maxRangeSize: BLOCK, certifyTimeoutMs: 600_000, log: silent,
        }),
    );
    const feed = (fromBlock: number, toBlock: number) => {
      for (let b = fromBlock; b <= toBlock; b++) {
        const slice = requests.slice((b - 1) * BLOCK, b * BLOCK);
        for (const s of streams) {
          for (const r of slice) s.add(r);
          void s.synced(BigInt(b));
        }
      }
    };
    const first = streams[0]!;
    feed(1, 2);
    await until('warm-up ranges certified', () => first.stats.certifiedRequests >= 2 * BLOCK, 120_000);
    const t0 = performance.now();
    feed(3, total / BLOCK);
    await until('every range certified on node 1', () => first.stats.certifiedRequests >= total, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    for (const s of streams) s.stop();
    return [
      { measurement: `chain requests signed in ranges (${count.toLocaleString('en-US')} requests, 1,024 per block/range, 4 nodes t=3)`, value: count / seconds, unit: 'requests/s' },
      { measurement: 'of which fell back to single-request rounds', value: streams.reduce((a, s) => a + s.stats.fallbackRequests, 0), unit: 'requests' },
    ];
  } finally {
    await cluster.stop();
  }
}

/** End to end on anvil: requests mined → ranges signed → fulfillBatch landed. */
async function relayed(model: BenchModel, count: number): Promise<BenchRow[]> {
  const network = 'bench-chain-relay';
  const chains = await startChains({ network, n: 4, modelName: model.model });
  const router = chains.deployed.addresses.router;
  const rangeSink = new EthereumRangeSink({ publicClient: chains.relayerClients.publicClient, walletClient: chains.relayerClients.walletClient, router, nonceManager: chains.ethSink.submitter.nonces });
  const cluster = await startLocalCluster({ network, n: 4, t: 3, log: silent, models: model.models, inference: () => model.inference, sinks: [chains.ethSink], rangeSinks: [rangeSink] });
  try {
    await chains.stake(cluster.committee.operators.slice(1));
    await chains.genesis(cluster.sharing);
    await chains.registerModel(model.model, model.modelHash);
    const pub = chains.clients.publicClient;
    const wallet = chains.clients.walletClient;
    const startBlock = Number(await pub.getBlockNumber()) + 1;
    for (const [i, node] of cluster.nodes) {
      const src = ethereumSource(
        { rpcUrl: chains.anvil.rpcUrl, router, chainId: chains.anvil.chainId, startBlock, pollIntervalMs: 100, models: { [namehash(model.model)]: model.model }, signing: 'range', maxRangeSize: 1024 },
        node.store, silent.child({ node: i }),
        { ranges: node.range!.service, inference: model.inference, domain: node.domain, activeKey: () => node.currentKey(), host: node.host },
      );
      node.sources.push(src);
      await src.start((r) => node.engine.onChainRequest(r), undefined);
    }
    let lastCertified = 0;
    cluster.aggregator.service.on('range', () => void (lastCertified = performance.now()));
    const [value] = (await pub.readContract({ address: chains.market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
    // Send everything first (automine off), then mine: anvil fills each block up to its 30M gas limit
    // (~200 consumer requests); what is timed is mining → signing → relaying.
    await pub.request({ method: 'evm_setAutomine' as never, params: [false] as never });
    let nonce = await pub.getTransactionCount({ address: wallet.account!.address, blockTag: 'pending' });
    const hashes: Hex[] = [];
    let t0 = 0;
    try {
      for (let i = 0; i < count; i++) {
        hashes.push(await wallet.writeContract({ address: chains.market, abi: riskLendingMarketAbi, functionName: 'requestRiskScore', args: [vToHex(model.input(5000 + i))], value, nonce: nonce++, gas: 700_000n, account: wallet.account!, chain: chains.clients.chain }));
      }
      t0 = performance.now();
      for (let mined = 0; mined < count; ) {
        await pub.request({ method: 'evm_mine' as never, params: [] as never });
        mined = (await pub.getTransactionCount({ address: wallet.account!.address })) - (nonce - count);
      }
    } finally {
      await pub.request({ method: 'evm_setAutomine' as never, params: [true] as never });
    }
    const receipts = await Promise.all(hashes.map((hash) => pub.waitForTransactionReceipt({ hash, pollingInterval: 50 })));
    const blocks = new Set(receipts.map((r) => r.blockNumber)).size;
    const ids = new Set(receipts.map((r) => parseEventLogs({ abi: oracleRouterAbi, logs: r.logs, eventName: 'InferenceRequested' })[0]!.args.requestId.toLowerCase()));
    const txs = new Map<Hex, bigint>();
    let landed = 0;
    let from = receipts[0]!.blockNumber;
    await until(
      `${count} requests fulfilled`,
      async () => {
        const head = await pub.getBlockNumber();
        if (head < from) return false;
        const logs = await pub.getContractEvents({ address: router, abi: oracleRouterAbi, eventName: 'RequestFulfilled', fromBlock: from, toBlock: head });
        for (const l of logs) {
          if (!ids.has(l.args.requestId!.toLowerCase())) continue;
          landed++;
          txs.set(l.transactionHash, 0n);
        }
        from = head + 1n;
        return landed >= count;
      },
      600_000,
    );
    const seconds = (performance.now() - t0) / 1000;
    let gas = 0n;
    for (const tx of txs.keys()) gas += (await pub.getTransactionReceipt({ hash: tx })).gasUsed;
    return [
      { measurement: `chain requests mined → signed in ranges → landed by fulfillBatch (anvil, ${count.toLocaleString('en-US')} consumer requests in ${blocks} blocks, callbacks)`, value: count / seconds, unit: 'requests/s' },
      { measurement: 'of which: first block mined → last range certified', value: lastCertified - t0, unit: 'ms' },
      { measurement: 'fulfillBatch transactions for them', value: txs.size, unit: 'txs' },
      { measurement: 'fulfillBatch gas per request (incl. the 150k-limit consumer callback)', value: Number(gas / BigInt(count)), unit: 'gas' },
      { measurement: 'requests per block (anvil 30M gas blocks)', value: count / blocks, unit: 'requests' },
    ];
  } finally {
    await cluster.stop();
    await chains.stop();
  }
}

export async function chainRangeRows(): Promise<BenchRow[]> {
  const model = await loadBenchModel();
  try {
    const signedCount = Math.ceil(Number(process.env.DESTRA_CHAIN_BENCH_SIGNED ?? 32_768) / BLOCK) * BLOCK;
    const rows = await signed(model, signedCount);
    rows.push(...(await relayed(model, Number(process.env.DESTRA_CHAIN_BENCH_RELAYED ?? 1_000))));
    return rows;
  } finally {
    await model.close();
  }
}

export async function run(): Promise<void> {
  printTable('chain requests in ranges: 4 in-process nodes + aggregator, ONNX liquidation-risk', await chainRangeRows());
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
