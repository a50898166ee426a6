// Chain requests through the product: K requests from the example consumer (RiskLendingMarket →
// OracleRouter) land in a few consecutive blocks; the node processes' router watchers pick them up, the
// committee signs, the aggregator process combines and relays. Measured: reports threshold-signed per
// second (node 1's destra_rounds_total{kind="request",outcome="combined"} plus destra_range_rows_total
// {stage="certified-here"}, from the first block mined to the K-th signed report), and how the relay
// landed them (RequestFulfilled events and the selector of the transactions that carried them: one
// `fulfill` per report, or `fulfillBatch`).
import { createPublicClient, encodeFunctionData, http, parseAbiItem, toFunctionSelector, type Hex, type PublicClient } from 'viem';
import { oracleRouterAbi, riskLendingMarketAbi } from '@destra/contracts';
import type { ProductNetwork } from './product-network.ts';
import { cpuWindow, type CpuWindow } from './product-cpu.ts';

export interface ChainResult {
  requests: number;
  signed: number;
  /** Reports threshold-signed per second, first block mined → last report signed. */
  signedPerSecond: number;
  /** Seconds to mine the burst (anvil, the blocks back to back). */
  minedS: number;
  /** Seconds from the first block mined to the first / last report signed. */
  firstSignedS: number;
  lastSignedS: number;
  /** Requests fulfilled on the router within the relay window, and by which router function. */
  fulfilled: number;
  relayedBy: string;
  relayWindowS: number;
  /** CPU seconds from the first block mined to the last report signed. */
  cpu: CpuWindow;
  /** The same window on the monotonic clock in µs (what --cpu-prof timestamps use): to slice node profiles. */
  monoUs: [bigint, bigint];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fulfilledEvent = parseAbiItem('event RequestFulfilled(bytes32 indexed requestId, bool callbackSucceeded)');

export async function chainRequests(net: ProductNetwork, count: number, o: { signTimeoutMs: number; relayWindowMs: number; firstVariant: number; pids: { nodes: number[]; aggregator: number } }): Promise<ChainResult> {
  const { chains } = net;
  const { walletClient } = chains.clients;
  // Mining hundreds of requests per block on a loaded machine takes anvil longer than viem's 10 s default.
  const publicClient = createPublicClient({ chain: chains.clients.chain, transport: http(chains.anvil.rpcUrl, { timeout: 120_000 }) }) as PublicClient;
  const account = walletClient.account!;
  const rpc = (method: string, params: unknown[] = []) => publicClient.request({ method: method as never, params: params as never });
  const [value] = (await publicClient.readContract({ address: chains.market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
  const gasPrice = (await publicClient.getGasPrice()) * 2n;
  // Signed = chain requests answered by a round + rows of certified ranges (the range path; the batch
  // load, if any, has finished before this step).
  const signedNow = async (): Promise<number> =>
    (await net.counter(0, 'destra_rounds_total', { kind: 'request', outcome: 'combined' })) + (await net.counter(0, 'destra_range_rows_total', { stage: 'certified-here' }));
  const signedBefore = await signedNow();
  const fromBlock = await publicClient.getBlockNumber();
  // Queue every request, then mine: the nodes see them in a few back-to-back blocks, as a burst.
  await rpc('evm_setAutomine', [false]);
  let hashes: Hex[] = [];
  try {
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
    for (let i = 0; i < count; i++) {
      const data = encodeFunctionData({ abi: riskLendingMarketAbi, functionName: 'requestRiskScore', args: [toHexBytes(net.o.model.input(o.firstVariant + i))] });
      const signed = await account.signTransaction!({ to: chains.market, data, value, gas: 600_000n, nonce: nonce + i, chainId: chains.anvil.chainId, type: 'eip1559', maxFeePerGas: gasPrice, maxPriorityFeePerGas: 1n });
      hashes.push((await rpc('eth_sendRawTransaction', [signed])) as Hex);
    }
  } catch (err) {
    await rpc('evm_setAutomine', [true]);
    throw err;
  }
  const started = performance.now();
  const mono0 = process.hrtime.bigint() / 1000n;
  const window = cpuWindow(o.pids);
  try {
    for (let b = 0; b < 100; b++) {
      await rpc('evm_mine');
      const last = await publicClient.getTransactionReceipt({ hash: hashes.at(-1)! }).catch(() => undefined);
      if (last) break;
    }
  } finally {
    await rpc('evm_setAutomine', [true]);
  }
  const minedS = (performance.now() - started) / 1000;
  const receipts = await Promise.all([hashes[0]!, hashes.at(-1)!].map((hash) => publicClient.getTransactionReceipt({ hash })));
  if (receipts.some((r) => r.status !== 'success')) throw new Error('a request transaction reverted');
  hashes = [];
  let firstSignedS = NaN;
  let signed = 0;
  const deadline = started + o.signTimeoutMs;
  while (performance.now() < deadline) {
    signed = (await signedNow()) - signedBefore;
    if (signed > 0 && Number.isNaN(firstSignedS)) firstSignedS = (performance.now() - started) / 1000;
    if (signed >= count) break;
    await sleep(100); // each poll renders node 1's /metrics: faster polling would show up in the CPU per report
  }
  const lastSignedS = (performance.now() - started) / 1000;
  const cpu = window.end();
  const monoUs: [bigint, bigint] = [mono0, process.hrtime.bigint() / 1000n];
  // The relay: RequestFulfilled events since the burst, and the router function of the carrying transactions.
  const relayDeadline = performance.now() + o.relayWindowMs;
  let logs: Awaited<ReturnType<typeof publicClient.getLogs<typeof fulfilledEvent>>> = [];
  while (performance.now() < relayDeadline) {
    logs = await publicClient.getLogs({ address: chains.deployed.addresses.router, event: fulfilledEvent, fromBlock: fromBlock + 1n });
    if (logs.length >= count) break;
    await sleep(500);
  }
  const selectors = new Map<string, number>();
  const txs = [...new Set(logs.map((l) => l.transactionHash))].slice(0, 50);
  for (const hash of txs) {
    const tx = await publicClient.getTransaction({ hash });
    const name = SELECTORS.get(tx.input.slice(0, 10) as Hex) ?? tx.input.slice(0, 10);
    selectors.set(name, (selectors.get(name) ?? 0) + 1);
  }
  return {
    requests: count, signed, signedPerSecond: signed / lastSignedS, minedS, firstSignedS, lastSignedS,
    fulfilled: logs.length, relayedBy: [...selectors].map(([k, v]) => `${k}×${v}`).join(', ') || 'none', relayWindowS: o.relayWindowMs / 1000, cpu, monoUs,
  };
}

const SELECTORS = new Map(
  oracleRouterAbi
    .filter((i) => i.type === 'function' && (i.name === 'fulfill' || i.name === 'fulfillBatch'))
    .map((i) => [toFunctionSelector(i as never), (i as { name: string }).name] as const),
);

const toHexBytes = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

