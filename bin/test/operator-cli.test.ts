// `destra operator` as operators and stakers run it (a child process through bin/destra.mjs) against anvil
// with the deployed protocol: register + self-bond from keystores, delegate, rewards, unbond, withdraw,
// and the one-line errors with exit code 1 for what users get wrong.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, inProcess, json } from './operator-harness.ts';
import { parseEther, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { encryptKeystore, randomSecretKey, secretKeyToBytes } from '@destra/protocol';
import { Keypair } from '@solana/web3.js';
import { committeeRegistryAbi, delegatedStakingAbi, deployProtocol, localClients, startAnvil, transferDsync, type Anvil, type Clients, type DeployedProtocol } from '@destra/contracts';
import { encryptV3 } from '@destra/adapter-ethereum';

const dir = mkdtempSync(join(tmpdir(), 'destra-operator-cli-'));
let anvil: Anvil;
let admin: Clients;
let deployed: DeployedProtocol;
let operator: Address;
let delegator: Address;

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 4 });
  admin = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  deployed = await deployProtocol(admin, { network: 'opcli', committeeSize: 4 });
  operator = privateKeyToAccount(anvil.privateKeys[1]!).address;
  delegator = privateKeyToAccount(anvil.privateKeys[2]!).address;
  await transferDsync(admin, deployed.addresses, operator, parseEther('5000'));
  await transferDsync(admin, deployed.addresses, delegator, parseEther('800'));
  writeFileSync(join(dir, 'eth.json'), await encryptV3(anvil.privateKeys[1]!, 'eth-pw', 1024), { mode: 0o600 });
  const bls = randomSecretKey();
  writeFileSync(join(dir, 'operator.json'), JSON.stringify(encryptKeystore(secretKeyToBytes(bls), 'bls-pw', { kdf: { function: 'pbkdf2', c: 1000 } })), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const chain = () => ['--rpc', anvil.rpcUrl, '--registry', deployed.addresses.registry];
const asOperator = () => [...chain(), '--keystore', join(dir, 'eth.json')];
const opEnv = { DESTRA_ETH_PASSWORD: 'eth-pw', DESTRA_PASSWORD: 'bls-pw' };

describe('destra operator', () => {
  it('stake registers the operator key and self-bonds; delegate bonds a staker to it; status shows both', async () => {
    const notYet = await cli(['operator', 'stake', ...asOperator(), '--amount', '1500'], opEnv);
    expect(notYet.code).toBe(1);
    expect(notYet.err).toMatch(/^destra operator stake: .*not a registered operator yet.*--operator-keystore/);
    const staked = await cli(['operator', 'stake', ...asOperator(), '--amount', '1_500', '--operator-keystore', join(dir, 'operator.json')], opEnv);
    expect(staked.code, staked.err).toBe(0);
    expect(json(staked.out)).toMatchObject({ operator, bonded: '1500', registered: { status: 'submitted' }, tx: { status: 'submitted' } });

    const delegated = await cli(['operator', 'delegate', ...chain(), '--key-env', 'STAKER_KEY', '--operator', operator, '--amount', '500.5'], { STAKER_KEY: anvil.privateKeys[2]! });
    expect(delegated.code, delegated.err).toBe(0);
    const status = json((await inProcess(['operator', 'status', ...chain(), '--account', delegator, '--operator', operator])).out);
    expect(status).toMatchObject({ account: delegator, operator, registered: true, poolStake: '2000.5', bonded: '500.5', unbonding: '0', dsync: '299.5' });
  }, 120_000);

  it('set-solana-payout registers where the operator is paid Solana request fees; status shows it', async () => {
    const wallet = Keypair.generate().publicKey;
    const r = await cli(['operator', 'set-solana-payout', ...asOperator(), '--address', wallet.toBase58()], opEnv);
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({ operator, solanaPayout: wallet.toBase58(), tx: { status: 'submitted' } });
    const onChain = await admin.publicClient.readContract({ address: deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'solanaPayoutOf', args: [operator] });
    expect(onChain).toBe(`0x${Buffer.from(wallet.toBytes()).toString('hex')}`);
    const status = json((await inProcess(['operator', 'status', ...chain(), '--account', operator])).out);
    expect(status.solanaPayout).toBe(wallet.toBase58());
    // a staker that is not an operator, and an address that is not a Solana key, are refused in one line
    const notOperator = await inProcess(['operator', 'set-solana-payout', ...chain(), '--key-env', 'K', '--address', wallet.toBase58()], { K: anvil.privateKeys[2]! });
    expect(notOperator.code).toBe(1);
    expect(notOperator.err).toMatch(/^destra operator \S+: 0x[0-9a-fA-F]{40} is not a registered operator: register and stake first.* \[ETH_CONFIG\]$/);
    for (const bad of ['0xabc', wallet.toBase58().slice(0, 20)]) {
      const b = await inProcess(['operator', 'set-solana-payout', ...asOperator(), '--address', bad], opEnv);
      expect(b.code, bad).toBe(1);
      expect(b.err.split('\n')).toHaveLength(1);
      expect(b.err).toMatch(/Solana address/);
    }
  }, 120_000);

  it('claim pays the ETH rewards accrued to a position', async () => {
    await admin.walletClient.writeContract({ address: deployed.addresses.staking, abi: delegatedStakingAbi, functionName: 'depositFees', value: parseEther('1'), account: admin.walletClient.account!, chain: admin.chain } as never);
    const before = json((await inProcess(['operator', 'status', ...chain(), '--account', delegator, '--operator', operator])).out);
    expect(Number(before.pendingRewardsEth)).toBeGreaterThan(0);
    const claimed = await cli(['operator', 'claim', ...chain(), '--key-env', 'STAKER_KEY', '--operator', operator], { STAKER_KEY: anvil.privateKeys[2]! });
    expect(claimed.code, claimed.err).toBe(0);
    expect(json(claimed.out).claimedEth).toBe(before.pendingRewardsEth);
    const after = json((await inProcess(['operator', 'status', ...chain(), '--account', delegator, '--operator', operator])).out);
    expect(after.pendingRewardsEth).toBe('0');
  }, 120_000);

  it('unbond, then withdraw only after the unbonding delay, with a clear error before', async () => {
    const unbond = await cli(['operator', 'unbond', ...chain(), '--key-env', 'STAKER_KEY', '--operator', operator, '--amount', '200'], { STAKER_KEY: anvil.privateKeys[2]! });
    expect(unbond.code, unbond.err).toBe(0);
    expect(json(unbond.out)).toMatchObject({ unbonding: '200' });
    const early = await cli(['operator', 'withdraw', ...chain(), '--key-env', 'STAKER_KEY', '--operator', operator], { STAKER_KEY: anvil.privateKeys[2]! });
    expect(early.code).toBe(1);
    expect(early.err).toMatch(/^destra operator withdraw: .*StillUnbonding/);
    expect(early.err).not.toMatch(/\n\s+at /); // no stack trace without --verbose
    await admin.publicClient.request({ method: 'evm_increaseTime' as never, params: [8 * 86_400] as never });
    await admin.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    const ok = await cli(['operator', 'withdraw', ...chain(), '--key-env', 'STAKER_KEY', '--operator', operator], { STAKER_KEY: anvil.privateKeys[2]! });
    expect(ok.code, ok.err).toBe(0);
    expect(json(ok.out)).toMatchObject({ withdrawn: '200' });
  }, 120_000);

  it('says what is wrong, in one line, with exit code 1 (the process itself: no stack trace, no help dump)', async () => {
    const r = await cli(['operator', 'delegate', ...chain(), '--key-env', 'K', '--operator', delegator, '--amount', '1'], { K: anvil.privateKeys[3]! });
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toMatch(/^destra operator delegate: 0x[0-9a-fA-F]{40} is not a registered operator \[ETH_CONFIG\]$/);
  }, 60_000);

  it('says what is wrong, in one line, with exit code 1', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['operator', 'delegate', ...chain(), '--key-env', 'K', '--operator', delegator, '--amount', '1'], { K: anvil.privateKeys[3]! }, /is not a registered operator/],
      [['operator', 'delegate', ...chain(), '--key-env', 'K', '--operator', operator, '--amount', '1'], { K: anvil.privateKeys[3]! }, /holds 0 DSYNC/],
      [['operator', 'delegate', ...chain(), '--key-env', 'K', '--operator', operator, '--amount', 'lots'], {}, /not a decimal number of DSYNC/],
      [['operator', 'stake', ...asOperator(), '--amount', '1'], { DESTRA_ETH_PASSWORD: 'nope' }, /wrong password/],
      [['operator', 'claim', ...chain(), '--operator', operator], {}, /give the account with --keystore/],
      [['operator', 'status', '--rpc', 'http://127.0.0.1:1', '--registry', operator, '--account', operator], {}, /cannot reach the JSON-RPC endpoint/],
      [['operator', 'status', ...chain().slice(0, 2), '--registry', operator, '--account', operator], {}, /no contract at/],
    ];
    for (const [args, env, msg] of cases) {
      const r = await inProcess(args, env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.err.split('\n').length, r.err).toBe(1);
    }
  }, 120_000);
});
