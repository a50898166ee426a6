// Sustained batched signing over libp2p: n members, each in its own worker thread (real DestraHost with
// admission, real inference, real hashing and BLS signing), compute reports for a shared ordered request
// stream in chunks; the real AggregatorService (main thread) combines one root signature per chunk.
// mode 'range': each chunk is a range (RangeCommit → RangeCertificate); 'announce': members announce
// per-report leaves and sign aggregator-proposed batches. Counts threshold-signed results/s, and checks
// sampled results end to end: a member serves report + proof, verified against the group key.
import { Worker } from 'node:worker_threads';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { pino } from 'pino';
import { dealShares, decodeReport, domainTag, g2Compressed, publicKeyOf, randomSecretKey, reportLeaf, secretKeyToBytes, signingMessage, SigningPurpose, verify, verifyMerkleProof } from '@destra/protocol';
import { DestraHost, Registry } from '@destra/oracle-node';
import { AggregatorService, AggregatorVerifier, equalBytes, loadFastHasher, type RangeSignedReport } from '@destra/aggregator';
import { topics as wireTopics } from '../../protocol/src/wire/index.ts';
import { loadBenchModel } from './inference.ts';
import type { MemberWorkerData, PipelineMode } from './pipeline-member.ts';

export interface PipelineOptions {
  mode: PipelineMode;
  n: number;
  t: number;
  /** Requests per chunk (one range in range mode). */
  chunk: number;
  /** Chunks each member may have in flight. */
  inflight: number;
  frameEntries: number;
  batchSize: number;
  durationMs: number;
  /** Results sampled after the run and verified (report, proof, group signature). */
  samples: number;
}

export interface PipelineResult {
  signed: number;
  batches: number;
  seconds: number;
  perSecond: number;
  batchLatencyP50: number;
  /** Sampled results verified end to end, of `samples` requested (range mode). */
  verified: number;
}

type WorkerMsg =
  | { type: 'ready' }
  | { type: 'chunk-done'; start: number }
  | { type: 'error'; message: string }
  | { type: 'sample'; seq: number; signed: RangeSignedReport | null }
  | { type: 'stopped'; stats: unknown };

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const network = 'bench';
  const topics = wireTopics(network);
  const log = pino({ level: process.env.DESTRA_BENCH_DEBUG ? 'warn' : 'silent' });
  const hasher = await loadFastHasher();
  const model = await loadBenchModel();
  const { shares, sharing } = dealShares(o.t, o.n);
  const groupKey = g2Compressed(sharing.groupKey);
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
  const onSigned = (size: number, latencyMs: number) => {
    signed += size;
    batches++;
    batchLatencies.push(latencyMs);
  };
  service.on('batch', (b) => onSigned(b.size, b.latencyMs));
  service.on('range', (r) => onSigned(r.count, r.latencyMs));

  // The ordered request stream every node reads (in production: the chain's request events).
  const stream = hasher.keccak(new TextEncoder().encode(`${network}/bench-stream`));
  // Request inputs cycle through a pool made before the clock starts (making them is the requesters'
  // work, not the oracle's); request ids are unique: keccak256(stream ‖ uint64 seq).
  const POOL = 65_536;
  const rowBytes = model.input(0).length;
  const pool = new Uint8Array(POOL * rowBytes);
  for (let i = 0; i < POOL; i++) pool.set(model.input(i), i * rowBytes);
  const chunkOf = (start: number) => {
    const seqs = new Uint8Array(o.chunk * 40);
    const view = new DataView(seqs.buffer);
    for (let i = 0; i < o.chunk; i++) {
      seqs.set(stream, i * 40);
      view.setBigUint64(i * 40 + 32, BigInt(start + i));
    }
    const inputs = new Uint8Array(o.chunk * rowBytes);
    for (let i = 0; i < o.chunk; ) {
      const from = (start + i) % POOL;
      const take = Math.min(o.chunk - i, POOL - from);
      inputs.set(pool.subarray(from * rowBytes, (from + take) * rowBytes), i * rowBytes);
      i += take;
    }
    return { ids: hasher.keccakFlat(seqs, 40), inputs };
  };

  const workers: Worker[] = [];
  const waiters = new Map<string, (m?: WorkerMsg) => void>();
  const failures: string[] = [];
  const expect = <T extends WorkerMsg = WorkerMsg>(key: string) => new Promise<T>((resolve) => waiters.set(key, resolve as (m?: WorkerMsg) => void));
  for (const share of shares) {
    const data: MemberWorkerData = {
      mode: o.mode,
      n: o.n,
      t: o.t,
      index: share.index,
      share: share.value.toString(16),
      groupKey,
      operatorSecret: Buffer.from(secretKeyToBytes(operators[share.index]!)).toString('hex'),
      libp2pKey: privateKeyToProtobuf(await generateKeyPair('Ed25519')),
      registrations,
      aggregatorAddr: aggHost.multiaddrs()[0]!.toString(),
      aggregatorPeerId: aggHost.peerId,
      stream,
      frameEntries: o.frameEntries,
    };
    // The worker registers tsx itself (execArgv hooks do not reach worker entry points on Node 20).
    const entry = new URL('./pipeline-member.ts', import.meta.url).href;
    const w = new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true, workerData: data });
    w.on('message', (m: WorkerMsg) => {
      const key = m.type === 'chunk-done' ? `${share.index}:${m.start}` : m.type === 'sample' ? `${share.index}:sample:${m.seq}` : `${share.index}:${m.type}`;
      if (m.type === 'error') failures.push(`member ${share.index}: ${m.message}`);
      waiters.get(key)?.(m);
    });
    w.on('error', (err) => {
      failures.push(`member ${share.index}: ${err.message}`);
      for (const resolve of waiters.values()) resolve(); // unblock the driver, which then reports the failure
    });
    workers.push(w);
  }
  await Promise.all(shares.map((s) => expect(`${s.index}:ready`)));
  const shutdown = async () => {
    await Promise.all(
      workers.map((w, i) => {
        const stopped = expect(`${i + 1}:stopped`);
        w.postMessage({ type: 'stop' });
        return Promise.race([stopped, new Promise((r) => setTimeout(r, 3000))]).then(() => w.terminate());
      }),
    );
    service.stop();
    await aggHost.stop();
    await model.close();
  };
  if (failures.length > 0) {
    await shutdown();
    throw new Error(`throughput pipeline members failed to start: ${failures.join('; ')}`);
  }
  await aggHost.waitForPeers((p) => p.filter((x) => x.role === 'member').length === o.n);
  await new Promise((r) => setTimeout(r, 1500)); // members' fan-out handlers registered, connections warm

  const t0 = performance.now();
  const stopAt = t0 + o.durationMs;
  const inflight: Promise<unknown>[] = [];
  let end = 0;
  for (let start = 0; performance.now() < stopAt && failures.length === 0; start += o.chunk) {
    const c = chunkOf(start);
    inflight.push(Promise.all(shares.map((s) => expect(`${s.index}:${start}`))));
    workers.forEach((w) => w.postMessage({ type: 'chunk', start, ids: c.ids, inputs: c.inputs }));
    end = start + o.chunk;
    if (inflight.length >= o.inflight) await inflight.shift();
  }
  await Promise.all(inflight);
  const total = o.mode === 'range' ? end : undefined;
  const settleUntil = performance.now() + 5000;
  while (performance.now() < settleUntil && (total === undefined ? true : signed < total)) {
    const before = signed;
    await new Promise((r) => setTimeout(r, 100));
    if (total === undefined && signed === before) break;
  }
  const seconds = (performance.now() - t0) / 1000;

  // End-to-end check on samples: the member serves report + proof; both verify under the group key.
  let verified = 0;
  if (o.mode === 'range' && failures.length === 0) {
    await new Promise((r) => setTimeout(r, 300)); // last certificates reach the members
    for (let k = 0; k < o.samples; k++) {
      // Spread over the most recent ranges, which members still keep (RangeMember keepReports).
      const window = Math.min(end, 131_072);
      const seq = end - window + Math.floor(((k + 0.5) / o.samples) * window);
      const who = workers[k % workers.length]!;
      const answer = expect<Extract<WorkerMsg, { type: 'sample' }>>(`${(k % workers.length) + 1}:sample:${seq}`);
      who.postMessage({ type: 'sample', seq });
      const s = (await answer).signed;
      const seqMsg = new Uint8Array(40);
      seqMsg.set(stream);
      new DataView(seqMsg.buffer).setBigUint64(32, BigInt(seq));
      const isThatRequest = s !== null && equalBytes(decodeReport(s.report).id, hasher.keccak(seqMsg));
      if (s && isThatRequest && verifyMerkleProof(reportLeaf(s.report), s.proof, s.root) && verify(groupKey, signingMessage(SigningPurpose.ReportRoot, s.root), s.signature)) verified++;
      else if (process.env.DESTRA_BENCH_DEBUG) console.error(`sample ${seq} from member ${(k % workers.length) + 1}: ${s ? (isThatRequest ? 'proof or signature fails' : 'another request') : 'not served'}`);
    }
  }
  await shutdown();
  if (failures.length > 0) throw new Error(`throughput pipeline failed: ${failures.join('; ')}`);
  batchLatencies.sort((a, b) => a - b);
  return { signed, batches, seconds, perSecond: signed / seconds, batchLatencyP50: batchLatencies[Math.floor(batchLatencies.length / 2)] ?? NaN, verified };
}
