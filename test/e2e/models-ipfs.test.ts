// Models by content address with real node processes (LiveNetwork: anvil, LiteSVM, aggregator, `startNode`
// processes following CommitteeRegistry and ModelRegistry): node 4 starts with an empty model store,
// fetches the registered model from its peers by CID and answers, its report verified on chain; a model
// published into node 1's store while it runs and registered by governance becomes servable on every node
// without a restart (a threshold-signed answer from node 4); removed from the registry, it stops being
// served by every node.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, encodeFunctionData, http, parseEther, toHex as vHex, type Address, type Hex } from 'viem';
import { modelRegistryAbi, namehash } from '@destra/contracts';
import { MODELS_DIR, loadModels } from '@destra/models';
import type { LiveNetwork } from '../devnet/live-network.ts';
import { modelsFetchedFromPeers, waitModelsServed } from '../devnet/models-ipfs.ts';
import { publish } from '../../oracle-node/src/models/commands.ts';

let net: LiveNetwork;
let dir: string;
let failed = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'destra-models-e2e-'));
  const { LiveNetwork } = await import('../devnet/live-network.ts');
  failed = true;
  net = new LiveNetwork({ dir, network: 'models-e2e', n: 4, joiners: 0, epochLengthSec: 3600, dkgPhaseTimeoutMs: 4000, logLevel: 'info', modelsOverIpfs: { emptyStores: [4] } });
  await net.start();
  failed = false;
}, 300_000);

afterAll(async () => {
  await net?.stop();
  if (failed) console.warn(`models e2e failed: logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

/** Sends a ModelRegistry call as the governor (anvil impersonation, standing in for a passed proposal). */
async function asGovernor(data: Hex): Promise<void> {
  const { anvil, clients, deployed } = net.chains;
  const governor = deployed.addresses.governor;
  await clients.publicClient.request({ method: 'anvil_impersonateAccount' as never, params: [governor] as never });
  await clients.publicClient.request({ method: 'anvil_setBalance' as never, params: [governor, vHex(parseEther('10'))] as never });
  const wallet = createWalletClient({ chain: clients.chain, transport: http(anvil.rpcUrl), account: governor });
  const hash = await wallet.sendTransaction({ to: deployed.addresses.models as Address, data, account: governor, chain: clients.chain });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error('governance call reverted');
}

const infer = async (k: number, model: string, input: number[]) => {
  const res = await fetch(`${net.node(k).api}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input }) });
  return { status: res.status, body: (await res.json()) as { error?: string; message?: string; decoded?: { modelHash: string; output: string[] } } };
};

describe('models over IPFS with real nodes', () => {
  it('a node that started with an empty store fetched the registered model from its peers and answers; the report verifies on chain', async () => {
    // The network is up once the committee keyed; node 4 may still be fetching the package from its peers.
    await waitModelsServed(net.node(4).api, 1, 60_000);
    expect(await modelsFetchedFromPeers(net.node(4).api)).toBeGreaterThanOrEqual(1);
    expect(await modelsFetchedFromPeers(net.node(1).api)).toBe(0); // node 1 had it locally
    const r = await net.onDemand(4, 7);
    const { lost, verified } = await net.verify([r], 90_000);
    expect([lost, verified]).toEqual([0, 1]);
  }, 180_000);

  it('a model published on one node and registered while the network runs is served by every node without a restart; removed, by none', async () => {
    const name = 'volatility-forecast.destra';
    // the operator of node 1 publishes the package into its running node's store and gets the proposal
    const out = await publish(join(MODELS_DIR, 'volatility-forecast'), { config: net.committee.nodeConfigPaths[0]!, name, rpc: net.chains.anvil.rpcUrl, registry: net.chains.deployed.addresses.models });
    expect(out.proposal!.functionName).toBe('setModelPackage');
    await asGovernor(out.proposal!.data);
    for (const k of [1, 2, 3, 4]) await waitModelsServed(net.node(k).api, 2, 60_000);
    const manifest = loadModels(undefined, ['volatility-forecast'])[0]!;
    const input = manifest.manifest.inputs.flatMap((i) => i.features.map((f) => (f.min + f.max) / 2));
    const answer = await infer(4, name, input);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.decoded!.modelHash).toBe(`0x${manifest.hashHex}`); // the signed hash is the registry's modelHash
    expect(await modelsFetchedFromPeers(net.node(4).api)).toBeGreaterThanOrEqual(2);

    await asGovernor(encodeFunctionData({ abi: modelRegistryAbi, functionName: 'removeModel', args: [namehash(name)] }));
    // every node drops it at its next registry poll; then a request for it is refused as unknown
    const served = async (k: number) => Number(/^destra_models_served (\d+)/m.exec(await (await fetch(`${net.node(k).api}/metrics`)).text())?.[1] ?? -1);
    const deadline = Date.now() + 30_000;
    for (const k of [1, 2, 3, 4]) {
      while ((await served(k)) !== 1) {
        if (Date.now() > deadline) throw new Error(`node ${k} still serves ${await served(k)} models 30 s after the removal`);
        await new Promise((res) => setTimeout(res, 200));
      }
      const r = await infer(k, name, input);
      expect([r.status, r.body.error], JSON.stringify(r.body).slice(0, 300)).toEqual([400, 'UNKNOWN_MODEL']);
    }
    // the first model is still served
    expect((await infer(4, net.model.model, loadModels(undefined, [net.model.model])[0]!.manifest.inputs.flatMap((i) => i.features.map((f) => f.min)))).status).toBe(200);
  }, 240_000);
});
