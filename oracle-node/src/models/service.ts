// What a registry-following node does with models: it serves requests for exactly the models
// ModelRegistry names with a package, each once its package is verified (CID block by block, sizes,
// manifest sha256 and ONNX sha256 against the registry). Packages come from the local store (seeded from
// the models directory or published with the CLI) or from peers by CID; a model registered while the node
// runs becomes servable without a restart, and one removed or changed stops being served (requests and
// peers alike) at the next poll.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MODELS_DIR } from '@destra/models';
import type { DestraHost } from '../p2p/host.ts';
import { ModelRefusedError } from '../inference/errors.ts';
import type { ModelsHealth } from '../inference/selfcheck.ts';
import { modelSelfCheckCounter } from '../metrics.ts';
import { ModelCatalog } from './catalog.ts';
import type { ModelsIpfsConfig } from './config.ts';
import type { ModelExchange } from './exchange.ts';
import { startHostExchange } from './host-exchange.ts';
import { MANIFEST_FILE, type PackageModel } from './package.ts';
import { RegistryFollower, rpcRegistryReader, wantedModels, type ModelRegistryReader, type RegistryEntryLike, type WantedModel } from './registry-follower.ts';
import { ModelStore } from './store.ts';

export interface ModelServiceOptions {
  config: ModelsIpfsConfig;
  /** Resolved store directory. */
  storeDir: string;
  /** The inference engine options (intraOpThreads, ...; `dir` and `models` choose what seeds the store). */
  engine: Record<string, unknown>;
  host: DestraHost;
  /** Governing chain endpoint (config.models.ipfs.rpcUrl or control.rpcUrl). */
  rpcUrl: string;
  log: Logger;
  /** Prometheus registry to add the model metrics to (the node's). */
  metrics?: Registry;
  /** Reads the registry (default: ModelRegistry over JSON-RPC). */
  reader?: ModelRegistryReader;
}

export interface ModelServiceStatus {
  registry: string;
  served: { name: string; cid: string; version: number; modelHash: string }[];
  pending: { name: string; cid: string; attempts: number; lastError: string | null }[];
  fetchedFromPeers: number;
  refusedPeers: { peer: string; reason: string }[];
}

const key = (w: WantedModel): string => `${w.cid}|${w.manifestHash}|${w.modelHash}|${w.version}`;

export class ModelService {
  private wanted = new Map<string, WantedModel>();
  private readonly pending = new Map<string, { key: string; attempts: number; lastError: string | null; timer?: NodeJS.Timeout }>();
  private installed = new Map<string, string>();
  /** Registered names whose package (this key) failed its self-check here. */
  private readonly refused = new Map<string, string>();
  private readonly selfCheckFailures: ReturnType<typeof modelSelfCheckCounter> | undefined;
  /** Package CIDs whose blocks this node offers to peers. */
  private readonly servedCids = new Set<string>();
  private fetchedFromPeers = 0;
  private stopped = false;
  private readonly m: { fetched: Counter<'from'>; failures: Counter; served: Gauge } | undefined;
  private follower: RegistryFollower | undefined;

  private constructor(
    private readonly o: ModelServiceOptions,
    readonly store: ModelStore,
    readonly exchange: ModelExchange,
    readonly catalog: ModelCatalog,
  ) {
    this.m = o.metrics
      ? {
          fetched: new Counter({ name: 'destra_models_fetched_total', help: 'Model packages verified and installed, by where their blocks came from (peers: fetched over IPFS)', labelNames: ['from'] as const, registers: [o.metrics] }),
          failures: new Counter({ name: 'destra_models_fetch_failures_total', help: 'Model package fetches or checks that failed (retried while registered)', registers: [o.metrics] }),
          served: new Gauge({ name: 'destra_models_served', help: 'Registered models this node serves', registers: [o.metrics] }),
        }
      : undefined;
    this.selfCheckFailures = o.metrics ? modelSelfCheckCounter(o.metrics) : undefined;
  }

  /**
   * Opens the store, seeds it, starts the exchange on the node's host and reads the registry once (so
   * the models already present locally are served when this returns); fetching from peers goes on in
   * the background.
   */
  static async start(o: ModelServiceOptions): Promise<ModelService> {
    const store = await ModelStore.open(o.storeDir, { maxModelBytes: o.config.maxModelBytes, maxManifestBytes: o.config.maxManifestBytes });
    const { dir, models, log: _log, ...engineOptions } = o.engine as { dir?: string; models?: string[]; log?: unknown };
    if (o.config.seed) await seedStore(store, dir ?? MODELS_DIR, models, o.log);
    const exchange = await startHostExchange(o.host, store, o.config.serve, o.log);
    const catalog = new ModelCatalog(engineOptions, o.log);
    const s = new ModelService(o, store, exchange, catalog);
    const reader = o.reader ?? (await rpcRegistryReader(o.rpcUrl, o.config.registry));
    s.follower = new RegistryFollower(reader, (entries) => s.reconcile(entries), { pollIntervalMs: o.config.pollIntervalMs, fullReadEvery: 30, log: o.log });
    try {
      await s.follower.start();
    } catch (err) {
      await s.stop();
      throw new Error(`cannot read ModelRegistry ${o.config.registry} at ${o.rpcUrl}: ${(err as Error).message.split('\n')[0]}`);
    }
    return s;
  }

  /** Applies a registry snapshot: stop what is no longer (or differently) registered, get what is new. */
  async reconcile(entries: readonly RegistryEntryLike[]): Promise<void> {
    const list = wantedModels(entries, (b) => CID.decode(b).toString(), (e, why) => this.o.log.warn({ model: e.name, why }, 'registered model skipped'));
    const next = new Map(list.map((w) => [w.name, w]));
    for (const [name, k] of [...this.installed]) {
      const w = next.get(name);
      if (w && key(w) === k) continue;
      this.installed.delete(name);
      await this.catalog.uninstall(name);
      this.o.log.info({ model: name, reason: w ? 'registry entry changed' : 'removed from the registry' }, 'model no longer served');
    }
    for (const [name, p] of [...this.pending]) {
      const w = next.get(name);
      if (w && key(w) === p.key) continue;
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(name);
    }
    for (const [name, k] of [...this.refused]) {
      const w = next.get(name);
      if (!w || key(w) !== k) this.refused.delete(name);
    }
    this.wanted = next;
    // blocks stay servable only for packages some registered model still names
    const cids = new Set(list.map((w) => w.cid));
    for (const c of [...this.servedCids]) {
      if (cids.has(c)) continue;
      this.exchange.unserve(c);
      this.servedCids.delete(c);
    }
    this.m?.served.set(this.installed.size);
    await Promise.all(list.filter((w) => this.installed.get(w.name) !== key(w) && !this.pending.has(w.name) && this.refused.get(w.name) !== key(w)).map((w) => this.obtain(w)));
  }

  /**
   * Gets one wanted model: from the local store at once (awaited, so models present locally are served
   * when start() returns), otherwise from peers in the background with retries while it stays wanted.
   */
  private async obtain(w: WantedModel): Promise<void> {
    const k = key(w);
    const state = this.pending.get(w.name) ?? { key: k, attempts: 0, lastError: null };
    this.pending.set(w.name, state);
    const cid = CID.parse(w.cid);
    const expect = { manifestHash: w.manifestHash, modelHash: w.modelHash };
    if (this.store.entry(cid) || (await this.store.blockstore.has(cid))) {
      try {
        const model = await this.store.readLocal(cid, expect);
        await this.exchange.serve(cid);
        await this.installModel(w, k, model, 'local');
        return;
      } catch (err) {
        state.lastError = (err as Error).message;
        this.o.log.warn({ model: w.name, cid: w.cid, err: state.lastError }, 'local copy of the package failed its checks; fetching it from peers');
        this.store.forget(cid);
      }
    }
    void this.fetchFromPeers(w, k, state);
  }

  private async fetchFromPeers(w: WantedModel, k: string, state: { attempts: number; lastError: string | null; timer?: NodeJS.Timeout }): Promise<void> {
    if (this.stopped || this.pending.get(w.name) !== state) return;
    state.attempts++;
    this.o.log.info({ model: w.name, cid: w.cid, attempt: state.attempts }, 'fetching model package from peers');
    let model: PackageModel;
    try {
      model = await this.exchange.fetch(CID.parse(w.cid), { manifestHash: w.manifestHash, modelHash: w.modelHash, signal: AbortSignal.timeout(this.o.config.fetchTimeoutMs) });
    } catch (err) {
      const msg = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError' ? `no peer delivered the package within ${this.o.config.fetchTimeoutMs} ms` : (err as Error).message;
      state.lastError = msg;
      this.m?.failures.inc();
      if (this.stopped || this.pending.get(w.name) !== state) return;
      const delay = Math.min(60_000, this.o.config.retryMs * 2 ** Math.min(state.attempts - 1, 6));
      this.o.log.error({ model: w.name, cid: w.cid, attempt: state.attempts, retryInMs: delay, err: msg }, 'model package not obtained; retrying');
      state.timer = setTimeout(() => void this.fetchFromPeers(w, k, state), delay);
      state.timer.unref();
      return;
    }
    await this.installModel(w, k, model, 'peers');
  }

  private async installModel(w: WantedModel, k: string, model: PackageModel, from: 'local' | 'peers'): Promise<void> {
    this.servedCids.add(w.cid);
    // still wanted as it was when this began?
    const now = this.wanted.get(w.name);
    if (this.stopped || now === undefined || key(now) !== k) return;
    try {
      await this.catalog.install({ name: w.name, node: w.node, cid: w.cid, version: w.version, model });
    } catch (err) {
      if (!(err instanceof ModelRefusedError)) throw err;
      // Deterministic on this node: not retried until the registry entry changes (reconcile).
      this.pending.delete(w.name);
      this.refused.set(w.name, k);
      this.selfCheckFailures?.inc({ model: w.name });
      this.o.log.error({ model: w.name, cid: w.cid, version: w.version, reason: err.reason }, `model ${w.name} refused: self-check failed; not served`);
      return;
    }
    this.refused.delete(w.name);
    this.pending.delete(w.name);
    this.installed.set(w.name, k);
    if (from === 'peers') this.fetchedFromPeers++;
    this.m?.fetched.inc({ from });
    this.m?.served.set(this.installed.size);
    this.o.log.info({ model: w.name, cid: w.cid, version: w.version, modelHash: w.modelHash, from }, 'model verified and served');
  }

  status(): ModelServiceStatus {
    return {
      registry: this.o.config.registry,
      served: this.catalog.entries().map((e) => ({ name: e.name, cid: e.cid, version: e.version, modelHash: e.modelHash })),
      pending: [...this.pending].map(([name, p]) => ({ name, cid: this.wanted.get(name)?.cid ?? '', attempts: p.attempts, lastError: p.lastError })),
      fetchedFromPeers: this.fetchedFromPeers,
      refusedPeers: [...this.exchange.refused].map(([peer, reason]) => ({ peer, reason })),
    };
  }

  /** /health detail: this node's family, the models it serves and those it refused (self-check). */
  health(): ModelsHealth {
    return this.catalog.health();
  }

  /** Resolves once `names` are all served (tests, devnet), or throws with what is pending. */
  async waitServed(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!names.every((n) => this.catalog.has(n))) {
      if (Date.now() > deadline) throw new Error(`models not served within ${timeoutMs} ms: ${JSON.stringify(this.status().pending)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.follower?.stop();
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    await this.catalog.close();
    await this.exchange.stop().catch(() => undefined);
    await this.store.close();
  }
}

/** Imports every model directory under `dir` (or the named ones) into the store; bad ones are logged. */
export async function seedStore(store: ModelStore, dir: string, only: readonly string[] | undefined, log: Logger): Promise<number> {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory() || (only && !only.includes(d.name)) || !existsSync(join(dir, d.name, MANIFEST_FILE))) continue;
    try {
      await store.publish(join(dir, d.name));
      n++;
    } catch (err) {
      log.warn({ dir: join(dir, d.name), err: (err as Error).message }, 'model directory not seeded into the store');
    }
  }
  log.info({ dir, packages: n }, 'model store seeded');
  return n;
}
