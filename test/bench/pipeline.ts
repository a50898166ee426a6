// Sustained batched signing over libp2p: n members, each in its own worker thread (real DestraHost with
// admission, real inference, real hashing and BLS signing), compute reports for a shared request stream
// in chunks and announce them; the real AggregatorService (main thread) batches leaves that t members
// agree on and collects one root signature per member per batch. Counts threshold-signed results/s.
import { Worker } from 'node:worker_threads';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { pino } from 'pino';
import { dealShares, domainTag, publicKeyOf, randomSecretKey, secretKeyToBytes } from '@destra/protocol';
import { DestraHost, Registry } from '@destra/oracle-node';
import { AggregatorService, AggregatorVerifier } from '@destra/aggregator';
import { topics as wireTopics } from '../../protocol/src/wire/index.ts';
import type { MemberWorkerData } from './pipeline-member.ts';

export interface PipelineOptions {
  n: number;
  t: number;
  /** Requests per chunk (a member infers, hashes and announces a chunk at a time). */
  chunk: number;
  frameEntries: number;
  batchSize: number;
  durationMs: number;
}

export interface PipelineResult {
  signed: number;
  batches: number;
  seconds: number;
  perSecond: number;
  batchLatencyP50: number;
}

type WorkerMsg = { type: 'ready' } | { type: 'chunk-done'; start: number } | { type: 'error'; message: string } | { type: 'stopped'; stats: unknown };

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const network = 'bench';
  const topics = wireTopics(network);
  const log = pino({ level: process.env.DESTRA_BENCH_DEBUG ? 'warn' : 'silent' });
  const { shares, sharing } = dealShares(o.t, o.n);
  const operators = Array.from({ length: o.n + 1 }, () => randomSecretKey());
  const registrations = [
    ...shares.map((s) => ({ role: 'member' as const, index: s.index, operatorKey: publicKeyOf(operators[s.index]!) })),
    { role: 'aggregator' as const, index: 1, operatorKey: publicKeyOf(operators[0]!) },
  ];
  const aggHost = await DestraHost.create({
    domain: domainTag(network),
    privateKey: await generateKeyPair('Ed25519'),
    role: 'aggregator',
    index: 1,
    operatorSecret: operators[0]!,
    registry: new Registry(registrations),
    topics: [topics.rounds, topics.batches, topics.combined, topics.dkg],
    log,
  });
  const service = await AggregatorService.create({
    host: aggHost,
    network,
    epoch: 1,
    verifier: await AggregatorVerifier.create(sharing),
    batchPolicy: { maxSize: o.batchSize, maxDelayMs: 5, highLoadPerSecond: 1 },
    log,
  });
  await service.start();
  let signed = 0;
  let batches = 0;
  const batchLatencies: number[] = [];
  service.on('batch', (b) => {
    signed += b.size;
    batches++;
    batchLatencies.push(b.latencyMs);
  });

  const workers: Worker[] = [];
  const waiters = new Map<string, () => void>();
  const failures: string[] = [];
  const expect = (key: string) => new Promise<void>((resolve) => waiters.set(key, resolve));
  for (const share of shares) {
    const data: MemberWorkerData = {
      n: o.n,
      t: o.t,
      index: share.index,
      share: share.value.toString(16),
      operatorSecret: Buffer.from(secretKeyToBytes(operators[share.index]!)).toString('hex'),
      libp2pKey: privateKeyToProtobuf(await generateKeyPair('Ed25519')),
      registrations,
      aggregatorAddr: aggHost.multiaddrs()[0]!.toString(),
      aggregatorPeerId: aggHost.peerId,
      chunk: o.chunk,
      frameEntries: o.frameEntries,
    };
    // The worker registers tsx itself (execArgv hooks do not reach worker entry points on Node 20).
    const entry = new URL('./pipeline-member.ts', import.meta.url).href;
    const w = new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true, workerData: data });
    w.on('message', (m: WorkerMsg) => {
      const key = m.type === 'chunk-done' ? `${share.index}:${m.start}` : `${share.index}:${m.type}`;
      if (m.type === 'error') failures.push(`member ${share.index}: ${m.message}`);
      waiters.get(key)?.();
    });
    w.on('error', (err) => {
      failures.push(`member ${share.index}: ${err.message}`);
      for (const resolve of waiters.values()) resolve(); // unblock the driver, which then reports the failure
    });
    workers.push(w);
  }
  await Promise.all(shares.map((s) => expect(`${s.index}:ready`)));
  if (failures.length > 0) {
    await Promise.all(workers.map((w) => w.terminate()));
    service.stop();
    await aggHost.stop();
    throw new Error(`throughput pipeline members failed to start: ${failures.join('; ')}`);
  }
  await aggHost.waitForPeers((p) => p.filter((x) => x.role === 'member').length === o.n);
  await new Promise((r) => setTimeout(r, 1500)); // gossipsub mesh for BatchProposals

  const t0 = performance.now();
  const stopAt = t0 + o.durationMs;
  let previous: Promise<unknown> | undefined;
  for (let start = 0; performance.now() < stopAt && failures.length === 0; start += o.chunk) {
    const done = Promise.all(shares.map((s) => expect(`${s.index}:${start}`)));
    workers.forEach((w) => w.postMessage({ type: 'chunk', start }));
    // Two chunks in flight per member: one announced while the next is computed.
    if (previous) await previous;
    previous = done;
  }
  await previous;
  const settleUntil = performance.now() + 5000;
  while (service.stats.batchedReports < signed + 1 && performance.now() < settleUntil) {
    const before = signed;
    await new Promise((r) => setTimeout(r, 250));
    if (signed === before && performance.now() > stopAt + 1000) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(workers.map((w, i) => {
    const stopped = expect(`${i + 1}:stopped`);
    w.postMessage({ type: 'stop' });
    return Promise.race([stopped, new Promise((r) => setTimeout(r, 3000))]).then(() => w.terminate());
  }));
  service.stop();
  await aggHost.stop();
  if (failures.length > 0) throw new Error(`throughput pipeline failed: ${failures.join('; ')}`);
  batchLatencies.sort((a, b) => a - b);
  return { signed, batches, seconds, perSecond: signed / seconds, batchLatencyP50: batchLatencies[Math.floor(batchLatencies.length / 2)] ?? NaN };
}
