// The package format: the CID is a fixed function of the two files (the import settings are pinned by a
// vector), and reading a package back refuses every shape a hostile DAG can take: extra or missing
// files, a file where a directory belongs, a manifest or model over its limit (stated or streamed),
// blocks altered on disk.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unixfs } from '@helia/unixfs';
import { MemoryBlockstore } from 'blockstore-core/memory';
import { CID } from 'multiformats/cid';
import { MODELS_DIR, ModelPackageError } from '@destra/models';
import { DEFAULT_PACKAGE_LIMITS, dagBlocks, importPackage, packageCid, packageModel, readModelDir, readPackage } from '../src/models/package.ts';
import { ModelStore } from '../src/models/store.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'destra-pkg-'));
  dirs.push(d);
  return d;
};
const cidOf = (c: unknown): CID => CID.decode((c as CID).bytes);

describe('model packages', () => {
  it('the CID is a fixed function of manifest.json, the ONNX file and the reference file (docs/models.md vectors)', async () => {
    expect((await packageCid(join(MODELS_DIR, 'liquidation-risk'))).cid.toString()).toBe('bafybeidpydvxj57lin4ymmwosnioq34m4y7znv7jk6yvzxwmee5vciemei');
    expect((await packageCid(join(MODELS_DIR, 'bytecode-risk'))).cid.toString()).toBe('bafybeicrgmugl7sb7cn4lo4omae32bnct6276dtlgzejwwvaxyjmjf552a');
    // a multi-chunk file (1 MiB chunks, raw leaves): dag-pb file node over raw leaves, all walked
    const bs = new MemoryBlockstore();
    const { files } = readModelDir(join(MODELS_DIR, 'liquidation-risk'));
    const big = await importPackage(bs, { ...files, onnxBytes: Uint8Array.from({ length: 2_500_000 }, (_, i) => (i * 7919) % 251) });
    expect((await dagBlocks(bs, big)).length).toBe(1 /* dir */ + 1 /* manifest raw */ + 1 /* file node */ + 3 /* leaves */ + 1 /* reference.bin.gz raw */);
  });

  it('reading back refuses packages of the wrong shape or size', async () => {
    const bs = new MemoryBlockstore();
    const fs = unixfs({ blockstore: bs });
    const { files } = readModelDir(join(MODELS_DIR, 'liquidation-risk'));
    const add = async (entries: { path: string; content: Uint8Array }[]) => {
      let root: CID | undefined;
      for await (const e of fs.addAll(entries, { wrapWithDirectory: true })) if (e.path === '') root = cidOf(e.cid);
      return root!;
    };
    const limits = DEFAULT_PACKAGE_LIMITS;
    const read = (cid: CID, l = limits) => readPackage(bs, cid, l, { offline: true });
    const three = await add([{ path: 'manifest.json', content: files.manifestBytes }, { path: 'model.onnx', content: files.onnxBytes }, { path: 'extra.onnx', content: files.onnxBytes }]);
    await expect(read(three)).rejects.toThrow(/holds \[extra.onnx, manifest.json, model.onnx\]; a package is exactly manifest.json, one .onnx file and at most one .bin.gz reference file/);
    const four = await add([{ path: 'manifest.json', content: files.manifestBytes }, { path: 'model.onnx', content: files.onnxBytes }, { path: 'a.bin.gz', content: files.reference!.bytes }, { path: 'b.bin.gz', content: files.reference!.bytes }]);
    await expect(read(four)).rejects.toThrow(/holds \[a.bin.gz, b.bin.gz, manifest.json, model.onnx, …\]/);
    // a reference file other than the one the manifest names: read back, then refused as a model
    const renamed = await add([{ path: 'manifest.json', content: files.manifestBytes }, { path: 'model.onnx', content: files.onnxBytes }, { path: 'other.bin.gz', content: files.reference!.bytes }]);
    expect(() => packageModel(renamed.toString(), { ...files, reference: { file: 'other.bin.gz', bytes: files.reference!.bytes } }, {}, '')).toThrow(/carries other.bin.gz, but its manifest names reference.bin.gz/);
    expect((await read(renamed)).reference!.file).toBe('other.bin.gz');
    const noOnnx = await add([{ path: 'manifest.json', content: files.manifestBytes }, { path: 'model.bin', content: files.onnxBytes }]);
    await expect(read(noOnnx)).rejects.toThrow(ModelPackageError);
    const nested = await add([{ path: 'manifest.json', content: files.manifestBytes }, { path: 'x.onnx/inner', content: files.onnxBytes }]);
    await expect(read(nested)).rejects.toThrow(/x.onnx is a directory/);
    const fileCid = cidOf((await fs.addBytes(files.onnxBytes, { rawLeaves: true })));
    await expect(read(fileCid)).rejects.toThrow(/is not a UnixFS directory/);
    const good = await importPackage(bs, files);
    await expect(read(good, { ...limits, maxModelBytes: 1000 })).rejects.toThrow(/model.onnx is 2234 bytes, above the 1000-byte limit; raise models.ipfs.maxModelBytes/);
    await expect(read(good, { ...limits, maxManifestBytes: 100 })).rejects.toThrow(/manifest.json is \d+ bytes, above the 100-byte limit/);
    expect(Buffer.from((await read(good)).onnxBytes).equals(Buffer.from(files.onnxBytes))).toBe(true);
    // the reference vectors travel with the package, byte for byte
    expect(files.reference!.file).toBe('reference.bin.gz');
    expect(Buffer.from((await read(good)).reference!.bytes).equals(Buffer.from(files.reference!.bytes))).toBe(true);
  });

  it('a store whose blocks were altered on disk refuses them when read back', async () => {
    const store = await ModelStore.open(tmp());
    const { cid } = await store.publish(join(MODELS_DIR, 'tx-anomaly'));
    expect((await store.readLocal(cid)).manifest.name).toBe('tx-anomaly');
    // alter the ONNX leaf in place (same file name: the CID it is stored under)
    const leaf = (await dagBlocks(store.blockstore, cid)).find((c) => c.code === 0x55 && c.toString() !== cid.toString())!;
    const { dir, file } = (store.blockstore as unknown as { shardingStrategy: { encode(c: CID): { dir: string; file: string } } }).shardingStrategy.encode(leaf);
    const path = join(store.blockstore.path, dir, file);
    const bytes = readFileSync(path);
    bytes[10] = bytes[10]! ^ 1;
    writeFileSync(path, bytes);
    await expect(store.readLocal(cid)).rejects.toThrow(/does not hash to its CID/);
    await store.close();
  });

  it('publishing refuses a directory that is not a valid model', async () => {
    const store = await ModelStore.open(tmp());
    const d = tmp();
    mkdirSync(join(d, 'm'));
    writeFileSync(join(d, 'm', 'manifest.json'), readFileSync(join(MODELS_DIR, 'tx-anomaly', 'manifest.json')));
    writeFileSync(join(d, 'm', 'model.onnx'), 'not the model');
    await expect(store.publish(join(d, 'm'))).rejects.toThrow(/ONNX file sha256 .* does not match manifest sha256/);
    expect(store.packages()).toEqual([]);
    await store.close();
  });
});
