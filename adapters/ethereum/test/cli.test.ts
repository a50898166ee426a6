// `destra eth ...` in process against a real anvil: request + wait, result, committee, watch.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { bytesToHex, getAddress } from 'viem';
import { register } from '../src/cli.ts';
import { oracleRouterAbi } from '@destra/contracts';
import { FulfillmentSubmitter, encodeInput } from '../src/index.ts';
import { MODEL_HASH, MODEL_NAME, answerReport, setupChain, signReport, type ChainFixture } from './fixture.ts';

let f: ChainFixture;
beforeAll(async () => {
  f = await setupChain();
  process.env.DESTRA_TEST_ETH_KEY = f.anvil.privateKeys[4]!;
});
afterAll(() => f?.stop());

async function cli(args: string[]): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
  try {
    const program = new Command().exitOverride();
    register(program);
    await program.parseAsync(['node', 'destra', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => JSON.parse(l));
}

describe('destra eth', () => {
  it('requests, watches, and prints the result once a relayer fulfils it', async () => {
    const chain = ['--rpc', f.anvil.rpcUrl, '--router', f.deployed.addresses.router];
    const from = String((await f.clients.publicClient.getBlockNumber()) + 1n);
    const input = encodeInput([77n]);
    const [sent] = await cli(['eth', 'request', ...chain, '--model', MODEL_NAME, '--input', bytesToHex(input), '--key-env', 'DESTRA_TEST_ETH_KEY']);
    expect(sent!.requestId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(sent).toMatchObject({ burn: '1000000000000000000', dsyncAuth: 'approve' }); // approved the router's burn when short
    const [viaPermit] = await cli(['eth', 'request', ...chain, '--model', MODEL_NAME, '--input', bytesToHex(encodeInput([78n])), '--key-env', 'DESTRA_TEST_ETH_KEY', '--permit', '--fee', '1000000000000000']);
    expect(viaPermit).toMatchObject({ burn: '1000000000000000000', dsyncAuth: 'allowance' }); // the allowance from the approval is still there
    const [watched] = await cli(['eth', 'watch', ...chain, '--ws', f.anvil.wsUrl, '--from-block', from, '--count', '1']);
    expect(watched).toMatchObject({ requestId: sent!.requestId, input: bytesToHex(input), fee: '1000000000000000' });
    const relayer = f.account(6);
    const s = new FulfillmentSubmitter({ publicClient: relayer.publicClient, walletClient: relayer.walletClient, router: f.deployed.addresses.router });
    const rep = answerReport(f, { requestId: sent!.requestId as `0x${string}`, modelHash: MODEL_HASH, input }, [5n, -6n]);
    await s.fulfill(rep, signReport(f, rep));
    const [result] = await cli(['eth', 'result', ...chain, '--id', sent!.requestId as string, '--timeout', '5000']);
    expect(result).toMatchObject({ requestId: sent!.requestId, output: ['5', '-6'], epoch: '1' });
  });

  it('refunds a request nobody answered, after its deadline only', async () => {
    const chain = ['--rpc', f.anvil.rpcUrl, '--router', f.deployed.addresses.router];
    const [sent] = await cli(['eth', 'request', ...chain, '--model', MODEL_NAME, '--input', bytesToHex(encodeInput([91n])), '--key-env', 'DESTRA_TEST_ETH_KEY']);
    const id = sent!.requestId as string;
    await expect(cli(['eth', 'refund', ...chain, '--id', id, '--key-env', 'DESTRA_TEST_ETH_KEY'])).rejects.toThrow(/NotExpired.*refundable only after its deadline/);
    const timeout = await f.clients.publicClient.readContract({ address: f.deployed.addresses.router, abi: oracleRouterAbi, functionName: 'requestTimeout' });
    await f.clients.publicClient.request({ method: 'evm_increaseTime' as never, params: [Number(timeout) + 1] as never });
    await f.clients.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    const [refunded] = await cli(['eth', 'refund', ...chain, '--id', id, '--key-env', 'DESTRA_TEST_ETH_KEY']);
    // everything the request escrowed comes back (the value sent: fee + any gas prepayment)
    expect(refunded).toMatchObject({ requestId: id, refunded: sent!.value });
    expect(BigInt(refunded!.refunded as string)).toBeGreaterThan(0n);
    await expect(cli(['eth', 'refund', ...chain, '--id', id, '--key-env', 'DESTRA_TEST_ETH_KEY'])).rejects.toThrow(/AlreadyFulfilled/);
  });

  it('prints the committee', async () => {
    const [c] = await cli(['eth', 'committee', '--rpc', f.anvil.rpcUrl, '--router', f.deployed.addresses.router]);
    expect(c).toMatchObject({ registry: getAddress(f.deployed.addresses.registry), epoch: '1', threshold: 2, committeeSize: 3, groupKey: bytesToHex(f.committee.groupKey) });
  });

  it('refuses to send without a key in the environment', async () => {
    await expect(cli(['eth', 'request', '--rpc', f.anvil.rpcUrl, '--router', f.deployed.addresses.router, '--model', MODEL_NAME, '--input', '0x0000000000000001', '--key-env', 'DESTRA_UNSET_KEY'])).rejects.toThrow(/set DESTRA_UNSET_KEY/);
  });
});
