// Model packages between real libp2p hosts (the node's DestraHost, admission by registry): a package
// published on one node is fetched by CID by another with an empty store and served on from there; a
// committee member that sends altered blocks is refused and the fetch completes from an honest peer;
// strangers to the registry get nothing; size limits refuse oversized packages with a clear error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBitswap } from '@helia/bitswap';
import { CID } from 'multiformats/cid';
import { MODELS_DIR, ModelPackageError } from '@destra/models';
import { DestraHost, wireTopicValidator } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import { topics } from '../src/wire.ts';
import { ModelStore } from '../src/models/store.ts';
import { startHostExchange } from '../src/models/host-exchange.ts';
import type { ModelExchange } from '../src/models/exchange.ts';
import { packageCid } from '../src/models/package.ts';
import { TEST_DOMAIN, TEST_NETWORK, captureLog, makeOperators, type Operator } from './helpers.ts';

const t = topics(TEST_NETWORK);
const dirs: string[] = [];
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'destra-models-'));
  dirs.push(d);
  return d;
};

async function host(op: Operator, registry: Registry, log = captureLog()): Promise<DestraHost> {
  const h = await DestraHost.create({
    domain: TEST_DOMAIN, privateKey: op.privateKey, role: 'member', index: op.index, operatorSecret: op.secret, registry,
    topics: Object.values(t), admissionTimeoutMs: 3000, validate: wireTopicValidator(TEST_NETWORK), log: log.log,
  });
  stops.push(() => h.stop());
  return h;
}

async function node(op: Operator, registry: Registry, limits?: { maxModelBytes: number; maxManifestBytes: number }) {
  const log = captureLog();
  const h = await host(op, registry, log);
  const store = await ModelStore.open(tmp(), limits);
  const ex = await startHostExchange(h, store, 'operators', log.log);
  stops.push(() => ex.stop());
  return { host: h, store, ex, log };
}

async function connectAll(hosts: DestraHost[]): Promise<void> {
  for (let i = 0; i < hosts.length; i++) for (let j = i + 1; j < hosts.length; j++) await hosts[i]!.connect(hosts[j]!.multiaddrs()[0]!);
  for (const h of hosts) await h.waitForPeers((p) => p.length >= hosts.length - 1);
}

const registryOf = (ops: Operator[]) => new Registry(ops.map((o) => ({ role: 'member' as const, index: o.index, operatorKey: o.operatorKey, peerId: o.peerId })));
const fetchWithin = (ex: ModelExchange, cid: CID, expect: { manifestHash: string; modelHash: string }, ms = 20_000) => ex.fetch(cid, { ...expect, signal: AbortSignal.timeout(ms) });

describe('model packages over bitswap between admitted operators', () => {
  it('a node with an empty store fetches a published package by CID, verifies it and serves it on', async () => {
    const ops = await makeOperators(3);
    const reg = registryOf(ops);
    const [a, b, c] = [await node(ops[0]!, reg), await node(ops[1]!, reg), await node(ops[2]!, reg)];
    await connectAll([a.host, b.host]);
    const dir = join(MODELS_DIR, 'bytecode-risk'); // 188 KiB: several blocks? one chunk, one raw leaf per file
    const { cid, model } = await a.store.publish(dir);
    expect(cid.toString()).toBe((await packageCid(dir)).cid.toString()); // the CID anyone recomputes offline
    await a.ex.serve(cid);
    const expect_ = { manifestHash: model.manifestHashHex, modelHash: model.hashHex };
    const got = await fetchWithin(b.ex, cid, expect_);
    expect(got.hashHex).toBe(model.hashHex);
    expect(b.store.entry(cid)?.source).toBe('fetched');
    expect(b.ex.isServed(cid)).toBe(true);
    // c only knows b: the package travels on from the node that fetched it
    await a.host.stop();
    await connectAll([b.host, c.host]);
    expect((await fetchWithin(c.ex, cid, expect_)).hashHex).toBe(model.hashHex);
    // a registry entry that names other hashes than the package holds is refused, whatever the CID
    await expect(c.ex.fetch(cid, { manifestHash: 'aa'.repeat(32), modelHash: model.hashHex })).rejects.toThrow(/manifest.json sha256 .* differs from the registry's manifestHash/);
  }, 60_000);

  it('an unverified package is not served: a peer asking for it gets nothing until this node verified it', async () => {
    const ops = await makeOperators(2);
    const reg = registryOf(ops);
    const [a, b] = [await node(ops[0]!, reg), await node(ops[1]!, reg)];
    await connectAll([a.host, b.host]);
    const { cid, model } = await a.store.publish(join(MODELS_DIR, 'volatility-forecast'));
    // published (in a's store) but not served: b's fetch times out
    await expect(fetchWithin(b.ex, cid, { manifestHash: model.manifestHashHex, modelHash: model.hashHex }, 2_000)).rejects.toThrow();
    expect(b.store.entry(cid)).toBeUndefined();
    const pending = fetchWithin(b.ex, cid, { manifestHash: model.manifestHashHex, modelHash: model.hashHex });
    await a.ex.serve(cid); // verified: the waiting peer gets its blocks
    expect((await pending).hashHex).toBe(model.hashHex);
  }, 60_000);

  it('a member sending altered blocks is refused; the fetch completes from an honest peer', async () => {
    const ops = await makeOperators(3);
    const reg = registryOf(ops);
    const fetcher = await node(ops[0]!, reg);
    const honest = await node(ops[1]!, reg);
    // The hostile member: an admitted operator whose bitswap answers every want with altered bytes.
    const hostileHost = await host(ops[2]!, reg);
    const { cid, model } = await honest.store.publish(join(MODELS_DIR, 'liquidation-risk'));
    await honest.ex.serve(cid);
    const truth = honest.store.blockstore;
    const altered = {
      has: async () => true,
      get: async function* (c: CID) {
        const parts: Uint8Array[] = [];
        for await (const p of truth.get(c)) parts.push(p);
        const bytes = Buffer.concat(parts);
        bytes[bytes.length - 1]! ^= 0xff;
        yield bytes;
      },
    };
    const hostile = createBitswap({ libp2p: hostileHost.libp2p as never, blockstore: altered as never, routing: { findProviders: async function* () {} } as never, logger: hostileHost.libp2p.logger, getHasher: (async () => (await import('multiformats/hashes/sha2')).sha256) as never } as never);
    await hostile.start();
    stops.push(async () => hostile.stop());
    // only the hostile member is connected at first: its altered blocks must not complete the fetch
    await connectAll([fetcher.host, hostileHost]);
    const pending = fetchWithin(fetcher.ex, cid, { manifestHash: model.manifestHashHex, modelHash: model.hashHex }, 30_000);
    const deadline = Date.now() + 10_000;
    while (!fetcher.ex.refused.has(hostileHost.peerId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(fetcher.ex.refused.get(hostileHost.peerId)).toMatch(/never asked for/);
    expect(fetcher.log.lines.some((l) => l.msg === 'peer refused for model blocks' && l.peer === hostileHost.peerId)).toBe(true);
    // the honest member joins: the fetch completes with the true bytes
    await fetcher.host.connect(honest.host.multiaddrs()[0]!);
    await fetcher.host.waitForPeers((p) => p.some((x) => x.peerId === honest.host.peerId));
    expect((await pending).hashHex).toBe(model.hashHex);
    expect(fetcher.ex.isServed(cid)).toBe(true);
  }, 60_000);

  it('size limits refuse an oversized package with what was wrong and what to do', async () => {
    const ops = await makeOperators(2);
    const reg = registryOf(ops);
    const a = await node(ops[0]!, reg);
    const small = await node(ops[1]!, reg, { maxModelBytes: 100_000, maxManifestBytes: 1 << 20 });
    await connectAll([a.host, small.host]);
    const { cid, model } = await a.store.publish(join(MODELS_DIR, 'bytecode-risk')); // 188 KiB ONNX
    await a.ex.serve(cid);
    const err = await fetchWithin(small.ex, cid, { manifestHash: model.manifestHashHex, modelHash: model.hashHex }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackageError);
    expect((err as Error).message).toMatch(/model.onnx is 192684 bytes, above the 100000-byte limit; raise models.ipfs.maxModelBytes/);
    expect(small.store.entry(cid)).toBeUndefined();
    // publishing refuses it locally too
    await expect(small.store.publish(join(MODELS_DIR, 'bytecode-risk'))).rejects.toThrow(/above the 100000-byte limit/);
  }, 60_000);
});
