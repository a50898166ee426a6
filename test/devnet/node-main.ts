// Entry of one devnet node process: `tsx test/devnet/node-main.ts --config <node config> --chains <chains.json>`.
// Same as `destra node start --config` plus the devnet's chain watchers (Ethereum over anvil's JSON-RPC,
// Solana over the read-only SVM bridge), which the node CLI does not build from its config yet.
import { readFileSync } from 'node:fs';
import { PublicKey } from '@solana/web3.js';
import { installRejectionPolicy, loadNodeConfig, startNode, type NodeConfigInput } from '@destra/oracle-node';
import { EthereumRequestSource, SolanaRequestSource } from './sources.ts';
import { installDoubleSignFault } from './faults.ts';
import { installByzantine } from '../chaos/byzantine.ts';
import { BridgeTransport } from './svm-bridge.ts';

export interface DevnetChainsFile {
  rpcUrl: string;
  chainId: number;
  router: `0x${string}`;
  svmBridgeUrl: string;
  programId: string;
  clusterId: string; // hex
  models: Record<string, string>; // model hash hex → name
}

function arg(name: string, optional = false): string | undefined {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v && !optional) {
    process.stderr.write(`usage: node-main.ts --config <node config.json> [--chains <chains.json>] (missing ${name})\n`);
    process.exit(2);
  }
  return v;
}

const configPath = arg('--config')!;
loadNodeConfig(configPath); // validates and names the bad field; startNode parses the raw object again
// The devnet writes absolute paths, so the raw JSON is a complete NodeConfigInput.
const config = JSON.parse(readFileSync(configPath, 'utf8')) as NodeConfigInput;
const chainsPath = arg('--chains', true);
const chains = chainsPath ? (JSON.parse(readFileSync(chainsPath, 'utf8')) as DevnetChainsFile) : undefined;
const models = new Map(Object.entries(chains?.models ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
// Without --chains the node serves on-demand rounds only (benchmarks).
const sources = chains
  ? [
    new EthereumRequestSource({ rpcUrl: chains.rpcUrl, chainId: chains.chainId, router: chains.router, models, pollMs: 200 }),
    new SolanaRequestSource({
      transport: new BridgeTransport(chains.svmBridgeUrl),
      programId: new PublicKey(chains.programId),
      clusterId: Uint8Array.from(Buffer.from(chains.clusterId.replace(/^0x/, ''), 'hex')),
      models,
      pollMs: 200,
    }),
  ]
  : [];
const node = await startNode(config, { sources });
installRejectionPolicy(node.log, () => node.metrics.unhandledRejections.inc());
// TEST FAULT INJECTION ONLY (fault tests set it; never an operator): a member that double-signs.
if (process.env.DESTRA_TEST_FAULT === 'double-sign') installDoubleSignFault(node);
// The chaos tests' Byzantine members (test/chaos/byzantine.ts); an unknown mode stops the process.
else if (process.env.DESTRA_TEST_FAULT) installByzantine(node, process.env.DESTRA_TEST_FAULT);
// One line on stdout the devnet parses to learn the API address.
process.stdout.write(`${JSON.stringify({ devnet: 'node-started', index: node.index, api: node.url, peerId: node.host.peerId })}\n`);
const stop = (): void => void node.stop().then(() => process.exit(0), () => process.exit(1));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
