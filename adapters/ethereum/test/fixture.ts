// Shared chain set-up for the adapter tests: a real anvil, the deployed protocol, a DKG committee set as
// the genesis group key, one registered model, and helpers to build and sign request reports.
import { bytesToHex, hexToBytes, keccak256, parseEther, toHex, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ReportKind, encodeReport, evmDestination, inputHash, membersRoot, reportLeaf, rootSigningMessage, sharesRoot, type Report,
} from '@destra/protocol';
import {
  LocalCommittee, committeeRegistryAbi, deployProtocol, localClients, namehash, startAnvil, transferDsync, type Anvil, type Clients,
  type DeployedProtocol,
} from '@destra/contracts';
import { closeWebSocketClient, createWebSocketPublicClient, type OracleRequest } from '../src/index.ts';

export const MODEL_NAME = 'risk-score.destra';
export const MODEL_HASH = keccak256(toHex('adapter-test-model')) as Hex;
/** DSYNC each dev account 1..9 holds for request burns. */
export const REQUESTER_DSYNC = parseEther('1000');

export interface ChainFixture {
  anvil: Anvil;
  clients: Clients;
  deployed: DeployedProtocol;
  committee: LocalCommittee;
  modelId: Hex;
  chainId: bigint;
  /** Clients for dev account i (0 is the deployer). */
  account(i: number): Clients;
  wsClient(): PublicClient;
  stop(): Promise<void>;
}

let committeePromise: Promise<LocalCommittee> | undefined;

export async function setupChain(opts: { blockTime?: number } = {}): Promise<ChainFixture> {
  const anvil = await startAnvil(opts.blockTime ? { blockTime: opts.blockTime } : {});
  const clients = localClients(anvil.rpcUrl, anvil.privateKeys[0]!, anvil.chainId);
  const deployed = await deployProtocol(clients, {
    committeeSize: 3, minSelfBond: 10n ** 18n,
    models: [{ name: MODEL_NAME, modelHash: MODEL_HASH, inputSchemaHash: keccak256('0x01'), outputSchemaHash: keccak256('0x02'), outputScale: 1_000_000n }],
  });
  // requesters pay each request's DSYNC burn (1 DSYNC by default): dev accounts 1..9 hold some
  for (const key of anvil.privateKeys.slice(1, 10)) await transferDsync(clients, deployed.addresses, addressOf(key), REQUESTER_DSYNC);
  committeePromise ??= LocalCommittee.create(3, 2);
  const committee = await committeePromise;
  const { registry } = deployed.addresses;
  await write(clients, registry, committeeRegistryAbi, 'initGenesis', [
    committee.groupKeyEip2537, committee.t, committee.n, toHex(sharesRoot(committee.publicSharesUncompressed)), toHex(membersRoot([])),
  ]);
  const sockets: PublicClient[] = [];
  return {
    anvil, clients, deployed, committee, modelId: namehash(MODEL_NAME), chainId: BigInt(anvil.chainId),
    account: (i) => localClients(anvil.rpcUrl, anvil.privateKeys[i]!, anvil.chainId),
    wsClient: () => {
      const c = createWebSocketPublicClient(anvil.wsUrl, clients.chain, { pollingIntervalMs: 50, retryCount: 0 });
      sockets.push(c);
      return c;
    },
    stop: async () => {
      for (const s of sockets) await closeWebSocketClient(s);
      await anvil.stop();
    },
  };
}

export async function write(clients: Clients, address: Address, abi: readonly unknown[], functionName: string, args: unknown[], value = 0n) {
  const hash = await clients.walletClient.writeContract({ address, abi, functionName, args, value, account: clients.walletClient.account!, chain: clients.chain } as never);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted (tx ${hash})`);
  return receipt;
}

/** The kind-1 report the committee would sign for a watched request. */
export function answerReport(f: ChainFixture, req: Pick<OracleRequest, 'requestId' | 'modelHash' | 'input'>, output: bigint[], overrides: Partial<Report> = {}): Uint8Array {
  return encodeReport({
    kind: ReportKind.Request,
    domain: hexToBytes(f.deployed.domain),
    epoch: 1n,
    destination: evmDestination(f.chainId, hexToBytes(f.deployed.addresses.router)),
    id: hexToBytes(req.requestId),
    modelHash: hexToBytes(req.modelHash),
    inputHash: inputHash(req.input),
    timestamp: 1_764_000_000n,
    round: 0n,
    output,
    ...overrides,
  });
}

/** Compressed (48-byte) group signature over a single report's leaf, as an aggregator hands it out. */
export function signReport(f: ChainFixture, report: Uint8Array): Uint8Array {
  return f.committee.signMessage(rootSigningMessage(reportLeaf(report)));
}

export function signRoot(f: ChainFixture, root: Uint8Array): Uint8Array {
  return f.committee.signMessage(rootSigningMessage(root));
}

export const addressOf = (key: Hex): Address => privateKeyToAccount(key).address;
export { bytesToHex };
