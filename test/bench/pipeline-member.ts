// One committee member of the throughput pipeline, in its own worker thread (its own event loop, as a
// separate node would have): real libp2p host with admission, real inference, real hashing and signing.
import { parentPort, workerData } from 'node:worker_threads';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { pino } from 'pino';
import { domainTag, encodeReport, evmDestination, ReportKind, secretKeyFromBytes } from '@destra/protocol';
import { DestraHost, Registry } from '@destra/oracle-node';
import { BatchMember, loadFastHasher } from '@destra/aggregator';
import { topics as wireTopics } from '../../protocol/src/wire/index.ts';
import { loadBenchModel } from './inference.ts';

export interface MemberWorkerData {
  n: number;
  t: number;
  index: number;
  share: string; // hex scalar
  operatorSecret: string; // hex
  libp2pKey: Uint8Array;
  registrations: { role: 'member' | 'aggregator'; index: number; operatorKey: Uint8Array }[];
  aggregatorAddr: string;
  aggregatorPeerId: string;
  chunk: number;
  frameEntries: number;
}

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
const member = new BatchMember({
  host,
  share: { index: d.index, value: BigInt(`0x${d.share}`) },
  epoch: 1,
  n: d.n,
  t: d.t,
  aggregators: () => [d.aggregatorPeerId],
  batchesTopic: topics.batches,
  buildTree: (l) => hasher.merkleTree(l),
  frameEntries: d.frameEntries,
});
const destination = evmDestination(31337n, new Uint8Array(20).fill(0xaa));

// Requests k = start..start+chunk-1 of the shared stream; every member derives the same ids and inputs.
async function processChunk(start: number): Promise<void> {
  const ids = Array.from({ length: d.chunk }, (_, i) => hasher.keccak(new TextEncoder().encode(`bench-request-${start + i}`)));
  // Inference batched: the chunk's rows go through onnxruntime in one run.
  const inputs = ids.map((_, i) => model.input(start + i));
  const rowBytes = inputs[0]!.length;
  const all = new Uint8Array(rowBytes * inputs.length);
  inputs.forEach((inp, i) => all.set(inp, i * rowBytes));
  const out = await model.inferBatch(all);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const computed = ids.map((id, i) => {
    const output = Array.from({ length: model.outputs }, (_, j) => view.getBigInt64((i * model.outputs + j) * 8));
    const report = encodeReport({ kind: ReportKind.Request, domain, epoch: 1n, destination, id, modelHash: model.modelHash, inputHash: hasher.keccak(inputs[i]!), timestamp: 1_700_000_000n, round: 0n, output });
    return { requestId: id, report, leaf: hasher.reportLeaf(report) };
  });
  await member.announce(computed);
}

parentPort!.on('message', (msg: { type: 'chunk'; start: number } | { type: 'stop' }) => {
  if (msg.type === 'chunk') {
    processChunk(msg.start).then(
      () => parentPort!.postMessage({ type: 'chunk-done', start: msg.start }),
      (err: Error) => parentPort!.postMessage({ type: 'error', message: err.message }),
    );
  } else {
    void host.stop().then(() => parentPort!.postMessage({ type: 'stopped', stats: member.stats }));
  }
});
parentPort!.postMessage({ type: 'ready' });
