// The devnet hand-off: everything a user's own script needs to connect to a running devnet, written to
// <dir>/env.json (.devnet/env.json by default; gitignored, mode 0600: it holds private keys of local
// test accounts) and printed as a short summary. `devnetEnv` is pure (tested directly); `devnetEnvOf`
// reads it off a started LiveNetwork.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import { namehash } from '@destra/contracts';
import { CONSUMER_PROGRAM_ID, ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import type { LiveNetwork } from './live-network.ts';
import { BLOCK_FEED_MODEL } from './feeds.ts';

export const DEVNET_ENV_FILE = 'env.json';

export interface DevnetEnvInput {
  network: string;
  ethereum: { rpcUrl: string; chainId: number; contracts: Record<string, string> };
  solana: { oracleProgramId: string; consumerProgramId: string; clusterId: string; svmBridgeUrl?: string | undefined };
  /** anvil's funded accounts, in order */
  privateKeys: readonly string[];
  /** anvil account index → what the devnet uses it for; every other account is free */
  roles: ReadonlyMap<number, string>;
  models: readonly string[];
  nodes: readonly { index: number; api: string }[];
  aggregators: readonly { index: number; peerId: string; addrs: string[]; statusUrl?: string | undefined }[];
}

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`));
const base58 = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
const url = z.string().url();
const account = z.object({ index: z.number().int().min(0), address: hex(20), privateKey: hex(32) }).strict();

/** The schema of env.json (version 1); `checkDevnetEnv` holds a file to it. */
export const devnetEnvSchema = z.object({
  version: z.literal(1),
  network: z.string().min(1),
  ethereum: z.object({
    rpcUrl: url,
    chainId: z.number().int().positive(),
    contracts: z.record(z.string(), hex(20)).refine((c) => ['router', 'registry', 'models', 'token'].every((k) => k in c), 'router, registry, models and token are required'),
    /** funded accounts no devnet process uses: for the user's own scripts */
    freeAccounts: z.array(account).min(1),
    /** accounts the devnet's own processes send from (do not send from them: nonces would race) */
    usedAccounts: z.array(account.extend({ role: z.string().min(1) }).strict()),
  }).strict(),
  solana: z.object({
    oracleProgramId: base58,
    consumerProgramId: base58,
    clusterId: hex(32),
    /** read-only Solana JSON-RPC (getAccountInfo, getProgramAccounts, getSlot, getBlockTime) over the in-process LiteSVM */
    rpcUrl: url.nullable(),
    note: z.string(),
  }).strict(),
  models: z.array(z.object({ name: z.string().min(1), modelId: hex(32) }).strict()).min(1),
  nodes: z.array(z.object({ index: z.number().int().positive(), api: url, infer: url }).strict()).min(1),
  aggregators: z.array(z.object({ index: z.number().int().positive(), peerId: z.string().min(1), addrs: z.array(z.string()), statusUrl: url.nullable() }).strict()),
}).strict();

export type DevnetEnv = z.infer<typeof devnetEnvSchema>;

/** Holds a parsed env.json to the schema; throws naming the first wrong field. */
export function checkDevnetEnv(raw: unknown): DevnetEnv {
  const r = devnetEnvSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`devnet env: field '${i.path.join('.')}': ${i.message}`);
  }
  return r.data;
}

export function devnetEnv(i: DevnetEnvInput): DevnetEnv {
  const accounts = i.privateKeys.map((k, index) => ({ index, address: privateKeyToAccount(k as `0x${string}`).address, privateKey: k }));
  return checkDevnetEnv({
    version: 1,
    network: i.network,
    ethereum: {
      rpcUrl: i.ethereum.rpcUrl, chainId: i.ethereum.chainId, contracts: i.ethereum.contracts,
      freeAccounts: accounts.filter((a) => !i.roles.has(a.index)),
      usedAccounts: accounts.filter((a) => i.roles.has(a.index)).map((a) => ({ ...a, role: i.roles.get(a.index)! })),
    },
    solana: {
      oracleProgramId: i.solana.oracleProgramId, consumerProgramId: i.solana.consumerProgramId, clusterId: i.solana.clusterId,
      rpcUrl: i.solana.svmBridgeUrl ? `${i.solana.svmBridgeUrl.replace(/\/$/, '')}/` : null,
      note: 'the oracle and consumer programs run in LiteSVM inside the devnet process; rpcUrl reads it (no sendTransaction): Solana requests come from the devnet\'s own traffic',
    },
    models: [...new Set(i.models)].map((name) => ({ name, modelId: namehash(name) })),
    nodes: i.nodes.map((n) => ({ index: n.index, api: n.api, infer: `${n.api.replace(/\/$/, '')}/v1/infer` })),
    aggregators: i.aggregators.map((a) => ({ index: a.index, peerId: a.peerId, addrs: a.addrs, statusUrl: a.statusUrl ?? null })),
  });
}

/** Reads the hand-off off a started LiveNetwork. */
export function devnetEnvOf(net: LiveNetwork, o: { feeds?: boolean } = {}): DevnetEnv {
  const { chains } = net;
  const keys = chains.anvil.privateKeys;
  const roles = new Map<number, string>([[0, 'deployer, governance admin, sample Ethereum requests']]);
  for (let k = 1; k <= net.total; k++) roles.set(k, `operator ${k}${k > net.n ? ' (joins later)' : ''}`);
  roles.set(net.total + 1, 'handover relayer');
  roles.set(keys.length - 3, 'delegator');
  roles.set(keys.length - 2, 'evidence submitter');
  roles.set(keys.length - 1, 'result relayer');
  const chainsFile = JSON.parse(readFileSync(net.chainsFile, 'utf8')) as { svmBridgeUrl?: string; clusterId: string };
  return devnetEnv({
    network: net.network,
    ethereum: { rpcUrl: chains.anvil.rpcUrl, chainId: chains.anvil.chainId, contracts: { ...chains.deployed.addresses, lendingMarket: chains.market } as Record<string, string> },
    solana: { oracleProgramId: ORACLE_PROGRAM_ID.toBase58(), consumerProgramId: CONSUMER_PROGRAM_ID.toBase58(), clusterId: chainsFile.clusterId, svmBridgeUrl: chainsFile.svmBridgeUrl },
    privateKeys: keys,
    roles,
    models: [net.model.model, ...(o.feeds ? [BLOCK_FEED_MODEL] : [])],
    nodes: net.running().map((k) => ({ index: k, api: net.node(k).api })),
    aggregators: net.aggregators.map((a, k) => ({ index: k + 1, peerId: a.host.peerId.toString(), addrs: a.host.multiaddrs().map(String), statusUrl: a.status?.url })),
  });
}

/** Writes <dir>/env.json (0600: local test keys) and returns its path. */
export function writeDevnetEnv(dir: string, env: DevnetEnv): string {
  const path = join(dir, DEVNET_ENV_FILE);
  writeFileSync(path, `${JSON.stringify(checkDevnetEnv(env), null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** The short summary the devnet prints. */
export function devnetEnvSummary(env: DevnetEnv, path: string): string {
  const c = env.ethereum.contracts;
  const free = env.ethereum.freeAccounts[0]!;
  const model = env.models[0]!.name;
  return [
    `hand-off written to ${path} (every address, URL, program id and the free accounts' keys)`,
    `  ethereum    ${env.ethereum.rpcUrl} chain ${env.ethereum.chainId}; router ${c.router}, registry ${c.registry}, models ${c.models}, token ${c.token}`,
    `  contracts   ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  solana      oracle ${env.solana.oracleProgramId}, consumer ${env.solana.consumerProgramId}, read-only RPC ${env.solana.rpcUrl ?? '-'}`,
    `  free keys   ${env.ethereum.freeAccounts.map((a) => `#${a.index} ${a.address}`).join(', ')} (private keys in the file)`,
    `  models      ${env.models.map((m) => `${m.name} (id ${m.modelId.slice(0, 10)}…)`).join(', ')}`,
    `  nodes       ${env.nodes.map((n) => `${n.index} ${n.api}`).join(', ')}`,
    `  aggregators ${env.aggregators.map((a) => `${a.index} ${a.statusUrl ?? a.peerId}`).join(', ')}`,
    `  try         DESTRA_ETH_PRIVATE_KEY=${free.privateKey} npx destra eth request --rpc ${env.ethereum.rpcUrl} --router ${c.router} --model ${model} --values <${model} features> --wait`,
    `              (npx destra models encode --model ${model} --values … shows the feature order)`,
  ].join('\n');
}
