// Epoch-aware rounds: two simulated DKGs (epochs 1 and 2) over the same four operators, whose member
// indices differ between the epochs. Four RoundEngines on an in-memory network (every message is
// delivered asynchronously, with the sender's PeerInfo as the libp2p host would give it) and a test
// aggregator that combines partials only when told to. Also the store's epoch-keyed signing guard, its
// v1 → v2 migration and the handover-signing guard.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PartialVerifier,
  combinePartials,
  decodeReport,
  evmDestination,
  rootSigningMessage,
  simulateDkg,
  toHex,
  verify,
  type DkgResult,
} from '@destra/protocol';
import { DoubleSignError } from '../src/errors.ts';
import { memberIndexOf, type EpochCommittee } from '../src/epoch/committee.ts';
import { NodeMetrics } from '../src/metrics.ts';
import type { DestraHost, PeerInfo } from '../src/p2p/host.ts';
import { RoundEngine, type ChainRequest } from '../src/round/engine.ts';
import { groupKeyVerifier, type ActiveKey } from '../src/round/keys.ts';
import { NodeStore } from '../src/store/store.ts';
import { CombinedCodec, PROTOCOL_PARTIAL, PartialSignatureCodec, RoundProposalCodec, topics as wireTopics, type PartialSignatureMsg } from '../src/wire.ts';
import { ArithmeticModel } from './fixtures.ts';
import { TEST_DOMAIN, TEST_NETWORK, captureLog, makeOperators, type Operator } from './helpers.ts';

const topics = wireTopics(TEST_NETWORK);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---- an in-memory network ----------------------------------------------------------------------------

type Handler = (data: Uint8Array, from: PeerInfo) => void | Promise<void>;

class FakeNet {
  readonly hosts = new Map<string, FakeHost>();
  host(info: PeerInfo): FakeHost {
    const h = new FakeHost(this, info);
    this.hosts.set(info.peerId, h);
    return h;
  }
}

class FakeHost {
  readonly subs = new Map<string, Handler[]>();
  readonly direct = new Map<string, Handler>();
  constructor(
    private readonly net: FakeNet,
    readonly info: PeerInfo,
  ) {}
  subscribe(topic: string, h: Handler): void {
    this.subs.set(topic, [...(this.subs.get(topic) ?? []), h]);
  }
  async publish(topic: string, data: Uint8Array): Promise<number> {
    const to = [...this.net.hosts.values()].filter((h) => h !== this);
    for (const h of to) setImmediate(() => void h.subs.get(topic)?.forEach((f) => void f(data, this.info)));
    return to.length;
  }
  peersWithRole(role: string): PeerInfo[] {
    return [...this.net.hosts.values()].filter((h) => h !== this && h.info.role === role).map((h) => h.info);
  }
  async handleDirect(protocol: string, _max: number, h: Handler): Promise<void> {
    this.direct.set(protocol, h);
  }
  async sendDirect(peerId: string, protocol: string, data: Uint8Array): Promise<void> {
    const h = this.net.hosts.get(peerId)?.direct.get(protocol);
    if (!h) throw new Error(`${peerId} does not handle ${protocol}`);
    setImmediate(() => void h(data, this.info));
  }
}

// ---- the committees ----------------------------------------------------------------------------------

/** Member index of operator A, B, C, D (registration index 1..4) in each epoch. */
const INDEX: Record<number, number[]> = { 1: [1, 2, 3, 4], 2: [3, 1, 4, 2] };
const T = 3;

interface Member {
  op: Operator;
  info: PeerInfo;
  host: FakeHost;
  keys: Map<number, ActiveKey>;
  active: number | undefined;
  store: NodeStore;
  metrics: NodeMetrics;
  engine: RoundEngine;
}

let dir: string;
let ops: Operator[];
const committees = new Map<number, EpochCommittee>();
const dkgs = new Map<number, { groupKey: Uint8Array; verifier: PartialVerifier; results: Map<number, DkgResult> }>();
let members: Member[];
let agg: TestAggregator;

/** Collects partials; combines those of a (request id, epoch) only when `combine` allows it. */
class TestAggregator {
  readonly received: { msg: PartialSignatureMsg; from: PeerInfo }[] = [];
  readonly published: { epoch: number; requestId: string }[] = [];
  readonly misnamed: string[] = [];
  combine: (epoch: number, requestId: string) => boolean = () => false;
  private readonly done = new Set<string>();

  constructor(readonly host: FakeHost) {}

  async start(): Promise<void> {
    await this.host.handleDirect(PROTOCOL_PARTIAL, 4096, (data, from) => {
      const msg = PartialSignatureCodec.decode(data);
      // Each message must name the sender's member index in the epoch it is signed for.
      const expected = memberIndexOf(committees.get(msg.epoch), from.operatorKey);
      if (expected !== msg.index) this.misnamed.push(`${from.peerId} named ${msg.index} in epoch ${msg.epoch}, expected ${expected}`);
      this.received.push({ msg, from });
      this.tryCombine(msg.epoch, toHex(msg.requestId));
    });
  }

  partials(epoch: number, requestId: string): PartialSignatureMsg[] {
    return this.received.filter((p) => p.msg.epoch === epoch && toHex(p.msg.requestId) === requestId).map((p) => p.msg);
  }

  /** Combines and broadcasts (epoch, request id) now if t valid partials are in and it is allowed. */
  tryCombine(epoch: number, requestId: string): void {
    const k = `${epoch}:${requestId}`;
    if (this.done.has(k) || !this.combine(epoch, requestId)) return;
    const { verifier, groupKey } = dkgs.get(epoch)!;
    const ps = this.partials(epoch, requestId);
    const byIndex = new Map(ps.map((p) => [p.index, p]));
    const valid = [...byIndex.values()].filter((p) => verifier.verifyBatch(rootSigningMessage(p.digest), [{ index: p.index, signature: p.signature }]).invalid.length === 0);
    if (valid.length < T) return;
    const first = valid.slice(0, T);
    const signature = combinePartials(first.map((p) => ({ index: p.index, signature: p.signature })), T);
    expect(verify(groupKey, rootSigningMessage(first[0]!.digest), signature)).toBe(true);
    this.done.add(k);
    this.published.push({ epoch, requestId });
    const frame = CombinedCodec.encode({
      type: 'combined',
      v: 1,
      epoch,
      root: first[0]!.digest,
      signature,
      entries: [{ requestId: first[0]!.requestId, report: first[0]!.report }],
      signers: first.map((p) => p.index),
      invalid: [],
      conflicting: [],
    });
    void this.host.publish(topics.combined, frame);
  }
}

const chainRequest = (n: number): ChainRequest => ({
  source: 'ethereum:31337',
  requestId: new Uint8Array(32).fill(n),
  model: 'arith',
  input: new Uint8Array([n, 2, 3]),
  timestamp: 1_700_000_000 + n,
  destination: evmDestination(31337n, new Uint8Array(20).fill(0xab)),
});

const rejected = async (m: Member, reason: string): Promise<number> =>
  Number((await m.metrics.rejected.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0);

function activate(epoch: number): void {
  for (const m of members) m.active = m.keys.has(epoch) ? epoch : undefined;
  for (const m of members) m.engine.onEpochActivated(epoch);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'destra-epoch-engine-'));
  ops = await makeOperators(4);
  for (const epoch of [1, 2]) {
    const sim = await simulateDkg({ n: 4, t: T });
    dkgs.set(epoch, { groupKey: sim.groupPublicKey, verifier: await PartialVerifier.create(sim.results.get(1)!.sharing), results: sim.results });
    committees.set(epoch, {
      epoch,
      threshold: T,
      members: ops
        .map((op, i) => ({ index: INDEX[epoch]![i]!, operatorKey: op.operatorKey, encryptionKey: new Uint8Array(32), peerId: op.peerId, addrs: [] }))
        .sort((a, b) => a.index - b.index),
    });
  }
  const net = new FakeNet();
  agg = new TestAggregator(net.host({ peerId: 'aggregator', role: 'aggregator', index: 1 }));
  await agg.start();
  members = await Promise.all(
    ops.map(async (op, i) => {
      const keys = new Map<number, ActiveKey>();
      for (const epoch of [1, 2]) {
        const r = dkgs.get(epoch)!.results.get(INDEX[epoch]![i]!)!;
        keys.set(epoch, { epoch, index: r.index, n: r.n, t: r.t, share: r.share, sharing: r.sharing, groupKey: r.groupPublicKey, groupVerifier: await groupKeyVerifier(r.groupPublicKey) });
      }
      // Registration index = position in the operator list: the member index of epoch 1 only.
      const info: PeerInfo = { peerId: op.peerId, role: 'member', index: op.index, operatorKey: toHex(op.operatorKey) };
      const store = new NodeStore(join(dir, `node${op.index}.db`));
      const metrics = new NodeMetrics();
      const m: Member = { op, info, host: net.host(info), keys, active: 1, store, metrics, engine: undefined as unknown as RoundEngine };
      m.engine = new RoundEngine({
        domain: TEST_DOMAIN,
        index: op.index,
        store,
        host: m.host as unknown as DestraHost,
        topics,
        inference: new ArithmeticModel(),
        metrics,
        activeKey: () => (m.active === undefined ? undefined : keys.get(m.active)),
        keyForEpoch: (epoch) => keys.get(epoch),
        memberIndexOf: (epoch, from) => memberIndexOf(committees.get(epoch), from.operatorKey),
        maxSkewSeconds: 30,
        timeoutMs: 15_000,
        log: captureLog('warn').log,
      });
      m.engine.start();
      return m;
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const m of members ?? []) {
    m.engine.stop();
    await m.engine.idle();
    m.store.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rounds across a handover', () => {
  const X = chainRequest(1); // open at the handover: signed again under epoch 2, completes there
  const Y = chainRequest(2); // open at the handover: its epoch-1 partials complete after the switch
  const x = toHex(X.requestId);
  const y = toHex(Y.requestId);

  it('signs chain requests under epoch 1 with the epoch-1 member indices; no result yet', async () => {
    for (const m of members) {
      m.engine.onChainRequest(X);
      m.engine.onChainRequest(Y);
    }
    await until('epoch-1 partials', () => agg.partials(1, x).length === 4 && agg.partials(1, y).length === 4);
    expect(agg.misnamed).toEqual([]);
    expect(agg.partials(1, x).map((p) => p.index).sort()).toEqual([1, 2, 3, 4]);
    for (const p of agg.partials(1, x)) expect(decodeReport(p.report).epoch).toBe(1n);
    for (const m of members) expect(m.store.getRequest(X.requestId, 0)?.status).toBe('signed');
  });

  it('re-signs an unfinished chain request under epoch 2 after onEpochActivated; it completes there', async () => {
    agg.combine = (epoch, id) => epoch === 2 && id === x;
    activate(2);
    // At once, not at the next re-send (5 s after the epoch-1 partials went out).
    await until('epoch-2 result of X on every node', () => members.every((m) => m.store.getRequest(X.requestId, 0)?.status === 'done'), 3000);
    expect(agg.misnamed).toEqual([]);
    // Operator A (registration index 1) signed as member 3 of epoch 2.
    const fromA = agg.received.filter((p) => p.from.peerId === ops[0]!.peerId && p.msg.epoch === 2 && toHex(p.msg.requestId) === x);
    expect(fromA.length).toBeGreaterThanOrEqual(1);
    expect(fromA.every((p) => p.msg.index === 3)).toBe(true);
    const { groupKey } = dkgs.get(2)!;
    for (const m of members) {
      const stored = m.store.getReport(X.requestId)!;
      expect(stored.epoch).toBe(2);
      expect(decodeReport(stored.report).epoch).toBe(2n);
      expect(verify(groupKey, rootSigningMessage(stored.root), stored.signature)).toBe(true);
      // One guard row per epoch, each with its own digest.
      const e1 = m.store.ownPartial(X.requestId, 0, 1)!;
      const e2 = m.store.ownPartial(X.requestId, 0, 2)!;
      expect(e1.signature).not.toBeNull();
      expect(e2.signature).not.toBeNull();
      expect(toHex(e1.digest)).not.toBe(toHex(e2.digest));
      expect(m.store.ownPartial(X.requestId, 0)?.epoch).toBe(2);
    }
    // Y was re-signed too (nothing combines it under epoch 2 here).
    await until('epoch-2 partials of Y', () => agg.partials(2, y).length === 4);
  });

  it('still accepts a Combined of epoch 1 arriving after the switch', async () => {
    const before = await Promise.all(members.map((m) => rejected(m, 'combined-invalid')));
    agg.combine = (epoch, id) => epoch === 1 && id === y;
    agg.tryCombine(1, y);
    expect(agg.published).toContainEqual({ epoch: 1, requestId: y });
    await until('epoch-1 result of Y on every node', () => members.every((m) => m.store.getRequest(Y.requestId, 0)?.status === 'done'));
    const { groupKey } = dkgs.get(1)!;
    for (const m of members) {
      const stored = m.store.getReport(Y.requestId)!;
      expect(stored.epoch).toBe(1);
      expect(verify(groupKey, rootSigningMessage(stored.root), stored.signature)).toBe(true);
    }
    expect(await Promise.all(members.map((m) => rejected(m, 'combined-invalid')))).toEqual(before);
  });

  it('a chain that still lists a request answered under epoch 1 gets it answered again under epoch 2; one answered under epoch 2 is left alone', async () => {
    // Y was answered (stored, done) under epoch 1; the Solana program, already in epoch 2, refuses that
    // answer and its watcher delivers Y again.
    agg.combine = (epoch, id) => epoch === 2 && id === y;
    for (const m of members) m.engine.onChainRequest(Y);
    await until('Y answered under epoch 2 on every node', () => members.every((m) => m.store.getReport(Y.requestId)?.epoch === 2 && m.store.getRequest(Y.requestId, 0)?.status === 'done'), 5000);
    // X was answered under epoch 2: a re-delivery changes nothing.
    const before = members.map((m) => m.store.getReport(X.requestId)!.combinedAt);
    for (const m of members) m.engine.onChainRequest(X);
    await sleep(200);
    expect(members.map((m) => m.store.getRequest(X.requestId, 0)?.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(members.map((m) => m.store.getReport(X.requestId)!.combinedAt)).toEqual(before);
  });

  it('refuses a proposal whose sender is not the named leader in the proposal epoch; the leader of epoch 2 names its epoch-2 index', async () => {
    const a = members[0]!; // registration index 1, member 3 in epoch 2, member 1 in epoch 1
    const before = await Promise.all(members.map((m) => rejected(m, 'impersonation')));
    const forged = {
      type: 'round-proposal' as const,
      v: 2 as const,
      epoch: 2,
      leader: 1, // A's registration index, but member 1 of epoch 2 is operator B
      requestId: new Uint8Array(32).fill(0x77),
      nonce: new Uint8Array(16),
      model: 'arith',
      input: new Uint8Array([7]),
      timestamp: Math.floor(Date.now() / 1000),
      round: 0,
    };
    await a.host.publish(topics.rounds, RoundProposalCodec.encode(forged));
    await sleep(200);
    const after = await Promise.all(members.map((m) => rejected(m, 'impersonation')));
    for (let i = 1; i < 4; i++) expect(after[i]).toBe(before[i]! + 1);
    for (const m of members.slice(1)) expect(m.store.getRequest(forged.requestId, 0)).toBeUndefined();

    // A leads an on-demand round itself: the proposal names leader 3, every member accepts it.
    agg.combine = (epoch) => epoch === 2;
    const report = await a.engine.submitOnDemand('arith', new Uint8Array([9, 9]));
    expect(report.epoch).toBe(2);
    const id = report.requestId;
    for (const m of members.slice(1)) expect(m.store.getRequest(id, 0)?.leader).toBe(3);
    expect(a.store.getRequest(id, 0)?.leader).toBe(3);
    expect(agg.misnamed).toEqual([]);
  });

  it('at a switch, an on-demand round led by a node still on the old epoch is answered under that epoch; a proposal of an epoch nobody holds a share of is refused', async () => {
    const a = members[0]!;
    a.active = 1; // A has not seen the activation yet; B, C, D are on epoch 2
    try {
      agg.combine = (epoch) => epoch === 1;
      const report = await a.engine.submitOnDemand('arith', new Uint8Array([4, 4]));
      expect(report.epoch).toBe(1);
      expect(verify(dkgs.get(1)!.groupKey, rootSigningMessage(report.root), report.signature)).toBe(true);
      expect(agg.partials(1, toHex(report.requestId)).length).toBeGreaterThanOrEqual(T);
    } finally {
      a.active = 2;
    }
    const before = await Promise.all(members.map((m) => rejected(m, 'epoch')));
    const far = { type: 'round-proposal' as const, v: 2 as const, epoch: 3, leader: 3, requestId: new Uint8Array(32).fill(0x78), nonce: new Uint8Array(16), model: 'arith', input: new Uint8Array([7]), timestamp: Math.floor(Date.now() / 1000), round: 0 };
    committees.set(3, { ...committees.get(2)!, epoch: 3 }); // A is member 3 of epoch 3, but nobody holds its share
    await a.host.publish(topics.rounds, RoundProposalCodec.encode(far));
    await sleep(200);
    committees.delete(3);
    const after = await Promise.all(members.map((m) => rejected(m, 'epoch')));
    for (let i = 1; i < 4; i++) expect(after[i]).toBe(before[i]! + 1);
    for (const m of members.slice(1)) expect(m.store.getRequest(far.requestId, 0)).toBeUndefined();
  });

  it('refuses a Combined of an epoch this node holds no key of', async () => {
    const m = members[1]!;
    const stored = m.store.getReport(X.requestId)!;
    expect(() => m.engine.acceptCombined({ type: 'combined', v: 1, epoch: 9, root: stored.root, signature: stored.signature, entries: [{ requestId: X.requestId, report: stored.report }], signers: [], invalid: [], conflicting: [] })).toThrow(/epoch 9/);
  });
});

describe('requests received without a key', () => {
  it('wait, and are signed when an epoch activates', async () => {
    const Z = chainRequest(3);
    const z = toHex(Z.requestId);
    for (const m of members) m.active = undefined;
    for (const m of members) m.engine.onChainRequest(Z);
    await Promise.all(members.map((m) => m.engine.idle()));
    for (const m of members) expect(m.store.getRequest(Z.requestId, 0)).toMatchObject({ status: 'pending', epoch: 0 });
    expect(agg.partials(2, z)).toHaveLength(0);
    agg.combine = (epoch) => epoch === 2;
    activate(2);
    await until('Z completes under epoch 2', () => members.every((m) => m.store.getRequest(Z.requestId, 0)?.status === 'done'));
    expect(members[0]!.store.getReport(Z.requestId)?.epoch).toBe(2);
  });
});

// ---- the store ---------------------------------------------------------------------------------------

/** The version-1 DDL (schema.ts before epoch-keyed partials). */
const V1_DDL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE requests (
  request_id BLOB NOT NULL, round INTEGER NOT NULL, source TEXT NOT NULL, kind INTEGER NOT NULL, epoch INTEGER NOT NULL,
  model TEXT NOT NULL, input BLOB NOT NULL, timestamp INTEGER NOT NULL, destination BLOB NOT NULL, leader INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending', 'signed', 'done', 'failed')), error TEXT, received_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, round)
);
CREATE INDEX requests_status ON requests (status);
CREATE INDEX requests_received_at ON requests (received_at);
CREATE TABLE own_partials (
  request_id BLOB NOT NULL, round INTEGER NOT NULL, epoch INTEGER NOT NULL, digest BLOB NOT NULL, report BLOB NOT NULL,
  signature BLOB, created_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, round)
);
CREATE INDEX own_partials_digest ON own_partials (digest);
CREATE INDEX own_partials_epoch ON own_partials (epoch, created_at);
CREATE TABLE reports (
  request_id BLOB NOT NULL, round INTEGER NOT NULL, epoch INTEGER NOT NULL, report BLOB NOT NULL, root BLOB NOT NULL,
  signature BLOB NOT NULL, proof BLOB NOT NULL, signers TEXT NOT NULL, invalid TEXT NOT NULL, conflicting TEXT NOT NULL,
  latency_ms INTEGER, combined_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, round)
);
CREATE INDEX reports_combined_at ON reports (combined_at);
CREATE TABLE batch_partials (
  epoch INTEGER NOT NULL, batch_id INTEGER NOT NULL, root BLOB NOT NULL, signature BLOB NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (epoch, batch_id)
);
CREATE TABLE key_shares (
  epoch INTEGER PRIMARY KEY, member_index INTEGER NOT NULL, n INTEGER NOT NULL, t INTEGER NOT NULL, session BLOB NOT NULL,
  group_key BLOB NOT NULL, commitments BLOB NOT NULL, qualified TEXT NOT NULL, disqualified TEXT NOT NULL, keystore TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
`;

describe('node store: epoch-keyed signing guard', () => {
  const id = (n: number) => new Uint8Array(32).fill(n);
  const digest = (n: number) => new Uint8Array(32).fill(n);
  const withStore = (f: (s: NodeStore, path: string) => void): void => {
    const d = mkdtempSync(join(tmpdir(), 'destra-store-v2-'));
    const s = new NodeStore(join(d, 'node.db'));
    try {
      f(s, join(d, 'node.db'));
    } finally {
      s.close();
      rmSync(d, { recursive: true, force: true });
    }
  };

  it('refuses two digests for one (id, round, epoch) but allows one per epoch', () =>
    withStore((s) => {
      const report = new Uint8Array(10);
      s.reservePartial({ requestId: id(1), round: 0, epoch: 1, digest: digest(1), report });
      expect(() => s.reservePartial({ requestId: id(1), round: 0, epoch: 1, digest: digest(2), report })).toThrow(DoubleSignError);
      expect(s.reservePartial({ requestId: id(1), round: 0, epoch: 1, digest: digest(1), report }).epoch).toBe(1); // same digest: idempotent
      s.reservePartial({ requestId: id(1), round: 0, epoch: 2, digest: digest(2), report });
      expect(() => s.reservePartial({ requestId: id(1), round: 0, epoch: 2, digest: digest(3), report })).toThrow(DoubleSignError);
      expect(toHex(s.ownPartial(id(1), 0, 1)!.digest)).toBe(toHex(digest(1)));
      expect(toHex(s.ownPartial(id(1), 0)!.digest)).toBe(toHex(digest(2))); // without epoch: the newest
      // Signatures land on the epoch they belong to.
      s.addRequest({ requestId: id(1), round: 0, source: 'x', kind: 1, epoch: 1, model: 'arith', input: new Uint8Array(1), timestamp: 1, destination: new Uint8Array(65), leader: null });
      s.markSigned(id(1), 0, new Uint8Array(48).fill(1), 1);
      expect(s.ownPartial(id(1), 0, 1)!.signature).not.toBeNull();
      expect(s.ownPartial(id(1), 0, 2)!.signature).toBeNull();
      expect(s.hasOwnLeaf(id(1), digest(2), 2)).toBe(true);
      expect(s.hasOwnLeaf(id(1), digest(2), 1)).toBe(false);
    }));

  it('retention keeps the guard rows of the active and the previous epoch', () =>
    withStore((s) => {
      const old = Date.now() - 10 * 86_400_000;
      s.addRequest({ requestId: id(1), round: 0, source: 'x', kind: 1, epoch: 1, model: 'arith', input: new Uint8Array(1), timestamp: 1, destination: new Uint8Array(65), leader: null, receivedAt: old });
      for (const epoch of [1, 2, 3]) s.reservePartial({ requestId: id(1), round: 0, epoch, digest: digest(epoch), report: new Uint8Array(1) });
      s.setRequestStatus(id(1), 0, 'done');
      s.db.prepare('UPDATE own_partials SET created_at = ?').run(old);
      const pruned = s.prune({ before: Date.now() - 1000, maxRows: 1000, keepGuardFromEpoch: 2 }); // active epoch 3
      expect(pruned.ownPartials).toBe(1);
      expect([1, 2, 3].map((e) => s.ownPartial(id(1), 0, e) !== undefined)).toEqual([false, true, true]);
    }));

  it('migrates a version-1 file in place, keeping every row', () => {
    const d = mkdtempSync(join(tmpdir(), 'destra-store-v1-'));
    const path = join(d, 'node.db');
    try {
      const v1 = new Database(path);
      v1.exec(V1_DDL);
      const ins = v1.prepare('INSERT INTO own_partials (request_id, round, epoch, digest, report, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
      ins.run(id(1), 0, 1, digest(1), Buffer.from([1, 2]), Buffer.alloc(48, 1), 111);
      ins.run(id(2), 5, 1, digest(2), Buffer.from([3]), null, 222);
      v1.prepare(`INSERT INTO requests (request_id, round, source, kind, epoch, model, input, timestamp, destination, leader, status, received_at) VALUES (?, 0, 'x', 1, 1, 'arith', ?, 1, ?, NULL, 'signed', 5)`).run(
        id(1),
        Buffer.from([1]),
        Buffer.alloc(65),
      );
      v1.prepare("INSERT INTO batch_partials (epoch, batch_id, root, signature, created_at) VALUES (1, 7, ?, ?, 9)").run(Buffer.alloc(32, 7), Buffer.alloc(48, 7));
      v1.close();

      const s = new NodeStore(path);
      try {
        expect(s.getMeta('schema_version')).toBe('2');
        expect(s.counts()).toMatchObject({ ownPartials: 2, requests: 1, batchPartials: 1 });
        const p1 = s.ownPartial(id(1), 0, 1)!;
        expect(p1).toMatchObject({ round: 0, epoch: 1, createdAt: 111 });
        expect(toHex(p1.digest)).toBe(toHex(digest(1)));
        expect(p1.signature).toEqual(new Uint8Array(48).fill(1));
        expect(s.ownPartial(id(2), 5)).toMatchObject({ epoch: 1, signature: null, createdAt: 222 });
        expect(s.getRequest(id(1), 0)?.status).toBe('signed');
        // The migrated guard still refuses a second digest in epoch 1, and allows epoch 2.
        expect(() => s.reservePartial({ requestId: id(1), round: 0, epoch: 1, digest: digest(9), report: new Uint8Array(1) })).toThrow(DoubleSignError);
        s.reservePartial({ requestId: id(1), round: 0, epoch: 2, digest: digest(9), report: new Uint8Array(1) });
        const indexes = (s.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'own_partials'").all() as { name: string }[]).map((r) => r.name);
        expect(indexes).toEqual(expect.arrayContaining(['own_partials_digest', 'own_partials_epoch']));
        expect(s.db.prepare("SELECT name FROM sqlite_master WHERE name = 'own_partials_v1'").get()).toBeUndefined();
      } finally {
        s.close();
      }
      // Reopening a migrated file is a no-op.
      const again = new NodeStore(path);
      expect(again.counts().ownPartials).toBe(3);
      again.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('refuses a file of a newer schema version', () => {
    const d = mkdtempSync(join(tmpdir(), 'destra-store-v9-'));
    try {
      const db = new Database(join(d, 'node.db'));
      db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '9');");
      db.close();
      expect(() => new NodeStore(join(d, 'node.db'))).toThrow(/schema version 9/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('records one handover hash per old epoch and refuses a second one', () => {
    const d = mkdtempSync(join(tmpdir(), 'destra-store-handover-'));
    const path = join(d, 'node.db');
    try {
      const s = new NodeStore(path);
      const h1 = new Uint8Array(32).fill(0xa1);
      const h2 = new Uint8Array(32).fill(0xa2);
      expect(s.reserveHandoverSignature(1, h1)).toBe(true);
      expect(s.reserveHandoverSignature(1, h1)).toBe(false); // same hash: fine, idempotent
      expect(() => s.reserveHandoverSignature(1, h2)).toThrow(DoubleSignError);
      expect(s.reserveHandoverSignature(2, h2)).toBe(true); // another epoch's handover
      s.close();
      const again = new NodeStore(path); // durable
      expect(() => again.reserveHandoverSignature(1, h2)).toThrow(DoubleSignError);
      expect(again.handoverSignature(1)).toEqual(h1);
      again.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
