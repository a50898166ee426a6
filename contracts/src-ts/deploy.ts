// Deploys and wires the protocol contracts on any EVM JSON-RPC endpoint (anvil for tests and the devnet),
// then hands every parameter to the governor: when deployProtocol returns, the deployer owns nothing (it
// keeps only the one-shot genesis right, cleared by initGenesis, and the DSYNC supply if it is the holder).
import { getContractAddress, keccak256, parseEther, toHex, type Abi, type Address, type Hex } from 'viem';
import { domainTag } from '@destra/protocol';
import { committeeRegistryAbi, delegatedStakingAbi, feedRegistryAbi, modelRegistryAbi, oracleRouterAbi } from './abi.ts';
import { deployContract, sendTx, type Clients } from './deploy-util.ts';
import { setModelCall, type ModelRegistration } from './models.ts';

export interface DeployOptions {
  /** Network name for the report domain tag keccak256("destra:" + network). */
  network?: string;
  /** Default ETH fee per request (wei) of each model in `models` without its own (default 0.001 ETH). */
  feeWei?: bigint;
  /** Default DSYNC burned per request (base units) of each model in `models` without its own (default 1 DSYNC). */
  burnDsync?: bigint;
  /** Price bound (wei per gas) of the callback gas prepayment (default 20 gwei). */
  callbackGasPriceWei?: bigint;
  requestTimeoutSec?: bigint;
  /** Minimum operator self-bond in DSYNC base units for committee eligibility. */
  minSelfBond?: bigint;
  unbondingDelaySec?: bigint;
  /** Delay before an operator's commission change applies (delegators can leave first). */
  commissionDelaySec?: bigint;
  committeeSize?: number;
  slashBps?: number;
  /** Target seconds between handovers (registry default 1 day); local networks rotate in seconds. */
  epochLengthSec?: bigint;
  /** Seconds the previous epoch's key is still accepted after a handover (registry default 300). */
  handoverGraceSec?: bigint;
  /** Minimum threshold as a share of the committee, basis points (registry default 5000). */
  minThresholdBps?: number;
  votingPeriodSec?: bigint;
  timelockDelaySec?: bigint;
  quorumBps?: number;
  /** DSYNC minted once at deployment (default 1e9 tokens), to `tokenHolder` (default the deployer). */
  tokenSupply?: bigint;
  tokenHolder?: Address;
  /** May call initGenesis once (default the deployer); the right is cleared when used. */
  genesisAuthority?: Address;
  /** Models registered before governance takes over (see registrationFromManifest). */
  models?: readonly ModelRegistration[];
  /** Seconds per evaluation window of on-chain feeds (FeedRegistry.window; default 5). */
  feedWindowSec?: number;
}

export interface ProtocolAddresses {
  token: Address;
  staking: Address;
  registry: Address;
  models: Address;
  router: Address;
  feeds: Address;
  /** Feeds defined on chain (governed): nodes in chain-control mode follow it. */
  feedRegistry: Address;
  /** Per-block roots of block feeds (transaction scores). */
  blockScores: Address;
  governor: Address;
}

export const DEFAULT_MODEL_FEE = 10n ** 15n;
export const DEFAULT_MODEL_BURN = parseEther('1');
export const DEFAULT_CALLBACK_GAS_PRICE = 20_000_000_000n;

export interface DeployedProtocol {
  addresses: ProtocolAddresses;
  domain: Hex;
  gas: Record<string, bigint>;
}

/** The contracts whose `governance()` the governor holds after deployment. */
export const GOVERNED = ['registry', 'staking', 'models', 'router', 'feedRegistry'] as const satisfies readonly (keyof ProtocolAddresses)[];

export async function deployProtocol(clients: Clients, opts: DeployOptions = {}): Promise<DeployedProtocol> {
  const domain = toHex(domainTag(opts.network ?? 'devnet'));
  const deployer = clients.walletClient.account!.address;
  const gas: Record<string, bigint> = {};
  const token = await deployContract(clients, 'DestraToken', [opts.tokenHolder ?? deployer, opts.tokenSupply ?? parseEther('1000000000')]);
  gas.token = token.gasUsed;
  // Staking and registry name each other immutably: the registry's address is known before it exists.
  const nonce = await clients.publicClient.getTransactionCount({ address: deployer, blockTag: 'pending' });
  const registryAddress = getContractAddress({ from: deployer, nonce: BigInt(nonce + 1) });
  const staking = await deployContract(clients, 'DelegatedStaking', [
    token.address,
    registryAddress,
    deployer,
    opts.minSelfBond ?? parseEther('1000'),
    opts.commissionDelaySec ?? 7n * 86_400n,
  ]);
  gas.staking = staking.gasUsed;
  const registry = await deployContract(clients, 'CommitteeRegistry', [
    domain,
    staking.address,
    deployer,
    opts.genesisAuthority ?? deployer,
    opts.unbondingDelaySec ?? 7n * 86_400n,
    opts.committeeSize ?? 4,
    opts.slashBps ?? 1_000,
  ]);
  if (registry.address.toLowerCase() !== registryAddress.toLowerCase()) throw new Error(`registry deployed at ${registry.address}, expected ${registryAddress} (another transaction from the deployer interleaved)`);
  gas.registry = registry.gasUsed;
  const models = await deployContract(clients, 'ModelRegistry', [deployer]);
  gas.models = models.gasUsed;
  const router = await deployContract(clients, 'OracleRouter', [
    domain,
    registry.address,
    models.address,
    deployer,
    opts.requestTimeoutSec ?? 3_600n,
    opts.callbackGasPriceWei ?? DEFAULT_CALLBACK_GAS_PRICE,
  ]);
  gas.router = router.gasUsed;
  const feeds = await deployContract(clients, 'FeedStore', [domain, registry.address]);
  gas.feeds = feeds.gasUsed;
  const feedRegistry = await deployContract(clients, 'FeedRegistry', [deployer, models.address, feeds.address, opts.feedWindowSec ?? 5]);
  gas.feedRegistry = feedRegistry.gasUsed;
  const blockScores = await deployContract(clients, 'BlockScores', [domain, registry.address, feedRegistry.address]);
  gas.blockScores = blockScores.gasUsed;
  await sendTx(clients, feedRegistry.address, feedRegistryAbi, 'setBlockScores', [blockScores.address]);
  const governor = await deployContract(clients, 'DestraGovernor', [
    staking.address,
    [registry.address, staking.address, models.address, router.address, feedRegistry.address],
    opts.votingPeriodSec ?? 3n * 86_400n,
    opts.timelockDelaySec ?? 86_400n,
    opts.quorumBps ?? 4_000,
  ]);
  gas.governor = governor.gasUsed;
  await sendTx(clients, staking.address, delegatedStakingAbi, 'setFeeSource', [router.address]);
  for (const m of opts.models ?? []) {
    const call = setModelCall(m, 1); // setModelPackage when the registration names a package
    await sendTx(clients, models.address, modelRegistryAbi, call.functionName, [...call.args]);
    const fee = m.feeWei ?? opts.feeWei ?? DEFAULT_MODEL_FEE;
    const burn = m.burnDsync ?? opts.burnDsync ?? DEFAULT_MODEL_BURN;
    if (fee !== 0n || burn !== 0n) await sendTx(clients, models.address, modelRegistryAbi, 'setModelFees', [namehash(m.name), fee, burn]);
  }
  if (opts.epochLengthSec !== undefined || opts.handoverGraceSec !== undefined || opts.minThresholdBps !== undefined) {
    await sendTx(clients, registry.address, committeeRegistryAbi, 'setParams', [
      opts.unbondingDelaySec ?? 7n * 86_400n,
      opts.committeeSize ?? 4,
      opts.slashBps ?? 1_000,
      opts.minThresholdBps ?? 5_000,
      opts.epochLengthSec ?? 86_400n,
      opts.handoverGraceSec ?? 300n,
    ]);
  }
  const handOff: [Address, Abi][] = [
    [registry.address, committeeRegistryAbi as Abi],
    [staking.address, delegatedStakingAbi as Abi],
    [models.address, modelRegistryAbi as Abi],
    [router.address, oracleRouterAbi as Abi],
    [feedRegistry.address, feedRegistryAbi as Abi],
  ];
  for (const [address, abi] of handOff) await sendTx(clients, address, abi, 'setGovernance', [governor.address]);
  return {
    domain,
    gas,
    addresses: {
      token: token.address, staking: staking.address, registry: registry.address, models: models.address, router: router.address,
      feeds: feeds.address, feedRegistry: feedRegistry.address, blockScores: blockScores.address, governor: governor.address,
    },
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
