// Shared set-up for the contract tests: a real anvil, the deployed protocol, a DKG committee as genesis,
// staked operators with proofs of possession, and one registered model.
import { getContract, hexToBytes, parseEther, toHex, keccak256, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ReportKind, encodeReport, evmDestination, g1ToEip2537, g2ToEip2537, inputHash, membersRoot, provePossession, publicKeyOf,
  randomSecretKey, sharesRoot, type Report,
} from '@destra/protocol';
import { compile } from '../scripts/compile.ts';
import {
  LocalCommittee, committeeRegistryAbi, deployProtocol, localClients, modelRegistryAbi, namehash, oracleRouterAbi, startAnvil,
  type Anvil, type Clients, type DeployedProtocol,
} from '../src-ts/index.ts';

export const MODEL_NAME = 'risk-score.destra';
export const MODEL_HASH = keccak256(toHex('risk-score-model-bytes')) as Hex;

export interface Fixture {
  anvil: Anvil;
  clients: Clients;
  deployed: DeployedProtocol;
  committee: LocalCommittee;
  operators: { address: Address; key: Hex; clients: Clients }[];
  modelId: Hex;
  chainId: bigint;
  stop(): Promise<void>;
}

export const memberId = (a: Address): Uint8Array => hexToBytes(`0x${a.slice(2).padStart(64, '0')}` as Hex);

export async function setupFixture(opts: { operators?: number; stakes?: bigint[] } = {}): Promise<Fixture> {
  compile();
  const anvil = await startAnvil();
  const clients = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  const n = opts.operators ?? 4;
  const deployed = await deployProtocol(clients, { committeeSize: n, unbondingDelaySec: 3600n, votingPeriodSec: 600n, timelockDelaySec: 300n });
  const { registry, models } = deployed.addresses;
  const operators = anvil.privateKeys.slice(1, 1 + n).map((key) => ({ key, address: privateKeyToAccount(key).address, clients: localClients(anvil.rpcUrl, key) }));
  const stakes = opts.stakes ?? operators.map((_, i) => parseEther(String(10 + i)));
  for (const [i, op] of operators.entries()) {
    const sk = randomSecretKey();
    const hash = await op.clients.walletClient.writeContract({
      address: registry, abi: committeeRegistryAbi, functionName: 'stake',
      args: [toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk)))],
      value: stakes[i]!, account: op.clients.walletClient.account!, chain: op.clients.chain,
    });
    await clients.publicClient.waitForTransactionReceipt({ hash });
  }
  const committee = await LocalCommittee.create(n, Math.max(1, Math.ceil((2 * n) / 3)));
  const members = (await clients.publicClient.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'nextCommittee', args: [BigInt(n)] })) as Address[];
  await write(clients, registry, committeeRegistryAbi, 'initGenesis', [
    committee.groupKeyEip2537, committee.t, n, toHex(sharesRoot(committee.publicSharesUncompressed)), toHex(membersRoot(members.map(memberId))),
  ]);
  await write(clients, models, modelRegistryAbi, 'setModel', [MODEL_NAME, 1, MODEL_HASH, keccak256('0x01'), keccak256('0x02'), 1_000_000n]);
  return {
    anvil, clients, deployed, committee, operators, modelId: namehash(MODEL_NAME), chainId: BigInt(anvil.chainId),
    stop: () => anvil.stop(),
  };
}

export async function write(clients: Clients, address: Address, abi: any, functionName: string, args: unknown[], value = 0n, gas?: bigint) {
  const hash = await clients.walletClient.writeContract({ address, abi, functionName, args, value, account: clients.walletClient.account!, chain: clients.chain, ...(gas ? { gas } : {}) } as any);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted (tx ${hash})`);
  return receipt;
}

export function requestReport(f: Fixture, id: Hex, input: Uint8Array, output: bigint[], overrides: Partial<Report> = {}): Uint8Array {
  return encodeReport({
    kind: ReportKind.Request,
    domain: hexToBytes(f.deployed.domain),
    epoch: 1n,
    destination: evmDestination(f.chainId, hexToBytes(f.deployed.addresses.router)),
    id: hexToBytes(id),
    modelHash: hexToBytes(MODEL_HASH),
    inputHash: inputHash(input),
    timestamp: 1_764_000_000n,
    round: 0n,
    output,
    ...overrides,
  });
}

/** int64 big-endian canonical input bytes. */
export function canonicalInput(values: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, v));
  return out;
}

export { getContract, oracleRouterAbi };
