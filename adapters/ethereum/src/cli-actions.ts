// The `destra eth ...` actions, loaded when one runs: cli.ts registers the commands without loading viem's
// clients, the SDK or the watcher, so every other command (and --help) starts fast.
import { createPublicClient, createWalletClient, http, isHex, type Address, type Chain, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { JsonFileCheckpointStore, MemoryCheckpointStore } from './checkpoint.ts';
import { DestraEthereumClient } from './client.ts';
import { AdapterConfigError } from './errors.ts';
import { jsonLine } from './json-line.ts';
import { RequestWatcher } from './watcher.ts';
import { closeWebSocketClient, createWebSocketPublicClient } from './ws-transport.ts';

type ChainOpts = { rpc: string; router: Address };

async function chainOf(rpc: string): Promise<{ chain: Chain; publicClient: PublicClient }> {
  const probe = createPublicClient({ transport: http(rpc) });
  const id = await probe.getChainId();
  const chain = { id, name: `chain-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpc] } } } as Chain;
  return { chain, publicClient: createPublicClient({ chain, transport: http(rpc), pollingInterval: 250 }) as PublicClient };
}

async function sdk(o: ChainOpts, keyEnv?: string): Promise<DestraEthereumClient> {
  const { chain, publicClient } = await chainOf(o.rpc);
  if (!keyEnv) return new DestraEthereumClient({ publicClient, router: o.router });
  const key = process.env[keyEnv];
  if (!key || !isHex(key) || key.length !== 66) throw new AdapterConfigError(`set ${keyEnv} to the requester's 32-byte private key (0x hex)`);
  const walletClient = createWalletClient({ chain, transport: http(o.rpc), account: privateKeyToAccount(key) });
  return new DestraEthereumClient({ publicClient, walletClient, router: o.router });
}

export async function request(
  o: ChainOpts & { model: string; input: Hex; callbackGas: number; fee?: bigint; permit?: boolean; approveAmount?: bigint; wait?: boolean; timeout: number; keyEnv: string },
): Promise<void> {
  const client = await sdk(o, o.keyEnv);
  const sent = await client.request({
    modelId: o.model, input: o.input, callbackGasLimit: o.callbackGas, dsyncAuth: o.permit ? 'permit' : 'approve',
    ...(o.fee !== undefined ? { fee: o.fee } : {}), ...(o.approveAmount !== undefined ? { approveAmount: o.approveAmount } : {}),
  });
  console.log(jsonLine(sent));
  if (o.wait) {
    const r = await client.waitForResult(sent.requestId, { timeoutMs: o.timeout });
    console.log(jsonLine({ requestId: r.requestId, status: r.statusName, output: r.output, txHash: r.txHash, blockNumber: r.blockNumber, callbackSucceeded: r.callbackSucceeded }));
  }
}

export async function refund(o: ChainOpts & { id: Hex; keyEnv: string }): Promise<void> {
  const client = await sdk(o, o.keyEnv);
  const r = await client.refund(o.id);
  console.log(jsonLine({ requestId: o.id, refunded: r.amount, txHash: r.txHash }));
}

export async function result(o: ChainOpts & { id: Hex; timeout: number; fromBlock?: bigint }): Promise<void> {
  const r = await (await sdk(o)).waitForResult(o.id, { timeoutMs: o.timeout, ...(o.fromBlock !== undefined ? { fromBlock: o.fromBlock } : {}) });
  console.log(jsonLine({ requestId: r.requestId, status: r.statusName, output: r.output, txHash: r.txHash, blockNumber: r.blockNumber, callbackSucceeded: r.callbackSucceeded, epoch: r.report.epoch }));
}

export async function committee(o: ChainOpts): Promise<void> {
  const reader = await (await sdk(o)).committee();
  const [epoch, params, operators, selected] = await Promise.all([reader.epochInfo(), reader.params(), reader.operators(), reader.selectedCommittee()]);
  const key = epoch.epoch > 0n ? await reader.groupKey(epoch.epoch) : undefined;
  console.log(jsonLine({ registry: reader.registry, ...epoch, groupKey: key?.compressed, params, operators, selectedCommittee: selected }));
}

export async function watch(o: ChainOpts & { ws?: string; fromBlock?: bigint; confirmations: number; checkpoint?: string; count?: number }): Promise<void> {
  const { chain, publicClient } = await chainOf(o.rpc);
  let seen = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  const wsClient = o.ws ? createWebSocketPublicClient(o.ws, chain) : undefined;
  const watcher = new RequestWatcher({
    client: publicClient,
    ...(wsClient ? { wsClient } : {}),
    router: o.router,
    confirmations: o.confirmations,
    ...(o.fromBlock !== undefined ? { startBlock: o.fromBlock } : {}),
    checkpointStore: o.checkpoint ? new JsonFileCheckpointStore(o.checkpoint) : new MemoryCheckpointStore(),
    pollIntervalMs: 500,
    onRequest: (r) => {
      console.log(jsonLine(r));
      if (o.count !== undefined && ++seen >= o.count) finish();
    },
    onError: (e) => console.error(`watch: ${e.message}`),
  });
  process.once('SIGINT', finish);
  await watcher.start();
  if (o.count === undefined || seen < o.count) await done;
  await watcher.stop();
  if (wsClient) await closeWebSocketClient(wsClient);
}

export async function verify(o: ChainOpts & { node: string; model: string; input: Hex }): Promise<void> {
  const client = await sdk(o);
  const signed = await client.fetchSignedReport(o.node, { model: o.model, input: o.input });
  const key = await client.groupKey(signed.epoch);
  const offchain = client.verifyReportOffchain(signed.report, signed.signature, signed.proof, key.compressed);
  const onchain = await client.submitOnDemand(signed);
  console.log(jsonLine({ id: signed.decoded.id, epoch: signed.epoch, output: signed.decoded.output, offchain, onchain }));
  if (!offchain || !onchain) process.exitCode = 1;
}
