// The floor under the product's batch figure: one member's work for a range, in this process, through the
// node's own RangeIntake and RangeService (the proposal's stream from its rows, ids, input hashes, one
// batched inference, report encoding, leaves, tree, guard, root signature; no network, no HTTP, no
// certificate). Every member does this for every row, so n × this per row is CPU no overhead cut removes.
import { dealShares, domainTag, g2Compressed, jobStream } from '@destra/protocol';
import { loadFastHasher } from '@destra/aggregator/fast-hash';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RangeIntake, RangeMetrics, RangeService, rangeInferencer, rangeStreamOf } from '../../oracle-node/src/range/index.ts';
import { groupKeyVerifier, type ActiveKey } from '../../oracle-node/src/round/keys.ts';
import type { RangeProposal } from '../../oracle-node/src/wire.ts';
import type { BenchModel } from './inference.ts';

export interface MemberRangeCpu {
  rowsPerRange: number;
  ranges: number;
  /** Process CPU (all threads: onnxruntime's too) per range. */
  cpuMsPerRange: number;
  usPerRow: number;
}

export async function memberRangeCpu(model: BenchModel, rowsPerRange: number, ranges: number): Promise<MemberRangeCpu> {
  const hasher = await loadFastHasher();
  const { shares, sharing } = dealShares(2, 3);
  const groupKey = g2Compressed(sharing.groupKey);
  const key: ActiveKey = { epoch: 1, index: 1, n: 3, t: 2, share: shares[0]!, sharing, groupKey, groupVerifier: await groupKeyVerifier(groupKey) };
  const next = new Map<string, number>();
  const host = {
    sendDirect: async () => undefined,
    subscribe: () => undefined,
    peersWithRole: () => [],
    handleDirect: async () => undefined,
  };
  const log = pino({ level: 'silent' });
  const service = new RangeService({
    host,
    batchesTopic: 'bench',
    guard: { rangeNext: (s) => next.get(s) ?? 0, reserveRange: (s, _start, end) => void next.set(s, end) },
    keyFor: () => key,
    activeKey: () => key,
    hasher,
    keepReports: 1 << 20,
    log,
  });
  const domain = domainTag('bench');
  const intake = new RangeIntake({
    service,
    host,
    domain,
    inference: rangeInferencer(model.inference),
    hasher,
    activeKey: () => key,
    keyFor: () => key,
    memberIndexOf: () => 1,
    maxSkewSeconds: 600,
    maxRangeRows: rowsPerRange,
    maxQueuedRows: 1 << 20,
    metrics: new RangeMetrics(new Registry()),
    log,
  });
  const rowLength = model.input(0).length;
  const rows = new Uint8Array(rowsPerRange * rowLength);
  for (let i = 0; i < rowsPerRange; i++) rows.set(model.input(i), i * rowLength);
  const operatorKey = new Uint8Array(96).fill(3);
  const one = async (r: number): Promise<void> => {
    const job = new Uint8Array(16);
    new DataView(job.buffer).setUint32(0, r + 1);
    const p: RangeProposal = { type: 'range-proposal', v: 1, epoch: 1, proposer: 1, job, start: 0, model: model.model, timestamp: Math.floor(Date.now() / 1000), rowLength, rows };
    // What a member's check does (the range's stream from the proposal's rows), then compute and commit.
    await intake.proposeLocal(p, rangeStreamOf(jobStream(domain, operatorKey, job), p, hasher));
  };
  for (let r = 0; r < 3; r++) await one(-1 - r); // warm-up: JIT, onnxruntime's first runs
  const u0 = process.cpuUsage();
  for (let r = 0; r < ranges; r++) await one(r);
  const u = process.cpuUsage(u0);
  const cpuMsPerRange = (u.user + u.system) / 1000 / ranges;
  return { rowsPerRange, ranges, cpuMsPerRange, usPerRow: (cpuMsPerRange * 1000) / rowsPerRange };
}
