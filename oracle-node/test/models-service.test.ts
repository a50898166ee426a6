// Nodes that follow ModelRegistry on a real anvil, exchanging packages over their real libp2p hosts: a
// node with an empty store gets every registered model from its peers and answers with it; a model
// registered while the nodes run becomes servable without a restart; a removed model stops being served
// (requests and peers); a package that does not match its registry entry is never served; a package whose
// reference vectors the nodes do not reproduce bit for bit is refused by every node (self-check).
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Registry as PromRegistry } from 'prom-client';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex as viemHex, type Address, type Hex } from 'viem';
import { CID } from 'multiformats/cid';
import { deployContract, localClients, modelRegistryAbi, namehash, registrationFromManifest, setModelCall, startAnvil, type Anvil, type Clients } from '@destra/contracts';
import { ensureCompiled } from '../../contracts/scripts/compile.ts';
import { MODELS_DIR, loadModels } from '@destra/models';
import { DestraHost, wireTopicValidator } from '../src/p2p/host.ts';
import { Registry } from '../src/p2p/registry.ts';
import { topics } from '../src/wire.ts';
import { ModelService } from '../src/models/service.ts';
import { modelsIpfsSchema } from '../src/models/config.ts';
import { packageCid } from '../src/models/package.ts';
import { UnknownModelError } from '../src/inference/errors.ts';
import { TEST_DOMAIN, TEST_NETWORK, captureLog, makeOperators, type Operator } from './helpers.ts';

const t = topics(TEST_NETWORK);
let anvil: Anvil;
let gov: Clients;
let registry: Address;
const dirs: string[] = [];
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await ensureCompiled();
  anvil = await startAnvil();
  gov = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  registry = (await deployContract(gov, 'ModelRegistry', [gov.walletClient.account!.address])).address;
}, 240_000);
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await anvil?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'destra-msvc-'));
  dirs.push(d);
  return d;
};

/** Registers `model` (a zoo directory) under `name` with its package, as governance would. */
async function register(name: string, model: string, version: number, tamper?: { manifestHash?: Hex }, dir = join(MODELS_DIR, model)): Promise<CID> {
  const { cid, model: m } = await packageCid(dir);
  const reg = registrationFromManifest(m.manifest, name, {
    package: { cid: viemHex(cid.bytes), manifestHash: tamper?.manifestHash ?? (`0x${m.manifestHashHex}` as Hex) },
  });
  const call = setModelCall(reg, version);
  const hash = await gov.walletClient.writeContract({ address: registry, abi: modelRegistryAbi, functionName: call.functionName, args: call.args, account: gov.walletClient.account!, chain: gov.chain } as never);
  await gov.publicClient.waitForTransactionReceipt({ hash });
  return cid;
}

async function remove(name: string): Promise<void> {
  const hash = await gov.walletClient.writeContract({ address: registry, abi: modelRegistryAbi, functionName: 'removeModel', args: [namehash(name)], account: gov.walletClient.account!, chain: gov.chain });
  await gov.publicClient.waitForTransactionReceipt({ hash });
}

async function node(op: Operator, reg: Registry, seed: string[] | false) {
  const log = captureLog();
  const host = await DestraHost.create({
    domain: TEST_DOMAIN, privateKey: op.privateKey, role: 'member', index: op.index, operatorSecret: op.secret, registry: reg,
    topics: Object.values(t), admissionTimeoutMs: 3000, validate: wireTopicValidator(TEST_NETWORK), log: log.log,
  });
  stops.push(() => host.stop());
  const config = modelsIpfsSchema.parse({ registry, seed: seed !== false, pollIntervalMs: 200, retryMs: 300, fetchTimeoutMs: 10_000 });
  const metrics = new PromRegistry();
  const svc = await ModelService.start({ config, storeDir: tmp(), engine: seed ? { models: seed } : {}, host, rpcUrl: anvil.rpcUrl, log: log.log, metrics });
  stops.push(() => svc.stop());
  return { host, svc, log, metrics };
}

const ops: Operator[] = [];
let nodes: Awaited<ReturnType<typeof node>>[];
const input = (model: string) => {
  const m = loadModels(undefined, [model])[0]!.manifest;
  return m.inputs.flatMap((i) => i.features.map((f) => (f.min + f.max) / 2));
};

describe('nodes following ModelRegistry', () => {
  it('a node that starts with an empty store gets every registered model from its peers and answers', async () => {
    await register('liquidation-risk.destra', 'liquidation-risk', 1);
    await register('volatility-gbt.destra', 'volatility-gbt', 1);
    ops.push(...(await makeOperators(3)));
    const reg = new Registry(ops.map((o) => ({ role: 'member' as const, index: o.index, operatorKey: o.operatorKey, peerId: o.peerId })));
    // nodes 1 and 2 hold the zoo (seeded); node 3 starts with nothing
    nodes = [await node(ops[0]!, reg, ['liquidation-risk', 'volatility-gbt', 'tx-anomaly', 'price-direction']), await node(ops[1]!, reg, ['liquidation-risk', 'volatility-gbt', 'tx-anomaly', 'price-direction']), await node(ops[2]!, reg, false)];
    expect(nodes[0]!.svc.catalog.entries().map((e) => e.name).sort()).toEqual(['liquidation-risk.destra', 'volatility-gbt.destra']); // only what is registered
    expect(nodes[2]!.svc.catalog.entries()).toEqual([]);
    for (const [i, n] of nodes.entries()) for (const m of nodes.slice(i + 1)) await n.host.connect(m.host.multiaddrs()[0]!);
    await nodes[2]!.svc.waitServed(['liquidation-risk.destra', 'volatility-gbt.destra'], 30_000);
    expect(nodes[2]!.svc.status().fetchedFromPeers).toBe(2);
    const c = nodes[2]!.svc.catalog;
    const x = c.encodeInput('liquidation-risk.destra', input('liquidation-risk'));
    const mine = await c.infer(namehash('liquidation-risk.destra'), x); // the router's model id addresses it too
    const theirs = await nodes[0]!.svc.catalog.infer('liquidation-risk', x);
    expect(mine.output).toEqual(theirs.output); // the same bytes, the same answer
    expect(viemHex(mine.modelHash)).toBe(`0x${loadModels(undefined, ['liquidation-risk'])[0]!.hashHex}`);
  }, 90_000);

  it('a model registered while the nodes run becomes servable on all of them without a restart', async () => {
    // tx-anomaly is in nodes 1 and 2's stores (seeded) but not registered: not served until it is
    expect(() => nodes[0]!.svc.catalog.modelHash('tx-anomaly.destra')).toThrow(UnknownModelError);
    await register('tx-anomaly.destra', 'tx-anomaly', 1);
    for (const n of nodes) await n.svc.waitServed(['tx-anomaly.destra'], 30_000);
    expect(nodes[2]!.svc.status().fetchedFromPeers).toBe(3);
  }, 60_000);

  it('a registry entry whose manifest hash does not match the package is never served; fixed, it is', async () => {
    const cid = await register('price-direction.destra', 'price-direction', 1, { manifestHash: `0x${'11'.repeat(32)}` });
    await new Promise((r) => setTimeout(r, 1500));
    for (const n of nodes) expect(n.svc.catalog.has('price-direction.destra')).toBe(false);
    // nodes 1 and 2 hold the package, but it fails the registry's manifest hash: not served to requests,
    // and its blocks are offered to nobody, so node 3 (empty store) cannot fetch it either
    for (const n of nodes.slice(0, 2)) expect(n.svc.status().pending.find((p) => p.name === 'price-direction.destra')?.lastError).toMatch(/manifest.json sha256 [0-9a-f]{64} differs from the registry's manifestHash 1111/);
    expect(nodes[2]!.svc.status().pending.find((p) => p.name === 'price-direction.destra')?.cid).toBe(cid.toString());
    expect(nodes.every((n) => !n.svc.exchange.isServed(cid))).toBe(true);
    await register('price-direction.destra', 'price-direction', 2); // the right hashes
    for (const n of nodes) await n.svc.waitServed(['price-direction.destra'], 30_000);
  }, 60_000);

  it('a package whose reference vectors differ from what the nodes compute by one bit is refused by every node', async () => {
    // A publisher ships volatility-forecast with reference row 7's output off by one unit (manifest sha256
    // consistent with the altered file, so only recomputing it shows the lie).
    const dir = tmp();
    cpSync(join(MODELS_DIR, 'volatility-forecast'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { reference: { file: string; sha256: string } };
    const raw = gunzipSync(readFileSync(join(dir, manifest.reference.file)));
    const rows = raw.readUInt32BE(4);
    const at = 16 + rows * raw.readUInt32BE(8) * 8 + 7 * raw.readUInt32BE(12) * 8;
    raw.writeBigInt64BE(raw.readBigInt64BE(at) + 1n, at);
    writeFileSync(join(dir, manifest.reference.file), gzipSync(raw));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, reference: { ...manifest.reference, sha256: createHash('sha256').update(raw).digest('hex') } }));
    await nodes[0]!.svc.store.publish(dir); // in node 1's store; nodes 2 and 3 fetch it from peers
    const cid = await register('volatility-forecast.destra', 'volatility-forecast', 1, undefined, dir);
    const deadline = Date.now() + 30_000;
    while (nodes.some((n) => !n.svc.health().refused.some((r) => r.model === 'volatility-forecast.destra')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const n of nodes) {
      expect(n.svc.catalog.has('volatility-forecast.destra')).toBe(false);
      expect(n.svc.health().refused).toEqual([expect.objectContaining({ model: 'volatility-forecast.destra', exactness: 'same-family', reason: expect.stringMatching(/output of reference row 7 \(batch path\) differs: expected 0x[0-9a-f]{16}, computed 0x[0-9a-f]{16}/) })]);
      expect(n.log.lines.some((l) => l.model === 'volatility-forecast.destra' && l.cid === cid.toString() && String(l.msg).includes('refused: self-check failed'))).toBe(true);
      expect(await n.metrics.getSingleMetricAsString('destra_model_selfcheck_failures_total')).toMatch(/destra_model_selfcheck_failures_total\{model="volatility-forecast.destra"\} 1/);
      expect(n.svc.health().served.map((m) => m.model)).toContain('liquidation-risk.destra');
    }
  }, 60_000);

  it('a model removed from the registry stops being served by every node, to requests and to peers', async () => {
    const cid = nodes[0]!.svc.catalog.entries().find((e) => e.name === 'volatility-gbt.destra')!.cid;
    await remove('volatility-gbt.destra');
    const deadline = Date.now() + 15_000;
    while (nodes.some((n) => n.svc.catalog.has('volatility-gbt.destra')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const n of nodes) {
      expect(() => n.svc.catalog.modelHash('volatility-gbt.destra')).toThrow(/is not loaded/);
      expect(n.svc.exchange.isServed(cid)).toBe(false);
      expect(n.log.lines.some((l) => l.msg === 'model no longer served' && l.model === 'volatility-gbt.destra' && l.reason === 'removed from the registry')).toBe(true);
    }
    expect(nodes[0]!.svc.catalog.has('liquidation-risk.destra')).toBe(true);
  }, 60_000);
});
