import { afterAll, describe, expect, it } from 'vitest';
import { DestraHost, wireTopicValidator } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import { controlSchema } from '../src/epoch/chain-control.ts';
import { bootstrapByPeer } from '../src/epoch/manager.ts';
import { DkgEnvelopeCodec, PROTOCOL_PARTIAL, PartialSignatureCodec, RoundProposalCodec, topics } from '../src/wire.ts';
import { TEST_DOMAIN, TEST_NETWORK, captureLog, makeOperators, type Operator } from './helpers.ts';

const t = topics(TEST_NETWORK);
const hosts: DestraHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
});

async function start(op: Operator, registry: Registry, log = captureLog()): Promise<DestraHost> {
  const h = await DestraHost.create({
    domain: TEST_DOMAIN,
    privateKey: op.privateKey,
    role: 'member',
    index: op.index,
    operatorSecret: op.secret,
    registry,
    topics: Object.values(t),
    admissionTimeoutMs: 3000,
    validate: wireTopicValidator(TEST_NETWORK),
    log: log.log,
  });
  hosts.push(h);
  return h;
}

describe('libp2p host admission', () => {
  it('admits registered members, exchanges topic (direct fan-out) and direct frames, refuses unregistered and impostor peers', async () => {
    const [a, b, stranger] = await makeOperators(3);
    // Registrations carry operator keys only (no peer ids), so admission rests on the handshake.
    const registry = new Registry([a!, b!].map((o) => ({ role: 'member' as const, index: o.index, operatorKey: o.operatorKey })));
    const logA = captureLog();
    const ha = await start(a!, registry, logA);
    const hb = await start(b!, registry);
    await hb.connect(ha.multiaddrs()[0]!);
    await ha.waitForPeers((p) => p.some((x) => x.index === 2));
    await hb.waitForPeers((p) => p.some((x) => x.index === 1));
    expect(ha.peerFor('member', 2)?.peerId).toBe(hb.peerId);

    // Direct stream: b -> a.
    const got: number[] = [];
    await ha.handleDirect(PROTOCOL_PARTIAL, PartialSignatureCodec.maxBytes, (bytes, from) => {
      got.push(PartialSignatureCodec.decode(bytes).index * 10 + from.index);
    });
    const frame = PartialSignatureCodec.encode({
      type: 'partial', v: 1, epoch: 1, requestId: new Uint8Array(32), round: 0, index: 2, report: new Uint8Array(229), digest: new Uint8Array(32), signature: new Uint8Array(48),
    });
    await hb.sendDirect(ha.peerId, PROTOCOL_PARTIAL, frame);

    // Topic message (rounds: direct fan-out): a publishes, b receives valid proposals; a malformed frame is
    // rejected with its reason and never reaches the subscriber.
    const gossip: string[] = [];
    const rejected: string[] = [];
    hb.on('rejected', (r) => rejected.push(r.reason));
    hb.subscribe(t.rounds, (data, from) => gossip.push(`${from.index}:${RoundProposalCodec.decode(data).model}`));
    ha.subscribe(t.rounds, () => undefined);
    const proposal = RoundProposalCodec.encode({
      type: 'round-proposal', v: 2, epoch: 1, leader: 1, requestId: new Uint8Array(32), nonce: new Uint8Array(16), model: 'm', input: new Uint8Array([1]), timestamp: 1, round: 0,
    });
    const deadline = Date.now() + 10_000;
    while (gossip.length === 0 && Date.now() < deadline) {
      if (ha.topicPeers(t.rounds).length > 0) await ha.publish(t.rounds, proposal);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(gossip[0]).toBe('1:m');
    await ha.publish(t.rounds, new TextEncoder().encode('garbage'));
    await waitFor(() => rejected.length > 0);
    expect(rejected[0]).toMatch(/invalid CBOR|unexpected message type/);
    expect(gossip).toHaveLength(1);
    expect(got).toEqual([22]);

    // A peer with a valid libp2p key but no registration: refused with a logged reason.
    const hs = await start({ ...stranger!, index: 3 }, registry);
    await hs.connect(ha.multiaddrs()[0]!).catch(() => undefined);
    await waitFor(() => logA.lines.some((l) => l.msg === 'peer refused and disconnected' && l.peer === hs.peerId));
    const refusal = logA.lines.find((l) => l.peer === hs.peerId)!;
    expect(refusal.reason).toMatch(/no registered member with index 3/);
    expect(ha.admitted.has(hs.peerId)).toBe(false);
    await waitFor(() => ha.libp2p.getConnections().every((c) => c.remotePeer.toString() !== hs.peerId));
    // Once refused, the gater keeps it out (a restarted stranger with the same libp2p key tries again).
    const hs2 = await start({ ...stranger!, index: 3 }, registry);
    await hs2.connect(ha.multiaddrs()[0]!).catch(() => undefined);
    await waitFor(() => logA.lines.some((l) => l.msg === 'connection refused' && l.peer === hs.peerId && /previously refused/.test(String(l.reason))));
    await waitFor(() => ha.libp2p.getConnections().every((c) => c.remotePeer.toString() !== hs.peerId));

    // An impostor claiming member 2 while holding another operator key.
    const impostor = await start({ ...stranger!, privateKey: (await makeOperators(1))[0]!.privateKey, index: 2 }, registry);
    await impostor.connect(ha.multiaddrs()[0]!).catch(() => undefined);
    await waitFor(() => logA.lines.some((l) => l.peer === impostor.peerId && typeof l.reason === 'string'));
    expect(logA.lines.find((l) => l.peer === impostor.peerId)!.reason).toMatch(/does not match the registration/);
    expect(ha.peerFor('member', 2)?.peerId).toBe(hb.peerId);
  });

  it('connection gater refuses peer ids not bound to a registration', async () => {
    const [a, b, stranger] = await makeOperators(3);
    const registry = new Registry([a!, b!].map((o) => ({ role: 'member' as const, index: o.index, operatorKey: o.operatorKey, peerId: o.peerId })));
    const logA = captureLog();
    const ha = await start(a!, registry, logA);
    const hs = await start({ ...stranger!, index: 2, secret: b!.secret }, new Registry([]));
    await hs.connect(ha.multiaddrs()[0]!).catch(() => undefined);
    await waitFor(() => logA.lines.some((l) => l.peer === hs.peerId));
    await waitFor(() => ha.libp2p.getConnections().every((c) => c.remotePeer.toString() !== hs.peerId));
    expect(ha.admitted.size).toBe(0);
    expect(logA.lines.find((l) => l.peer === hs.peerId)!.reason).toMatch(/not bound to any registration/);
  });

  it('admits a whole committee dialing one host at once from one address (an epoch boundary on a shared IP)', async () => {
    // libp2p's default inbound limit (5 connections/s per IP) refused most of a 14+ member committee
    // dialing at once from 127.0.0.1, and the genesis DKG then lacked peers.
    const ops = await makeOperators(17);
    const registry = new Registry(ops.map((o) => ({ role: 'member' as const, index: o.index, operatorKey: o.operatorKey, peerId: o.peerId })));
    registry.setMaxListeners(ops.length); // 17 hosts in one process share it here; a node has one host per registry
    const [hub, ...rest] = await Promise.all(ops.map((o) => start(o, registry)));
    await Promise.all(rest.map((h) => h.connect(hub!.multiaddrs()[0]!)));
    await hub!.waitForPeers((p) => p.length >= rest.length);
    expect([...hub!.admitted.values()].map((p) => p.index).sort((x, y) => x - y)).toEqual(ops.slice(1).map((o) => o.index));

    // A DKG message reaches every admitted member at once (direct copy), whatever gossipsub has learnt of
    // their subscriptions yet.
    const got = new Set<number>();
    rest.forEach((h, i) => h.subscribe(t.dkg, (_data, from) => void (from.index === 1 && got.add(i + 2))));
    const envelope = DkgEnvelopeCodec.encode({ type: 'dkg', v: 1, epoch: 1, from: 1, message: { type: 'complaint', session: new Uint8Array(32), from: 1, against: [] } } as never);
    await waitFor(() => {
      void hub!.publish(t.dkg, envelope);
      return got.size === rest.length;
    }, 10_000);
    expect(hub!.topicPeers(t.dkg).length).toBe(rest.length);
  }, 60_000);
});

describe('bootstrap addresses', () => {
  it('group by the peer id they end in; they only add addresses to registered peers', () => {
    const a = '/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';
    const b = '/dns4/node.example/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';
    const c = '/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq';
    const byPeer = bootstrapByPeer([a, b, c]);
    expect(byPeer.get('12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')).toEqual([a, b]);
    expect(byPeer.get('12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq')).toEqual([c]);
    const schema = controlSchema.safeParse({ rpcUrl: 'http://127.0.0.1:8545', registry: `0x${'11'.repeat(20)}`, bootstrap: ['/ip4/10.0.0.1/tcp/4001'] });
    expect(schema.success).toBe(false);
    expect(schema.error!.issues[0]!.message).toMatch(/ending in \/p2p\/<peerId>/);
    expect(controlSchema.parse({ rpcUrl: 'http://127.0.0.1:8545', registry: `0x${'11'.repeat(20)}`, bootstrap: [a] }).bootstrap).toEqual([a]);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
