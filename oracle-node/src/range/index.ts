// The range protocol on a node: RangeService (commit / certificates / results, reusable for any ordered
// stream), RangeIntake (members' proposals in), BatchProposer and JobTable (batch jobs this node takes).
// startRangeProtocol wires them to the node's host, store, keys and inference; node.ts calls it.
import { loadFastHasher, type FastHasher } from '@destra/aggregator/fast-hash';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PeerInfo } from '../p2p/host.ts';
import type { Inferencer } from '../round/inference.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { BatchApiDeps } from '../api/batch.ts';
import type { BatchConfig } from './config.ts';
import { rangeInferencer } from './inference.ts';
import { RangeIntake, type RangeIntakeOptions } from './intake.ts';
import { JobTable } from './jobs.ts';
import { RangeMetrics } from './metrics.ts';
import { BatchProposer } from './proposer.ts';
import { RangeService, type RangeServiceOptions } from './service.ts';

export { RangeService, resultOf, rangeIdHex, type RangeHost, type RangeServiceOptions, type SignedResult, type CertifiedRange, type RangeSignedReport } from './service.ts';
export { RangeIntake, ProposalRefused, seqMessages } from './intake.ts';
export { BatchProposer, rowsPerRange } from './proposer.ts';
export { rangeStreamOf } from './streams.ts';
export { JobTable, type Job, type JobRange, type JobEvent, type JobLimits } from './jobs.ts';
export { rangeInferencer, RowInputError, type RangeInferencer } from './inference.ts';
export { batchConfigSchema, DEFAULT_BATCH_CONFIG, type BatchConfig } from './config.ts';
export { RangeMetrics } from './metrics.ts';

export interface RangeProtocolOptions {
  host: RangeServiceOptions['host'] & RangeIntakeOptions['host'];
  batchesTopic: string;
  store: RangeServiceOptions['guard'];
  domain: Uint8Array;
  operatorKey: Uint8Array;
  inference: Inferencer;
  activeKey(): ActiveKey | undefined;
  keyFor(epoch: number): ActiveKey | undefined;
  memberIndexOf(epoch: number, from: PeerInfo): number | undefined;
  config: BatchConfig;
  maxSkewSeconds: number;
  /** The node's metrics registry. */
  registry: Registry;
  /** Number rows of the JSON body → canonical bytes. */
  encodeInput?(model: string, values: number[]): Uint8Array;
  /** The group key of `epoch`, for single results served with their key. */
  groupKey(epoch: number): Uint8Array | undefined;
  hasher?: FastHasher;
  log: Logger;
}

export interface RangeProtocol {
  service: RangeService;
  intake: RangeIntake;
  proposer: BatchProposer;
  jobs: JobTable;
  metrics: RangeMetrics;
  /** What the HTTP API needs (ApiDeps.batch). */
  api: BatchApiDeps;
  stop(): void;
}

export async function startRangeProtocol(o: RangeProtocolOptions): Promise<RangeProtocol> {
  const hasher = o.hasher ?? (await loadFastHasher());
  const metrics = new RangeMetrics(o.registry);
  const inference = rangeInferencer(o.inference);
  const c = o.config;
  const service = new RangeService({
    host: o.host,
    batchesTopic: o.batchesTopic,
    guard: o.store,
    keyFor: o.keyFor,
    activeKey: o.activeKey,
    hasher,
    keepReports: c.keepReports,
    log: o.log,
    onRejected: (reason) => o.log.warn({ reason }, 'range certificate not stored'),
    // A member that did not take a batch job keeps its ranges' certificates unchecked until a lookup:
    // counted apart, so the committee's batch throughput stays visible on every node.
    onUnchecked: (rows) => metrics.rows.inc({ stage: 'certificate-unchecked' }, rows),
  });
  service.on('certified', (r) => metrics.rows.inc({ stage: 'certified-here' }, r.count));
  const intake = new RangeIntake({
    service,
    host: o.host,
    domain: o.domain,
    inference,
    hasher,
    activeKey: o.activeKey,
    keyFor: o.keyFor,
    memberIndexOf: o.memberIndexOf,
    maxSkewSeconds: o.maxSkewSeconds,
    maxRangeRows: c.rangeRows,
    maxQueuedRows: c.maxQueuedRows,
    metrics,
    log: o.log,
  });
  const jobs = new JobTable({ maxRowsPerJob: c.maxRowsPerJob, maxJobsPerClient: c.maxJobsPerClient, maxJobs: c.maxJobs, jobRetentionMs: c.jobRetentionMs, maxRetainedRows: c.maxRetainedRows });
  const proposer = new BatchProposer({
    service,
    intake,
    host: o.host,
    jobs,
    inference,
    hasher,
    domain: o.domain,
    operatorKey: o.operatorKey,
    activeKey: o.activeKey,
    memberIndexOf: o.memberIndexOf,
    rangeRows: c.rangeRows,
    rangeTimeoutMs: c.rangeTimeoutMs,
    maxInflightRows: c.maxInflightRows,
    metrics,
    log: o.log,
  });
  service.start();
  await intake.start();
  const sweeper = setInterval(() => jobs.sweep(), 10_000);
  sweeper.unref();
  return {
    service,
    intake,
    proposer,
    jobs,
    metrics,
    api: { proposer, jobs, service, maxBodyBytes: c.maxBodyBytes, maxRowsPerJob: c.maxRowsPerJob, ...(o.encodeInput ? { encodeInput: o.encodeInput } : {}), groupKey: o.groupKey },
    stop() {
      clearInterval(sweeper);
      proposer.stop();
    },
  };
}
