// Both chains of a local network: anvil with the deployed Ethereum contracts, and the destra_oracle
// program in an in-process LiteSVM. Operator registration and DSYNC self-bonds, genesis (group key on
// both chains), the model registered from its manifest at deployment (before governance takes over),
// sample requests from the example consumers, and relay sinks for the aggregator.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeEventLog, maxUint256, parseEther, toHex as vToHex, type Address, type Hex } from 'viem';
import { Keypair, PublicKey } from '@solana/web3.js';
import {
  decodeG2, decodeHandover, domainTag, g1ToEip2537, g2ToEip2537, g2Uncompressed, membersRoot, payoutsRoot, provePossession, publicKeyOf, sharesRoot, toHex,
  type PayoutEntry, type PublicSharing, type SecretKey,
} from '@destra/protocol';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  checkModelRegistration, claimRewards, committeeRegistryAbi, delegateDsync, delegatedStakingAbi, deployContract, deployProtocol, destraTokenAbi, localClients, namehash,
  oracleRouterAbi, payoutTable, registerOperator, registrationFromManifest, riskLendingMarketAbi, startAnvil, transferDsync,
  passProposal, type Anvil, type Clients, type DeployedProtocol, type ProposalCall,
} from '@destra/contracts';
import { MODELS_DIR, loadModels } from '@destra/models';
import { packageRegistration } from '@destra/oracle-node';
import { LiteSvmTransport, OracleClient, ORACLE_PROGRAM_ID, ORACLE_SO } from '@destra/adapter-solana';
import { SolanaSink } from '@destra/aggregator';
import { EthereumRelaySink } from '@destra/adapter-ethereum';

/** DSYNC each devnet operator self-bonds (deployProtocol's default minimum is 1,000). */
export const OPERATOR_SELF_BOND = parseEther('10000');

/** DSYNC the devnet delegator bonds to operator 1 (besides the operators' self-bonds). */
export const DELEGATION = parseEther('5000');

export interface Economics {
  /** DSYNC burned since deployment (request burns; no slashes on the devnet). */
  burned: bigint;
  /** ETH rewards claimed by the operators (commission + self-bond share) and by the delegator. */
  operatorRewards: bigint;
  delegatorRewards: bigint;
}

export const CLUSTER_ID = Uint8Array.from(Buffer.from('destra-devnet-litesvm-cluster-id'.padEnd(32, '\0')));

/** Funded anvil accounts left to the user's own scripts (before the delegator, evidence and relayer accounts at the end). */
export const SPARE_ACCOUNTS = 3;

export interface Chains {
  anvil: Anvil;
  clients: Clients;
  deployed: DeployedProtocol;
  market: Address;
  svm: LiteSvmTransport;
  solana: OracleClient;
  solAdmin: Keypair;
  ethSink: EthereumRelaySink;
  solSink: SolanaSink;
  /** The relayer account's clients (the sinks' account) and the Solana payer (feed relays use both). */
  relayerClients: Clients;
  solPayer: Keypair;
  /** Passes a governance proposal with the votes of the first `voters` operators (their self-bonds). */
  govern(call: ProposalCall, voters: number): Promise<bigint>;
  /**
   * Registers each operator (BLS key + proof of possession), self-bonds DSYNC sent by the deployer and,
   * with `nodeInfo`, publishes what peers need to reach its node. `first` is the anvil account offset
   * of operators[0] (operator k uses account 1 + first + k).
   */
  stake(operators: SecretKey[], nodeInfo?: { encryptionKey: `0x${string}`; peerId: string; multiaddrs: string[] }[], first?: number): Promise<void>;
  /** Operator `k` (account 1 + k) asks to unbond its whole self-bond: it drops out of the next committee. */
  unbond(k: number): Promise<void>;
  /** Installs genesis on both chains from the genesis DKG's handover record (oldEpoch 0). */
  genesisFromHandover(handover: Uint8Array): Promise<Address[]>;
  /** The registry's current epoch and its committee size. */
  epoch(): Promise<{ epoch: number; size: number }>;
  /** Sets the genesis committee on both chains; returns its members in committee (DKG index) order. */
  genesis(sharing: PublicSharing): Promise<Address[]>;
  /** A holder (not an operator) delegates DSYNC to operator 1; returns the delegator's address. */
  delegate(): Promise<Address>;
  /** Claims every operator's and the delegator's ETH rewards and reports them with the DSYNC burned. */
  economics(operatorCount: number): Promise<Economics>;
  /** Checks that the registry holds the model as its manifest says (hash and output scale). */
  registerModel(name: string, modelHash: Uint8Array): Promise<void>;
  /** A request from the example consumer (RiskLendingMarket.requestRiskScore); returns the request id. */
  ethRequest(input: Uint8Array): Promise<Uint8Array>;
  /** A request to the Solana program; returns the request account (the report id). */
  solRequest(modelHash: Uint8Array, input: Uint8Array): Promise<Uint8Array>;
  /** The genesis committee's Solana fee payout table (set by `genesis`, from the registry). */
  payouts(): PayoutEntry[];
  /** distribute_fees with the current table; lamports each payee received, in table order. */
  distributeFees(): Promise<{ payee: PublicKey; weight: bigint; lamports: bigint }[]>;
  /** Ethereum: the consumer's stored risk score for the requester; router's isFulfilled. */
  ethFulfilled(requestId: Uint8Array): Promise<boolean>;
  stop(): Promise<void>;
}

async function send(c: Clients, address: Address, abi: unknown, functionName: string, args: unknown[], value = 0n) {
  const hash = await c.walletClient.writeContract({ address, abi, functionName, args, value, account: c.walletClient.account!, chain: c.chain } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted (tx ${hash})`);
  return receipt;
}

export async function startChains(o: {
  network: string; n: number; modelName: string; committeeSize?: number; epochLengthSec?: number; handoverGraceSec?: number;
  /** More models registered at deployment (e.g. tx-anomaly for the block feed). */
  extraModels?: string[];
  /** Governance voting period and timelock in seconds (default: deployProtocol's days); the devnet's feeds pass proposals in seconds. */
  governanceSec?: { voting: number; timelock: number };
}): Promise<Chains> {
  // + SPARE_ACCOUNTS: funded accounts no devnet process sends from, handed to the user (env-file.ts)
  const anvil = await startAnvil({ accounts: Math.max(10, o.n + 4) + SPARE_ACCOUNTS });
  try {
    const clients = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
    // The registry's output scale is the manifest's (the one the committee signs at).
    const manifest = loadModels(undefined, [o.modelName])[0]!.manifest;
    const deployed = await deployProtocol(clients, {
      network: o.network,
      committeeSize: o.committeeSize ?? o.n,
      // each with its package (CID + manifest hash): nodes with models.ipfs fetch it from their peers
      models: [
        registrationFromManifest(manifest, o.modelName, { package: await packageRegistration(join(MODELS_DIR, o.modelName)) }),
        ...(await Promise.all((o.extraModels ?? []).map(async (m) => registrationFromManifest(loadModels(undefined, [m])[0]!.manifest, m, { package: await packageRegistration(join(MODELS_DIR, m)) })))),
      ],
      ...(o.governanceSec ? { votingPeriodSec: BigInt(o.governanceSec.voting), timelockDelaySec: BigInt(o.governanceSec.timelock) } : {}),
      ...(o.epochLengthSec !== undefined ? { epochLengthSec: BigInt(o.epochLengthSec), handoverGraceSec: BigInt(o.handoverGraceSec ?? 120) } : {}),
    });
    const market = (await deployContract(clients, 'RiskLendingMarket', [deployed.addresses.router, namehash(o.modelName)])).address;
    // the deployer is the borrower of the sample requests: the market pulls each request's DSYNC burn from it
    await send(clients, deployed.addresses.token, destraTokenAbi, 'approve', [market, maxUint256]);
    const supplyAtDeploy = (await clients.publicClient.readContract({ address: deployed.addresses.token, abi: destraTokenAbi, functionName: 'totalSupply' })) as bigint;
    const operatorClients = (i: number) => localClients(anvil.rpcUrl, anvil.privateKeys[1 + i]!);
    const delegatorClients = localClients(anvil.rpcUrl, anvil.privateKeys[anvil.privateKeys.length - 3]!); // n+1: not an operator, the evidence submitter (-2) or the relayer (-1)
    const relayerKey = anvil.privateKeys[anvil.privateKeys.length - 1]!;
    const relayerClients = localClients(anvil.rpcUrl, relayerKey);
    const ethSink = new EthereumRelaySink({ publicClient: relayerClients.publicClient, walletClient: relayerClients.walletClient, router: deployed.addresses.router, feeds: deployed.addresses.feeds });

    const svm = new LiteSvmTransport();
    const solAdmin = Keypair.generate();
    // solAdmin deploys the oracle: initialize accepts only the program's upgrade authority
    svm.addUpgradeableProgram(ORACLE_PROGRAM_ID, readFileSync(fileURLToPath(ORACLE_SO)), solAdmin.publicKey);
    svm.airdrop(solAdmin.publicKey, 1_000_000_000_000n);
    const solana = new OracleClient(svm);
    const solPayer = Keypair.generate();
    svm.airdrop(solPayer.publicKey, 100_000_000_000n);
    const solSink = new SolanaSink({ client: solana, payer: solPayer });
    let solNonce = 0n;
    let table: PayoutEntry[] = [];
    const requester = Keypair.generate();
    svm.airdrop(requester.publicKey, 100_000_000_000n);

    return {
      anvil, clients, deployed, market, svm, solana, solAdmin, ethSink, solSink, relayerClients, solPayer,
      govern: (call, voters) => passProposal(Array.from({ length: voters }, (_, i) => operatorClients(i)), deployed.addresses.governor, call),
      async stake(operators, nodeInfo, first = 0) {
        for (const [i, sk] of operators.entries()) {
          const c = operatorClients(first + i);
          await transferDsync(clients, deployed.addresses, c.walletClient.account!.address, OPERATOR_SELF_BOND);
          await registerOperator(c, deployed.addresses, vToHex(g2ToEip2537(publicKeyOf(sk))), vToHex(g1ToEip2537(provePossession(sk))), OPERATOR_SELF_BOND);
          // each operator's Solana wallet (holding some SOL already) receives its share of Solana request fees
          const wallet = Keypair.generate().publicKey;
          svm.airdrop(wallet, 10_000_000n);
          await send(c, deployed.addresses.registry, committeeRegistryAbi, 'setSolanaPayout', [vToHex(wallet.toBytes())]);
          const info = nodeInfo?.[i];
          if (info) {
            await send(c, deployed.addresses.registry, committeeRegistryAbi, 'setNodeInfo', [info.encryptionKey, vToHex(peerIdFromString(info.peerId).toMultihash().bytes), info.multiaddrs]);
          }
        }
      },
      async unbond(k) {
        const c = operatorClients(k);
        const me = c.walletClient.account!.address;
        const bonded = (await clients.publicClient.readContract({ address: deployed.addresses.staking, abi: delegatedStakingAbi, functionName: 'stakeOf', args: [me, me] })) as bigint;
        await send(c, deployed.addresses.staking, delegatedStakingAbi, 'requestUnbond', [me, bonded]);
      },
      async epoch() {
        const read = (functionName: string, args: unknown[] = []) => clients.publicClient.readContract({ address: deployed.addresses.registry, abi: committeeRegistryAbi, functionName, args } as never) as Promise<unknown>;
        const epoch = Number(await read('currentEpoch'));
        return { epoch, size: epoch === 0 ? 0 : ((await read('committeeOf', [BigInt(epoch)])) as Address[]).length };
      },
      async genesisFromHandover(handover) {
        const h = decodeHandover(handover);
        if (h.oldEpoch !== 0n) throw new Error(`not a genesis record (oldEpoch ${h.oldEpoch})`);
        const key = decodeG2(h.groupKey).toBytes(true);
        await send(clients, deployed.addresses.registry, committeeRegistryAbi, 'initGenesis', [vToHex(g2ToEip2537(key)), h.threshold, h.committeeSize, vToHex(h.sharesRoot), vToHex(h.membersRoot)]);
        const members = (await clients.publicClient.readContract({ address: deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'committeeOf', args: [1n] })) as Address[];
        table = await payoutTable(clients.publicClient, deployed.addresses.registry, members);
        if (toHex(payoutsRoot(table)) !== toHex(h.payoutsRoot)) throw new Error('the genesis record names another payout table than the registry holds now');
        await solana.send([solana.initializeIx({
          admin: solAdmin.publicKey, domain: domainTag(o.network), clusterId: CLUSTER_ID, epoch: 1n, threshold: h.threshold,
          committeeSize: h.committeeSize, groupKey: h.groupKey, requestFee: 1_000_000n, payoutsRoot: h.payoutsRoot,
        })], [solAdmin]);
        return members;
      },
      async genesis(sharing) {
        const members = (await clients.publicClient.readContract({ address: deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'nextCommittee', args: [BigInt(sharing.size)] })) as Address[];
        const ids = members.map((a) => Uint8Array.from(Buffer.from(a.slice(2).padStart(64, '0'), 'hex')));
        const shares = sharing.publicShares().map((p) => p.toBytes(false));
        await send(clients, deployed.addresses.registry, committeeRegistryAbi, 'initGenesis', [
          vToHex(g2ToEip2537(sharing.groupKey)), sharing.threshold, sharing.size, vToHex(sharesRoot(shares)), vToHex(membersRoot(ids)),
        ]);
        table = await payoutTable(clients.publicClient, deployed.addresses.registry, members);
        await solana.send([solana.initializeIx({
          admin: solAdmin.publicKey, domain: domainTag(o.network), clusterId: CLUSTER_ID, epoch: 1n, threshold: sharing.threshold,
          committeeSize: sharing.size, groupKey: g2Uncompressed(sharing.groupKey), requestFee: 1_000_000n, payoutsRoot: payoutsRoot(table),
        })], [solAdmin]);
        return members;
      },
      payouts: () => table,
      async distributeFees() {
        const payees = table.map((e) => new PublicKey(e.payee));
        const balance = async (k: PublicKey) => (await svm.getAccount(k))?.lamports ?? 0n;
        const before = await Promise.all(payees.map(balance));
        const epoch = (await solana.fetchConfig())!.epoch;
        // after rotations the program pays by the payout table of the epoch it is in now
        if (epoch !== 1n) {
          const members = (await clients.publicClient.readContract({ address: deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'committeeOf', args: [epoch] })) as Address[];
          table = await payoutTable(clients.publicClient, deployed.addresses.registry, members);
          payees.splice(0, payees.length, ...table.map((e) => new PublicKey(e.payee)));
          before.splice(0, before.length, ...(await Promise.all(payees.map(balance))));
        }
        await solana.send([solana.distributeFeesIx({ epoch, payouts: table })], [solPayer]);
        return Promise.all(payees.map(async (payee, i) => ({ payee, weight: table[i]!.weight, lamports: (await balance(payee)) - before[i]! })));
      },
      async delegate() {
        const delegator = delegatorClients.walletClient.account!.address;
        await transferDsync(clients, deployed.addresses, delegator, DELEGATION);
        await delegateDsync(delegatorClients, deployed.addresses, operatorClients(0).walletClient.account!.address, DELEGATION);
        return delegator;
      },
      async economics(operatorCount) {
        let operatorRewards = 0n;
        for (let i = 0; i < operatorCount; i++) {
          const c = operatorClients(i);
          operatorRewards += await claimRewards(c, deployed.addresses, c.walletClient.account!.address);
        }
        const delegatorRewards = await claimRewards(delegatorClients, deployed.addresses, operatorClients(0).walletClient.account!.address);
        const supply = (await clients.publicClient.readContract({ address: deployed.addresses.token, abi: destraTokenAbi, functionName: 'totalSupply' })) as bigint;
        return { burned: supplyAtDeploy - supply, operatorRewards, delegatorRewards };
      },
      async registerModel(name, modelHash) {
        // a loaded hash or a registered scale that differs from the manifest is refused
        await checkModelRegistration(clients, deployed.addresses.models, registrationFromManifest(loadModels(undefined, [name])[0]!.manifest, name, { modelHash }));
      },
      async ethRequest(input) {
        // ETH: the model's fee + the callback gas prepayment; DSYNC: the model's burn, pulled by the market
        const [value] = (await clients.publicClient.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
        const receipt = await send(clients, market, riskLendingMarketAbi, 'requestRiskScore', [vToHex(input)], value);
        for (const log of receipt.logs) {
          try {
            const ev = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics });
            if (ev.eventName === 'InferenceRequested') return Uint8Array.from(Buffer.from((ev.args.requestId as Hex).slice(2), 'hex'));
          } catch {
            /* a log of another contract */
          }
        }
        throw new Error('requestRiskScore emitted no InferenceRequested event');
      },
      async solRequest(modelHash, input) {
        const nonce = ++solNonce;
        await solana.send([solana.requestInferenceIx({ requester: requester.publicKey, nonce, modelHash, input })], [requester]);
        return solana.requestAddress(requester.publicKey, nonce).toBytes();
      },
      async ethFulfilled(requestId) {
        return (await clients.publicClient.readContract({ address: deployed.addresses.router, abi: oracleRouterAbi, functionName: 'isFulfilled', args: [toHex(requestId) as Hex] })) as boolean;
      },
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
