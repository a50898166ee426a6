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

export interface RunningAggregator {
  service: AggregatorService;
  host: DestraHost;
  log: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Chain sinks built by the caller (the devnet passes in-process ones); none = no relaying. */
  sinks?: ChainSink[];
  log?: Logger;
  /** The committee's public sharing when the config carries no commitments (see sharingFromPublicShares). */
  sharing?: PublicSharing;
  /** Where equivocation evidence is submitted for slashing (none: it is only logged and broadcast). */
  evidence?: EvidenceSink;
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
  const sinks = opts.sinks ?? [];
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
  const reporter = opts.evidence && config.evidence.submit ? new EquivocationReporter(opts.evidence, log) : undefined;
  if (reporter) service.on('misbehaviour', (e) => void reporter.onEvidence(e));
  await service.start();
  for (const m of c.members) {
    for (const addr of m.addrs) {
      await host.connect(addr).catch((err) => log.warn({ member: m.index, addr, err: (err as Error).message }, 'could not dial member (it may dial us)'));
    }
  }
  log.info({ peerId: host.peerId, addrs: host.multiaddrs().map(String), t: verifier.threshold, n: c.members.length }, 'aggregator started');
  void relayer?.resume().then((outs) => {
    if (outs.length > 0) log.info({ relays: outs.length, landed: outs.filter((o) => o.status !== 'failed').length }, 'pending relays from the previous run finished');
    for (const o of outs) if (o.status === 'failed') log.warn({ chain: o.chain, err: o.error.message }, 'pending relay not landed');
  }).catch((err) => log.error({ err: (err as Error).message }, 'resuming pending relays failed'));
  return {
    service,
    host,
    log,
    async stop() {
      service.stop();
      await reporter?.idle();
      await host.stop();
      journal?.close();
    },
  };
}
