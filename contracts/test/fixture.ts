// Shared set-up for the contract tests: a real anvil, the deployed protocol (governor in control), a DKG
// committee as genesis, operators registered with proofs of possession and self-bonded in DSYNC, and one
// registered model.
import { createWalletClient, getContract, hexToBytes, http, maxUint256, parseEther, parseEventLogs, toHex, keccak256, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ReportKind, encodeReport, evmDestination, g1ToEip2537, g2ToEip2537, inputHash, membersRoot, provePossession, publicKeyOf,
  randomSecretKey, sharesRoot, type Report,
} from '@destra/protocol';
import { ensureCompiled } from '../scripts/compile.ts';
import {
  LocalCommittee, committeeRegistryAbi, deployContract, deployProtocol, destraTokenAbi, localClients, namehash, oracleRouterAbi, registerOperator,
  riskLendingMarketAbi, startAnvil, transferDsync,
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
  /** The genesis (epoch 1) committee in index order, as its membersRoot commits to it. */
  members: Address[];
  /** Clients that send as the governor (anvil impersonation), standing in for a passed proposal. */
  governance(): Promise<Clients>;
  stop(): Promise<void>;
}

export const MIN_SELF_BOND = parseEther('1');
/** DSYNC each fixture operator holds on top of its self-bond (for delegations and later bonds). */
export const SPARE_DSYNC = parseEther('1000');

export const memberId = (a: Address): Uint8Array => hexToBytes(`0x${a.slice(2).padStart(64, '0')}` as Hex);

export async function setupFixture(opts: { operators?: number; stakes?: bigint[] } = {}): Promise<Fixture> {
  await ensureCompiled();
  const anvil = await startAnvil();
  const clients = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  const n = opts.operators ?? 4;
  const deployed = await deployProtocol(clients, {
    committeeSize: n, unbondingDelaySec: 3600n, commissionDelaySec: 600n, votingPeriodSec: 600n, timelockDelaySec: 300n, minSelfBond: MIN_SELF_BOND,
    models: [{ name: MODEL_NAME, modelHash: MODEL_HASH, inputSchemaHash: keccak256('0x01'), outputSchemaHash: keccak256('0x02'), outputScale: 1_000_000n }],
  });
  const { registry } = deployed.addresses;
  const operators = anvil.privateKeys.slice(1, 1 + n).map((key) => ({ key, address: privateKeyToAccount(key).address, clients: localClients(anvil.rpcUrl, key) }));
  const stakes = opts.stakes ?? operators.map((_, i) => parseEther(String(10 + i)));
  for (const [i, op] of operators.entries()) {
    const sk = randomSecretKey();
    await transferDsync(clients, deployed.addresses, op.address, stakes[i]! + SPARE_DSYNC);
    await registerOperator(op.clients, deployed.addresses, toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk))), stakes[i]!);
  }
  const committee = await LocalCommittee.create(n, Math.max(1, Math.ceil((2 * n) / 3)));
  const members = (await clients.publicClient.readContract({ address: registry, abi: committeeRegistryAbi, functionName: 'nextCommittee', args: [BigInt(n)] })) as Address[];
  // the deployer (DSYNC holder) requests directly in many tests: it lets the router burn its DSYNC
  await write(clients, deployed.addresses.token, destraTokenAbi, 'approve', [deployed.addresses.router, maxUint256]);
  await write(clients, registry, committeeRegistryAbi, 'initGenesis', [
    committee.groupKeyEip2537, committee.t, n, toHex(sharesRoot(committee.publicSharesUncompressed)), toHex(membersRoot(members.map(memberId))),
  ]);
  return {
    anvil, clients, deployed, committee, operators, modelId: namehash(MODEL_NAME), chainId: BigInt(anvil.chainId), members,
    governance: () => impersonate(anvil, clients, deployed.addresses.governor),
    stop: () => anvil.stop(),
  };
}

/** Clients sending as `address` through anvil_impersonateAccount (funded with 100 ETH for gas). */
export async function impersonate(anvil: Anvil, clients: Clients, address: Address): Promise<Clients> {
  await clients.publicClient.request({ method: 'anvil_impersonateAccount' as any, params: [address] as any });
  await clients.publicClient.request({ method: 'anvil_setBalance' as any, params: [address, toHex(parseEther('100'))] as any });
  const walletClient = createWalletClient({ chain: clients.chain, transport: http(anvil.rpcUrl, { retryCount: 0 }), account: address });
  return { publicClient: clients.publicClient, walletClient, chain: clients.chain };
}

export async function write(clients: Clients, address: Address, abi: any, functionName: string, args: unknown[], value = 0n, gas?: bigint) {
  // a margin on the estimate, as the relayer adapter adds
  gas ??= ((await clients.publicClient.estimateContractGas({ address, abi, functionName, args, value, account: clients.walletClient.account! } as any)) * 12n) / 10n;
  const hash = await clients.walletClient.writeContract({ address, abi, functionName, args, value, account: clients.walletClient.account!, chain: clients.chain, ...(gas ? { gas } : {}) } as any);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted (tx ${hash})`);
  return receipt;
}

/** Deploys a RiskLendingMarket for `modelId` and lets it pull the deployer's DSYNC (for the burn). */
export async function deployMarket(f: Fixture, modelId: Hex = f.modelId): Promise<Address> {
  const market = (await deployContract(f.clients, 'RiskLendingMarket', [f.deployed.addresses.router, modelId])).address;
  await write(f.clients, f.deployed.addresses.token, destraTokenAbi, 'approve', [market, maxUint256]);
  return market;
}

/** requestRiskScore on `market`, paying the market's quote (fee + callback gas prepayment) plus `tip`. */
export async function marketRequest(f: Fixture, market: Address, input: Uint8Array, opts: { clients?: Clients; tip?: bigint } = {}) {
  const clients = opts.clients ?? f.clients;
  const [value, burn] = (await clients.publicClient.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
  const receipt = await write(clients, market, riskLendingMarketAbi, 'requestRiskScore', [toHex(input)], value + (opts.tip ?? 0n));
  const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
  return { id: ev!.args.requestId, value: value + (opts.tip ?? 0n), burn, receipt };
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
