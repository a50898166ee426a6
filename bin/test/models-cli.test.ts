// `destra models publish | fetch | ls` as a user runs them (child processes through bin/destra.mjs)
// against ModelRegistry on anvil: publish prints the CID anyone recomputes and the proposal that
// registers it; the proposal executed by governance makes ls show the model registered and pinned; fetch
// verifies a store's copy against the registry; wrong input gets one error line and exit code 1.
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address, Hex } from 'viem';
import { deployContract, localClients, startAnvil, type Anvil, type Clients } from '@destra/contracts';
import { ensureCompiled } from '../../contracts/scripts/compile.ts';
import { MODELS_DIR } from '@destra/models';
import { packageCid } from '../../oracle-node/src/models/package.ts';
import { Command } from 'commander';
import { register as registerModels } from '../commands/models.ts';
import { cli, json } from './operator-harness.ts';
import { inProcessProgram } from './cli-harness.ts';

/** The same command tree in this process (no start-up cost per call); `cli` runs bin/destra.mjs. */
const run = (args: string[]) =>
  inProcessProgram(() => {
    const program = new Command('destra');
    registerModels(program);
    return program;
  }, args);

const dir = mkdtempSync(join(tmpdir(), 'destra-models-cli-'));
let anvil: Anvil;
let gov: Clients;
let registry: Address;

beforeAll(async () => {
  await ensureCompiled();
  anvil = await startAnvil({ accounts: 2 });
  gov = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  registry = (await deployContract(gov, 'ModelRegistry', [gov.walletClient.account!.address])).address;
}, 240_000);
afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('destra models publish | fetch | ls', () => {
  it('publish adds the package, prints its CID and the registering proposal; executed, ls shows it registered and pinned', async () => {
    const store = join(dir, 'store');
    const chain = ['--registry', registry, '--rpc', anvil.rpcUrl];
    const r = await cli(['models', 'publish', join(MODELS_DIR, 'volatility-forecast'), '--store', store, '--name', 'volatility-forecast.destra', ...chain]);
    expect(r.code, r.err).toBe(0);
    const out = json(r.out);
    expect(out.package.cid).toBe((await packageCid(join(MODELS_DIR, 'volatility-forecast'))).cid.toString());
    expect(out.proposal.functionName).toBe('setModelPackage');
    expect(out.proposal.args.slice(0, 2)).toEqual(['volatility-forecast.destra', 1]);
    expect(out.proposal.description).toMatch(/package bafy/);
    // before the proposal passes: pinned here, not registered
    let ls = json((await run(['models', 'ls', '--store', store, ...chain, '--json'])).out) as unknown as any[];
    expect(ls).toEqual([expect.objectContaining({ name: 'volatility-forecast', cid: out.package.cid, registry: 'not registered', local: 'pinned' })]);
    // governance executes the proposal's call
    const hash = await gov.walletClient.sendTransaction({ to: out.proposal.target as Address, data: out.proposal.data as Hex, account: gov.walletClient.account!, chain: gov.chain });
    expect((await gov.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    ls = json((await run(['models', 'ls', '--store', store, ...chain, '--json'])).out) as unknown as any[];
    expect(ls).toEqual([expect.objectContaining({ name: 'volatility-forecast.destra', version: 1, cid: out.package.cid, registry: 'registered', local: 'pinned' })]);
    const table = await run(['models', 'ls', '--store', store, ...chain]);
    expect(table.out).toMatch(/volatility-forecast\.destra .*registered .*pinned/);
    // the next publish proposes version 2
    const again = json((await run(['models', 'publish', join(MODELS_DIR, 'volatility-forecast'), '--store', store, '--name', 'volatility-forecast.destra', ...chain])).out);
    expect(again.proposal.args[1]).toBe(2);

    // fetch by name: the store's copy is verified against the registry entry
    const f = await run(['models', 'fetch', 'volatility-forecast.destra', '--store', store, ...chain]);
    expect(f.code, f.err).toBe(0);
    expect(json(f.out)).toMatchObject({ cid: out.package.cid, from: 'store' });
    // a store whose block was altered on disk is refused with what to do
    const blocks = join(store, 'blocks');
    for (const sub of readdirSync(blocks)) for (const file of readdirSync(join(blocks, sub))) writeFileSync(join(blocks, sub, file), 'altered');
    const bad = await cli(['models', 'fetch', 'volatility-forecast.destra', '--store', store, ...chain]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^destra models \S+: .*does not hash to its CID .*; remove the package.*\[MODEL_PACKAGE\]$/);
    expect(bad.err.split('\n')).toHaveLength(1);
  }, 300_000);

  it('errors: one line saying what was wrong and what to do, exit code 1, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['models', 'publish', join(dir, 'nothing-here'), '--store', join(dir, 's2')], /cannot read .*manifest.json.*; point at a model directory/],
      [['models', 'publish', join(MODELS_DIR, 'tx-anomaly')], /name the model store: --store <dir>, or --config/],
      [['models', 'ls'], /give --store <dir> or --config/],
      [['models', 'fetch', 'not-a-cid', '--store', join(dir, 's3')], /'not-a-cid' is not a CID; to fetch by name give --registry and --rpc/],
      [['models', 'fetch', 'missing.destra', '--store', join(dir, 's3'), '--registry', registry, '--rpc', anvil.rpcUrl], /model 'missing.destra' is not registered in ModelRegistry/],
      [['models', 'ls', '--registry', registry, '--rpc', 'http://127.0.0.1:1'], /cannot reach the JSON-RPC endpoint http:\/\/127.0.0.1:1/],
    ];
    for (const [i, [args, re]] of cases.entries()) {
      const r = i === 0 ? await cli(args) : await run(args); // the first as a user runs it
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(re);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  }, 300_000);
});
