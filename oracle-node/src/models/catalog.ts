// The models a registry-following node serves requests for: exactly the registered models whose packages
// it verified, each with its own ONNX session (InferenceEngine), installed and removed while the node runs.
// A model is addressed by its registered name (liquidation-risk.destra), its manifest name
// (liquidation-risk), its ModelRegistry node (the namehash, what routers put in requests) or its sha256.
import type { LoadedModel, ModelManifest } from '@destra/models';
import type { Logger } from 'pino';
import { InferenceEngine, type EngineOptions, type InferenceOutput, type ModelInfo } from '../inference/engine.ts';
import { ModelRefusedError, UnknownModelError } from '../inference/errors.ts';
import { hardwareFamily } from '../inference/hardware.ts';
import { referenceFromBytes } from '../inference/reference.ts';
import type { ModelsHealth, SelfCheckResult } from '../inference/selfcheck.ts';
import type { ModelPlan } from '../inference/codec.ts';
import type { Inferencer } from '../round/inference.ts';

export interface CatalogEntry {
  /** Registered name (ENS-style). */
  name: string;
  /** ModelRegistry node (0x-hex namehash). */
  node: string;
  /** Package CID. */
  cid: string;
  version: number;
  /** The verified model; `referenceBytes`: the reference file its package carried. */
  model: LoadedModel & { referenceBytes?: Uint8Array };
}

interface Installed extends CatalogEntry {
  engine: InferenceEngine;
  keys: string[];
}

const norm = (k: string): string => {
  const s = k.toLowerCase();
  return /^0x[0-9a-f]{64}$/.test(s) ? s.slice(2) : s;
};

export class ModelCatalog implements Inferencer {
  private readonly byName = new Map<string, Installed>();
  private readonly byKey = new Map<string, Installed>();
  /** The latest self-check of each registered name (refused ones included). */
  private readonly checks = new Map<string, SelfCheckResult>();
  private closed = false;

  constructor(
    private readonly engineOptions: Omit<EngineOptions, 'dir' | 'models' | 'log'>,
    private readonly log?: Logger,
  ) {}

  /**
   * Serves `e` (replacing an earlier version of the same name once its session exists) once it passed
   * its self-check; throws ModelRefusedError (and serves nothing new) when it did not.
   */
  async install(e: CatalogEntry): Promise<void> {
    if (this.closed) return;
    // the reference vectors come with the package (a model whose manifest names none is refused under 'require')
    const ref = e.model.manifest.reference;
    const vectors = (m: LoadedModel) => (e.model.referenceBytes && ref ? referenceFromBytes(m, e.model.referenceBytes, `${e.cid}/${ref.file}`) : undefined);
    const engine = await InferenceEngine.fromLoaded([e.model], { selfCheck: 'require', ...this.engineOptions }, this.log, vectors);
    const check = engine.selfChecks[0];
    if (check) this.checks.set(e.name, check);
    if (check && !check.ok) {
      await engine.close();
      throw new ModelRefusedError(e.name, check.reason ?? 'self-check failed');
    }
    if (this.closed) {
      await engine.close();
      return;
    }
    const old = this.byName.get(e.name);
    if (old) this.drop(old);
    const keys = [e.name, e.node, e.model.hashHex].map(norm);
    // the manifest name is an alias only while no other registered model claims it
    const alias = norm(e.model.manifest.name);
    if (!this.byKey.has(alias)) keys.push(alias);
    const inst: Installed = { ...e, engine, keys };
    this.byName.set(e.name, inst);
    for (const k of keys) this.byKey.set(k, inst);
    if (old) await old.engine.close();
  }

  /** Stops serving a registered name; requests in progress finish first. */
  async uninstall(name: string): Promise<void> {
    this.checks.delete(name);
    const inst = this.byName.get(name);
    if (!inst) return;
    this.drop(inst);
    await inst.engine.close();
  }

  private drop(inst: Installed): void {
    this.byName.delete(inst.name);
    for (const k of inst.keys) if (this.byKey.get(k) === inst) this.byKey.delete(k);
  }

  /** What is served now, by registered name. */
  entries(): (Omit<CatalogEntry, 'model'> & { modelHash: string; manifestName: string })[] {
    return [...this.byName.values()].map((i) => ({ name: i.name, node: i.node, cid: i.cid, version: i.version, modelHash: i.model.hashHex, manifestName: i.model.manifest.name }));
  }

  /** /health detail: served models with their exactness and family, refused ones with the reason. */
  health(): ModelsHealth {
    const served = [...this.byName.values()].flatMap((i) => i.engine.models().map((m) => ({ model: i.name, exactness: m.exactness, family: m.family })));
    const refused = [...this.checks].filter(([name, c]) => !c.ok && !this.byName.has(name)).map(([name, c]) => ({ model: name, exactness: c.exactness, family: c.family, reason: c.reason ?? '' }));
    return { family: hardwareFamily('cpu').id, served, refused };
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private get(model: string): Installed {
    const inst = this.byKey.get(norm(model));
    if (!inst) throw new UnknownModelError(model, [...this.byName.keys()]);
    return inst;
  }

  validate(model: string, input: Uint8Array): void {
    const i = this.get(model);
    i.engine.validate(i.model.manifest.name, input);
  }

  async infer(model: string, input: Uint8Array): Promise<InferenceOutput> {
    const i = this.get(model);
    return i.engine.infer(i.model.manifest.name, input);
  }

  modelHash(model: string): Uint8Array {
    return this.get(model).model.hash;
  }

  /** The range path's fast lane (see range/inference.ts): whole batches in one onnxruntime run. */
  plan(model: string): ModelPlan {
    const i = this.get(model);
    return i.engine.plan(i.model.manifest.name);
  }

  async inferBatch(model: string, input: Uint8Array, chunkRows?: number): Promise<Uint8Array> {
    const i = this.get(model);
    return i.engine.inferBatch(i.model.manifest.name, input, chunkRows);
  }

  encodeInput(model: string, values: readonly number[]): Uint8Array {
    const i = this.get(model);
    return i.engine.encodeInput(i.model.manifest.name, values);
  }

  manifest(model: string): ModelManifest {
    return this.get(model).model.manifest;
  }

  models(): ModelInfo[] {
    return [...this.byName.values()].flatMap((i) => i.engine.models());
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.byName.values()];
    for (const i of all) this.drop(i);
    await Promise.allSettled(all.map((i) => i.engine.close()));
  }
}
