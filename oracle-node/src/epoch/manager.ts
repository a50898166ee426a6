// Runs the epoch state machine against the world: reads the chain, keeps the peer registry and dialing in
// line with the operator directory, runs each DKG over libp2p, publishes and verifies DKG results,
// has handovers signed and combined (handovers.ts), and switches the round engine's keys when the chain
// activates an epoch.
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  DkgError, PublicSharing, decodeG2, encodeHandover, sharesRoot, signDkgResult, toHex, verifyDkgResult, type DkgResult,
  type SecretKey,
} from '@destra/protocol';
import type { Logger } from 'pino';
import { DkgRunner } from '../dkg/runner.ts';
import { dkgSession } from '../dkg/session.ts';
import type { NodeMetrics } from '../metrics.ts';
import type { DestraHost, PeerInfo } from '../p2p/host.ts';
import type { Registration, Registry } from '../p2p/registry.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { NodeStore } from '../store/store.ts';
import {
  DkgEnvelopeCodec, DkgResultCodec, decodeWire, type DkgEnvelope, type Topics,
} from '../wire.ts';
import type { ChainSnapshot, ChainViewReader } from './chain-view.ts';
import { memberIndexOf, type EpochCommittee } from './committee.ts';
import { EpochMachine, handoverMismatch, type EpochAction } from './machine.ts';
import { HandoverSigning } from './handovers.ts';
import { loadShare, persistShare, type ShareKdf } from './shares.ts';

export interface EpochManagerOptions {
  network: string;
  domain: Uint8Array;
  operatorSecret: SecretKey;
  operatorKey: Uint8Array;
  encryptionSecret: Uint8Array;
  password: string;
  shareKdf: ShareKdf;
  store: NodeStore;
  host: DestraHost;
  registry: Registry;
  topics: Topics;
  chain: ChainViewReader;
  /** Registrations that do not come from the chain (configured aggregators). */
  extraRegistrations: Registration[];
  /**
   * Extra addresses for registered peers (`/…/p2p/<peerId>`): dialed beside what the peer registered on
   * chain. They help find a peer, never admit one: a peer id the registry does not name is still refused.
   */
  bootstrap?: readonly string[];
  pollIntervalMs: number;
  phaseTimeoutMs: number;
  metrics: NodeMetrics;
  log: Logger;
  /** Called after the round engine's key changed (re-signs what the old epoch left unanswered). */
  onActivated: (epoch: number, member: boolean) => void;
}

interface Ceremony {
  epoch: number;
  attempt: number;
  committee: EpochCommittee;
  runner: DkgRunner;
  membersRoot: Uint8Array;
  payoutsRoot: Uint8Array;
  result?: { handover: Uint8Array; commitments: Uint8Array[] };
}

const hex = (b: Uint8Array): string => toHex(b).toLowerCase();

export class EpochManager {
  readonly machine: EpochMachine;
  private snapshot: ChainSnapshot | undefined;
  private readonly keys = new Map<number, ActiveKey>();
  private active: ActiveKey | undefined;
  private ceremony: Ceremony | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  private lastError = '';
  private queue: Promise<void> = Promise.resolve();
  /** This node's DKG outcome per epoch (handover record + commitments), re-published for relays. */
  private readonly results = new Map<number, { attempt: number; handover: Uint8Array; commitments: Uint8Array[]; frame?: Uint8Array }>();
  private lastResultPublish = 0;
  /** Handovers signed by the current committee that this node combined or saw (for relays and status). */
  private readonly handovers: HandoverSigning;

  constructor(private readonly o: EpochManagerOptions) {
    this.handovers = new HandoverSigning({ store: o.store, host: o.host, topics: o.topics, keyFor: (e) => this.keys.get(e), log: o.log });
    this.machine = new EpochMachine({ self: o.operatorKey, retryMs: 5 * o.phaseTimeoutMs + 10_000 });
  }

  /** Key share the round engine signs with now. */
  activeKey(): ActiveKey | undefined {
    return this.active;
  }

  /** Share held for `epoch` (current or earlier, for results still in flight). */
  keyFor(epoch: number): ActiveKey | undefined {
    return this.keys.get(epoch);
  }

  get chain(): ChainSnapshot | undefined {
    return this.snapshot;
  }

  /** The committee of `epoch` as the chain named it (current, previous, or the one the next DKG runs). */
  committee(epoch: number): EpochCommittee | undefined {
    const s = this.snapshot;
    if (!s) return undefined;
    if (s.current?.committee.epoch === epoch) return s.current.committee;
    if (s.previous?.committee.epoch === epoch) return s.previous.committee;
    if (this.ceremony?.epoch === epoch) return this.ceremony.committee;
    if (epoch === s.currentEpoch + 1) return { epoch, threshold: s.next.threshold, members: s.next.members };
    return undefined;
  }

  memberIndexOf(epoch: number, from: PeerInfo): number | undefined {
    return from.role === 'member' ? memberIndexOf(this.committee(epoch), from.operatorKey) : undefined;
  }

  /** Status for /health and /v1/committee. */
  status(): { epoch: number; member: boolean; dkg: { epoch: number; attempt: number; phase: string } | null; error: string | null } {
    const c = this.ceremony;
    return {
      epoch: this.snapshot?.currentEpoch ?? 0,
      member: this.active !== undefined,
      dkg: c ? { epoch: c.epoch, attempt: c.attempt, phase: this.machine.ceremony?.status === 'running' ? c.runner.phase : (this.machine.ceremony?.status ?? 'idle') } : null,
      error: this.lastError || null,
    };
  }

  /** Reads the chain once (so the host can be created with the right registry), then follows it. */
  async start(first: ChainSnapshot): Promise<void> {
    const { host, topics } = this.o;
    host.subscribe(topics.dkg, (data, from) => this.onDkgFrame(data, from));
    host.subscribe(topics.epochs, (data, from) => this.onEpochsFrame(data, from));
    // Shares made before a restart, for the epochs the chain still uses.
    for (const e of [first.currentEpoch, first.currentEpoch - 1, first.currentEpoch + 1]) {
      if (e < 1) continue;
      const k = await loadShare(this.o.store, this.o.password, e).catch((err) => {
        this.o.log.error({ epoch: e, err: (err as Error).message }, 'stored key share could not be unlocked');
        return undefined;
      });
      if (!k) continue;
      this.keys.set(e, k);
      this.machine.handle({ type: 'key-known', epoch: e, groupKey: k.groupKey });
    }
    await this.onSnapshot(first);
    this.pollTimer = setInterval(() => void this.poll(), this.o.pollIntervalMs);
    this.pollTimer.unref();
    this.tickTimer = setInterval(() => this.serialize(async () => {
      await this.execute(this.machine.handle({ type: 'tick', now: Date.now() }));
      this.republish();
      this.dial();
    }), 1000);
    this.tickTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.ceremony?.runner.stop();
  }

  /** Runs `fn` after everything queued before it: machine events are handled one at a time. */
  private serialize(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err) => this.o.log.error({ err: (err as Error).message }, 'epoch manager step failed'));
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const s = await this.o.chain.read();
      // The same object: the chain did not change since the last read (the 1 s tick covers the clock).
      if (s !== this.snapshot) this.serialize(() => this.onSnapshot(s));
      if (this.lastError) this.o.log.info('chain reachable again');
      this.lastError = '';
    } catch (err) {
      const msg = `cannot read the registry: ${(err as Error).message.split('\n')[0]}`;
      if (msg !== this.lastError) this.o.log.warn({ err: msg }, 'chain read failed; keeping the last known committee');
      this.lastError = msg;
    } finally {
      this.polling = false;
    }
  }

  private async onSnapshot(s: ChainSnapshot): Promise<void> {
    const before = this.snapshot;
    this.snapshot = s;
    this.updateRegistry(s, before);
    if (before?.currentEpoch !== s.currentEpoch) this.o.log.info({ epoch: s.currentEpoch, members: s.current?.committee.members.length ?? 0 }, 'chain epoch');
    await this.execute(this.machine.handle({ type: 'chain', snapshot: s, now: Date.now() }));
  }

  private updateRegistry(s: ChainSnapshot, before: ChainSnapshot | undefined): void {
    const key = (x: ChainSnapshot): string => x.directory.map((d) => `${d.registryIndex}:${hex(d.operatorKey)}:${d.peerId}:${d.addrs.join(',')}`).join('|');
    if (before && key(before) === key(s)) return;
    const extra = bootstrapByPeer(this.o.bootstrap ?? []);
    this.o.registry.replace([
      ...s.directory.map((d) => ({
        role: 'member' as const,
        index: d.registryIndex,
        operatorKey: d.operatorKey,
        ...(d.peerId ? { peerId: d.peerId } : {}),
        addrs: d.peerId ? [...new Set([...d.addrs, ...(extra.get(d.peerId) ?? [])])] : d.addrs,
      })),
      ...this.o.extraRegistrations,
    ]);
  }

  /** Dials registered operators (lower registry index than ours: one dial per pair) and aggregators. */
  private dial(): void {
    const me = this.o.registry.members().find((r) => hex(r.operatorKey) === hex(this.o.operatorKey));
    for (const r of this.o.registry.registrations) {
      if (r.role === 'member' && (!me || r.index >= me.index)) continue;
      if (this.o.host.peerFor(r.role, r.index)) continue;
      for (const addr of r.addrs ?? []) this.o.host.connect(addr).catch((err) => this.o.log.debug({ addr, err: (err as Error).message }, 'dial failed'));
    }
  }

  // ---- actions -----------------------------------------------------------------------------------------

  private async execute(actions: EpochAction[]): Promise<void> {
    for (const a of actions) {
      switch (a.type) {
        case 'start-dkg':
          this.startDkg(a);
          break;
        case 'abort-dkg':
          if (this.ceremony?.epoch === a.epoch && this.ceremony.attempt === a.attempt) {
            this.o.log.warn({ epoch: a.epoch, attempt: a.attempt, reason: a.reason }, 'DKG abandoned');
            this.ceremony.runner.stop();
          }
          break;
        case 'publish-dkg-result':
          await this.publishDkgResult();
          break;
        case 'sign-handover':
          await this.signHandover(a.oldEpoch, a.handover);
          break;
        case 'activate':
          await this.activate(a.epoch, a.member);
          break;
        case 'blocked':
          this.o.log.warn({ reason: a.reason }, 'epoch rotation waits');
          break;
      }
    }
  }

  private startDkg(a: Extract<EpochAction, { type: 'start-dkg' }>): void {
    this.ceremony?.runner.stop();
    const members = a.committee.members;
    let session = dkgSession(this.o.domain, a.epoch, a.committee.threshold, members);
    // Attempt 0 keeps the plain session id; retries bind the attempt too, so no message of an abandoned
    // ceremony can ever count in a later one.
    if (a.attempt > 0) session = keccak_256(new Uint8Array([...session, ...new TextEncoder().encode(`attempt:${a.attempt}`)]));
    const runner = new DkgRunner({
      epoch: a.epoch,
      attempt: a.attempt,
      index: a.index,
      n: members.length,
      t: a.committee.threshold,
      session,
      encryptionKey: this.o.encryptionSecret,
      peerEncryptionKeys: members.map((m) => m.encryptionKey),
      phaseTimeoutMs: this.o.phaseTimeoutMs,
      memberIndexOf: (from) => memberIndexOf(a.committee, from.operatorKey),
      transport: {
        publish: (data) => this.o.host.publish(this.o.topics.dkg, data),
        readyMembers: () => {
          const subs = new Set(this.o.host.topicPeers(this.o.topics.dkg));
          return this.o.host.peersWithRole('member').filter((p) => subs.has(p.peerId)).flatMap((p) => memberIndexOf(a.committee, p.operatorKey) ?? []);
        },
      },
      log: this.o.log.child({ component: 'dkg', epoch: a.epoch, attempt: a.attempt }),
    });
    const c: Ceremony = { epoch: a.epoch, attempt: a.attempt, committee: a.committee, runner, membersRoot: a.membersRoot, payoutsRoot: a.payoutsRoot };
    this.ceremony = c;
    this.o.log.info({ epoch: a.epoch, attempt: a.attempt, index: a.index, n: members.length, t: a.committee.threshold }, 'DKG for the next epoch starting');
    void runner.run().then(
      (result) => this.serialize(() => this.onDkgDone(c, session, result)),
      (err: Error) => this.serialize(async () => {
        this.o.metrics.dkgRuns.inc({ outcome: 'failed' });
        if (!(err instanceof DkgError)) this.o.log.warn({ epoch: c.epoch, attempt: c.attempt, err: err.message }, 'DKG stopped');
        await this.execute(this.machine.handle({ type: 'dkg-failed', epoch: c.epoch, attempt: c.attempt, reason: err.message, now: Date.now() }));
      }),
    );
  }

  private async onDkgDone(c: Ceremony, session: Uint8Array, result: DkgResult): Promise<void> {
    if (this.stopped) return;
    this.o.metrics.dkgRuns.inc({ outcome: 'ok' });
    const key = await persistShare({ store: this.o.store, password: this.o.password, kdf: this.o.shareKdf, network: this.o.network, epoch: c.epoch, session, result });
    this.keys.set(c.epoch, key);
    const publicShares = result.sharing.publicShares().map((p) => p.toBytes(false));
    // Genesis (epoch 1) gets the same record with oldEpoch 0: nobody signs it, the genesis authority
    // installs its fields (initGenesis) and the relays learn the sharing from it.
    const handover = encodeHandover({
      domain: this.o.domain,
      oldEpoch: BigInt(c.epoch - 1),
      newEpoch: BigInt(c.epoch),
      threshold: result.t,
      committeeSize: result.n,
      groupKey: decodeG2(result.groupPublicKey).toBytes(false),
      sharesRoot: sharesRoot(publicShares),
      membersRoot: c.membersRoot,
      payoutsRoot: c.payoutsRoot,
    });
    c.result = { handover, commitments: result.commitments };
    this.results.set(c.epoch, { attempt: c.attempt, handover, commitments: result.commitments });
    this.o.log.info({ epoch: c.epoch, attempt: c.attempt, groupKey: toHex(result.groupPublicKey).slice(0, 18), qualified: result.qualified }, 'DKG for the next epoch complete');
    await this.execute(this.machine.handle({ type: 'dkg-done', epoch: c.epoch, attempt: c.attempt, groupKey: result.groupPublicKey, handover, now: Date.now() }));
  }

  private async publishDkgResult(epoch?: number): Promise<void> {
    const c = this.ceremony;
    const e = epoch ?? c?.epoch;
    const r = e !== undefined ? this.results.get(e) : undefined;
    const committee = e !== undefined ? this.committee(e) : undefined;
    const index = memberIndexOf(committee, this.o.operatorKey);
    if (!r || index === undefined || e === undefined) return;
    // Signed once: the result is re-published unchanged every 10 s (BLS signatures are deterministic).
    const frame = (r.frame ??= DkgResultCodec.encode({
      type: 'dkg-result', v: 1, epoch: e, attempt: r.attempt, index,
      handover: r.handover, commitments: r.commitments,
      signature: signDkgResult(this.o.operatorSecret, r.attempt, r.handover, r.commitments),
    }));
    await this.o.host.publish(this.o.topics.epochs, frame).catch((err) => this.o.log.debug({ err: (err as Error).message }, 'DKG result not published'));
    // Our own result counts as one attestation.
    if (epoch === undefined) await this.execute(this.machine.handle({ type: 'dkg-result', epoch: e, attempt: r.attempt, index, handover: r.handover }));
  }

  /** What /v1/epochs shows: the chain's epoch, our DKG, our DKG result for the next epoch, signed handovers. */
  view(): object {
    const s = this.snapshot;
    const st = this.status();
    const next = s ? this.results.get(s.currentEpoch + 1) : undefined;
    return {
      ...st,
      threshold: s?.current?.committee.threshold ?? null,
      size: s?.current?.committee.members.length ?? 0,
      next: s ? { epoch: s.currentEpoch + 1, threshold: s.next.threshold, members: s.next.members.map((m) => ({ index: m.index, address: m.address ?? null, operatorKey: toHex(m.operatorKey) })) } : null,
      dkgResult: next && s ? { epoch: s.currentEpoch + 1, attempt: next.attempt, handover: toHex(next.handover), commitments: next.commitments.map((c) => toHex(c)) } : null,
      signedHandovers: [...this.handovers.signed].map(([epoch, h]) => ({ epoch, handover: toHex(h.handover), signature: toHex(h.signature) })),
    };
  }

  private async signHandover(oldEpoch: number, handover: Uint8Array): Promise<void> {
    if (!(await this.handovers.sign(oldEpoch, handover))) return;
    this.machine.handle({ type: 'handover-signed', oldEpoch, handover });
    await this.handovers.afterSigning(oldEpoch, handover);
  }

  /** Until the chain moves on, our DKG result, handover partial and combined handover are re-sent. */
  private republish(): void {
    const s = this.snapshot;
    if (!s) return;
    const now = Date.now();
    if (now - this.lastResultPublish >= 10_000 && this.results.has(s.currentEpoch)) {
      this.lastResultPublish = now;
      void this.publishDkgResult(s.currentEpoch);
    }
    this.handovers.republish(s.currentEpoch, now);
  }

  private async activate(epoch: number, member: boolean): Promise<void> {
    const k = member ? this.keys.get(epoch) : undefined;
    this.active = k;
    this.o.metrics.epoch.set(epoch);
    for (const e of [...this.keys.keys()]) if (e < epoch - 1) this.keys.delete(e);
    this.o.log.info({ epoch, member: k !== undefined, index: k?.index ?? null }, member ? 'epoch active: serving as a committee member' : 'epoch active: this node is not in its committee (observer)');
    this.o.onActivated(epoch, k !== undefined);
  }

  // ---- inbound -----------------------------------------------------------------------------------------

  private onDkgFrame(data: Uint8Array, from: PeerInfo): void {
    let env: DkgEnvelope;
    try {
      env = DkgEnvelopeCodec.decode(data);
    } catch (err) {
      this.o.metrics.rejected.inc({ reason: 'malformed' });
      this.o.log.warn({ from, err: (err as Error).message }, 'DKG envelope rejected');
      return;
    }
    const c = this.ceremony;
    if (c && env.epoch === c.epoch && (env.attempt ?? 0) > c.attempt && memberIndexOf(c.committee, from.operatorKey) === env.from) {
      const attempt = env.attempt ?? 0;
      this.serialize(() => this.execute(this.machine.handle({ type: 'peer-attempt', epoch: env.epoch, attempt, now: Date.now() })));
    }
    c?.runner.receive(env, from);
  }

  private onEpochsFrame(data: Uint8Array, from: PeerInfo): void {
    let msg;
    try {
      msg = decodeWire(data, ['dkg-result', 'handover-partial', 'handover-signed']);
    } catch (err) {
      this.o.metrics.rejected.inc({ reason: 'malformed' });
      this.o.log.warn({ from, err: (err as Error).message }, 'epochs message rejected');
      return;
    }
    const s = this.snapshot;
    if (!s) return;
    if (msg.type === 'dkg-result') {
      if (msg.epoch === s.currentEpoch) return; // re-published for relays that (re)started
      const reason = this.checkDkgResult(msg, from, s);
      if (reason) {
        this.o.metrics.rejected.inc({ reason: 'dkg-result' });
        this.o.log.debug({ from, epoch: msg.epoch, reason }, 'DKG result ignored');
        return;
      }
      this.serialize(() => this.execute(this.machine.handle({ type: 'dkg-result', epoch: msg.epoch, attempt: msg.attempt, index: msg.index, handover: msg.handover })));
    } else if (msg.type === 'handover-partial') {
      const k = this.keys.get(msg.epoch);
      if (!k || msg.epoch !== s.currentEpoch) return; // only members of the signing committee combine
      if (memberIndexOf(s.current?.committee, from.operatorKey) !== msg.index) {
        this.o.metrics.rejected.inc({ reason: 'impersonation' });
        return;
      }
      if (handoverMismatch(msg.handover, s)) return;
      this.serialize(() => this.handovers.addPartial(msg.epoch, msg.index, msg.handover, msg.signature));
    } else {
      // Relays (aggregators) submit it; nodes keep it for /v1/epochs and status.
      const epoch = s.currentEpoch + 1;
      if (!handoverMismatch(msg.handover, s)) this.handovers.noteSigned(epoch, msg.handover, msg.signature);
    }
  }

  /** Why a DKG result is not acceptable: wrong sender, bad signature, commitments that do not give its key. */
  private checkDkgResult(msg: { epoch: number; attempt: number; index: number; handover: Uint8Array; commitments: Uint8Array[]; signature: Uint8Array }, from: PeerInfo, s: ChainSnapshot): string | undefined {
    if (msg.epoch !== s.currentEpoch + 1) return `for epoch ${msg.epoch}, next epoch is ${s.currentEpoch + 1}`;
    const member = s.next.members[msg.index - 1];
    if (!member || memberIndexOf({ epoch: msg.epoch, threshold: 0, members: s.next.members }, from.operatorKey) !== msg.index) return 'sender is not that member of the next committee';
    const mismatch = handoverMismatch(msg.handover, s);
    if (mismatch) return mismatch;
    if (!verifyDkgResult(member.operatorKey, msg.attempt, msg.handover, msg.commitments, msg.signature)) return 'bad operator signature';
    try {
      const sharing = PublicSharing.fromBytes(msg.commitments, s.next.members.length);
      const h = msg.handover;
      if (hex(decodeG2(sharing.groupKeyBytes).toBytes(false)) !== hex(h.subarray(53, 245))) return 'group key does not follow from the commitments';
      if (hex(sharesRoot(sharing.publicShares().map((p) => p.toBytes(false)))) !== hex(h.subarray(245, 277))) return 'sharesRoot does not follow from the commitments';
      if (sharing.threshold !== s.next.threshold) return `commitments give threshold ${sharing.threshold}`;
    } catch (err) {
      return `commitments unusable: ${(err as Error).message}`;
    }
    return undefined;
  }
}

/** Groups bootstrap multiaddrs by the peer id they end in (`/p2p/<id>`); others were refused by the config schema. */
export function bootstrapByPeer(addrs: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of addrs) {
    const id = /\/p2p\/([^/]+)$/.exec(a)?.[1];
    if (!id) continue;
    out.set(id, [...(out.get(id) ?? []), a]);
  }
  return out;
}
