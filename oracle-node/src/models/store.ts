// The node's model store on disk: a filesystem blockstore of UnixFS blocks (blocks/), Helia's filesystem
// datastore (datastore/), and an index of the packages kept here (packages/<cid>.json), each recorded only
// after every check passed. The CLI and the node open the same directory: a package published with
// `destra models publish` is found by a running node without copying anything.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsBlockstore } from 'blockstore-fs';
import { FsDatastore } from 'datastore-fs';
import { CID } from 'multiformats/cid';
import { ModelPackageError } from '@destra/models';
import { importPackage, packageModel, readModelDir, readPackage, DEFAULT_PACKAGE_LIMITS, type PackageLimits, type PackageModel } from './package.ts';
import { loadModelFromBytes } from '@destra/models';

/** What the index says about a package kept in the store. */
export interface StoredPackage {
  cid: string;
  name: string;
  version: string;
  /** sha256 of manifest.json, hex. */
  manifestHash: string;
  /** sha256 of the ONNX file, hex (the report's modelHash). */
  modelHash: string;
  bytes: number;
  /** 'published' (imported from a directory here) or 'fetched' (from peers, by CID). */
  source: 'published' | 'fetched';
  at: string;
}

const INDEX_DIR = 'packages';

export class ModelStore {
  readonly blockstore: FsBlockstore;
  readonly datastore: FsDatastore;

  private constructor(
    readonly dir: string,
    readonly limits: PackageLimits,
  ) {
    this.blockstore = new FsBlockstore(join(dir, 'blocks'));
    this.datastore = new FsDatastore(join(dir, 'datastore'));
  }

  static async open(dir: string, limits: PackageLimits = DEFAULT_PACKAGE_LIMITS): Promise<ModelStore> {
    const s = new ModelStore(dir, limits);
    try {
      mkdirSync(join(dir, INDEX_DIR), { recursive: true });
      await s.blockstore.open();
      await s.datastore.open();
    } catch (e) {
      throw new ModelPackageError(dir, `cannot open the model store (${(e as Error).message})`, 'check models.ipfs.storeDir exists and is writable by the node');
    }
    return s;
  }

  /** Imports a model directory (checked first) and records it; returns its CID and the checked model. */
  async publish(modelDir: string): Promise<{ cid: CID; model: PackageModel; entry: StoredPackage }> {
    const { files, model } = readModelDir(modelDir, this.limits);
    const cid = await importPackage(this.blockstore, files);
    const entry = this.record(cid, model, 'published');
    return { cid, model, entry };
  }

  /** Records a package whose every check passed. */
  record(cid: CID, model: PackageModel, source: StoredPackage['source']): StoredPackage {
    const entry: StoredPackage = {
      cid: cid.toString(), name: model.manifest.name, version: model.manifest.version, manifestHash: model.manifestHashHex, modelHash: model.hashHex,
      bytes: model.bytes.length, source, at: new Date().toISOString(),
    };
    const path = join(this.dir, INDEX_DIR, `${entry.cid}.json`);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(entry, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
    return entry;
  }

  /** Drops a package from the index (its blocks stay until collected). */
  forget(cid: CID | string): void {
    rmSync(join(this.dir, INDEX_DIR, `${cid.toString()}.json`), { force: true });
  }

  /** Every package the index holds, by CID. */
  packages(): StoredPackage[] {
    const out: StoredPackage[] = [];
    for (const f of readdirSync(join(this.dir, INDEX_DIR))) {
      if (!f.endsWith('.json')) continue;
      try {
        const e = JSON.parse(readFileSync(join(this.dir, INDEX_DIR, f), 'utf8')) as StoredPackage;
        if (typeof e.cid === 'string' && `${e.cid}.json` === f) out.push(e);
      } catch {
        /* a torn or foreign file: not a recorded package */
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.cid.localeCompare(b.cid));
  }

  /** The index entry of `cid`, if recorded. */
  entry(cid: CID | string): StoredPackage | undefined {
    return this.packages().find((p) => p.cid === cid.toString());
  }

  /**
   * Reads and re-checks a package from the local blocks only (no network): each block against its CID
   * (the blockstore is content-addressed: a changed block reads back as a different CID's bytes and fails
   * the exporter's hash check), the shape and sizes, and the hashes the caller expects.
   */
  async readLocal(cid: CID, expect: { manifestHash?: string; modelHash?: string } = {}, signal?: AbortSignal): Promise<PackageModel> {
    const files = await readPackage(new VerifyingBlockstore(this.blockstore), cid, this.limits, { offline: true, ...(signal ? { signal } : {}) });
    return packageModel(cid.toString(), files, { ...this.limits, ...expect }, this.dir);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.blockstore.close(), this.datastore.close()]);
  }
}

/** A blockstore view that checks every block it returns against its CID's sha2-256 digest. */
export class VerifyingBlockstore {
  constructor(private readonly inner: Pick<FsBlockstore, 'get' | 'has' | 'put'>) {}

  has(cid: CID, o?: { signal?: AbortSignal }): Promise<boolean> {
    return Promise.resolve(this.inner.has(cid, o));
  }

  put(cid: CID, bytes: Uint8Array, o?: { signal?: AbortSignal }): Promise<CID> {
    return Promise.resolve(this.inner.put(cid, bytes, o)) as Promise<CID>;
  }

  async *get(cid: CID, o?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const p of this.inner.get(cid, o) as AsyncIterable<Uint8Array>) parts.push(p);
    const bytes = Buffer.concat(parts);
    await checkBlock(cid, bytes);
    yield bytes;
  }
}

/** Throws ModelPackageError unless `bytes` hash to `cid` (sha2-256 and identity CIDs only). */
export async function checkBlock(cid: CID, bytes: Uint8Array): Promise<void> {
  const { sha256 } = await import('multiformats/hashes/sha2');
  const { identity } = await import('multiformats/hashes/identity');
  const code = cid.multihash.code;
  let digest: Uint8Array;
  if (code === sha256.code) digest = (await sha256.digest(bytes)).digest;
  else if (code === identity.code) digest = identity.digest(bytes).digest;
  else throw new ModelPackageError(cid.toString(), `uses multihash 0x${code.toString(16)}`, 'packages use sha2-256 (see docs/models.md)');
  if (Buffer.compare(Buffer.from(digest), Buffer.from(cid.multihash.digest)) !== 0) {
    throw new ModelPackageError(cid.toString(), 'a stored block does not hash to its CID (the store was altered)', 'remove the package with `destra models rm` or let the node fetch it again');
  }
}

export { CID };
