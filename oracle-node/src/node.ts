// Assembles one oracle node (oracle-node.ts): keys, SQLite state, libp2p host, epochs, round engine,
// HTTP API, metrics.
// `startNode(config)` is the process entry (the CLI calls it) and is importable so tests and the devnet
// can run several nodes in one process.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { domainTag, publicKeyOf, toHex } from '@destra/protocol';
import { buildApi, startApi } from './api/server.ts';
import { ethereumSource } from './chains/ethereum.ts';
import { solanaSourceFromConfig } from './chains/solana.ts';
import type { RequestSource } from './chains/source.ts';
import { parseNodeConfig, type NodeConfig, type NodeConfigInput } from './config.ts';
import { RegistryChainView, findOperator } from './epoch/chain-control.ts';
import type { ChainViewReader } from './epoch/chain-view.ts';
import { EpochManager } from './epoch/manager.ts';
import { nodeModelsConfig, startNodeModels } from './models/node-models.ts';
import { createFeedService, type FeedService } from './feeds/index.ts';
import { ConfigError } from './errors.ts';
import { dkgEncryptionKeyPair, loadOrCreateLibp2pKey, readPassword, unlockOperatorKey } from './keys.ts';
import { NodeMetrics } from './metrics.ts';
import { DestraHost, wireTopicValidator, type PeerInfo } from './p2p/host.ts';
import { Registry } from './p2p/registry.ts';
import { startRangeProtocol } from './range/index.ts';
import { RoundEngine } from './round/engine.ts';
import type { Inferencer } from './round/inference.ts';
import type { ModelsHealth } from './inference/selfcheck.ts';
import { NodeStore } from './store/store.ts';
import { DkgEnvelopeCodec, topics as wireTopics } from './wire.ts';
import { OracleNode } from './oracle-node.ts';
import { MetricsHistory } from './metrics-history.ts';
import { ChainStakeReader } from './api/dashboard/stake.ts';
import { AggregatorRelayReader } from './api/dashboard/relays.ts';

export type { RequestSource } from './chains/source.ts';
export { OracleNode } from './oracle-node.ts';

export interface NodeOverrides {
  inference?: Inferencer;
  log?: Logger;
  /** Operator keystore password (otherwise read from config.password). */
  password?: string;
  sources?: RequestSource[];
  /** Turns `input: number[]` of /v1/infer into canonical bytes. */
  encodeInput?: (model: string, values: number[]) => Uint8Array;
  /** 'announce' sends report announcements for aggregator batching instead of per-report partials. */
  mode?: 'partial' | 'announce';
  /** Reads the governing chain (default: CommitteeRegistry at config.control over JSON-RPC). */
  chainView?: ChainViewReader;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** The models engineer's ONNX engine (oracle-node/src/inference), loaded lazily: processes that inject
 *  their own inference (or only reuse the libp2p host) never load onnxruntime. */
async function defaultInference(config: NodeConfig, log: Logger): Promise<Inferencer & { encodeInput(model: string, values: readonly number[]): Uint8Array; close(): Promise<void>; health(): ModelsHealth }> {
  const { createInferenceEngine } = await import('./inference/index.ts');
  return createInferenceEngine(config.models, log);
}

/** Starts a node from a config object (validated here). */
export async function startNode(input: NodeConfig | NodeConfigInput, overrides: NodeOverrides = {}): Promise<OracleNode> {
  const config = parseNodeConfig(input);
  const log = overrides.log ?? pino({ level: config.logLevel, base: { network: config.network } });
  const password = overrides.password ?? readPassword(config.password);
  const operatorSecret = unlockOperatorKey(config.operatorKeystore, password);
  const operatorKey = publicKeyOf(operatorSecret);
  const encryptionKey = dkgEncryptionKeyPair(operatorSecret).publicKey;
  const aggregatorRegs = (config.committee?.aggregators ?? config.aggregators).map((a) => ({ role: 'aggregator' as const, index: a.index, operatorKey: a.operatorKey, ...(a.peerId ? { peerId: a.peerId } : {}), addrs: a.addrs }));
  let index: number;
  let registry: Registry;
  let chainView: ChainViewReader | undefined;
  let firstSnapshot: Awaited<ReturnType<ChainViewReader['read']>> | undefined;
  if (config.control) {
    // The chain is the control plane: this operator must be registered there with its node info.
    chainView = overrides.chainView ?? (await RegistryChainView.connect(config.control));
    try {
      firstSnapshot = await chainView.read();
    } catch (err) {
      throw new ConfigError(`cannot read CommitteeRegistry ${config.control.registry} at ${config.control.rpcUrl}: ${(err as Error).message.split('\n')[0]}`, 'control');
    }
    const op = findOperator(firstSnapshot, operatorKey);
    if (!op) throw new ConfigError(`operator key ${toHex(operatorKey).slice(0, 18)}… is not registered in CommitteeRegistry ${config.control.registry}; run \`destra operator register\` first (or use the right keystore)`, 'operatorKeystore');
    if (!op.encryptionKey || !eq(op.encryptionKey, encryptionKey)) {
      throw new ConfigError(`the encryption key this operator published on chain is ${op.encryptionKey ? toHex(op.encryptionKey) : 'missing'}, but this operator key derives ${toHex(encryptionKey)}; publish it again with \`destra operator register\``, 'operatorKeystore');
    }
    index = op.registryIndex;
    registry = new Registry([
      ...firstSnapshot.directory.map((d) => ({ role: 'member' as const, index: d.registryIndex, operatorKey: d.operatorKey, ...(d.peerId ? { peerId: d.peerId } : {}), addrs: d.addrs })),
      ...aggregatorRegs,
    ]);
  } else {
    const c = config.committee!;
    const me = c.members.find((m) => eq(m.operatorKey, operatorKey));
    if (!me) throw new ConfigError(`operator key ${toHex(operatorKey).slice(0, 18)}… is not registered in the committee; add it or use the right keystore`, 'committee.members');
    if (!eq(me.encryptionKey, encryptionKey)) {
      throw new ConfigError(`member ${me.index}'s encryptionKey does not match this operator key; it must be ${toHex(encryptionKey)}`, `committee.members.${me.index - 1}.encryptionKey`);
    }
    index = me.index;
    registry = new Registry([
      ...c.members.map((m) => ({ role: 'member' as const, index: m.index, operatorKey: m.operatorKey, ...(m.peerId ? { peerId: m.peerId } : {}), addrs: m.addrs })),
      ...aggregatorRegs,
    ]);
  }
  const me = { index };
  const nodeLog = log.child({ node: me.index });
  mkdirSync(config.dataDir, { recursive: true });
  const store = new NodeStore(join(config.dataDir, 'node.db'));
  const metrics = new NodeMetrics();
  const topics = wireTopics(config.network);
  let host: DestraHost | undefined;
  let node: OracleNode | undefined;
  let feedService: FeedService | undefined;
  const closers: (() => Promise<void>)[] = [];
  try {
    // models.ipfs: the registry's models, verified and fetched by CID over the host (models/service.ts)
    const modelsIpfs = overrides.inference ? undefined : nodeModelsConfig(config);
    const engine0 = overrides.inference || modelsIpfs ? undefined : await defaultInference(config, nodeLog.child({ component: 'inference' }));
    if (engine0) closers.push(() => engine0.close());
    for (const r of engine0?.health().refused ?? []) metrics.modelSelfCheckFailures.inc({ model: r.model });
    host = await DestraHost.create({
      domain: domainTag(config.network),
      privateKey: await loadOrCreateLibp2pKey(join(config.dataDir, 'libp2p.key')),
      listen: config.listen,
      role: 'member',
      index: me.index,
      operatorSecret,
      registry,
      topics: Object.values(topics),
      validate: wireTopicValidator(config.network),
      log: nodeLog.child({ component: 'p2p' }),
    });
    const modelService = modelsIpfs ? await startNodeModels(modelsIpfs, host, metrics, nodeLog.child({ component: 'models' })) : undefined;
    if (modelService) closers.push(() => modelService.stop());
    const served = engine0 ?? modelService?.catalog;
    const inference: Inferencer = overrides.inference ?? served!;
    const encodeInput = overrides.encodeInput ?? (served ? (model: string, values: number[]) => served.encodeInput(model, values) : undefined);
    const h = host;
    const updatePeers = (): void => {
      metrics.peers.set({ role: 'member' }, h.peersWithRole('member').length);
      metrics.peers.set({ role: 'aggregator' }, h.peersWithRole('aggregator').length);
    };
    host.on('admitted', updatePeers);
    host.on('disconnected', updatePeers);
    let nodeRef: OracleNode | undefined;
    const engine = new RoundEngine({
      domain: domainTag(config.network),
      index: me.index,
      store,
      host,
      topics,
      inference,
      metrics,
      activeKey: () => nodeRef?.currentKey(),
      ...(config.control
        ? { keyForEpoch: (epoch: number) => nodeRef?.epochs?.keyFor(epoch), memberIndexOf: (epoch: number, from: PeerInfo) => nodeRef?.epochs?.memberIndexOf(epoch, from) }
        : {}),
      maxSkewSeconds: config.rounds.maxSkewSeconds,
      timeoutMs: config.rounds.timeoutMs,
      mode: overrides.mode ?? 'partial',
      log: nodeLog.child({ component: 'rounds' }),
    });
    // Batch jobs over the range protocol: ranges signed under the key active when each is committed.
    const range = await startRangeProtocol({
      host,
      batchesTopic: topics.batches,
      store,
      domain: domainTag(config.network),
      operatorKey,
      inference,
      activeKey: () => nodeRef?.currentKey(),
      keyFor: (epoch) => {
        const k = nodeRef?.epochs?.keyFor(epoch);
        if (k?.epoch === epoch) return k;
        const active = nodeRef?.currentKey();
        return active?.epoch === epoch ? active : undefined;
      },
      memberIndexOf: (epoch, from) => (from.role !== 'member' ? undefined : config.control ? nodeRef?.epochs?.memberIndexOf(epoch, from) : from.index),
      config: config.batch,
      maxSkewSeconds: config.rounds.maxSkewSeconds,
      registry: metrics.registry,
      ...(encodeInput ? { encodeInput } : {}),
      groupKey: (epoch) => nodeRef?.groupKeyOf(epoch),
      log: nodeLog.child({ component: 'range' }),
    });
    closers.push(async () => range.stop());
    // Dashboard: chart history sampled every 5 s; stake and rewards of the current committee from the chain.
    const history = new MetricsHistory({ store, registry: metrics.registry }).start();
    closers.push(async () => history.stop());
    const control = config.control;
    const stake = control
      ? new ChainStakeReader({
          rpcUrl: control.rpcUrl,
          registry: control.registry,
          operators: () => {
            const e = nodeRef?.epochs;
            const c = e?.committee(e.chain?.currentEpoch ?? 0);
            return (c?.members ?? []).flatMap((m) => (m.address ? [{ index: m.index, address: m.address }] : []));
          },
        })
      : undefined;
    // An injected engine with a health() (tests, devnet) lists its models too.
    const injected = overrides.inference as Partial<{ health(): ModelsHealth }> | undefined;
    const modelsOf = engine0 ?? modelService ?? (typeof injected?.health === 'function' ? { health: () => injected.health!() } : undefined);
    const api = await startApi(
      buildApi({
        engine,
        store,
        metrics,
        status: () => nodeRef!.status(),
        committee: () => nodeRef!.committee(),
        ...(config.control ? { epochs: () => nodeRef?.epochs?.view() ?? { epoch: 0 } } : {}),
        groupKey: (epoch?: number) => (epoch === undefined ? nodeRef?.currentKey()?.groupKey : nodeRef?.groupKeyOf(epoch)),
        ...(encodeInput ? { encodeInput } : {}),
        batch: () => range.api,
        feeds: () => feedService,
        ...(modelsOf ? { models: () => modelsOf.health() } : {}),
        history,
        ...(stake ? { stake: () => stake.view() } : {}),
        ...(config.dashboard.relayStatus.length > 0
          ? { relays: new AggregatorRelayReader({ urls: config.dashboard.relayStatus, links: config.dashboard.txLinks, ttlMs: config.dashboard.relayPollMs }) }
          : {}),
      }),
      config.api.port,
      { maxConnections: config.api.maxConnections, headersTimeoutMs: config.api.headersTimeoutMs, requestTimeoutMs: config.api.requestTimeoutMs },
      (why) => metrics.connectionsDropped.inc({ why }),
    );
    node = new OracleNode(config, me.index, nodeLog, store, host, engine, metrics, api, operatorSecret, password, [...(overrides.sources ?? [])], closers);
    nodeRef = node;
    node.models = modelService;
    node.range = range;
    const n = node;
    if (config.control) {
      const epochs = new EpochManager({
        network: config.network,
        domain: domainTag(config.network),
        operatorSecret,
        operatorKey,
        encryptionSecret: dkgEncryptionKeyPair(operatorSecret).secretKey,
        password,
        shareKdf: config.shareKdf,
        store,
        host,
        registry,
        topics,
        chain: chainView!,
        extraRegistrations: aggregatorRegs,
        bootstrap: config.control.bootstrap,
        pollIntervalMs: config.control.pollIntervalMs,
        phaseTimeoutMs: config.dkg.phaseTimeoutMs,
        metrics,
        log: nodeLog.child({ component: 'epochs' }),
        onActivated: (epoch, member) => {
          if (member) engine.onEpochActivated(epoch);
        },
      });
      node.epochs = epochs;
      engine.start();
      node.startRetention();
      await epochs.start(firstSnapshot!);
      if (config.control.feedRegistry) {
        // Feeds defined on chain, followed live; started with the other sources below.
        feedService = await createFeedService({
          rpcUrl: config.control.rpcUrl, feedRegistry: config.control.feedRegistry as `0x${string}`, host, store, batchesTopic: topics.batches, inference,
          domain: domainTag(config.network), activeKey: () => nodeRef?.currentKey(), keyFor: (epoch) => nodeRef?.epochs?.keyFor(epoch), log: nodeLog.child({ component: 'feeds' }),
          pollIntervalMs: config.control.pollIntervalMs,
        });
        node.sources.push(feedService);
      }
    } else {
      host.subscribe(topics.dkg, (data, from) => {
        try {
          const env = DkgEnvelopeCodec.decode(data);
          n.dkgRunner?.receive(env, from);
        } catch (err) {
          metrics.rejected.inc({ reason: 'malformed' });
          nodeLog.warn({ from, err: (err as Error).message }, 'DKG envelope rejected');
        }
      });
      node.activeKey = await node.loadStoredKey();
      if (node.activeKey) {
        metrics.epoch.set(node.activeKey.epoch);
        node.dkgState = { phase: 'done', error: null };
        nodeLog.info({ epoch: node.activeKey.epoch }, 'key share loaded from disk');
      }
      engine.start();
      node.startRetention();
      node.startDialing();
      if (!node.activeKey) node.scheduleDkg();
    }
    engine.startFeeds(config.feeds);
    if (config.chains.ethereum) {
      // signing: 'range' signs the router's request stream through the range service (chains/chain-stream.ts)
      const rangeSigning = { ranges: range.service, inference, domain: domainTag(config.network), activeKey: () => nodeRef?.currentKey(), host: h };
      node.sources.push(ethereumSource(config.chains.ethereum, store, nodeLog.child({ component: 'ethereum' }), rangeSigning));
    }
    if (config.chains.solana) {
      const rangeSigning = { ranges: range.service, inference, domain: domainTag(config.network), activeKey: () => nodeRef?.currentKey(), host: h };
      node.sources.push(solanaSourceFromConfig(config.chains.solana, nodeLog.child({ component: 'solana' }), rangeSigning));
    }
    for (const s of node.sources) {
      await s.start((r) => engine.onChainRequest(r), store.cursor(s.name));
    }
    nodeLog.info({ index: me.index, peerId: host.peerId, addrs: host.multiaddrs().map(String), api: api.url }, 'node started');
    return node;
  } catch (err) {
    if (node) await node.stop().catch(() => undefined);
    else {
      await host?.stop().catch(() => undefined);
      await Promise.allSettled(closers.map((c) => c()));
      store.close();
    }
    throw err;
  }
}
