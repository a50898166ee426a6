// One committee member of the throughput pipeline, in its own worker thread (its own event loop, as a
// separate node would have): real libp2p host with admission, real inference, real hashing and signing.
// mode 'range': the chunk is one range of an ordered request stream → one RangeCommit (RangeMember).
// mode 'announce': per-report leaf announcements → aggregator-proposed batches (BatchMember).
import { parentPort, workerData } from 'node:worker_threads';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { pino } from 'pino';
import { decodeG2, domainTag, evmDestination, ReportBatchEncoder, ReportKind, secretKeyFromBytes, verify } from '@destra/protocol';
import { DestraHost, Registry } from '@destra/oracle-node';
import { BatchMember, loadFastHasher, RangeMember } from '@destra/aggregator';
import { topics as wireTopics } from '../../protocol/src/wire/index.ts';
import { loadBenchModel } from './inference.ts';

export type PipelineMode = 'range' | 'announce';

export interface MemberWorkerData {
  mode: PipelineMode;
  n: number;
  t: number;
  index: number;
  share: string; // hex scalar
  groupKey: Uint8Array; // compressed G2
  operatorSecret: string; // hex
  libp2pKey: Uint8Array;
  registrations: { role: 'member' | 'aggregator'; index: number; operatorKey: Uint8Array }[];
  aggregatorAddr: string;
  aggregatorPeerId: string;
  stream: Uint8Array;
  frameEntries: number;
}

/** A chunk of the request stream as every node reads it: ids and canonical inputs, back to back. */
export interface ChunkMsg {
  type: 'chunk';
  start: number;
  ids: Uint8Array;
  inputs: Uint8Array;
}
export type ToMember = ChunkMsg | { type: 'sample'; seq: number } | { type: 'stop' };

const d = workerData as MemberWorkerData;
const network = 'bench';
const domain = domainTag(network);
const topics = wireTopics(network);
const hasher = await loadFastHasher();
const model = await loadBenchModel();
const host = await DestraHost.create({
  domain,
  privateKey: privateKeyFromProtobuf(d.libp2pKey),
  role: 'member',
  index: d.index,
  operatorSecret: secretKeyFromBytes(Buffer.from(d.operatorSecret, 'hex')),
  registry: new Registry(d.registrations),
  topics: [topics.rounds, topics.batches, topics.combined, topics.dkg],
  log: pino({ level: 'silent' }),
});
for (let attempt = 1; ; attempt++) {
  try {
    await host.connect(d.aggregatorAddr);
    break;
  } catch (err) {
    if (attempt >= 20) throw err;
    await new Promise((r) => setTimeout(r, 300));
  }
}
await host.waitForPeers((p) => p.some((x) => x.role === 'aggregator'));
const groupKey = decodeG2(d.groupKey);
const share = { index: d.index, value: BigInt(`0x${d.share}`) };
const rangeMember =
  d.mode === 'range'
    ? new RangeMember({ host, share, epoch: 1, aggregators: () => [d.aggregatorPeerId], batchesTopic: topics.batches, hasher, verifyGroup: (sig, msg) => verify(groupKey, msg, sig) })
    : undefined;
const batchMember =
  d.mode === 'announce'
    ? new BatchMember({ host, share, epoch: 1, n: d.n, t: d.t, aggregators: () => [d.aggregatorPeerId], batchesTopic: topics.batches, buildTree: (l) => hasher.merkleTree(l), frameEntries: d.frameEntries })
    : undefined;
// Every report of the stream shares kind, domain, epoch, destination, model, timestamp and round.
const encoder = new ReportBatchEncoder({
  kind: ReportKind.Request,
  domain,
  epoch: 1n,
  destination: evmDestination(31337n, new Uint8Array(20).fill(0xaa)),
  modelHash: model.modelHash,
  timestamp: 1_700_000_000n,
  round: 0n,
  outputCount: model.outputs,
});

async function processChunk(c: ChunkMsg): Promise<void> {
  const rowBytes = c.inputs.length / (c.ids.length / 32);
  const inputHashes = hasher.keccakFlat(c.inputs, rowBytes);
  const outputs = await model.inferBatch(c.inputs); // one onnxruntime run per chunk
  const reports = encoder.encode(c.ids, inputHashes, outputs);
  if (rangeMember) {
    await rangeMember.commit(d.stream, c.start, reports, encoder.length);
    return;
  }
  const leaves = hasher.leavesFlat(reports, encoder.length);
  const count = c.ids.length / 32;
  const computed = Array.from({ length: count }, (_, i) => ({
    requestId: c.ids.subarray(i * 32, i * 32 + 32),
    report: reports.subarray(i * encoder.length, (i + 1) * encoder.length),
    leaf: leaves.subarray(i * 32, i * 32 + 32),
  }));
  await batchMember!.announce(computed);
}

parentPort!.on('message', (msg: ToMember) => {
  if (msg.type === 'chunk') {
    processChunk(msg).then(
      () => parentPort!.postMessage({ type: 'chunk-done', start: msg.start }),
      (err: Error) => parentPort!.postMessage({ type: 'error', message: err.message }),
    );
  } else if (msg.type === 'sample') {
    // A signed report as the node's API would serve it (range mode), for the driver to verify.
    parentPort!.postMessage({ type: 'sample', seq: msg.seq, signed: rangeMember?.signedReport(d.stream, msg.seq) ?? null });
  } else {
    void host.stop().then(() => parentPort!.postMessage({ type: 'stopped', stats: rangeMember?.stats ?? batchMember?.stats }));
  }
});
parentPort!.postMessage({ type: 'ready' });
