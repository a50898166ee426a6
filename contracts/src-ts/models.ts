// Registers a model in ModelRegistry from its manifest, so the on-chain output scale is the one the
// committee signs at (models/<name>/manifest.json): the one source of the scale. Consumers such as
// RiskLendingMarket read the scale from the registry, never from a constant. A registration may name the
// model's package (CID of the UnixFS directory + sha256 of manifest.json, docs/models.md): nodes fetch it.
import { encodeFunctionData, keccak256, toHex, type Address, type Hex, type PublicClient } from 'viem';
import { modelRegistryAbi } from './abi.ts';
import type { Clients } from './deploy-util.ts';
import { namehash } from './deploy.ts';

/** The manifest fields registration needs (structurally compatible with @destra/models' ModelManifest). */
export interface ManifestForRegistry {
  name: string;
  sha256: string;
  inputs: readonly unknown[];
  outputs: readonly { scale: number }[];
}

export class ModelScaleError extends Error {
  override name = 'ModelScaleError';
}

/** The single output scale of a manifest: every output must share one positive integer scale. */
export function manifestOutputScale(m: ManifestForRegistry): bigint {
  const scales = [...new Set(m.outputs.map((o) => o.scale))];
  if (scales.length !== 1) throw new ModelScaleError(`model ${m.name}: outputs use scales [${scales.join(', ')}]; the registry holds one output scale per model`);
  const s = scales[0]!;
  if (!Number.isSafeInteger(s) || s < 1) throw new ModelScaleError(`model ${m.name}: output scale ${s} is not a positive integer; the registry stores uint64 scales`);
  return BigInt(s);
}

export interface ModelRegistration {
  name: string;
  modelHash: Hex;
  inputSchemaHash: Hex;
  outputSchemaHash: Hex;
  outputScale: bigint;
  /** ETH fee per request in wei (deployProtocol's default when absent). */
  feeWei?: bigint;
  /** DSYNC burned per request in base units (deployProtocol's default when absent). */
  burnDsync?: bigint;
  /** The model package (setModelPackage); absent: registered without one (setModel). */
  package?: ModelPackageRef;
}

/** What the chain names of a model package: binary CIDv1 (0x-hex) and sha256 of manifest.json. */
export interface ModelPackageRef {
  cid: Hex;
  manifestHash: Hex;
}

/**
 * What `setModel` is called with for a manifest. `expect` lets a caller state what it believes (the hash
 * it loaded, a scale it assumes); any disagreement with the manifest is refused with ModelScaleError.
 */
export function registrationFromManifest(
  m: ManifestForRegistry,
  registeredName: string,
  expect: { modelHash?: Hex | Uint8Array; outputScale?: bigint; package?: ModelPackageRef } = {},
): ModelRegistration {
  const outputScale = manifestOutputScale(m);
  if (expect.outputScale !== undefined && expect.outputScale !== outputScale) {
    throw new ModelScaleError(`model ${m.name}: output scale ${expect.outputScale} does not match the manifest's ${outputScale}`);
  }
  const modelHash = `0x${m.sha256.toLowerCase()}` as Hex;
  if (expect.modelHash !== undefined) {
    const given = (typeof expect.modelHash === 'string' ? expect.modelHash : toHex(expect.modelHash)).toLowerCase();
    if (given !== modelHash) throw new ModelScaleError(`model ${m.name}: hash ${given} does not match the manifest's ${modelHash}`);
  }
  return {
    name: registeredName,
    modelHash,
    inputSchemaHash: keccak256(toHex(JSON.stringify(m.inputs))),
    outputSchemaHash: keccak256(toHex(JSON.stringify(m.outputs))),
    outputScale,
    ...(expect.package ? { package: expect.package } : {}),
  };
}

/** The ModelRegistry call that registers `reg` at `version` (setModelPackage with a package, else setModel). */
export function setModelCall(reg: ModelRegistration, version: number): { functionName: 'setModel' | 'setModelPackage'; args: readonly unknown[]; data: Hex } {
  const base = [reg.name, version, reg.modelHash, reg.inputSchemaHash, reg.outputSchemaHash, reg.outputScale] as const;
  const call = reg.package
    ? { functionName: 'setModelPackage' as const, args: [...base, reg.package.cid, reg.package.manifestHash] as const }
    : { functionName: 'setModel' as const, args: base };
  return { ...call, data: encodeFunctionData({ abi: modelRegistryAbi, functionName: call.functionName, args: call.args } as never) };
}

/** One ModelRegistry name as `entries` lists it; `modelHash` is 0x00…00 for a removed model. */
export interface RegisteredModel {
  node: Hex;
  name: string;
  version: number;
  outputScale: bigint;
  modelHash: Hex;
  manifestHash: Hex;
  /** Binary CIDv1 as 0x-hex; '0x' when registered without a package. */
  cid: Hex;
}

const ZERO32 = `0x${'00'.repeat(32)}`;
/** Names read per `entries` call. */
const ENTRIES_PAGE = 64;

/** Every name ModelRegistry holds (removed ones included, modelHash zero), in registration order. */
export async function readRegisteredModels(client: Pick<PublicClient, 'readContract'>, models: Address, opts: { blockNumber?: bigint } = {}): Promise<RegisteredModel[]> {
  const at = opts.blockNumber !== undefined ? { blockNumber: opts.blockNumber } : {};
  const count = (await client.readContract({ address: models, abi: modelRegistryAbi, functionName: 'modelCount', ...at })) as bigint;
  const out: RegisteredModel[] = [];
  for (let start = 0n; start < count; start += BigInt(ENTRIES_PAGE)) {
    const page = (await client.readContract({ address: models, abi: modelRegistryAbi, functionName: 'entries', args: [start, BigInt(ENTRIES_PAGE)], ...at })) as readonly {
      node: Hex; name: string; version: number; outputScale: bigint; modelHash: Hex; manifestHash: Hex; cid: Hex;
    }[];
    for (const e of page) out.push({ node: e.node, name: e.name, version: e.version, outputScale: e.outputScale, modelHash: e.modelHash, manifestHash: e.manifestHash, cid: e.cid });
  }
  return out;
}

/** True when the entry is registered (not removed). */
export const isRegistered = (e: RegisteredModel): boolean => e.modelHash !== ZERO32;

/**
 * Throws ModelScaleError unless ModelRegistry holds `reg`'s hash and output scale for its name (what a
 * deployment that registered models through deployProtocol's `models` option checks afterwards).
 */
export async function checkModelRegistration(clients: Pick<Clients, 'publicClient'>, models: Address, reg: ModelRegistration): Promise<void> {
  const [, modelHash, , , outputScale] = await clients.publicClient.readContract({ address: models, abi: modelRegistryAbi, functionName: 'resolve', args: [namehash(reg.name)] });
  if (modelHash.toLowerCase() !== reg.modelHash.toLowerCase()) throw new ModelScaleError(`model ${reg.name}: registry holds hash ${modelHash}, manifest ${reg.modelHash}`);
  if (outputScale !== reg.outputScale) throw new ModelScaleError(`model ${reg.name}: registry holds output scale ${outputScale}, manifest ${reg.outputScale}`);
}

/**
 * Registers (or re-registers with the next version) `registeredName` from its manifest and checks the
 * stored scale afterwards. A no-op when the registry already holds this hash and scale. The caller must
 * be the registry's governance (after deployProtocol: the governor, i.e. a passed proposal or, in tests,
 * an impersonated governor).
 */
export async function registerModelFromManifest(
  clients: Clients,
  models: Address,
  m: ManifestForRegistry,
  opts: { name?: string; modelHash?: Hex | Uint8Array; outputScale?: bigint; package?: ModelPackageRef } = {},
): Promise<ModelRegistration> {
  const reg = registrationFromManifest(m, opts.name ?? m.name, opts);
  const node = namehash(reg.name);
  const current = await clients.publicClient
    .readContract({ address: models, abi: modelRegistryAbi, functionName: 'resolve', args: [node] })
    .catch(() => undefined);
  const pkg = reg.package
    ? await clients.publicClient.readContract({ address: models, abi: modelRegistryAbi, functionName: 'packageOf', args: [node] }).catch(() => undefined)
    : undefined;
  const samePackage = !reg.package || (pkg !== undefined && pkg[0].toLowerCase() === reg.package.cid.toLowerCase() && pkg[1].toLowerCase() === reg.package.manifestHash.toLowerCase());
  if (current && current[1].toLowerCase() === reg.modelHash && current[4] === reg.outputScale && samePackage) return reg;
  const version = current ? current[0] + 1 : 1;
  const call = setModelCall(reg, version);
  const hash = await clients.walletClient.writeContract({
    address: models, abi: modelRegistryAbi, functionName: call.functionName, args: call.args,
    account: clients.walletClient.account!, chain: clients.chain,
  } as never);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${call.functionName}(${reg.name}) reverted (tx ${hash})`);
  const stored = await clients.publicClient.readContract({ address: models, abi: modelRegistryAbi, functionName: 'resolve', args: [node] });
  if (stored[4] !== reg.outputScale) throw new ModelScaleError(`model ${reg.name}: registry holds scale ${stored[4]}, manifest ${reg.outputScale}`);
  return reg;
}
