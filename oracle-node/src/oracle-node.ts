// One running oracle node: its keys, SQLite state, libp2p host, epochs (fixed committee or chain-driven),
// round engine and HTTP API, with the status and committee views the API serves. Built by startNode
// (node.ts).
import { domainTag, g2Compressed, publicKeyOf, toHex, type DkgResult, type SecretKey } from '@destra/protocol';
import type { Logger } from 'pino';
import type { ApiServer } from './api/server.ts';
import type { CommitteeView, NodeStatus } from './api/views.ts';
import type { RequestSource } from './chains/source.ts';
import type { NodeConfig } from './config.ts';
import type { EpochManager } from './epoch/manager.ts';
import { loadShare, persistShare } from './epoch/shares.ts';
import { DkgRunner } from './dkg/runner.ts';
import { dkgSession } from './dkg/session.ts';
import { ConfigError } from './errors.ts';
import { dkgEncryptionKeyPair } from './keys.ts';
import type { NodeMetrics } from './metrics.ts';
import type { DestraHost } from './p2p/host.ts';
import type { RoundEngine } from './round/engine.ts';
import type { ActiveKey } from './round/keys.ts';
import type { RangeProtocol } from './range/index.ts';
import type { ModelService } from './models/service.ts';
import type { NodeStore } from './store/store.ts';
import { topics as wireTopics } from './wire.ts';

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export class OracleNode {
  /** Fixed committee: the share of the configured epoch. Chain-driven: see `epochs`. */
  activeKey: ActiveKey | undefined;
  /** Set when the node follows the committee on chain (config.control). */
  epochs: EpochManager | undefined;
  dkgState: { phase: string; error: string | null } = { phase: 'idle', error: null };
  /** Batch jobs and the range protocol (set by startNode). */
  range: RangeProtocol | undefined;
  /** Registry-followed models fetched by CID (config.models.ipfs; set by startNode). */
  models: ModelService | undefined;
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

  /** The group key of `epoch`: from the chain (current and previous epoch) or this node's stored share. */
  groupKeyOf(epoch: number): Uint8Array | undefined {
    const s = this.epochs?.chain;
    if (s?.current?.committee.epoch === epoch) return s.current.groupKey;
    if (s?.previous?.committee.epoch === epoch) return s.previous.groupKey;
    const k = this.epochs ? this.epochs.keyFor(epoch) : this.activeKey?.epoch === epoch ? this.activeKey : undefined;
    return k?.groupKey ?? this.store.keyShare(epoch)?.groupKey;
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
    return loadShare(this.store, this.password, rec.epoch);
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
      const key = await this.persistShare(result);
      this.metrics.dkgRuns.inc({ outcome: 'ok' });
      this.dkgState = { phase: 'done', error: null };
      return key;
    } catch (err) {
      this.metrics.dkgRuns.inc({ outcome: 'failed' });
      this.dkgState = { phase: 'failed', error: (err as Error).message };
      throw err;
    }
  }

  private async persistShare(r: DkgResult): Promise<ActiveKey> {
    const key = await persistShare({ store: this.store, password: this.password, kdf: this.config.shareKdf, network: this.config.network, epoch: this.fixedCommittee().epoch, session: this.session(), result: r });
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
        const total = n.requests + n.reports + n.ownPartials + n.batchPartials + n.rangeGuards;
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

  /**
   * /health: `degraded` (503) also when this node signs but none of its configured aggregators is
   * connected — its partials then reach nobody who combines and relays them.
   */
  status(): NodeStatus {
    const s = this.baseStatus();
    const configured = (this.config.committee?.aggregators ?? this.config.aggregators).length;
    if (s.status === 'ok' && s.hasKeyShare && configured > 0 && s.peers.aggregators === 0) {
      return { ...s, status: 'degraded', reasons: [`no relay path: none of the ${configured} configured aggregators is connected`] };
    }
    return s;
  }

  private baseStatus(): NodeStatus {
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
