// The published shape of the SDK and the Solidity library, outside the repo: npm pack the protocol,
// contracts and Ethereum SDK workspaces, install the tarballs into a scratch project under the OS temp
// directory, and against a local network (anvil + contracts, 4 in-process oracle nodes, an aggregator):
//  - plain `node` runs the SDK from ESM and from CommonJS: request → result → verify, and a tampered
//    report is refused off chain and by the router (the scripts assert, the test checks their output);
//  - solc-js compiles a consumer importing @destra/contracts/src/DestraConsumer.sol from the installed
//    package (OpenZeppelin comes as its dependency), which is deployed and gets the verified callback;
//    a forged callback, an underpaid request and a router refusal revert with typed errors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destraTokenAbi, sendTx } from '@destra/contracts';
import { toHex } from '@destra/protocol';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { startE2eNetwork, type E2eNetwork } from '../e2e/network.ts';
import { createScratchProject, installedManifest, type ScratchProject } from './scratch.ts';

const engineAvailable = existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)));
if (!engineAvailable) console.warn('packaging e2e skipped: oracle-node/src/inference (the real inference engine) is not present');
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

describe.skipIf(!engineAvailable)('packed packages outside the repo', () => {
  let net: E2eNetwork;
  let model: BenchModel;
  let project: ScratchProject;

  beforeAll(async () => {
    model = await loadBenchModel();
    // packing (a tsup build when sources changed) and npm install run while the network starts
    [project, net] = await Promise.all([
      createScratchProject({ fixtures: ['sdk-flow-core.cjs', 'sdk-flow.mjs', 'sdk-flow.cjs', 'consumer-flow.mjs', 'ScoreConsumer.sol'].map(fixture) }),
      startE2eNetwork({ n: 4, t: 3, model, network: 'e2e-packaging' }),
    ]);
    // the scripts' requester accounts (anvil dev accounts 5 and 6: no operator, relayer or deployer role) get DSYNC
    for (const i of [5, 6]) {
      await sendTx(net.chains.clients, net.chains.deployed.addresses.token, destraTokenAbi, 'transfer', [net.chains.anvil.accounts[i]!, parseEther('100')]);
    }
  }, 600_000);
  afterAll(async () => {
    await net?.stop();
    await model?.close();
    project?.remove();
  }, 60_000);

  const envFor = async (account: number, variant: number) => {
    const input = model.input(variant);
    return {
      RPC_URL: net.chains.anvil.rpcUrl,
      CHAIN_ID: String(net.chains.anvil.chainId),
      ROUTER: net.chains.deployed.addresses.router,
      PRIVATE_KEY: net.chains.anvil.privateKeys[account]!,
      MODEL: model.model,
      INPUT_HEX: toHex(input),
      EXPECTED_OUTPUT: JSON.stringify((await model.inference.infer(model.model, input)).output.map(String)),
      NODE_URL: net.cluster.nodes.get(1)!.url,
    };
  };

  it('tarballs carry built JavaScript and declarations, not .ts sources, and resolve only inside the scratch project', async () => {
    for (const name of ['@destra/protocol', '@destra/contracts', '@destra/adapter-ethereum']) {
      const m = installedManifest(project, name);
      expect(m.private).toBeUndefined();
      expect(JSON.stringify(m.exports)).not.toMatch(/(?<!\.d)\.ts"/); // declarations only, no sources
      expect((m.exports as Record<string, { import: { types: string } }>)['.']!.import.types).toBe('./dist/index.d.ts');
      expect(existsSync(join(project.dir, 'node_modules', name, 'dist', 'index.d.ts'))).toBe(true);
      expect(existsSync(join(project.dir, 'node_modules', name, 'src', 'index.ts'))).toBe(false);
    }
    // workspace ranges became real ones, so the SDK's @destra/protocol is the tarball's
    expect((installedManifest(project, '@destra/adapter-ethereum').dependencies as Record<string, string>)['@destra/protocol']).toBe('^0.1.0');
    // the SDK and its @destra dependencies load from the scratch project's node_modules, through the built entries
    const cjs = (await project.node(['-p', "['@destra/adapter-ethereum', '@destra/protocol'].map((m) => require.resolve(m)).join('\\n')"])).trim().split('\n');
    const esm = (await project.node(['--input-type=module', '-e', "console.log(import.meta.resolve('@destra/adapter-ethereum'))"])).trim();
    expect(cjs).toEqual([join(project.dir, 'node_modules/@destra/adapter-ethereum/dist/index.cjs'), join(project.dir, 'node_modules/@destra/protocol/dist/index.cjs')]);
    expect(esm).toBe(`file://${join(project.dir, 'node_modules/@destra/adapter-ethereum/dist/index.js')}`);
  });

  it('plain node, ESM: request → result → verify; a tampered report is refused', async () => {
    const out = JSON.parse((await project.node(['sdk-flow.mjs'], await envFor(5, 31))).trim().split('\n').pop()!);
    expect(out).toMatchObject({ module: 'esm', offchain: true, onchain: true, tamperedOffchain: false, tamperedOnchain: false });
  }, 180_000);

  it('plain node, CommonJS: the same flow through require()', async () => {
    const out = JSON.parse((await project.node(['sdk-flow.cjs'], await envFor(5, 32))).trim().split('\n').pop()!);
    expect(out).toMatchObject({ module: 'cjs', offchain: true, onchain: true, tamperedOffchain: false, tamperedOnchain: false });
  }, 180_000);

  it('a Solidity consumer compiled from the installed package gets the verified callback', async () => {
    const env = await envFor(6, 33);
    const out = JSON.parse((await project.node(['consumer-flow.mjs'], env)).trim().split('\n').pop()!);
    expect(out.score).toBe(JSON.parse(env.EXPECTED_OUTPUT)[0]);
    expect(out.forged).toBe('OnlyRouter');
    expect(out.underpaid).toBe('InsufficientFee');
    expect(out.routerRefusal).toBe('UnknownRequest');
  }, 240_000);
});
