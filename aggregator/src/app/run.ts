// Starts an aggregator from its config: unlock the operator key, build the libp2p host with admission,
// set up the epochs (a fixed committee with its DKG commitments, or CommitteeRegistry followed live),
// dial the committee, run the service, and follow the epochs gossip topic (sharings from dkg-result,
// signed handovers relayed to the chains).
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { createPublicClient, http, type Address, type PublicClient } from 'viem';
import { domainTag, PublicSharing, toHex } from '@destra/protocol';
import { CommitteeReader, HandoverSubmitter, type HandoverWatch } from '@destra/adapter-ethereum';
import { createDestraHost, loadOrCreateLibp2pKey, readPassword, Registry, unlockOperatorKey, type DestraHost, type Registration } from '@destra/oracle-node';
import { AggregatorVerifier } from '../core/group-check.ts';
import { EpochBook } from '../core/epochs.ts';
import { AggregatorService } from '../net/service.ts';
import { Relayer, type ChainSink } from '../relay/relayer.ts';
import { EquivocationReporter, type EvidenceSink } from '../relay/evidence.ts';
import { HandoverRelay } from '../relay/handover.ts';
import { SqliteRelayJournal } from '../relay/journal.ts';
import { RelayLog } from '../relay/relay-log.ts';
import { startRangeRelay, type ChainRangeRelay } from '../relay/range-relay.ts';
import type { RangeSink } from '../relay/range-relayer.ts';
import { topics as wireTopics } from '../wire.ts';
import { epochSource, type AggregatorConfig } from './config.ts';
import { AggregatorConfigError } from '../errors.ts';
import { chainEvidenceSink, connectChains, connectEvidence, connectEvidenceAccount, relayerEvidenceClients, type ChainConnections } from './chains.ts';
import { ChainEpochFollower, type RegistryView } from './chain-epochs.ts';
import { EpochGossip } from './epoch-gossip.ts';
import { feedRelayFrom } from './feeds.ts';
import { FeedCommitService } from '../net/feed-commits.ts';
import type { FeedRelay } from '../relay/feeds.ts';
import { EpochStore } from './epoch-store.ts';
import { ProbeCache, startStatusServer, type StatusServer } from './status.ts';

export interface RunningAggregator {
  service: AggregatorService;
  host: DestraHost;
  log: Logger;
  /** Per-epoch committees and sharings (service.epochs). */
  epochs: EpochBook;
  /** The registry poller (chain-driven epochs only). */
  follower?: ChainEpochFollower;
  /** The epochs gossip topic handler (dkg-result, handover-signed) and its counters. */
  gossip: EpochGossip;
  /** Relays signed handovers (when a chain to relay them to is configured). */
  handoverRelay?: HandoverRelay;
  /** Chain connections built from config.chains (absent when the caller passed its own sinks). */
  chains?: ChainConnections;
  /** Relays certified ranges of chain request streams (when a range sink is configured). */
  rangeRelay?: ChainRangeRelay;
  /** The status endpoint (config.statusPort). */
  status?: StatusServer;
  /** Every relay's chain, status and transactions, in memory (GET /v1/relays); absent when nothing is relayed. */
  relayLog?: RelayLog;
  /** Feed commits from the committee (certified feed batches). */
  feeds: FeedCommitService;
  /** Relays certified feed batches (when config.chains names a FeedRegistry, or the caller passed one). */
  feedRelay?: FeedRelay;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Chain sinks built by the caller (the devnet passes in-process ones); absent: built from config.chains
   *  (an empty list: no relaying). */
  sinks?: ChainSink[];
  /** Range sinks built by the caller (default: from config.chains; none: ranges are not relayed). */
  rangeSinks?: RangeSink[];
  log?: Logger;
  /** The committee's public sharing when the config carries no commitments (see sharingFromPublicShares).
   *  With chain-driven epochs it seeds committee.epoch, checked against the registry like any other. */
  sharing?: PublicSharing;
  /** Where equivocation evidence is submitted for slashing (none: built from config.chains.ethereum.registry
   *  when the sinks are built from config, else it is only logged and broadcast). */
  evidence?: EvidenceSink;
  /** Chain-driven epochs: the registry reader (default: CommitteeReader over chains.ethereum.rpcUrl). */
  registryReader?: RegistryView;
  /** Relays signed handovers (default: built from config.chains when epochs.relayHandovers). */
  handoverRelay?: HandoverRelay;
  /** Relays certified feed batches (default: built from config.chains when it names a FeedRegistry). */
  feedRelay?: FeedRelay;
  /** /health chain probes: answer timeout and cache lifetime (ms). */
  probeTimeoutMs?: number;
  probeTtlMs?: number;
}

/** Blocks followEthereum looks back by default for handovers Solana may have missed. */
const FOLLOW_LOOKBACK_BLOCKS = 10_000n;

const registration = (role: 'member' | 'aggregator', p: { index: number; operatorKey: Uint8Array; peerId?: string | undefined; addrs?: string[] }): Registration => ({
  role,
  index: p.index,
  operatorKey: p.operatorKey,
  ...(p.peerId ? { peerId: p.peerId } : {}),
  ...(p.addrs?.length ? { addrs: p.addrs } : {}),
});

/** The handover relay config.chains allows (Ethereum needs the registry); undefined when there is none. */
function handoverRelayFrom(config: AggregatorConfig, chains: ChainConnections | undefined, log: Logger): HandoverRelay | undefined {
  if (!config.epochs.relayHandovers || !chains) return undefined;
  const registry = config.chains.ethereum?.registry as Address | undefined;
  const eth = chains.ethereum && registry
    ? new HandoverSubmitter({ publicClient: chains.ethereum.publicClient, walletClient: chains.ethereum.walletClient, registry, nonceManager: chains.ethereum.sink.submitter.nonces })
    : undefined;
  const sol = chains.solana ? { client: chains.solana.client, payer: chains.solana.payer } : undefined;
  if (!eth && !sol) return undefined;
  return new HandoverRelay({ ...(eth ? { ethereum: eth } : {}), ...(sol ? { solana: sol } : {}), logger: log });
}

export async function startAggregator(config: AggregatorConfig, opts: StartOptions = {}): Promise<RunningAggregator> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { aggregator: config.index } });
  const mode = epochSource(config);
  const operatorSecret = unlockOperatorKey(config.operatorKeystore, readPassword(config.password));
  const privateKey = await loadOrCreateLibp2pKey(join(config.dataDir, 'libp2p.key'));
  const c = config.committee;
  if (mode === 'config' && !c) throw new AggregatorConfigError("config field 'committee' is missing (epochs.source is 'config')");
  const aggregators = [...(c?.aggregators ?? []), ...config.aggregators].map((a) => registration('aggregator', a));
  // chain-driven: members are admitted from the registry's operator directory once it is read
  const registry = new Registry([...(mode === 'config' ? c!.members.map((m) => registration('member', m)) : []), ...aggregators]);
  const sharing = opts.sharing ?? (c?.commitments ? PublicSharing.fromBytes(c.commitments, c.members.length) : undefined);
  let book: EpochBook;
  if (mode === 'config') {
    if (!sharing) throw new AggregatorConfigError("config field 'committee.commitments' is missing; add the DKG commitments or pass the sharing");
    if (sharing.size !== c!.members.length) throw new AggregatorConfigError(`sharing is for ${sharing.size} members but the committee lists ${c!.members.length}`);
    const members = c!.members.map((m) => ({ index: m.index, operatorKey: toHex(m.operatorKey), ...(m.operatorAddress ? { address: m.operatorAddress } : {}) }));
    book = EpochBook.fixed({ epoch: c!.epoch, verifier: await AggregatorVerifier.create(sharing), sharing, members });
  } else {
    book = EpochBook.chain({ log });
  }
  const t = wireTopics(config.network);
  const host = await createDestraHost({
    domain: domainTag(config.network),
    privateKey,
    listen: config.listen,
    role: 'aggregator',
    index: config.index,
    operatorSecret,
    registry,
    topics: [t.rounds, t.batches, t.combined, t.dkg, t.epochs],
    log,
  });
  // undone in reverse order when starting fails half-way, and by stop()
  const undo: (() => unknown)[] = [() => host.stop()];
  const unwind = async () => {
    const steps = undo.splice(0).reverse();
    for (const f of steps) await Promise.resolve().then(f).catch(() => undefined);
  };
  try {
    let chains: ChainConnections | undefined;
    let evidence = opts.evidence;
    const registryAddress = config.chains.ethereum?.registry as Address | undefined;
    if (!opts.sinks) {
      chains = await connectChains(config, log);
      if (!evidence && chains.ethereum && registryAddress && config.evidence.submit && !(mode === 'chain' && config.evidence.account)) {
        if (mode === 'chain') {
          evidence = chainEvidenceSink(relayerEvidenceClients(chains.ethereum), registryAddress, book);
          log.info({ registry: registryAddress }, "equivocation evidence goes to the registry for slashing (each with its epoch's committee)");
        } else {
          const ev = await connectEvidence(config, chains.ethereum, sharing!);
          if ('reason' in ev) log.warn({ reason: ev.reason }, 'equivocation evidence will not be submitted for slashing (relaying continues)');
          else {
            evidence = ev.sink;
            log.info({ registry: registryAddress, epoch: c!.epoch }, 'equivocation evidence goes to the registry for slashing');
          }
        }
      }
    }
    // Its own evidence account serves chain-driven epochs whoever built the sinks (a caller's in-process ones too).
    if (!evidence && registryAddress && config.evidence.submit && config.evidence.account && mode === 'chain') {
      const ev = await connectEvidenceAccount(config.chains.ethereum!, config.evidence.account);
      evidence = chainEvidenceSink(ev, registryAddress, book);
      log.info({ registry: registryAddress, account: ev.account }, "equivocation evidence goes to the registry for slashing from its own account (each with its epoch's committee)");
    } else if (!evidence && opts.sinks && registryAddress && config.evidence.submit) {
      log.warn('equivocation evidence is named but not submitted: the caller passed its own chain sinks and no evidence sink (set evidence.account)');
    }
    const sinks = opts.sinks ?? chains?.sinks ?? [];
    // Relays not landed yet survive a restart in the journal and are resumed below.
    const rangeSinks = opts.rangeSinks ?? chains?.rangeSinks ?? [];
    const journal = sinks.length > 0 || rangeSinks.length > 0 ? new SqliteRelayJournal(join(config.dataDir, 'relay.db')) : undefined;
    if (journal) undo.push(() => journal.close());
    const relayLog = journal ? new RelayLog() : undefined;
    const relayer = journal ? new Relayer(sinks, { rank: config.index - 1, staggerMs: config.relay.staggerMs, maxAttempts: config.relay.maxAttempts, journal, ...(relayLog ? { observer: relayLog } : {}) }) : undefined;

    let follower: ChainEpochFollower | undefined;
    if (mode === 'chain') {
      const rpcUrl = config.chains.ethereum!.rpcUrl;
      const reader = opts.registryReader ?? new CommitteeReader(chains?.ethereum?.publicClient ?? (createPublicClient({ transport: http(rpcUrl) }) as PublicClient), registryAddress!);
      follower = new ChainEpochFollower({
        reader,
        book,
        registry,
        aggregators,
        dial: (addr) => host.connect(addr),
        isConnected: (index) => host.peerFor('member', index) !== undefined,
        log,
        pollIntervalMs: config.epochs.pollIntervalMs,
        directoryRefreshMs: config.epochs.directoryRefreshMs,
      });
      undo.push(() => follower!.stop());
      // Sharings known before the registry is read: kept by the book and accepted only if they match it.
      const store = new EpochStore(join(config.dataDir, 'epochs.json'));
      const seeds = [
        ...store.load().map((s) => ({ ...s, source: 'store' })),
        ...config.epochs.known.map((k) => ({ epoch: k.epoch, commitments: k.commitments, source: 'config epochs.known' })),
        ...(c && sharing ? [{ epoch: c.epoch, commitments: sharing.commitmentBytes(), source: 'config committee' }] : []),
      ];
      for (const s of seeds) await book.offer(s.epoch, s.commitments, s.source);
      book.on('ready', (e) => {
        if (!e.sharing || e.source === 'store') return;
        try {
          store.save({ epoch: e.epoch, commitments: e.sharing.commitmentBytes() });
        } catch (err) {
          log.warn({ epoch: e.epoch, path: store.path, err: (err as Error).message }, 'could not store the accepted sharing');
        }
      });
    }

    const service = await AggregatorService.create({
      host,
      network: config.network,
      epochs: book,
      maxHeld: config.epochs.maxHeld,
      holdMs: config.epochs.holdMs,
      ...(follower ? { onPending: () => follower!.refreshSoon() } : {}),
      ...(relayer ? { relayer } : {}),
      onDemandTargets: () => config.relay.onDemandTargets,
      batchPolicy: config.batch,
      log,
    });
    const reporter = evidence && config.evidence.submit ? new EquivocationReporter(evidence, log) : undefined;
    if (reporter) service.on('misbehaviour', (e) => void reporter.onEvidence(e));
    await service.start();
    // Certified ranges of the chains' request streams, relayed with the reports members send (range-relay.ts).
    const ranges = rangeSinks.length > 0 ? await startRangeRelay({ host, service, sinks: rangeSinks, ...(journal ? { journal } : {}), ...(relayLog ? { observer: relayLog } : {}), rank: config.index - 1, staggerMs: config.relay.staggerMs, log }) : undefined;
    if (ranges) undo.push(() => ranges.stop());
    undo.push(() => reporter?.idle());
    undo.push(() => service.stop());

    const feeds = new FeedCommitService({ host, epochs: book, batchesTopic: t.batches, log });
    await feeds.start();
    undo.push(() => feeds.stop());
    const builtFeedRelay = opts.feedRelay ? undefined : await feedRelayFrom(config, chains, log);
    if (builtFeedRelay) undo.push(() => builtFeedRelay.journal.close());
    const feedRelay = opts.feedRelay ?? builtFeedRelay?.relay;
    if (feedRelay) {
      feeds.on('certified', (b) => void feedRelay.relay(b).catch((err) => log.warn({ err: (err as Error).message }, 'feed batch relay failed')));
      undo.push(() => feedRelay.stop());
      void feedRelay.resume().catch((err) => log.warn({ err: (err as Error).message }, 'resuming feed relays failed'));
    }

    const handoverRelay = opts.handoverRelay ?? handoverRelayFrom(config, chains, log);
    const gossip = new EpochGossip({ book, ...(handoverRelay ? { relay: handoverRelay } : {}), ...(follower ? { refresh: () => follower!.refresh() } : {}), log });
    host.subscribe(t.epochs, gossip.onMessage);
    undo.push(() => gossip.idle());
    let watch: HandoverWatch | undefined;
    if (handoverRelay && chains?.ethereum && registryAddress && handoverRelay.chains.length === 2) {
      const head = await chains.ethereum.publicClient.getBlockNumber();
      const fromBlock = config.epochs.followFromBlock !== undefined ? BigInt(config.epochs.followFromBlock) : head > FOLLOW_LOOKBACK_BLOCKS ? head - FOLLOW_LOOKBACK_BLOCKS : 0n;
      watch = handoverRelay.followEthereum({ client: chains.ethereum.publicClient, registry: registryAddress, fromBlock });
      undo.push(() => watch!.stop());
      log.info({ fromBlock: fromBlock.toString() }, 'carrying Ethereum handovers over to Solana');
    }

    if (follower) await follower.start();
    else {
      for (const m of c!.members) {
        for (const addr of m.addrs) {
          await host.connect(addr).catch((err) => log.warn({ member: m.index, addr, err: (err as Error).message }, 'could not dial member (it may dial us)'));
        }
      }
    }

    const currentCommittee = () => (book.current !== undefined ? book.committee(book.current) : undefined);
    let status: StatusServer | undefined;
    if (config.statusPort !== undefined) {
      // (a 'result' listener turns off the service's throughput mode, so it is only added with the endpoint)
      const counters = { results_total: 0, relays_landed_total: 0, relays_failed_total: 0 };
      service.on('result', () => counters.results_total++);
      service.on('relayed', ({ outcomes }) => {
        for (const o of outcomes) {
          if (o.status === 'failed') counters.relays_failed_total++;
          else counters.relays_landed_total++;
        }
      });
      const probes = (chains?.probes ?? []).map((p) => new ProbeCache(p, { timeoutMs: opts.probeTimeoutMs ?? 2_000, ttlMs: opts.probeTtlMs ?? 3_000 }));
      try {
        status = await startStatusServer(config.statusPort, {
          connectedMembers: () => {
            const members = host.peersWithRole('member');
            if (mode === 'config') return members.length;
            const cur = book.current;
            return cur === undefined ? 0 : members.filter((p) => book.memberIndexOf(cur, p) !== undefined).length;
          },
          threshold: () => currentCommittee()?.threshold ?? 0,
          committeeSize: () => currentCommittee()?.size ?? 0,
          epoch: () => ({ current: book.current, ready: book.readyEpochs }),
          probes,
          pendingRelays: () => journal?.count() ?? 0,
          counters: () => ({ ...counters, ...gossip.counters, partials_held_dropped_total: service.stats.heldDropped }),
          gauges: () => ({ partials_held: service.stats.held }),
          ...(relayLog ? { relays: relayLog } : {}),
        });
      } catch (err) {
        throw new AggregatorConfigError(`config field 'statusPort': cannot listen on 127.0.0.1:${config.statusPort}: ${(err as Error).message}`);
      }
      undo.push(() => status!.close());
    }
    const cur = currentCommittee();
    log.info(
      { peerId: host.peerId, addrs: host.multiaddrs().map(String), epochs: mode, epoch: book.current, t: cur?.threshold, n: cur?.size, status: status?.url, chains: sinks.map((s) => s.chain), handovers: handoverRelay?.chains ?? [] },
      'aggregator started',
    );
    void relayer?.resume().then((outs) => {
      if (outs.length > 0) log.info({ relays: outs.length, landed: outs.filter((o) => o.status !== 'failed').length }, 'pending relays from the previous run finished');
      for (const o of outs) if (o.status === 'failed') log.warn({ chain: o.chain, err: o.error.message }, 'pending relay not landed');
    }).catch((err) => log.error({ err: (err as Error).message }, 'resuming pending relays failed'));
    return {
      service,
      host,
      log,
      epochs: book,
      gossip,
      feeds,
      ...(feedRelay ? { feedRelay } : {}),
      ...(follower ? { follower } : {}),
      ...(handoverRelay ? { handoverRelay } : {}),
      ...(chains ? { chains } : {}),
      ...(ranges ? { rangeRelay: ranges.relay } : {}),
      ...(status ? { status } : {}),
      ...(relayLog ? { relayLog } : {}),
      stop: unwind,
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
