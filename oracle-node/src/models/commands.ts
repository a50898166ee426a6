// What `destra models publish | fetch | ls` do (bin/commands/models.ts wires them to commander):
// publish adds a model directory to a node's store and states the governance proposal that registers it;
// fetch makes a node's store hold a registered model (local first, else from the registered operators,
// as that node, while it is stopped); ls lists the registry's models beside the store's packages.
import { join } from 'node:path';
import { encodeFunctionData, type Address, type Hex } from 'viem';
import { CID } from 'multiformats/cid';
import { pino } from 'pino';
import { DestraError, domainTag, publicKeyOf } from '@destra/protocol';
import { destraGovernorAbi, isRegistered, modelRegistryAbi, namehash, readRegisteredModels, registrationFromManifest, setModelCall, type RegisteredModel } from '@destra/contracts';
import { loadNodeConfig, type NodeConfig } from '../config.ts';
import { RegistryChainView, findOperator } from '../epoch/chain-control.ts';
import { loadOrCreateLibp2pKey, readPassword, unlockOperatorKey } from '../keys.ts';
import { DestraHost, wireTopicValidator } from '../p2p/host.ts';
import { Registry } from '../p2p/registry.ts';
import { topics as wireTopics } from '../wire.ts';
import { nodeModelsConfig } from './node-models.ts';
import { startHostExchange } from './host-exchange.ts';
import { DEFAULT_PACKAGE_LIMITS } from './package.ts';
import { ModelStore, type StoredPackage } from './store.ts';

/** A CLI input that cannot work; the message says what to give instead. */
export class ModelCommandError extends DestraError {
  constructor(message: string) {
    super('MODEL_COMMAND', message);
    this.name = 'ModelCommandError';
  }
}

export interface StoreOptions {
  store?: string;
  config?: string;
  registry?: string;
  rpc?: string;
}

export interface Resolved {
  storeDir: string;
  registry?: Address;
  rpc?: string;
  config?: NodeConfig;
}

/** Store directory and registry from --store/--registry/--rpc, or from the node config's models.ipfs. */
export function resolve(o: StoreOptions, need: { store?: boolean; registry?: boolean } = {}): Resolved {
  const config = o.config ? loadNodeConfig(o.config) : undefined;
  const ipfs = config ? nodeModelsConfig(config) : undefined;
  const storeDir = o.store ?? ipfs?.storeDir ?? (config ? join(config.dataDir, 'ipfs') : undefined);
  if (need.store && !storeDir) throw new ModelCommandError('name the model store: --store <dir>, or --config <node config> (its models.ipfs.storeDir, default <dataDir>/ipfs)');
  const registry = (o.registry ?? ipfs?.ipfs.registry) as Address | undefined;
  const rpc = o.rpc ?? ipfs?.rpcUrl ?? config?.control?.rpcUrl;
  if (need.registry && (!registry || !rpc)) throw new ModelCommandError('name ModelRegistry: --registry <address> and --rpc <url>, or --config <node config> with models.ipfs');
  return { storeDir: storeDir ?? '', ...(registry ? { registry } : {}), ...(rpc ? { rpc } : {}), ...(config ? { config } : {}) };
}

async function publicClient(rpc: string) {
  const viem = await import('viem');
  const client = viem.createPublicClient({ transport: viem.http(rpc, { retryCount: 0 }) });
  try {
    await client.getChainId();
  } catch (e) {
    throw new ModelCommandError(`cannot reach the JSON-RPC endpoint ${rpc} (${(e as Error).message.split('\n')[0]}); check --rpc`);
  }
  return client;
}

export interface Proposal {
  target: Address;
  functionName: string;
  args: readonly unknown[];
  /** ModelRegistry calldata: what the governor executes. */
  data: Hex;
  description: string;
  /** DestraGovernor.propose(target, data, description) calldata, when the governor is known. */
  proposeData: Hex;
}

/** Adds a model directory to the store; returns the package and the registration proposal. */
export async function publish(dir: string, o: StoreOptions & { name?: string; version?: number }): Promise<{ package: StoredPackage & { cidHex: Hex }; registeredName: string; proposal?: Proposal }> {
  const r = resolve(o, { store: true });
  const store = await ModelStore.open(r.storeDir, r.config ? limitsOf(r.config) : DEFAULT_PACKAGE_LIMITS);
  try {
    const { cid, model, entry } = await store.publish(dir);
    const name = o.name ?? model.manifest.name;
    const out = { package: { ...entry, cidHex: `0x${Buffer.from(cid.bytes).toString('hex')}` as Hex }, registeredName: name };
    if (!r.registry) return out;
    let version = o.version;
    if (version === undefined && r.rpc) {
      const client = await publicClient(r.rpc);
      const current = await client.readContract({ address: r.registry, abi: modelRegistryAbi, functionName: 'resolve', args: [namehash(name)] }).catch(() => undefined);
      const removed = current ? undefined : (await readRegisteredModels(client as never, r.registry)).find((e) => e.name === name);
      version = (current?.[0] ?? removed?.version ?? 0) + 1;
    }
    const reg = registrationFromManifest(model.manifest, name, { package: { cid: out.package.cidHex, manifestHash: `0x${model.manifestHashHex}` } });
    const call = setModelCall(reg, version ?? 1);
    const description = `Register model ${name} v${version ?? 1}: package ${cid.toString()} (manifest sha256 ${model.manifestHashHex}, ONNX sha256 ${model.hashHex})`;
    const proposeData = encodeFunctionData({ abi: destraGovernorAbi, functionName: 'propose', args: [r.registry, call.data, description] });
    return { ...out, proposal: { target: r.registry, functionName: call.functionName, args: call.args, data: call.data, description, proposeData } };
  } finally {
    await store.close();
  }
}

const limitsOf = (c: NodeConfig) => {
  const m = nodeModelsConfig(c);
  return m ? { maxModelBytes: m.ipfs.maxModelBytes, maxManifestBytes: m.ipfs.maxManifestBytes } : DEFAULT_PACKAGE_LIMITS;
};

export interface ListedModel {
  name: string;
  version: number | string;
  cid: string;
  registry: 'registered' | 'removed' | 'not registered' | 'no package';
  local: 'pinned' | 'missing';
  modelHash: string;
}

const cidOf = (e: RegisteredModel): string => {
  if (e.cid === '0x') return '';
  try {
    return CID.decode(Buffer.from(e.cid.slice(2), 'hex')).toString();
  } catch {
    return `invalid ${e.cid.slice(0, 18)}…`;
  }
};

/** The registry's models beside the store's packages (either may be absent). */
export async function list(o: StoreOptions): Promise<ListedModel[]> {
  const r = resolve(o);
  if (!r.storeDir && !r.registry) throw new ModelCommandError('give --store <dir> or --config <node config>, and/or --registry with --rpc');
  const store = r.storeDir ? await ModelStore.open(r.storeDir) : undefined;
  try {
    const local = store?.packages() ?? [];
    const byCid = new Map(local.map((p) => [p.cid, p]));
    const out: ListedModel[] = [];
    const seen = new Set<string>();
    if (r.registry && r.rpc) {
      const client = await publicClient(r.rpc);
      for (const e of await readRegisteredModels(client as never, r.registry)) {
        const cid = cidOf(e);
        seen.add(cid);
        out.push({
          name: e.name, version: e.version, cid: cid || '-', registry: !isRegistered(e) ? 'removed' : cid ? 'registered' : 'no package',
          local: byCid.has(cid) ? 'pinned' : 'missing', modelHash: e.modelHash.slice(2),
        });
      }
    }
    for (const p of local) if (!seen.has(p.cid)) out.push({ name: p.name, version: p.version, cid: p.cid, registry: 'not registered', local: 'pinned', modelHash: p.modelHash });
    return out;
  } finally {
    await store?.close();
  }
}

/**
 * Makes the node's store hold `target` (a registered name or a CID): verified from the store if there,
 * otherwise fetched from the registered operators with this node's identity (run it while the node is
 * stopped; a running node fetches registered models by itself).
 */
export async function fetchModel(target: string, o: StoreOptions & { timeoutMs: number; passwordEnv?: string }): Promise<StoredPackage & { from: 'store' | 'peers' }> {
  const r = resolve(o, { store: true });
  let cid: CID | undefined;
  try {
    cid = CID.parse(target);
  } catch {
    /* a registered name */
  }
  let expect: { manifestHash?: string; modelHash?: string } = {};
  if (r.registry && r.rpc) {
    const client = await publicClient(r.rpc);
    const entries = await readRegisteredModels(client as never, r.registry);
    const e = cid ? entries.find((x) => isRegistered(x) && cidOf(x) === cid!.toString()) : entries.find((x) => x.name === target);
    if (!cid && (!e || !isRegistered(e))) throw new ModelCommandError(`model '${target}' is not registered in ModelRegistry ${r.registry}; \`destra models ls\` lists what is`);
    if (e && !cidOf(e)) throw new ModelCommandError(`model '${target}' is registered without a package (no CID); it cannot be fetched, only loaded from a models directory`);
    if (e) {
      cid = CID.parse(cidOf(e));
      expect = { manifestHash: e.manifestHash.slice(2), modelHash: e.modelHash.slice(2) };
    }
  } else if (!cid) throw new ModelCommandError(`'${target}' is not a CID; to fetch by name give --registry and --rpc (or --config with models.ipfs)`);
  const store = await ModelStore.open(r.storeDir, r.config ? limitsOf(r.config) : DEFAULT_PACKAGE_LIMITS);
  try {
    if (await store.blockstore.has(cid!)) {
      const model = await store.readLocal(cid!, expect);
      return { ...(store.entry(cid!) ?? store.record(cid!, model, 'fetched')), from: 'store' };
    }
    if (!r.config?.control) throw new ModelCommandError(`package ${cid!.toString()} is not in the store ${r.storeDir}; fetching it from peers needs the node's identity and the committee on chain: --config <node config> with control`);
    await fetchAsNode(r.config, store, cid!, expect, o.timeoutMs, o.passwordEnv);
    return { ...store.entry(cid!)!, from: 'peers' };
  } finally {
    await store.close();
  }
}

async function fetchAsNode(config: NodeConfig, store: ModelStore, cid: CID, expect: { manifestHash?: string; modelHash?: string }, timeoutMs: number, passwordEnv?: string): Promise<void> {
  const secret = unlockOperatorKey(config.operatorKeystore, readPassword(passwordEnv ? { env: passwordEnv } : config.password));
  const view = await RegistryChainView.connect(config.control!);
  const snap = await view.read();
  const me = findOperator(snap, publicKeyOf(secret));
  if (!me) throw new ModelCommandError('this operator is not registered in CommitteeRegistry: peers admit registered operators only');
  const registry = new Registry(snap.directory.map((d) => ({ role: 'member' as const, index: d.registryIndex, operatorKey: d.operatorKey, ...(d.peerId ? { peerId: d.peerId } : {}), addrs: d.addrs })));
  const log = pino({ level: 'silent' });
  const host = await DestraHost.create({
    domain: domainTag(config.network), privateKey: await loadOrCreateLibp2pKey(join(config.dataDir, 'libp2p.key')), listen: ['/ip4/127.0.0.1/tcp/0'],
    role: 'member', index: me.registryIndex, operatorSecret: secret, registry, topics: Object.values(wireTopics(config.network)), validate: wireTopicValidator(config.network), log,
  });
  try {
    const ex = await startHostExchange(host, store, 'operators', log);
    try {
      const peers = snap.directory.filter((d) => d.registryIndex !== me.registryIndex);
      await Promise.allSettled(peers.flatMap((d) => d.addrs.slice(0, 1).map((a) => host.connect(a))));
      if (host.admitted.size === 0) await host.waitForPeers((p) => p.length > 0, Math.min(timeoutMs, 10_000)).catch(() => undefined);
      if (host.admitted.size === 0) throw new ModelCommandError(`no registered operator could be reached (tried ${peers.length}); check they run and their registered addresses`);
      const model = await ex.fetch(cid, { ...expect, signal: AbortSignal.timeout(timeoutMs) }).catch((e: Error) => {
        if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new ModelCommandError(`no peer delivered package ${cid.toString()} within ${timeoutMs} ms (admitted peers: ${host.admitted.size}); retry, or raise --timeout`);
        throw e;
      });
      void model;
    } finally {
      await ex.stop();
    }
  } finally {
    await host.stop();
  }
}
