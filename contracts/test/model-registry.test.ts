// ModelRegistry's package records on a real anvil: a name maps to the package CID and manifest hash set by
// governance, listed for nodes that follow the registry; removal makes the name unknown (requests revert)
// and keeps the version monotonic; malformed packages and strangers are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toHex, type Address, type Hex } from 'viem';
import { ensureCompiled } from '../scripts/compile.ts';
import { modelRegistryAbi } from '../src-ts/abi.ts';
import { deployContract, localClients, namehash, readRegisteredModels, isRegistered, registerModelFromManifest, setModelCall, startAnvil, type Anvil, type Clients } from '../src-ts/index.ts';

let anvil: Anvil;
let gov: Clients;
let stranger: Clients;
let models: Address;

const HASH = keccak256(toHex('onnx-bytes')) as Hex;
const MANIFEST = keccak256(toHex('manifest-bytes')) as Hex;
/** A CIDv1 (dag-pb, sha2-256) as binary hex: 0x01 0x70 0x12 0x20 + 32 digest bytes. */
const CID = `0x01701220${'ab'.repeat(32)}` as Hex;
const CID2 = `0x01701220${'cd'.repeat(32)}` as Hex;

beforeAll(async () => {
  await ensureCompiled();
  anvil = await startAnvil();
  gov = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  stranger = localClients(anvil.rpcUrl, anvil.privateKeys[1]!);
  models = (await deployContract(gov, 'ModelRegistry', [gov.walletClient.account!.address])).address;
}, 240_000);
afterAll(async () => anvil?.stop());

async function send(c: Clients, functionName: string, args: readonly unknown[]): Promise<void> {
  const { request } = await c.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName, args, account: c.walletClient.account! } as never);
  const hash = await c.walletClient.writeContract(request as never);
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== 'success') throw new Error(`${functionName} reverted`);
}
const read = (functionName: string, args: readonly unknown[] = []) => gov.publicClient.readContract({ address: models, abi: modelRegistryAbi, functionName, args } as never) as Promise<any>;
const pkgArgs = (name: string, version: number, cid: Hex = CID, manifestHash: Hex = MANIFEST) => [name, version, HASH, HASH, HASH, 10_000n, cid, manifestHash] as const;

describe('ModelRegistry packages', () => {
  it('maps a name to its package CID and manifest hash; entries lists every name for followers', async () => {
    await send(gov, 'setModelPackage', pkgArgs('liquidation-risk.destra', 1));
    await send(gov, 'setModel', ['plain.destra', 1, HASH, HASH, HASH, 1n]);
    const node = namehash('liquidation-risk.destra');
    expect(await read('packageOf', [node])).toEqual([CID, MANIFEST, HASH, 1]);
    expect((await read('packageOf', [namehash('plain.destra')]))[0]).toBe('0x'); // registered without a package
    const list = await readRegisteredModels(gov.publicClient, models);
    expect(list.map((e) => [e.name, e.version, e.cid, e.manifestHash])).toEqual([
      ['liquidation-risk.destra', 1, CID, MANIFEST],
      ['plain.destra', 1, '0x', `0x${'00'.repeat(32)}`],
    ]);
    expect(list.every(isRegistered)).toBe(true);
    // a new version with another package replaces the CID; the name is listed once
    await send(gov, 'setModelPackage', pkgArgs('liquidation-risk.destra', 2, CID2));
    expect((await read('packageOf', [node]))[0]).toBe(CID2);
    expect(await read('modelCount')).toBe(2n);
  });

  it('refuses malformed packages and callers other than governance', async () => {
    const sim = (c: Clients, args: readonly unknown[]) => c.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName: 'setModelPackage', args, account: c.walletClient.account! } as never);
    await expect(sim(stranger, pkgArgs('x.destra', 1))).rejects.toThrow(/NotGovernance/);
    await expect(sim(gov, pkgArgs('x.destra', 1, '0x'))).rejects.toThrow(/InvalidModel[\s\S]*cid/);
    await expect(sim(gov, pkgArgs('x.destra', 1, `0x12${'00'.repeat(35)}` as Hex))).rejects.toThrow(/cid/); // a CIDv0 / not version 1
    await expect(sim(gov, pkgArgs('x.destra', 1, `0x01${'00'.repeat(128)}` as Hex))).rejects.toThrow(/cid/); // over MAX_CID_BYTES
    await expect(sim(gov, pkgArgs('x.destra', 1, CID, `0x${'00'.repeat(32)}` as Hex))).rejects.toThrow(/manifestHash/);
    await expect(stranger.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName: 'removeModel', args: [namehash('plain.destra')], account: stranger.walletClient.account! })).rejects.toThrow(/NotGovernance/);
  });

  it('removal makes the name unknown to requests and followers; re-registration needs a higher version', async () => {
    const node = namehash('plain.destra');
    await send(gov, 'removeModel', [node]);
    await expect(read('requestTerms', [node])).rejects.toThrow(/UnknownModel/);
    await expect(read('packageOf', [node])).rejects.toThrow(/UnknownModel/);
    await expect(gov.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName: 'removeModel', args: [node], account: gov.walletClient.account! })).rejects.toThrow(/UnknownModel/);
    const removed = (await readRegisteredModels(gov.publicClient, models)).find((e) => e.name === 'plain.destra')!;
    expect(isRegistered(removed)).toBe(false);
    expect(removed.version).toBe(1);
    await expect(gov.publicClient.simulateContract({ address: models, abi: modelRegistryAbi, functionName: 'setModelPackage', args: pkgArgs('plain.destra', 1), account: gov.walletClient.account! })).rejects.toThrow(/version must increase/);
    await send(gov, 'setModelPackage', pkgArgs('plain.destra', 2));
    expect(await read('packageOf', [node])).toEqual([CID, MANIFEST, HASH, 2]);
    expect(await read('modelCount')).toBe(2n); // the name keeps its place in the list
  });

  it('registerModelFromManifest registers the package and re-registers (next version) only when the package changes', async () => {
    const manifest = { name: 'vol', sha256: 'ef'.repeat(32), inputs: [{ a: 1 }], outputs: [{ scale: 100 }] };
    const reg = await registerModelFromManifest(gov, models, manifest, { name: 'vol.destra', package: { cid: CID, manifestHash: MANIFEST } });
    const node = namehash('vol.destra');
    expect(await read('packageOf', [node])).toEqual([CID, MANIFEST, `0x${'ef'.repeat(32)}`, 1]);
    await registerModelFromManifest(gov, models, manifest, { name: 'vol.destra', package: { cid: CID, manifestHash: MANIFEST } });
    expect((await read('packageOf', [node]))[3]).toBe(1); // same package: no new version
    await registerModelFromManifest(gov, models, manifest, { name: 'vol.destra', package: { cid: CID2, manifestHash: MANIFEST } });
    expect(await read('packageOf', [node])).toEqual([CID2, MANIFEST, `0x${'ef'.repeat(32)}`, 2]);
    // the governance proposal's calldata is the same call
    expect(setModelCall(reg, 3).functionName).toBe('setModelPackage');
    expect(setModelCall({ ...reg, package: undefined } as never, 3).functionName).toBe('setModel');
  });
});
