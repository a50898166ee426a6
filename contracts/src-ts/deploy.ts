// Deploys and wires the protocol contracts on any EVM JSON-RPC endpoint (anvil for tests and the devnet).
import { keccak256, toHex, type Address, type Hex } from 'viem';
import { domainTag } from '@destra/protocol';
import { deployContract, type Clients } from './deploy-util.ts';

export interface DeployOptions {
  /** Network name for the report domain tag keccak256("destra:" + network). */
  network?: string;
  feeWei?: bigint;
  burnBps?: number;
  requestTimeoutSec?: bigint;
  minStakeWei?: bigint;
  unbondingDelaySec?: bigint;
  committeeSize?: number;
  slashBps?: number;
  votingPeriodSec?: bigint;
  timelockDelaySec?: bigint;
  quorumBps?: number;
}

export interface ProtocolAddresses {
  registry: Address;
  models: Address;
  router: Address;
  feeds: Address;
  governor: Address;
}

export interface DeployedProtocol {
  addresses: ProtocolAddresses;
  domain: Hex;
  gas: Record<string, bigint>;
}

export async function deployProtocol(clients: Clients, opts: DeployOptions = {}): Promise<DeployedProtocol> {
  const domain = toHex(domainTag(opts.network ?? 'devnet'));
  const deployer = clients.walletClient.account!.address;
  const gas: Record<string, bigint> = {};
  const registry = await deployContract(clients, 'CommitteeRegistry', [
    domain,
    deployer,
    opts.minStakeWei ?? 10n ** 18n,
    opts.unbondingDelaySec ?? 7n * 86_400n,
    opts.committeeSize ?? 4,
    opts.slashBps ?? 1_000,
  ]);
  gas.registry = registry.gasUsed;
  const models = await deployContract(clients, 'ModelRegistry', [deployer]);
  gas.models = models.gasUsed;
  const router = await deployContract(clients, 'OracleRouter', [
    domain,
    registry.address,
    models.address,
    deployer,
    opts.feeWei ?? 10n ** 15n,
    opts.burnBps ?? 500,
    opts.requestTimeoutSec ?? 3_600n,
  ]);
  gas.router = router.gasUsed;
  const feeds = await deployContract(clients, 'FeedStore', [domain, registry.address]);
  gas.feeds = feeds.gasUsed;
  const governor = await deployContract(clients, 'DestraGovernor', [
    registry.address,
    [registry.address, models.address, router.address],
    opts.votingPeriodSec ?? 3n * 86_400n,
    opts.timelockDelaySec ?? 86_400n,
    opts.quorumBps ?? 4_000,
  ]);
  gas.governor = governor.gasUsed;
  return {
    domain,
    gas,
    addresses: { registry: registry.address, models: models.address, router: router.address, feeds: feeds.address, governor: governor.address },
  };
}

/** ENS-style namehash, as ModelRegistry computes it. */
export function namehash(name: string): Hex {
  let node: Hex = `0x${'00'.repeat(32)}`;
  if (name === '') return node;
  for (const label of name.split('.').reverse()) {
    node = keccak256(`${node}${keccak256(toHex(label)).slice(2)}` as Hex);
  }
  return node;
}
