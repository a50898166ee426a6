// Starts an aggregator from its config: unlock the operator key, build the libp2p host with admission,
// derive the partial verifier from the DKG commitments, dial the committee, and run the service.
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { domainTag, PublicSharing } from '@destra/protocol';
import { AggregatorVerifier } from '../core/group-check.ts';
import { createDestraHost, loadOrCreateLibp2pKey, readPassword, Registry, unlockOperatorKey, type DestraHost } from '@destra/oracle-node';
import { AggregatorService } from '../net/service.ts';
import { Relayer, type ChainSink } from '../relay/relayer.ts';
import { EquivocationReporter, type EvidenceSink } from '../relay/evidence.ts';
import { SqliteRelayJournal } from '../relay/journal.ts';
import { topics as wireTopics } from '../wire.ts';
import type { AggregatorConfig } from './config.ts';
import { AggregatorConfigError } from '../errors.ts';
import { connectChains, connectEvidence, type ChainConnections } from './chains.ts';
import { ProbeCache, startStatusServer, type StatusServer } from './status.ts';

export interface RunningAggregator {
  service: AggregatorService;
  host: DestraHost;
  log: Logger;
  /** Chain connections built from config.chains (absent when the caller passed its own sinks). */
  chains?: ChainConnections;
  /** The status endpoint (config.statusPort). */
  status?: StatusServer;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Chain sinks built by the caller (the devnet passes in-process ones); absent: built from config.chains
   *  (an empty list: no relaying). */
  sinks?: ChainSink[];
  log?: Logger;
  /** The committee's public sharing when the config carries no commitments (see sharingFromPublicShares). */
  sharing?: PublicSharing;
  /** Where equivocation evidence is submitted for slashing (none: built from config.chains.ethereum.registry
   *  when the sinks are built from config, else it is only logged and broadcast). */
  evidence?: EvidenceSink;
  /** /health chain probes: answer timeout and cache lifetime (ms). */
  probeTimeoutMs?: number;
  probeTtlMs?: number;
}

export async function startAggregator(config: AggregatorConfig, opts: StartOptions = {}): Promise<RunningAggregator> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { aggregator: config.index } });
  const operatorSecret = unlockOperatorKey(config.operatorKeystore, readPassword(config.password));
  const privateKey = await loadOrCreateLibp2pKey(join(config.dataDir, 'libp2p.key'));
  const c = config.committee;
  const registry = new Registry([
    ...c.members.map((m) => ({ role: 'member' as const, index: m.index, operatorKey: m.operatorKey, ...(m.peerId ? { peerId: m.peerId } : {}) })),
    ...c.aggregators.map((a) => ({ role: 'aggregator' as const, index: a.index, operatorKey: a.operatorKey, ...(a.peerId ? { peerId: a.peerId } : {}) })),
  ]);
  const t = wireTopics(config.network);
  const host = await createDestraHost({
    domain: domainTag(config.network),
    privateKey,
    listen: config.listen,
    role: 'aggregator',
    index: config.index,
    operatorSecret,
    registry,
    topics: [t.rounds, t.batches, t.combined, t.dkg],
    log,
  });
  const sharing = opts.sharing ?? (c.commitments ? PublicSharing.fromBytes(c.commitments, c.members.length) : undefined);
  if (!sharing) throw new AggregatorConfigError("config field 'committee.commitments' is missing; add the DKG commitments or pass the sharing");
  if (sharing.size !== c.members.length) throw new AggregatorConfigError(`sharing is for ${sharing.size} members but the committee lists ${c.members.length}`);
  const verifier = await AggregatorVerifier.create(sharing);
  let chains: ChainConnections | undefined;
  let evidence = opts.evidence;
  if (!opts.sinks) {
    try {
      chains = await connectChains(config, log);
    } catch (err) {
      await host.stop();
      throw err;
    }
    if (!evidence && chains.ethereum && config.chains.ethereum?.registry && config.evidence.submit) {
      const ev = await connectEvidence(config, chains.ethereum, sharing);
      if ('reason' in ev) log.warn({ reason: ev.reason }, 'equivocation evidence will not be submitted for slashing (relaying continues)');
      else {
        evidence = ev.sink;
        log.info({ registry: config.chains.ethereum.registry, epoch: c.epoch }, 'equivocation evidence goes to the registry for slashing');
      }
    }
  }
  const sinks = opts.sinks ?? chains?.sinks ?? [];
  // Relays not landed yet survive a restart in the journal and are resumed below.
  const journal = sinks.length > 0 ? new SqliteRelayJournal(join(config.dataDir, 'relay.db')) : undefined;
  const relayer = journal ? new Relayer(sinks, { rank: config.index - 1, staggerMs: config.relay.staggerMs, maxAttempts: config.relay.maxAttempts, journal }) : undefined;
  const service = await AggregatorService.create({
    host,
    network: config.network,
    epoch: c.epoch,
    verifier,
    ...(relayer ? { relayer } : {}),
    onDemandTargets: () => config.relay.onDemandTargets,
    batchPolicy: config.batch,
    log,
  });
  const reporter = evidence && config.evidence.submit ? new EquivocationReporter(evidence, log) : undefined;
  if (reporter) service.on('misbehaviour', (e) => void reporter.onEvidence(e));
  await service.start();
  for (const m of c.members) {
    for (const addr of m.addrs) {
      await host.connect(addr).catch((err) => log.warn({ member: m.index, addr, err: (err as Error).message }, 'could not dial member (it may dial us)'));
    }
  }
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
        connectedMembers: () => host.peersWithRole('member').length,
        threshold: verifier.threshold,
        committeeSize: c.members.length,
        probes,
        pendingRelays: () => journal?.count() ?? 0,
        counters: () => ({ ...counters }),
      });
    } catch (err) {
      service.stop();
      await host.stop();
      journal?.close();
      throw new AggregatorConfigError(`config field 'statusPort': cannot listen on 127.0.0.1:${config.statusPort}: ${(err as Error).message}`);
    }
  }
  log.info({ peerId: host.peerId, addrs: host.multiaddrs().map(String), t: verifier.threshold, n: c.members.length, status: status?.url, chains: sinks.map((s) => s.chain) }, 'aggregator started');
  void relayer?.resume().then((outs) => {
    if (outs.length > 0) log.info({ relays: outs.length, landed: outs.filter((o) => o.status !== 'failed').length }, 'pending relays from the previous run finished');
    for (const o of outs) if (o.status === 'failed') log.warn({ chain: o.chain, err: o.error.message }, 'pending relay not landed');
  }).catch((err) => log.error({ err: (err as Error).message }, 'resuming pending relays failed'));
  return {
    service,
    host,
    log,
    ...(chains ? { chains } : {}),
    ...(status ? { status } : {}),
    async stop() {
      await status?.close();
      service.stop();
      await reporter?.idle();
      await host.stop();
      journal?.close();
    },
  };
}
