// `npm run bench -- models-fetch`: time for a node with an empty store to fetch a model package by CID
// from 1 and from 3 peers over the node's libp2p (bitswap among admitted operators, every block checked
// against its CID) and verify it (sizes, manifest sha256, ONNX sha256, re-read from disk), for the largest
// zoo model and for a synthetic package of DESTRA_MODELS_FETCH_MB MiB (default 64: random ONNX bytes under
// a valid manifest — fetch and verification only, no onnxruntime session). Best and median of
// DESTRA_MODELS_FETCH_TRIALS (default 3), each into a fresh store.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { pino } from 'pino';
import { domainTag, publicKeyOf, randomSecretKey } from '@destra/protocol';
import { MODELS_DIR, loadModels } from '@destra/models';
import { DestraHost, Registry, wireTopicValidator } from '@destra/oracle-node';
import { ModelStore } from '../../oracle-node/src/models/store.ts';
import { startHostExchange } from '../../oracle-node/src/models/host-exchange.ts';
import type { ModelExchange } from '../../oracle-node/src/models/exchange.ts';
import { topics } from '../../oracle-node/src/wire.ts';
import { printTable } from '../../scripts/bench-table.ts';

const NETWORK = 'bench-models';
const MB = Number(process.env.DESTRA_MODELS_FETCH_MB ?? 64);
const TRIALS = Number(process.env.DESTRA_MODELS_FETCH_TRIALS ?? 3);

interface Peer {
  host: DestraHost;
  store: ModelStore;
  ex: ModelExchange;
}

/** A model directory holding `bytes` random bytes as its ONNX file under a copy of a zoo manifest. */
function syntheticPackage(dir: string, bytes: number): string {
  const base = JSON.parse(readFileSync(join(MODELS_DIR, 'liquidation-risk', 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const onnx = randomBytes(bytes);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), onnx);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...base, name: 'synthetic', sha256: createHash('sha256').update(onnx).digest('hex') }, null, 2));
  return dir;
}

export async function run(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'destra-bench-models-'));
  const log = pino({ level: 'silent' });
  const ops = await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      const privateKey = await generateKeyPair('Ed25519');
      const secret = randomSecretKey();
      return { index: i + 1, secret, operatorKey: publicKeyOf(secret), privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
    }),
  );
  const registry = new Registry(ops.map((o) => ({ role: 'member' as const, index: o.index, operatorKey: o.operatorKey, peerId: o.peerId })));
  const limits = { maxModelBytes: Math.max(MB, 1) * 1024 * 1024 + 1, maxManifestBytes: 1 << 20 };
  const started: (() => Promise<unknown>)[] = [];
  const peer = async (i: number, storeDir: string): Promise<Peer> => {
    const o = ops[i]!;
    const host = await DestraHost.create({
      domain: domainTag(NETWORK), privateKey: o.privateKey, role: 'member', index: o.index, operatorSecret: o.secret, registry,
      topics: Object.values(topics(NETWORK)), validate: wireTopicValidator(NETWORK), log,
    });
    const store = await ModelStore.open(storeDir, limits);
    const ex = await startHostExchange(host, store, 'operators', log);
    started.push(() => host.stop(), () => ex.stop());
    return { host, store, ex };
  };
  try {
    const largest = loadModels().sort((a, b) => b.bytes.length - a.bytes.length)[0]!;
    const packages = [
      { label: `${largest.manifest.name} (largest zoo model)`, dir: join(MODELS_DIR, largest.manifest.name) },
      ...(MB > 0 ? [{ label: `synthetic ${MB} MiB`, dir: syntheticPackage(join(root, 'synthetic'), MB * 1024 * 1024) }] : []),
    ];
    // providers 1..3 hold every package, verified and served
    const providers = await Promise.all([1, 2, 3].map((i) => peer(i, join(root, `provider${i}`))));
    const cids = [];
    for (const p of packages) {
      let cid;
      for (const prov of providers) {
        const r = await prov.store.publish(p.dir);
        await prov.ex.serve(r.cid);
        cid = { cid: r.cid, manifestHash: r.model.manifestHashHex, modelHash: r.model.hashHex, bytes: statSync(join(p.dir, r.model.manifest.file)).size };
      }
      cids.push({ ...p, ...cid! });
    }
    const rows: Record<string, string | number>[] = [];
    for (const pkg of cids) {
      for (const n of [1, 3]) {
        const times: number[] = [];
        for (let t = 0; t < TRIALS; t++) {
          const fetcher = await peer(0, join(root, `fetcher-${pkg.cid.toString().slice(-8)}-${n}-${t}`));
          for (const prov of providers.slice(0, n)) await fetcher.host.connect(prov.host.multiaddrs()[0]!);
          await fetcher.host.waitForPeers((p) => p.length >= n);
          const t0 = performance.now();
          const model = await fetcher.ex.fetch(pkg.cid, { manifestHash: pkg.manifestHash, modelHash: pkg.modelHash, signal: AbortSignal.timeout(600_000) });
          times.push(performance.now() - t0);
          if (model.hashHex !== pkg.modelHash) throw new Error('fetched the wrong bytes');
          await fetcher.ex.stop();
          await fetcher.host.stop();
          await fetcher.store.close();
        }
        times.sort((a, b) => a - b);
        const best = times[0]!;
        rows.push({
          package: pkg.label, bytes: pkg.bytes, peers: n, 'fetch+verify best ms': best, 'median ms': times[Math.floor(times.length / 2)]!, 'MiB/s (best)': pkg.bytes / 1024 / 1024 / (best / 1000),
        });
      }
    }
    printTable(`fetch and verify a model package by CID from 1 and 3 peers (bitswap over the node's libp2p on 127.0.0.1, ${TRIALS} trials, fresh store each)`, rows);
  } finally {
    for (const s of started.reverse()) await s().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
