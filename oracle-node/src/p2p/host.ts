// The libp2p host shared by oracle nodes and aggregators: TCP on 127.0.0.1, noise, yamux, identify,
// gossipsub for broadcasts and direct streams for partials. Only registered operators are admitted:
// the connection gater refuses denied (and, where registrations name them, unknown) peer ids, and every
// connection must complete the Hello/Admission handshake within a deadline or it is closed.
import './polyfills.ts';
import { EventEmitter } from 'node:events';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import type { Logger } from 'pino';
import { publicKeyOf, toHex, type SecretKey } from '@destra/protocol';
import {
  AdmissionCodec,
  HelloCodec,
  PROTOCOL_HELLO,
  checkHello,
  decodeWire,
  signAdmission,
  topics as wireTopics,
  type Hello,
  type PeerRole,
  type WireMessage,
} from '../wire.ts';
import { DestraNodeError } from '../errors.ts';
import { readFrame, writeFrame } from './framing.ts';
import * as lp from 'it-length-prefixed';
import type { Registry } from './registry.ts';

export interface PeerInfo {
  peerId: string;
  role: PeerRole;
  /** Registration index from the peer's Hello (see Hello.index). */
  index: number;
  /** The peer's operator key (compressed G2, 0x-hex): its identity across epochs. */
  operatorKey?: string;
}

export interface HostOptions {
  domain: Uint8Array;
  privateKey: PrivateKey;
  /** Listen addresses; defaults to an ephemeral TCP port on 127.0.0.1. */
  listen?: string[];
  role: PeerRole;
  index: number;
  operatorSecret: SecretKey;
  registry: Registry;
  /** Gossipsub topics this host may subscribe to (others are refused). */
  topics: string[];
  admissionTimeoutMs?: number;
  /**
   * Schema check run in the gossip validator, before a message is delivered or relayed: return the
   * reason to reject it, or undefined to accept. Default: `wireTopicValidator()` (the wire types allowed
   * on each destra topic).
   */
  validate?: (topic: string, data: Uint8Array) => string | undefined;
  /**
   * How round, batch and combined topics travel: 'direct' (default) sends each message over a direct
   * stream to every admitted peer, one hop and no relaying; 'gossip' uses gossipsub. The committee is
   * fully connected (every node dials every registered peer), and gossip's relaying made every node
   * receive each message up to n times: measured ~2x round latency at n = 7. DKG and epoch topics go
   * both ways in 'direct' mode (see DUAL_KINDS).
   */
  fanout?: 'direct' | 'gossip';
  log: Logger;
}

/** Topic kinds that go over direct fan-out by default (see HostOptions.fanout). */
const FANOUT_KINDS = new Set(['rounds', 'batches', 'combined']);
/**
 * Topic kinds sent both ways: one hop to every admitted peer, and over gossipsub for the relaying a
 * partially connected overlay needs. At 14+ peers per host gossipsub learned only some peers'
 * subscriptions (4–8 of 16 admitted, never converging), and the DKG waited for members it could not
 * see; the direct copy does not depend on that. Receivers already take repeats (DKG rebroadcasts,
 * republished DKG results), so the second copy is harmless.
 */
const DUAL_KINDS = new Set(['dkg', 'epochs']);
const topicKind = (topic: string): string | undefined => /^\/destra\/[^/]+\/([a-z]+)\/1$/.exec(topic)?.[1];
/** The direct-stream protocol that carries one topic's messages. */
export const fanoutProtocol = (topic: string): string => `/destra/fanout/1${topic}`;
/** Largest message on a fan-out topic (the gossip limit). */
const FANOUT_MAX_BYTES = 4 * 1024 * 1024;
/** After a peer refused a fan-out protocol (no handler yet), skip it this long before trying again. */
const FANOUT_RETRY_MS = 2_000;

const TOPIC_TYPES: Record<string, WireMessage['type'][]> = {
  rounds: ['round-proposal'],
  batches: ['batch-proposal', 'range-certificate'],
  combined: ['combined'],
  dkg: ['dkg'],
  epochs: ['dkg-result', 'handover-partial', 'handover-signed'],
};

/** Rejects gossip frames that are not a valid message of a type allowed on that destra topic. */
export function wireTopicValidator(network?: string): (topic: string, data: Uint8Array) => string | undefined {
  const names = network ? new Set(Object.values(wireTopics(network))) : undefined;
  return (topic, data) => {
    const kind = topicKind(topic);
    const types = kind ? TOPIC_TYPES[kind] : undefined;
    if (!types || (names && !names.has(topic))) return `no message types are defined for topic ${topic}`;
    try {
      decodeWire(data, types);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
}

/** Streams per protocol and connection (senders keep one long-lived stream; this is headroom). */
const MAX_STREAMS_PER_PROTOCOL = 64;
/** Inbound connections accepted per second from one IP, and pending upgrades at once (see createLibp2p). */
const INBOUND_CONNECTIONS_PER_SECOND = 256;
const MAX_PENDING_INBOUND = 256;

const defaultValidator = wireTopicValidator();

type TopicHandler = (data: Uint8Array, from: PeerInfo) => void;
type DirectHandler = (data: Uint8Array, from: PeerInfo) => void | Promise<void>;

export interface DestraHostEvents {
  admitted: [PeerInfo];
  refused: [{ peerId: string; reason: string }];
  disconnected: [PeerInfo];
  rejected: [{ topic: string; author: string; reason: string }];
}

export class DestraHost extends EventEmitter<DestraHostEvents> {
  readonly admitted = new Map<string, PeerInfo>();
  readonly denied = new Map<string, string>();
  private readonly topicHandlers = new Map<string, TopicHandler[]>();
  private readonly outStreams = new Map<string, Promise<Stream>>();
  /** peer|protocol → when a fan-out send was refused (the peer has no handler for that topic). */
  private readonly fanoutRefused = new Map<string, number>();
  private readonly hello: Hello;
  private stopped = false;

  private constructor(
    readonly libp2p: Libp2p<{ pubsub: GossipSub; identify: unknown }>,
    private readonly opts: HostOptions,
  ) {
    super();
    this.hello = {
      type: 'hello',
      v: 1,
      domain: opts.domain,
      role: opts.role,
      index: opts.index,
      operatorKey: publicKeyOf(opts.operatorSecret),
      peerId: libp2p.peerId.toMultihash().bytes,
      signature: signAdmission(opts.operatorSecret, opts.domain, opts.role, opts.index, libp2p.peerId.toMultihash().bytes),
    };
  }

  static async create(opts: HostOptions): Promise<DestraHost> {
    let host: DestraHost | undefined;
    const refusedAtGate = (peerId: PeerId): boolean => {
      const id = peerId.toString();
      const earlier = host?.denied.get(id);
      if (earlier !== undefined) {
        opts.log.warn({ peer: id, reason: `previously refused: ${earlier}` }, 'connection refused');
        return true;
      }
      // A registration that names peer ids makes every other peer id a stranger.
      const registered = opts.registry.registeredPeerIds();
      if (registered.size > 0 && !registered.has(id)) {
        opts.log.warn({ peer: id, reason: 'peer id is not bound to any registration' }, 'connection refused');
        host?.emit('refused', { peerId: id, reason: 'peer id is not bound to any registration' });
        return true;
      }
      return false;
    };
    const libp2p = await createLibp2p({
      privateKey: opts.privateKey,
      addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // libp2p's defaults (5 inbound connections per second per IP, 10 pending) refuse committee members
      // that share an address — a devnet on 127.0.0.1, operators behind one NAT — when a committee of
      // 14+ dials at once at an epoch boundary; the gater below already refuses every unregistered peer.
      connectionManager: { inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND, maxIncomingPendingConnections: MAX_PENDING_INBOUND },
      connectionGater: {
        denyDialMultiaddr: () => false, // loopback devnets are allowed
        denyDialPeer: refusedAtGate,
        denyInboundEncryptedConnection: refusedAtGate,
        denyOutboundEncryptedConnection: refusedAtGate,
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          floodPublish: true,
          emitSelf: false,
          allowedTopics: opts.topics,
          maxInboundDataLength: 4 * 1024 * 1024,
          // Committees are small and fully connected: keep every admitted peer in the mesh.
          D: 8,
          Dlo: 1,
          Dhi: 16,
          Dout: 1,
          // gossipsub's default. Every publish floods to all peers (floodPublish), so the heartbeat only
          // repairs the mesh and gossips IHAVE; at 500 ms it was a large share of an idle node's CPU.
          heartbeatInterval: 1000,
        }),
      },
    });
    host = new DestraHost(libp2p, opts);
    await host.start();
    return host;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  get log(): Logger {
    return this.opts.log;
  }

  multiaddrs(): Multiaddr[] {
    return this.libp2p.getMultiaddrs();
  }

  private async start(): Promise<void> {
    // A chain-driven registry changes as operators register, rotate keys and leave: peers whose
    // registration is gone (or now names another key or peer id) are disconnected, and peers refused
    // only for not being registered get another chance.
    this.opts.registry.on('changed', this.onRegistryChanged);
    await this.libp2p.handle(PROTOCOL_HELLO, (stream, connection) => this.answerHello(stream, connection), { runOnLimitedConnection: false });
    this.libp2p.addEventListener('connection:open', (evt) => this.onConnection(evt.detail));
    this.libp2p.addEventListener('peer:disconnect', (evt) => {
      const id = evt.detail.toString();
      const info = this.admitted.get(id);
      if (info) {
        this.admitted.delete(id);
        this.emit('disconnected', info);
      }
    });
    const pubsub = this.libp2p.services.pubsub;
    for (const topic of this.opts.topics) {
      pubsub.topicValidators.set(topic, (_peer, msg) => {
        if (msg.type !== 'signed') return TopicValidatorResult.Reject;
        if (!this.admitted.has(msg.from.toString())) {
          this.opts.log.debug({ topic, author: msg.from.toString() }, 'gossip from a peer that is not admitted dropped');
          return TopicValidatorResult.Ignore;
        }
        const reason = (this.opts.validate ?? defaultValidator)(topic, msg.data);
        if (reason !== undefined) {
          this.opts.log.warn({ topic, author: msg.from.toString(), reason }, 'gossip message rejected');
          this.emit('rejected', { topic, author: msg.from.toString(), reason });
          return TopicValidatorResult.Reject;
        }
        return TopicValidatorResult.Accept;
      });
    }
    pubsub.addEventListener('message', (evt) => {
      const msg = evt.detail;
      if (msg.type !== 'signed') return;
      const from = this.admitted.get(msg.from.toString());
      if (!from) return;
      for (const h of this.topicHandlers.get(msg.topic) ?? []) {
        try {
          h(msg.data, from);
        } catch (err) {
          this.opts.log.warn({ topic: msg.topic, from, err: (err as Error).message }, 'gossip message rejected');
        }
      }
    });
  }

  private onConnection(conn: Connection): void {
    const id = conn.remotePeer.toString();
    if (conn.direction === 'outbound') {
      // Transport failures and the remote's own refusal close the connection without blacklisting: the
      // dial loop retries. Only a Hello that fails verification puts a peer id on the deny list.
      void this.sendHello(conn).catch((err) => this.refuse(conn, `admission handshake failed: ${(err as Error).message}`, false));
    }
    const timeout = this.opts.admissionTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      if (!this.admitted.has(id) && conn.status === 'open') this.refuse(conn, `no admission within ${timeout} ms`, false);
    }, timeout);
    timer.unref();
  }

  private verify(hello: Hello, peer: PeerId): string | undefined {
    const verdict = checkHello(hello, peer.toMultihash().bytes, this.opts.domain, this.opts.registry.lookup);
    if (!verdict.ok) return verdict.reason;
    const reg = this.opts.registry.get(hello.role, hello.index);
    if (reg?.peerId && reg.peerId !== peer.toString()) return `${hello.role} ${hello.index} is registered with another peer id`;
    if (hello.role === this.opts.role && hello.index === this.opts.index) return 'peer claims this node\'s own registration';
    for (const [other, info] of this.admitted) {
      if (other !== peer.toString() && info.role === hello.role && info.index === hello.index) {
        return `${hello.role} ${hello.index} is already connected from peer ${other}`;
      }
    }
    return undefined;
  }

  /** Re-checks every admitted peer against the (changed) registry; forgets registration-based refusals. */
  reconcile(): void {
    if (this.stopped) return;
    for (const [id, reason] of this.denied) if (/registered|registration/.test(reason)) this.denied.delete(id);
    for (const [id, info] of [...this.admitted]) {
      const reg = this.opts.registry.get(info.role, info.index);
      const stale = !reg || (info.operatorKey !== undefined && toHex(reg.operatorKey).toLowerCase() !== info.operatorKey.toLowerCase()) || (reg.peerId !== undefined && reg.peerId !== id);
      if (!stale) continue;
      this.admitted.delete(id);
      this.opts.log.info({ peer: id, role: info.role, index: info.index }, 'peer no longer registered: disconnected');
      this.emit('disconnected', info);
      const peer = this.libp2p.getConnections().find((c) => c.remotePeer.toString() === id)?.remotePeer;
      if (peer) void this.libp2p.hangUp(peer).catch(() => undefined);
    }
  }

  private admit(peer: PeerId, hello: Hello): void {
    const id = peer.toString();
    if (this.admitted.has(id)) return;
    const info: PeerInfo = { peerId: id, role: hello.role, index: hello.index, operatorKey: toHex(hello.operatorKey) };
    this.admitted.set(id, info);
    this.opts.log.info(info, 'peer admitted');
    this.emit('admitted', info);
  }

  private refuse(conn: Connection, reason: string, deny = true): void {
    const id = conn.remotePeer.toString();
    if (this.stopped) return;
    if (deny) this.denied.set(id, reason);
    this.admitted.delete(id);
    this.opts.log.warn({ peer: id, reason }, 'peer refused and disconnected');
    this.emit('refused', { peerId: id, reason });
    void this.libp2p.hangUp(conn.remotePeer).catch(() => undefined);
  }

  private async sendHello(conn: Connection): Promise<void> {
    const stream = await conn.newStream(PROTOCOL_HELLO);
    await writeFrame(stream, HelloCodec.encode(this.hello));
    const answer = AdmissionCodec.decode(await readFrame(stream, AdmissionCodec.maxBytes));
    await stream.close().catch(() => undefined);
    if (!answer.accepted || !answer.hello) throw new DestraNodeError('ADMISSION', `remote refused us: ${answer.reason}`);
    const reason = this.verify(answer.hello, conn.remotePeer);
    if (reason) {
      this.refuse(conn, reason);
      return;
    }
    this.admit(conn.remotePeer, answer.hello);
  }

  private async answerHello(stream: Stream, conn: Connection): Promise<void> {
    let reason: string | undefined;
    let hello: Hello | undefined;
    try {
      hello = HelloCodec.decode(await readFrame(stream, HelloCodec.maxBytes));
      reason = this.verify(hello, conn.remotePeer);
    } catch (err) {
      // Unreadable hello (timeout, reset, bad frame): refuse this connection, but do not blacklist.
      await stream.close().catch(() => undefined);
      this.refuse(conn, `malformed hello: ${(err as Error).message}`, false);
      return;
    }
    if (!reason && hello) this.admit(conn.remotePeer, hello);
    const answer = reason
      ? { type: 'admission' as const, v: 1 as const, accepted: false, reason: reason.slice(0, 256), hello: null }
      : { type: 'admission' as const, v: 1 as const, accepted: true, reason: '', hello: this.hello };
    await writeFrame(stream, AdmissionCodec.encode(answer)).catch(() => undefined);
    await stream.close().catch(() => undefined);
    if (reason) this.refuse(conn, reason);
  }

  /** Dials a peer (multiaddr with /p2p/ id); admission follows on the new connection. */
  async connect(addr: string | Multiaddr): Promise<void> {
    await this.libp2p.dial(typeof addr === 'string' ? multiaddr(addr) : addr);
  }

  /** Resolves once `predicate` holds over the admitted peers, or throws after timeoutMs. */
  async waitForPeers(predicate: (admitted: PeerInfo[]) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate([...this.admitted.values()])) {
      if (Date.now() > deadline) {
        throw new DestraNodeError('P2P_TIMEOUT', `peers not admitted within ${timeoutMs} ms (have ${this.admitted.size}); check the peer addresses and registrations`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  peerFor(role: PeerRole, index: number): PeerInfo | undefined {
    for (const info of this.admitted.values()) if (info.role === role && info.index === index) return info;
    return undefined;
  }

  peersWithRole(role: PeerRole): PeerInfo[] {
    return [...this.admitted.values()].filter((p) => p.role === role);
  }

  /**
   * Admitted peers a publish on the topic would reach: gossip subscribers, or for fan-out topics every
   * admitted peer that has not just refused the topic's protocol.
   */
  topicPeers(topic: string): string[] {
    const gossip = this.isGossip(topic) ? this.libp2p.services.pubsub.getSubscribers(topic).map((p) => p.toString()).filter((p) => this.admitted.has(p)) : [];
    if (!this.isFanout(topic)) return gossip;
    const protocol = fanoutProtocol(topic);
    const now = Date.now();
    return [...new Set([...gossip, ...[...this.admitted.keys()].filter((p) => !this.fanoutPaused(p, protocol, now))])];
  }

  /** True while a peer that just refused a fan-out protocol is skipped (FANOUT_RETRY_MS). */
  private fanoutPaused(peer: string, protocol: string, now: number): boolean {
    return now - (this.fanoutRefused.get(`${peer}|${protocol}`) ?? -Infinity) < FANOUT_RETRY_MS;
  }

  private isFanout(topic: string): boolean {
    const kind = topicKind(topic) ?? '';
    return (this.opts.fanout ?? 'direct') === 'direct' && (FANOUT_KINDS.has(kind) || DUAL_KINDS.has(kind));
  }

  private isGossip(topic: string): boolean {
    return !this.isFanout(topic) || DUAL_KINDS.has(topicKind(topic) ?? '');
  }

  subscribe(topic: string, handler: TopicHandler): void {
    if (!this.opts.topics.includes(topic)) throw new DestraNodeError('P2P_TOPIC', `topic ${topic} is not in this host's topic list`);
    const list = this.topicHandlers.get(topic) ?? [];
    list.push(handler);
    this.topicHandlers.set(topic, list);
    if (this.isGossip(topic)) this.libp2p.services.pubsub.subscribe(topic);
    if (!this.isFanout(topic)) return;
    if (list.length > 1) return; // the stream handler is registered with the first subscriber
    this.handleDirect(fanoutProtocol(topic), FANOUT_MAX_BYTES, (data, from) => this.deliverTopic(topic, data, from)).catch((err) =>
      this.opts.log.error({ topic, err: (err as Error).message }, 'could not register the fan-out handler'),
    );
  }

  /** Same checks and dispatch as a gossip message: schema validation, then every subscriber. */
  private deliverTopic(topic: string, data: Uint8Array, from: PeerInfo): void {
    const reason = (this.opts.validate ?? defaultValidator)(topic, data);
    if (reason !== undefined) {
      this.opts.log.warn({ topic, author: from.peerId, reason }, 'topic message rejected');
      this.emit('rejected', { topic, author: from.peerId, reason });
      return;
    }
    for (const h of this.topicHandlers.get(topic) ?? []) {
      try {
        h(data, from);
      } catch (err) {
        this.opts.log.warn({ topic, from, err: (err as Error).message }, 'topic message rejected');
      }
    }
  }

  /** Sends to every subscriber of the topic; resolves to the number of peers that took the message. */
  async publish(topic: string, data: Uint8Array): Promise<number> {
    if (!this.isFanout(topic)) return (await this.libp2p.services.pubsub.publish(topic, data)).recipients.length;
    if (data.length > FANOUT_MAX_BYTES) throw new DestraNodeError('P2P_SIZE', `message of ${data.length} bytes exceeds the ${FANOUT_MAX_BYTES}-byte topic limit`);
    // The gossip copy of a dual topic is best effort: the direct copy is the one counted on.
    const gossip: Promise<string[]> = this.isGossip(topic)
      ? this.libp2p.services.pubsub.publish(topic, data).then((r) => r.recipients.map((p) => p.toString()), () => [])
      : Promise.resolve([]);
    const protocol = fanoutProtocol(topic);
    const now = Date.now();
    const sent = await Promise.all(
      [...this.admitted.keys()].map(async (peer) => {
        if (this.fanoutPaused(peer, protocol, now)) return undefined;
        const k = `${peer}|${protocol}`;
        try {
          await this.sendDirect(peer, protocol, data);
          this.fanoutRefused.delete(k);
          return peer;
        } catch {
          this.fanoutRefused.set(k, now); // not subscribed (yet), or the connection just went away
          return undefined;
        }
      }),
    );
    const viaGossip = await gossip;
    return new Set([...sent.filter((p) => p !== undefined), ...viaGossip]).size;
  }

  /**
   * Registers a framed protocol: each inbound stream carries any number of length-prefixed frames of at
   * most maxBytes; frames from peers that are not (or no longer) admitted are refused.
   */
  async handleDirect(protocol: string, maxBytes: number, handler: DirectHandler): Promise<void> {
    await this.libp2p.handle(
      protocol,
      async (stream, conn) => {
        const peer = conn.remotePeer.toString();
        if (!this.admitted.has(peer)) {
          this.opts.log.warn({ peer, protocol }, 'stream from a peer that is not admitted refused');
          stream.abort(new DestraNodeError('ADMISSION', 'not admitted'));
          return;
        }
        try {
          for await (const frame of lp.decode(stream, { maxDataLength: maxBytes })) {
            const from = this.admitted.get(peer);
            if (!from) throw new DestraNodeError('ADMISSION', 'peer is no longer admitted');
            const bytes = frame.subarray();
            Promise.resolve()
              .then(() => handler(bytes, from))
              .catch((err) => this.opts.log.warn({ from, protocol, err: (err as Error).message }, 'direct message rejected'));
          }
        } catch (err) {
          // An idle stream timing out is routine (the sender reopens one); anything else is a bad frame.
          const idle = stream.status !== 'open' || /timeout|aborted/i.test((err as Error).message);
          if (idle) this.opts.log.debug({ peer, protocol, err: (err as Error).message }, 'direct stream closed');
          else {
            this.opts.log.warn({ peer, protocol, err: (err as Error).message }, 'direct stream closed on a bad frame');
            stream.abort(err as Error);
          }
        }
      },
      { maxInboundStreams: MAX_STREAMS_PER_PROTOCOL },
    );
  }

  private async openStream(peerId: string, protocol: string): Promise<Stream> {
    const conns = this.libp2p.getConnections().filter((c) => c.remotePeer.toString() === peerId && c.status === 'open');
    if (conns.length === 0) throw new DestraNodeError('P2P_NOT_CONNECTED', `no open connection to ${peerId}`);
    const stream = await conns[0]!.newStream(protocol, { maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL });
    const k = `${peerId}|${protocol}`;
    stream.addEventListener('close', () => this.outStreams.delete(k));
    return stream;
  }

  /** Sends one frame to an admitted peer over a long-lived stream per (peer, protocol), reopened on failure. */
  async sendDirect(peerId: string, protocol: string, data: Uint8Array): Promise<void> {
    const k = `${peerId}|${protocol}`;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      let pending = this.outStreams.get(k);
      if (!pending) {
        pending = this.openStream(peerId, protocol);
        this.outStreams.set(k, pending);
        pending.catch(() => this.outStreams.delete(k));
      }
      try {
        const stream = await pending;
        if (stream.status !== 'open' || stream.writeStatus !== 'writable') throw new DestraNodeError('P2P_STREAM', `stream to ${peerId} is ${stream.status}`);
        await writeFrame(stream, data);
        return;
      } catch (err) {
        lastErr = err;
        if (this.outStreams.get(k) === pending) this.outStreams.delete(k);
      }
    }
    throw lastErr instanceof Error ? lastErr : new DestraNodeError('P2P_SEND', `could not send to ${peerId}`);
  }

  private readonly onRegistryChanged = (): void => this.reconcile();

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.registry.off('changed', this.onRegistryChanged);
    await this.libp2p.stop();
  }
}

export const createDestraHost = (opts: HostOptions): Promise<DestraHost> => DestraHost.create(opts);
