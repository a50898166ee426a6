// `destra eth ...`: the requester SDK, committee reader and request watcher from the command line. Output
// is one JSON object per line (bigints as decimal strings). The requester key comes from the environment
// (DESTRA_ETH_PRIVATE_KEY by default), never from argv, so it does not land in shell history.
import { Command, InvalidArgumentError } from 'commander';
import { createPublicClient, createWalletClient, http, isAddress, isHex, type Address, type Chain, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { JsonFileCheckpointStore, MemoryCheckpointStore } from './checkpoint.ts';
import { DestraEthereumClient } from './client.ts';
import { AdapterConfigError } from './errors.ts';
import { RequestWatcher } from './watcher.ts';
import { closeWebSocketClient, createWebSocketPublicClient } from './ws-transport.ts';

const addressArg = (v: string): Address => {
  if (!isAddress(v)) throw new InvalidArgumentError('expected a 20-byte 0x address');
  return v;
};
const hexArg = (v: string): Hex => {
  if (!isHex(v, { strict: true }) || v.length % 2 !== 0) throw new InvalidArgumentError('expected 0x-prefixed even-length hex');
  return v;
};
const intArg = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(v);
};
const bigArg = (v: string): bigint => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return BigInt(v);
};

/** JSON with bigints as decimal strings and bytes as hex. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `0x${Buffer.from(v).toString('hex')}` : v));
}

async function chainOf(rpc: string): Promise<{ chain: Chain; publicClient: PublicClient }> {
  const probe = createPublicClient({ transport: http(rpc) });
  const id = await probe.getChainId();
  const chain = { id, name: `chain-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpc] } } } as Chain;
  return { chain, publicClient: createPublicClient({ chain, transport: http(rpc), pollingInterval: 250 }) as PublicClient };
}

async function sdk(o: { rpc: string; router: Address }, keyEnv?: string): Promise<DestraEthereumClient> {
  const { chain, publicClient } = await chainOf(o.rpc);
  if (!keyEnv) return new DestraEthereumClient({ publicClient, router: o.router });
  const key = process.env[keyEnv];
  if (!key || !isHex(key) || key.length !== 66) throw new AdapterConfigError(`set ${keyEnv} to the requester's 32-byte private key (0x hex)`);
  const walletClient = createWalletClient({ chain, transport: http(o.rpc), account: privateKeyToAccount(key) });
  return new DestraEthereumClient({ publicClient, walletClient, router: o.router });
}

export function register(program: Command): void {
  const eth = program.command('eth').description('Ethereum: request inferences, read results and the committee, watch requests');
  const chainOpts = (c: Command) =>
    c.requiredOption('--rpc <url>', 'JSON-RPC http URL').requiredOption('--router <address>', 'OracleRouter address', addressArg);

  chainOpts(eth.command('request').description("send a request (ETH from the router's quote unless --fee; the model's DSYNC burn approved when short, or --permit) and print its id; --wait prints the result too"))
    .requiredOption('--model <name|id>', 'model name (namehashed) or bytes32 ModelRegistry node')
    .requiredOption('--input <hex>', 'canonical input bytes (int64 big-endian values)', hexArg)
    .option('--callback-gas <n>', 'gas for the requester contract callback (0 for none)', intArg, 0)
    .option('--fee <wei>', 'ETH to send in wei (default: the quote, model fee + callback gas prepayment)', bigArg)
    .option('--permit', "authorise the model's DSYNC burn with an ERC-2612 permit (one transaction) instead of an approval")
    .option('--approve-amount <base units>', 'DSYNC allowance an approval sets when short (default 100 × the burn)', bigArg)
    .option('--wait', 'wait for the result')
    .option('--timeout <ms>', 'how long --wait waits', intArg, 120_000)
    .option('--key-env <name>', 'environment variable holding the private key', 'DESTRA_ETH_PRIVATE_KEY')
    .action(async (o) => {
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
    });

  chainOpts(eth.command('refund').description("refund a request nobody answered before its deadline (fee and gas prepayment; anyone may send it), or, as its requester, an answered request's unused callback gas prepayment"))
    .requiredOption('--id <requestId>', 'request id (bytes32)', hexArg)
    .option('--key-env <name>', 'environment variable holding the private key of the account that sends it', 'DESTRA_ETH_PRIVATE_KEY')
    .action(async (o) => {
      const client = await sdk(o, o.keyEnv);
      const r = await client.refund(o.id);
      console.log(jsonLine({ requestId: o.id, refunded: r.amount, txHash: r.txHash }));
    });

  chainOpts(eth.command('result').description('wait for a request to be fulfilled and print its signed output'))
    .requiredOption('--id <requestId>', 'request id (bytes32)', hexArg)
    .option('--timeout <ms>', 'how long to wait', intArg, 120_000)
    .option('--from-block <n>', 'first block to search for the fulfilment', bigArg)
    .action(async (o) => {
      const r = await (await sdk(o)).waitForResult(o.id, { timeoutMs: o.timeout, ...(o.fromBlock !== undefined ? { fromBlock: o.fromBlock } : {}) });
      console.log(jsonLine({ requestId: r.requestId, status: r.statusName, output: r.output, txHash: r.txHash, blockNumber: r.blockNumber, callbackSucceeded: r.callbackSucceeded, epoch: r.report.epoch }));
    });

  chainOpts(eth.command('committee').description('print the current epoch, its group key, registry parameters and operators'))
    .action(async (o) => {
      const reader = await (await sdk(o)).committee();
      const [epoch, params, operators, selected] = await Promise.all([reader.epochInfo(), reader.params(), reader.operators(), reader.selectedCommittee()]);
      const key = epoch.epoch > 0n ? await reader.groupKey(epoch.epoch) : undefined;
      console.log(jsonLine({ registry: reader.registry, ...epoch, groupKey: key?.compressed, params, operators, selectedCommittee: selected }));
    });

  chainOpts(eth.command('watch').description('print each InferenceRequested event as a JSON line'))
    .option('--ws <url>', 'WebSocket URL for push delivery (polling otherwise)')
    .option('--from-block <n>', 'first block to scan without a checkpoint (default: new requests only)', bigArg)
    .option('--confirmations <n>', 'blocks to wait before printing', intArg, 0)
    .option('--checkpoint <file>', 'JSON file to resume from across runs')
    .option('--count <n>', 'exit after this many requests', intArg)
    .action(async (o) => {
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
    });

  eth
    .command('verify')
    .description("fetch an on-demand signed report from a node and verify it off chain and with the router's verifyReport")
    .requiredOption('--node <url>', 'node HTTP API base URL')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--input <hex>', 'canonical input bytes', hexArg)
    .requiredOption('--rpc <url>', 'JSON-RPC http URL (for the group key and verifyReport)')
    .requiredOption('--router <address>', 'OracleRouter address', addressArg)
    .action(async (o) => {
      const client = await sdk(o);
      const signed = await client.fetchSignedReport(o.node, { model: o.model, input: o.input });
      const key = await client.groupKey(signed.epoch);
      const offchain = client.verifyReportOffchain(signed.report, signed.signature, signed.proof, key.compressed);
      const onchain = await client.submitOnDemand(signed);
      console.log(jsonLine({ id: signed.decoded.id, epoch: signed.epoch, output: signed.decoded.output, offchain, onchain }));
      if (!offchain || !onchain) process.exitCode = 1;
    });
}
