// Chain connections of a CLI-started aggregator, built from config.chains: the Ethereum relay sink (the
// adapter's EthereumRelaySink over viem, relayer account from a V3 keystore or a key variable), the Solana
// sink (SolanaSink over RpcTransport, payer from a Solana CLI keypair file), a liveness probe per chain for
// /health, and — with a registry and evidence.submit — the adapter's EvidenceSubmitter bound to the
// epoch's committee, once the configured member addresses and the sharing match what the registry holds.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { createPublicClient, createWalletClient, http, type Address, type Chain, type PublicClient, type WalletClient } from 'viem';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { membersRoot, sharesRoot, toHex, type PublicSharing } from '@destra/protocol';
import { CommitteeReader, EthereumRangeSink, EthereumRelaySink, EvidenceSubmitter, loadSigner, type EpochCommittee, type NonceManager } from '@destra/adapter-ethereum';
import { OracleClient, RpcTransport } from '@destra/adapter-solana';
import { AggregatorConfigError } from '../errors.ts';
import type { ChainName, ChainSink } from '../relay/relayer.ts';
import type { RangeSink } from '../relay/range-relayer.ts';
import type { EvidenceSink } from '../relay/evidence.ts';
import { SolanaRangeSink, SolanaSink } from '../relay/solana.ts';
import type { EpochBook } from '../core/epochs.ts';
import type { AggregatorConfig, EthereumChainConfig, SolanaChainConfig } from './config.ts';

/** A cheap liveness call against one chain's endpoint (Ethereum getBlockNumber, Solana getSlot). */
export interface ChainProbe {
  chain: ChainName;
  probe(): Promise<unknown>;
}

export interface EthereumConnection {
  sink: EthereumRelaySink;
  /** Lands certified ranges of the router's request stream (fulfillBatch), on the same nonce sequence. */
  rangeSink: EthereumRangeSink;
  probe: ChainProbe;
  publicClient: PublicClient;
  walletClient: WalletClient;
  chain: Chain;
  relayer: Address;
}

async function chainOf(c: EthereumChainConfig): Promise<Chain> {
  let id = c.chainId;
  if (id === undefined) {
    try {
      id = await createPublicClient({ transport: http(c.rpcUrl, { timeout: 10_000, retryCount: 1 }) }).getChainId();
    } catch (err) {
      throw new AggregatorConfigError(`config field 'chains.ethereum.rpcUrl': cannot read the chain id from ${c.rpcUrl} (${(err as Error).message.split('\n')[0]}); check the endpoint or set 'chains.ethereum.chainId'`);
    }
  }
  return { id, name: `chain-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [c.rpcUrl] } } } as Chain;
}

/** The Ethereum sink from config: unlocks the relayer key (adapter's loadSigner), clients over HTTP JSON-RPC. */
export async function connectEthereum(c: EthereumChainConfig): Promise<EthereumConnection> {
  const account = await loadSigner(c.relayer).catch((err: Error) => {
    throw new AggregatorConfigError(`config field 'chains.ethereum.relayer': ${err.message}`);
  });
  const chain = await chainOf(c);
  // JSON-RPC batching: a range relay reads every request of the range at once (hundreds of eth_calls).
  const publicClient = createPublicClient({ chain, transport: http(c.rpcUrl, { batch: { batchSize: 256 } }), pollingInterval: 250 }) as PublicClient;
  const walletClient = createWalletClient({ chain, transport: http(c.rpcUrl), account });
  const sink = new EthereumRelaySink({
    publicClient,
    walletClient,
    router: c.router as Address,
    ...(c.feeds ? { feeds: c.feeds as Address } : {}),
    ...(c.gasMarginBps !== undefined ? { gasMarginBps: c.gasMarginBps } : {}),
  });
  const rangeSink = new EthereumRangeSink({
    publicClient,
    walletClient,
    router: c.router as Address,
    nonceManager: sink.submitter.nonces,
    ...(c.gasMarginBps !== undefined ? { gasMarginBps: c.gasMarginBps } : {}),
  });
  // The probe gets its own client without retries, so an outage shows within the probe timeout.
  const probeClient = createPublicClient({ chain, transport: http(c.rpcUrl, { retryCount: 0, timeout: 2_000 }) });
  return { sink, rangeSink, publicClient, walletClient, chain, relayer: account.address, probe: { chain: 'ethereum', probe: () => probeClient.getBlockNumber({ cacheTime: 0 }) } };
}

/** Reads a Solana CLI keypair file (a JSON array of the 64 secret-key bytes). */
export function readSolanaKeypair(path: string): Keypair {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AggregatorConfigError(`config field 'chains.solana.payer.keypairFile': cannot read ${path} as JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw) || raw.length !== 64 || !raw.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new AggregatorConfigError(`config field 'chains.solana.payer.keypairFile': ${path} is not a Solana keypair (a JSON array of 64 bytes, as solana-keygen writes)`);
  }
  try {
    return Keypair.fromSecretKey(Uint8Array.from(raw as number[]));
  } catch (err) {
    throw new AggregatorConfigError(`config field 'chains.solana.payer.keypairFile': ${path} holds an invalid keypair: ${(err as Error).message}`);
  }
}

export interface SolanaConnection {
  sink: SolanaSink;
  probe: ChainProbe;
  client: OracleClient;
  connection: Connection;
  payer: Keypair;
}

/** The Solana sink from config: RpcTransport over a web3.js Connection, the payer keypair from its file. */
export function connectSolana(c: SolanaChainConfig): SolanaConnection {
  const payer = readSolanaKeypair(c.payer.keypairFile);
  let programId: PublicKey;
  try {
    programId = new PublicKey(c.programId);
  } catch (err) {
    throw new AggregatorConfigError(`config field 'chains.solana.programId': ${(err as Error).message}`);
  }
  const connection = new Connection(c.rpcUrl, { commitment: 'confirmed', disableRetryOnRateLimit: true });
  const client = new OracleClient(new RpcTransport(connection), programId);
  return { sink: new SolanaSink({ client, payer }), client, connection, payer, probe: { chain: 'solana', probe: () => connection.getSlot('confirmed') } };
}

/** Member ids as the registry hashes them: each operator address left-padded to 32 bytes. */
export function memberIds(members: readonly Address[]): Uint8Array[] {
  return members.map((a) => Uint8Array.from(Buffer.from(a.slice(2).padStart(64, '0'), 'hex')));
}

/**
 * The evidence sink for the configured epoch, or a reason it cannot be built: every member needs its
 * operatorAddress, and keccak of the (left-padded) addresses and of the uncompressed public shares must
 * equal the registry's membersRoot and sharesRoot for the epoch (else the registry would refuse the proofs).
 */
export async function connectEvidence(
  config: AggregatorConfig,
  eth: EthereumConnection,
  sharing: PublicSharing,
): Promise<{ sink: EvidenceSink; committee: EpochCommittee } | { reason: string }> {
  const registry = config.chains.ethereum?.registry as Address | undefined;
  if (!registry) return { reason: "no 'chains.ethereum.registry' configured" };
  const c = config.committee;
  if (!c) return { reason: "no fixed 'committee' configured (chain-driven epochs submit evidence through chainEvidenceSink)" };
  const missing = c.members.filter((m) => !m.operatorAddress).map((m) => m.index);
  if (missing.length > 0) return { reason: `config field 'committee.members[].operatorAddress' is missing for member(s) ${missing.join(', ')}` };
  const members = c.members.map((m) => m.operatorAddress as Address);
  const publicShares = sharing.publicShares().map((p) => p.toBytes(false));
  let info;
  try {
    info = await new CommitteeReader(eth.publicClient, registry).epochInfo(BigInt(c.epoch));
  } catch (err) {
    return { reason: `cannot read epoch ${c.epoch} from the registry ${registry}: ${(err as Error).message.split('\n')[0]}` };
  }
  const mRoot = toHex(membersRoot(memberIds(members)));
  if (mRoot.toLowerCase() !== info.membersRoot.toLowerCase()) {
    return { reason: `the configured member addresses hash to ${mRoot}, the registry's membersRoot for epoch ${c.epoch} is ${info.membersRoot} (wrong addresses or order)` };
  }
  const sRoot = toHex(sharesRoot(publicShares));
  if (sRoot.toLowerCase() !== info.sharesRoot.toLowerCase()) {
    return { reason: `the committee's public shares hash to ${sRoot}, the registry's sharesRoot for epoch ${c.epoch} is ${info.sharesRoot}` };
  }
  const submitter = new EvidenceSubmitter({
    publicClient: eth.publicClient,
    walletClient: eth.walletClient,
    registry,
    // the relayer account sends both: one nonce sequence
    nonceManager: eth.sink.submitter.nonces,
  });
  const committee: EpochCommittee = { members, publicShares };
  return { sink: { submitEquivocation: (p) => submitter.submitEquivocation(p, committee) }, committee };
}

/** The clients equivocation evidence is sent with; a nonce manager shared with another sender of the account. */
export interface EvidenceClients {
  publicClient: PublicClient;
  walletClient: WalletClient;
  nonceManager?: NonceManager;
}

/** The relayer connection as evidence clients: one account, one nonce sequence with the relays. */
export const relayerEvidenceClients = (eth: EthereumConnection): EvidenceClients => ({ publicClient: eth.publicClient, walletClient: eth.walletClient, nonceManager: eth.sink.submitter.nonces });

/** Clients for config evidence.account (its own nonce sequence), over chains.ethereum's endpoint. */
export async function connectEvidenceAccount(c: EthereumChainConfig, signer: EthereumChainConfig['relayer']): Promise<EvidenceClients & { account: Address }> {
  const account = await loadSigner(signer).catch((err: Error) => {
    throw new AggregatorConfigError(`config field 'evidence.account': ${err.message}`);
  });
  const chain = await chainOf(c);
  const publicClient = createPublicClient({ chain, transport: http(c.rpcUrl), pollingInterval: 250 }) as PublicClient;
  return { publicClient, walletClient: createWalletClient({ chain, transport: http(c.rpcUrl), account }), account: account.address };
}

/**
 * Equivocation evidence with chain-driven epochs: each proof is submitted with its own epoch's committee
 * from the EpochBook (member addresses as the registry lists them, public shares of the sharing accepted
 * because it matches the epoch's sharesRoot).
 */
export function chainEvidenceSink(clients: EvidenceClients, registry: Address, book: EpochBook): EvidenceSink {
  const submitter = new EvidenceSubmitter({ publicClient: clients.publicClient, walletClient: clients.walletClient, registry, ...(clients.nonceManager ? { nonceManager: clients.nonceManager } : {}) });
  return {
    submitEquivocation: async (p) => {
      const epoch = Number(p.epoch);
      const c = book.committee(epoch);
      const sharing = book.entry(epoch)?.sharing;
      if (!c || !sharing || c.members.length !== sharing.size || c.members.some((m) => !m.address)) {
        throw new AggregatorConfigError(`epoch ${epoch}'s committee or sharing is not known here any more: the evidence cannot be proven on chain`);
      }
      const committee: EpochCommittee = { members: c.members.map((m) => m.address as Address), publicShares: sharing.publicShares().map((x) => x.toBytes(false)) };
      return submitter.submitEquivocation(p, committee);
    },
  };
}

export interface ChainConnections {
  sinks: ChainSink[];
  /** Sinks for certified ranges of chain request streams (Ethereum: fulfillBatch). */
  rangeSinks: RangeSink[];
  probes: ChainProbe[];
  ethereum?: EthereumConnection;
  solana?: SolanaConnection;
}

/** Every sink config.chains asks for; throws AggregatorConfigError naming the field when one cannot be built. */
export async function connectChains(config: AggregatorConfig, log?: Logger): Promise<ChainConnections> {
  const out: ChainConnections = { sinks: [], rangeSinks: [], probes: [] };
  if (config.chains.ethereum) {
    out.ethereum = await connectEthereum(config.chains.ethereum);
    out.sinks.push(out.ethereum.sink);
    out.rangeSinks.push(out.ethereum.rangeSink);
    out.probes.push(out.ethereum.probe);
    log?.info({ chain: 'ethereum', rpcUrl: config.chains.ethereum.rpcUrl, router: config.chains.ethereum.router, relayer: out.ethereum.relayer, chainId: out.ethereum.chain.id }, 'relaying to Ethereum');
  }
  if (config.chains.solana) {
    out.solana = connectSolana(config.chains.solana);
    out.sinks.push(out.solana.sink);
    out.probes.push(out.solana.probe);
    // Ranges of the program's request stream need its cluster id (the stream's identity), read from its config.
    const programConfig = await out.solana.client.fetchConfig().catch(() => null);
    if (programConfig) out.rangeSinks.push(new SolanaRangeSink({ client: out.solana.client, payer: out.solana.payer, clusterId: programConfig.clusterId }));
    else log?.warn({ programId: config.chains.solana.programId }, 'the Solana program config is not readable now: certified ranges of its request stream are not relayed by this aggregator');
    log?.info({ chain: 'solana', rpcUrl: config.chains.solana.rpcUrl, programId: config.chains.solana.programId, payer: out.solana.payer.publicKey.toBase58() }, 'relaying to Solana');
  }
  return out;
}
