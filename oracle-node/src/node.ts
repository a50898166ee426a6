// Assembles one oracle node: keys, SQLite state, libp2p host, DKG, round engine, HTTP API, metrics.
// `startNode(config)` is the process entry (the CLI calls it) and is importable so tests and the devnet
// can run several nodes in one process.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import {
  PublicSharing,
  decryptKeystore,
  type PartialVerifier,
  domainTag,
  encryptKeystore,
  g2Compressed,
  publicKeyOf,
  secretKeyFromBytes,
  secretKeyToBytes,
  toHex,
  type DkgResult,
  type SecretKey,
} from '@destra/protocol';
import { buildApi, startApi, type ApiServer } from './api/server.ts';
import type { CommitteeView, NodeStatus } from './api/views.ts';
import { ethereumSource } from './chains/ethereum.ts';
import { solanaSourceFromConfig } from './chains/solana.ts';
import type { RequestSource } from './chains/source.ts';
import { parseNodeConfig, type NodeConfig, type NodeConfigInput } from './config.ts';
import { RegistryChainView, findOperator } from './epoch/chain-control.ts';
import type { ChainViewReader } from './epoch/chain-view.ts';
import { EpochManager } from './epoch/manager.ts';
import { DkgRunner } from './dkg/runner.ts';
import { dkgSession } from './dkg/session.ts';
import { ConfigError } from './errors.ts';
import { dkgEncryptionKeyPair, loadOrCreateLibp2pKey, readPassword, unlockOperatorKey } from './keys.ts';
import { NodeMetrics } from './metrics.ts';
import { DestraHost, wireTopicValidator, type PeerInfo } from './p2p/host.ts';
import { Registry } from './p2p/registry.ts';
import { RoundEngine, type ChainRequest } from './round/engine.ts';
import type { Inferencer } from './round/inference.ts';
import { groupKeyVerifier, type ActiveKey } from './round/keys.ts';
import { NodeStore } from './store/store.ts';
import { DkgEnvelopeCodec, topics as wireTopics } from './wire.ts';

export type { RequestSource } from './chains/source.ts';

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

export class OracleNode {
  /** Fixed committee: the share of the configured epoch. Chain-driven: see `epochs`. */
  activeKey: ActiveKey | undefined;
  /** Set when the node follows the committee on chain (config.control). */
  epochs: EpochManager | undefined;
  dkgState: { phase: string; error: string | null } = { phase: 'idle', error: null };
  private runner: DkgRunner | undefined;
  private dialTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private stopped = false;
  private dkgDone: Promise<ActiveKey> | undefined;

  constructor(
    readonly config: NodeConfig,
    readonly index: number,
    readonly log: Logger,
    readonly store: NodeStore,
    readonly host: DestraHost,
    readonly engine: RoundEngine,
    readonly metrics: NodeMetrics,
    readonly api: ApiServer,
    private readonly operatorSecret: SecretKey,
    private readonly password: string,
    readonly sources: RequestSource[],
    private readonly closers: (() => Promise<void>)[] = [],
  ) {}

  get url(): string {
    return this.api.url;
  }

  get operatorKey(): Uint8Array {
    return publicKeyOf(this.operatorSecret);
  }

  get domain(): Uint8Array {
    return domainTag(this.config.network);
  }

  /** The share the round engine signs with now. */
  currentKey(): ActiveKey | undefined {
    return this.epochs ? this.epochs.activeKey() : this.activeKey;
  }

  /** Resolves when the node holds a key share for the configured epoch (after DKG or from disk). */
  ready(): Promise<ActiveKey> {
    if (this.epochs) {
      const e = this.epochs;
      return new Promise((resolve) => {
        const check = (): void => {
          const k = e.activeKey();
          if (k) resolve(k);
          else if (!this.stopped) setTimeout(check, 100).unref();
        };
        check();
      });
    }
    if (this.activeKey) return Promise.resolve(this.activeKey);
    return this.dkgDone ?? Promise.reject(new ConfigError('no DKG scheduled'));
  }

  session(): Uint8Array {
    const c = this.fixedCommittee();
    return dkgSession(this.domain, c.epoch, c.threshold, c.members);
  }

  private fixedCommittee(): NonNullable<NodeConfig['committee']> {
    if (!this.config.committee) throw new ConfigError('this node follows the committee on chain; it has no fixed committee', 'committee');
    return this.config.committee;
  }

  get dkgRunner(): DkgRunner | undefined {
    return this.runner;
  }

  /** Starts the DKG in the background; `ready()` resolves when it finishes. */
  scheduleDkg(): void {
    const done = this.runDkg();
    done.catch((err) => this.log.error({ err: (err as Error).message }, 'DKG did not complete; restart the node to retry'));
    this.dkgDone = done;
  }

  /** Loads the stored share for the configured epoch if it was made by this exact committee. */
  async loadStoredKey(): Promise<ActiveKey | undefined> {
    const rec = this.store.keyShare(this.fixedCommittee().epoch);
    if (!rec || !eq(rec.session, this.session())) return undefined;
    const value = secretKeyFromBytes(decryptKeystore(rec.keystore, this.password));
    const sharing = PublicSharing.fromBytes(rec.commitments, rec.n);
    const groupVerifier = await groupKeyVerifier(rec.groupKey);
    return { epoch: rec.epoch, index: rec.memberIndex, n: rec.n, t: rec.t, share: { index: rec.memberIndex, value }, sharing, groupKey: rec.groupKey, groupVerifier };
  }

  /** Runs the DKG for the configured committee and persists the share (EIP-2335) and its metadata. */
  async runDkg(): Promise<ActiveKey> {
    const c = this.fixedCommittee();
    const topic = wireTopics(this.config.network).dkg;
    const enc = dkgEncryptionKeyPair(this.operatorSecret);
    this.runner = new DkgRunner({
      epoch: c.epoch,
      index: this.index,
      n: c.members.length,
      t: c.threshold,
      session: this.session(),
      encryptionKey: enc.secretKey,
      peerEncryptionKeys: c.members.map((m) => m.encryptionKey),
      phaseTimeoutMs: this.config.dkg.phaseTimeoutMs,
      transport: {
        publish: (data) => this.host.publish(topic, data),
        readyMembers: () => {
          const subs = new Set(this.host.topicPeers(topic));
          return this.host.peersWithRole('member').filter((p) => subs.has(p.peerId)).map((p) => p.index);
        },
      },
      log: this.log.child({ component: 'dkg' }),
    });
    this.dkgState = { phase: 'running', error: null };
    try {
      const result = await this.runner.run();
      const key = this.persistShare(result, await groupKeyVerifier(result.groupPublicKey));
      this.metrics.dkgRuns.inc({ outcome: 'ok' });
      this.dkgState = { phase: 'done', error: null };
      return key;
    } catch (err) {
      this.metrics.dkgRuns.inc({ outcome: 'failed' });
      this.dkgState = { phase: 'failed', error: (err as Error).message };
      throw err;
    }
  }

  private persistShare(r: DkgResult, groupVerifier: PartialVerifier): ActiveKey {
    const keystore = encryptKeystore(secretKeyToBytes(r.share.value), this.password, {
      kdf: this.config.shareKdf,
      pubkey: toHex(g2Compressed(r.sharing.publicShare(r.index))).slice(2),
      description: `destra ${this.config.network} epoch ${this.fixedCommittee().epoch} key share ${r.index}/${r.n}`,
    });
    this.store.saveKeyShare({
      epoch: this.fixedCommittee().epoch,
      memberIndex: r.index,
      n: r.n,
      t: r.t,
      session: this.session(),
      groupKey: r.groupPublicKey,
      commitments: r.commitments,
      qualified: r.qualified,
      disqualified: r.disqualified,
      keystore: JSON.stringify(keystore),
      createdAt: Date.now(),
    });
    const key: ActiveKey = { epoch: this.fixedCommittee().epoch, index: r.index, n: r.n, t: r.t, share: r.share, sharing: r.sharing, groupKey: r.groupPublicKey, groupVerifier };
    this.activeKey = key;
    this.metrics.epoch.set(key.epoch);
    return key;
  }

  /** Prunes finished work beyond the configured age and row count, now and then periodically. */
  startRetention(): void {
    const r = this.config.retention;
    const prune = (): void => {
      if (this.stopped) return;
      try {
        // Guard rows are kept for the active epoch and the one before (its evidence window).
        const keepGuardFromEpoch = Math.max(0, (this.currentKey()?.epoch ?? this.epochs?.chain?.currentEpoch ?? this.config.committee?.epoch ?? 0) - 1);
        const n = this.store.prune({ before: Date.now() - r.maxAgeHours * 3_600_000, maxRows: r.maxRows, keepGuardFromEpoch });
        const total = n.requests + n.reports + n.ownPartials + n.batchPartials;
        if (total > 0) this.log.info(n, 'retention: pruned finished work');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'retention: prune failed');
      }
    };
    prune();
    this.retentionTimer = setInterval(prune, r.intervalMs);
    this.retentionTimer.unref();
  }

  /** Keeps dialing registered peers that are not admitted: lower-indexed members and all aggregators. */
  startDialing(): void {
    if (!this.config.committee) return; // chain-driven: the epoch manager dials the operator directory
    const dial = (): void => {
      if (this.stopped) return;
      const c = this.fixedCommittee();
      const targets = [
        ...c.members.filter((m) => m.index < this.index).map((m) => ({ role: 'member' as const, ...m })),
        ...c.aggregators.map((a) => ({ role: 'aggregator' as const, ...a })),
      ];
      for (const t of targets) {
        if (this.host.peerFor(t.role, t.index)) continue;
        for (const addr of t.addrs) {
          this.host.connect(addr).catch((err) => this.log.debug({ addr, err: (err as Error).message }, 'dial failed'));
        }
      }
    };
    dial();
    this.dialTimer = setInterval(dial, 1000);
    this.dialTimer.unref();
  }

  status(): NodeStatus {
    const members = this.host.peersWithRole('member').length;
    const aggregators = this.host.peersWithRole('aggregator').length;
    if (this.epochs) {
      const e = this.epochs.status();
      const key = this.epochs.activeKey();
      return {
        // An observer (not in this epoch's committee) is healthy; a chain it cannot read is not.
        status: e.error ? 'degraded' : e.epoch === 0 && !key ? 'starting' : 'ok',
        network: this.config.network,
        index: key?.index ?? 0,
        peerId: this.host.peerId,
        epoch: e.epoch,
        hasKeyShare: key !== undefined,
        dkg: { phase: e.dkg ? `epoch ${e.dkg.epoch} attempt ${e.dkg.attempt}: ${e.dkg.phase}` : 'idle', error: e.error },
        peers: { members, aggregators },
        uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      };
    }
    return {
      status: this.activeKey ? 'ok' : this.dkgState.phase === 'failed' ? 'degraded' : 'starting',
      network: this.config.network,
      index: this.index,
      peerId: this.host.peerId,
      epoch: this.fixedCommittee().epoch,
      hasKeyShare: this.activeKey !== undefined,
      dkg: { phase: this.runner && this.dkgState.phase === 'running' ? this.runner.phase : this.dkgState.phase, error: this.dkgState.error },
      peers: { members, aggregators },
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  committee(): CommitteeView {
    const k = this.currentKey();
    const chainC = this.epochs ? this.epochs.committee(this.epochs.chain?.currentEpoch ?? 0) : undefined;
    const c = this.epochs
      ? { epoch: chainC?.epoch ?? 0, threshold: chainC?.threshold ?? 0, members: chainC?.members ?? [], aggregators: this.config.aggregators }
      : this.fixedCommittee();
    const rec = k ? this.store.keyShare(k.epoch) : undefined;
    const tallies = new Map<number, { combined: number; invalid: number; conflicting: number }>();
    for (const r of this.store.recentReports(200)) {
      const bump = (i: number, f: 'combined' | 'invalid' | 'conflicting'): void => {
        const t = tallies.get(i) ?? { combined: 0, invalid: 0, conflicting: 0 };
        t[f]++;
        tallies.set(i, t);
      };
      r.signers.forEach((i) => bump(i, 'combined'));
      r.invalid.forEach((i) => bump(i, 'invalid'));
      r.conflicting.forEach((i) => bump(i, 'conflicting'));
    }
    return {
      epoch: c.epoch,
      threshold: c.threshold,
      size: c.members.length,
      groupKey: k ? toHex(k.groupKey) : null,
      members: c.members.map((m) => {
        const self = eq(m.operatorKey, this.operatorKey);
        const peer = this.epochs
          ? this.host.peersWithRole('member').find((p) => p.operatorKey?.toLowerCase() === toHex(m.operatorKey).toLowerCase())
          : this.host.peerFor('member', m.index);
        return {
          index: m.index,
          operatorKey: toHex(m.operatorKey),
          peerId: self ? this.host.peerId : (peer?.peerId ?? m.peerId ?? null),
          connected: peer !== undefined,
          self,
          publicShare: k ? toHex(g2Compressed(k.sharing.publicShare(m.index))) : null,
          qualified: rec ? rec.qualified.includes(m.index) : null,
          partials: tallies.get(m.index) ?? { combined: 0, invalid: 0, conflicting: 0 },
        };
      }),
      aggregators: c.aggregators.map((a) => {
        const peer = this.host.peerFor('aggregator', a.index);
        return { index: a.index, operatorKey: toHex(a.operatorKey), peerId: peer?.peerId ?? a.peerId ?? null, connected: peer !== undefined };
      }),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.dialTimer) clearInterval(this.dialTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.runner?.stop();
    this.epochs?.stop();
    await Promise.allSettled(this.sources.map((s) => s.stop()));
    this.engine.stop();
    await this.api.close();
    await this.host.stop();
    await this.engine.idle();
    await Promise.allSettled(this.closers.map((c) => c()));
    this.store.close();
    this.log.info('node stopped');
  }
}

/** The models engineer's ONNX engine (oracle-node/src/inference), loaded lazily: processes that inject
 *  their own inference (or only reuse the libp2p host) never load onnxruntime. */
async function defaultInference(config: NodeConfig, log: Logger): Promise<Inferencer & { encodeInput(model: string, values: readonly number[]): Uint8Array; close(): Promise<void> }> {
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
  const closers: (() => Promise<void>)[] = [];
  try {
    const engine0 = overrides.inference ? undefined : await defaultInference(config, nodeLog.child({ component: 'inference' }));
    const inference: Inferencer = overrides.inference ?? engine0!;
    const encodeInput = overrides.encodeInput ?? (engine0 ? (model: string, values: number[]) => engine0.encodeInput(model, values) : undefined);
    if (engine0) closers.push(() => engine0.close());
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
    const api = await startApi(
      buildApi({
        engine,
        store,
        metrics,
        status: () => nodeRef!.status(),
        committee: () => nodeRef!.committee(),
        ...(config.control ? { epochs: () => nodeRef?.epochs?.view() ?? { epoch: 0 } } : {}),
        groupKey: () => nodeRef?.currentKey()?.groupKey,
        ...(encodeInput ? { encodeInput } : {}),
      }),
      config.api.port,
      { maxConnections: config.api.maxConnections, headersTimeoutMs: config.api.headersTimeoutMs, requestTimeoutMs: config.api.requestTimeoutMs },
      (why) => metrics.connectionsDropped.inc({ why }),
    );
    node = new OracleNode(config, me.index, nodeLog, store, host, engine, metrics, api, operatorSecret, password, [...(overrides.sources ?? [])], closers);
    nodeRef = node;
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
    if (config.chains.ethereum) node.sources.push(ethereumSource(config.chains.ethereum, store, nodeLog.child({ component: 'ethereum' })));
    if (config.chains.solana) node.sources.push(solanaSourceFromConfig(config.chains.solana, nodeLog.child({ component: 'solana' })));
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
