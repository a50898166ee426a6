// The network the tutorials run against: the devnet's building blocks (LiveNetwork: anvil + contracts,
// the oracle program in LiteSVM behind the read-only JSON-RPC bridge, staked operators whose node
// processes follow CommitteeRegistry, the aggregator), a timed feed defined by governance, two Solana
// requests answered, and `<dir>/env.json`: what a user of the devnet reads (RPC URLs, addresses, node
// APIs, free funded keys), so tutorial commands take their addresses from it as a reader's would.
// `tsx test/tutorials/network.ts [--dir DIR]` keeps one running for writing tutorials by hand.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { toHex } from '@destra/protocol';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { namehash, transferDsync } from '@destra/contracts';
import { LiveNetwork } from '../devnet/live-network.ts';
import { devnetFeeds, governFeeds } from '../devnet/feeds.ts';
import type { DevnetChainsFile } from '../devnet/node-main.ts';
import { readFileSync } from 'node:fs';

/**
 * The env.json the tutorials read. Field names follow the devnet's hand-off (test/devnet/env-file.ts,
 * landing with `npm run devnet`) so the same jq paths work on both; this network adds what the
 * tutorials need beyond it: `feeds`, `solana.answeredRequests`, each aggregator's `operatorKey` (a node
 * config's `aggregators` entry needs it), and DSYNC on the free accounts.
 */
export interface TutorialEnv {
  network: string;
  ethereum: {
    rpcUrl: string;
    chainId: number;
    contracts: { router: string; registry: string; staking: string; token: string; models: string; feeds: string; feedRegistry: string };
    /** [0] for the consumer tutorials, [1] for the runbook's operator: ETH and DSYNC, used by no devnet process. */
    freeAccounts: { index: number; address: string; privateKey: string }[];
  };
  solana: { rpcUrl: string; oracleProgramId: string; clusterId: string; answeredRequests: string[] };
  models: { name: string; modelId: string }[];
  feeds: { name: string; model: string; chains: string[] }[];
  nodes: { index: number; api: string; infer: string }[];
  aggregators: { index: number; operatorKey: string; peerId: string; addrs: string[] }[];
}

export interface TutorialNetwork {
  net: LiveNetwork;
  env: TutorialEnv;
  envPath: string;
  stop(): Promise<void>;
}

/** DSYNC each free key gets: a self-bond above the registry's minimum (1,000) plus request burns. */
const FUNDED_DSYNC = parseEther('20000');

export async function startTutorialNetwork(o: { dir: string; n?: number; epochLengthSec?: number; info?: (l: string) => void; step?: <T>(t: string, f: () => Promise<T>) => Promise<T> }): Promise<TutorialNetwork> {
  const n = o.n ?? 3;
  // joiners: 1 sizes anvil with one more operator account, which the runbook's operator uses with keys of
  // its own (LiveNetwork never starts that operator's node).
  const net = new LiveNetwork({ dir: o.dir, n, joiners: 1, aggregators: 1, epochLengthSec: o.epochLengthSec ?? 30, handoverGraceSec: 120, dkgPhaseTimeoutMs: 4000, feeds: true, logLevel: 'info', startTimeoutMs: 360_000, genesisTimeoutMs: 360_000, ...(o.info ? { info: o.info } : {}), ...(o.step ? { step: o.step } : {}) });
  try {
    await net.start();
    const { chains } = net;
    const a = chains.deployed.addresses;
    const feeds = devnetFeeds({ modelName: net.model.model, input: net.model.input(0), heartbeatSec: 10, deviationBps: 50 });
    await governFeeds(chains, n, 'add', [feeds.timed]);
    // Solana requests from the devnet itself (the bridge is read-only: readers of the tutorial read results).
    const sol = await Promise.all([net.solRequest(200), net.solRequest(201)]);
    await net.verify(sol, 90_000);
    if (!sol.every((s) => s.verified)) throw new Error(`Solana sample requests not verified: ${sol.map((s) => s.detail).join('; ')}`);
    // Free accounts: the first one no role uses (user), then the prepared joiner's (n+1; LiveNetwork never
    // starts its node, the runbook's operator uses it with keys of its own).
    const keyOf = (index: number) => ({ index, privateKey: chains.anvil.privateKeys[index]!, address: privateKeyToAccount(chains.anvil.privateKeys[index]!).address });
    const free = [keyOf(n + 3), keyOf(n + 1)];
    for (const k of free) await transferDsync(chains.clients, a, k.address, FUNDED_DSYNC);
    const chainsFile = JSON.parse(readFileSync(net.chainsFile, 'utf8')) as DevnetChainsFile;
    const aggregators = (net.committee.nodeConfigs[0] as { aggregators?: TutorialEnv['aggregators'] }).aggregators ?? [];
    const env: TutorialEnv = {
      network: net.network,
      ethereum: {
        rpcUrl: chains.anvil.rpcUrl, chainId: chains.anvil.chainId,
        contracts: { router: a.router, registry: a.registry, staking: a.staking, token: a.token, models: a.models, feeds: a.feeds, feedRegistry: a.feedRegistry },
        freeAccounts: free,
      },
      solana: { rpcUrl: `${chainsFile.svmBridgeUrl}/`, oracleProgramId: ORACLE_PROGRAM_ID.toBase58(), clusterId: chainsFile.clusterId, answeredRequests: sol.map((s) => toHex(s.id)) },
      models: [{ name: net.model.model, modelId: namehash(net.model.model) }],
      feeds: [{ name: feeds.timed.name, model: net.model.model, chains: ['ethereum', 'solana'] }],
      nodes: net.running().map((k) => ({ index: k, api: net.node(k).api, infer: `${net.node(k).api}/v1/infer` })),
      aggregators: aggregators.map((g) => ({ index: g.index, operatorKey: g.operatorKey, peerId: g.peerId, addrs: g.addrs })),
    };
    const envPath = join(o.dir, 'env.json');
    writeFileSync(envPath, `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 }); // local test keys
    return { net, env, envPath, stop: () => net.stop() };
  } catch (err) {
    await net.stop();
    throw err;
  }
}

// Kept running by hand: `tsx test/tutorials/network.ts --dir /tmp/tut`.
if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const { values } = parseArgs({ options: { dir: { type: 'string', default: '.devnet-tutorials' } } });
  const started = await startTutorialNetwork({ dir: resolve(values.dir!), info: (l) => process.stdout.write(`  ${l}\n`), step: async (t, f) => { process.stdout.write(`${t}…\n`); return f(); } });
  process.stdout.write(`ready: ${started.envPath}\n`);
  const stop = () => void started.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
