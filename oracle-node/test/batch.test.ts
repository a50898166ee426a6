// Batch mode end to end: four nodes announce the reports they computed for chain requests, the real
// aggregator batches the leaves t members agree on, nodes sign the batch root only over their own
// leaves, and every node stores each report with its Merkle proof under one threshold signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartialVerifier, ReportStatus, decodeReport, evmDestination, fromHex, inputHash, reportLeaf, rootSigningMessage, toHex, verify, verifyMerkleProof } from '@destra/protocol';
import { AggregatorService } from '@destra/aggregator';
import type { ChainRequest } from '../src/round/engine.ts';
import { BatchProposalCodec, topics } from '../src/wire.ts';
import { ARITH_MODEL_HASH, ArithmeticModel } from './fixtures.ts';
import { captureLog } from './helpers.ts';
import { startCluster, startClusterAggregator, type Cluster } from './cluster.ts';

let cluster: Cluster;
let agg: AggregatorService;

beforeAll(async () => {
  // Member 4 runs a model that disagrees on every input: its leaves never reach the quorum.
  cluster = await startCluster(4, 3, { mode: 'announce', inference: (i) => new ArithmeticModel(i === 4 ? 3n : 1n) });
  agg = await startClusterAggregator(cluster, { maxSize: 8, maxDelayMs: 100, highLoadPerSecond: 1 });
}, 120_000);

afterAll(async () => {
  agg?.stop();
  await cluster?.stop();
});

const request = (i: number): ChainRequest => ({
  source: 'ethereum:31337',
  requestId: new Uint8Array(32).fill(i),
  model: 'arith',
  input: new Uint8Array([i, i + 1, i + 2]),
  timestamp: 1_700_000_100 + i,
  destination: evmDestination(31337n, new Uint8Array(20).fill(0xcd)),
  cursor: BigInt(100 + i),
});

describe('batched signing', () => {
  it('signs one root for many reports; proofs and signature verify', async () => {
    const ids = [1, 2, 3, 4, 5];
    for (const n of cluster.nodes) for (const i of ids) n.engine.onChainRequest(request(i));
    const node = cluster.nodes[0]!;
    const deadline = Date.now() + 30_000;
    while (ids.some((i) => !node.store.getReport(new Uint8Array(32).fill(i))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const gk = (await node.ready()).groupKey;
    const roots = new Set<string>();
    for (const i of ids) {
      const r = node.store.getReport(new Uint8Array(32).fill(i))!;
      expect(r, `report ${i}`).toBeDefined();
      expect(verifyMerkleProof(reportLeaf(r.report), r.proof, r.root)).toBe(true);
      expect(verify(gk, rootSigningMessage(r.root), r.signature)).toBe(true);
      expect(decodeReport(r.report).output[2]).toBe(BigInt(i)); // the honest majority's output
      expect(r.signers).not.toContain(4);
      roots.add(Buffer.from(r.root).toString('hex'));
    }
    expect(roots.size).toBeLessThan(ids.length); // at least some reports shared a batch root
    expect(node.store.cursor('ethereum:31337')).toBe(105n);
  }, 60_000);

  it('answers chain requests that fail validation with signed failure reports naming the chain\'s model hash', async () => {
    const chainModelHash = new Uint8Array(32).fill(0x77);
    const tooLong = { ...request(21), input: new Uint8Array(2000).fill(1), modelHash: ARITH_MODEL_HASH };
    const unknown = { ...request(22), model: 'not-served', modelHash: chainModelHash };
    // served under this name, but the chain names another hash (another version): not served either
    const otherVersion = { ...request(23), model: 'arith', modelHash: chainModelHash };
    const reqs = [tooLong, unknown, otherVersion];
    for (const n of cluster.nodes) for (const q of reqs) n.engine.onChainRequest(q);
    const node = cluster.nodes[0]!;
    const deadline = Date.now() + 30_000;
    while (reqs.some((q) => !node.store.getReport(q.requestId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const gk = (await node.ready()).groupKey;
    for (const [req, status, modelHash] of [[tooLong, ReportStatus.InputLength, ARITH_MODEL_HASH], [unknown, ReportStatus.UnknownModel, chainModelHash], [otherVersion, ReportStatus.UnknownModel, chainModelHash]] as const) {
      const stored = node.store.getReport(req.requestId)!;
      expect(stored, toHex(req.requestId)).toBeDefined();
      expect(verify(gk, rootSigningMessage(stored.root), stored.signature)).toBe(true);
      const r = decodeReport(stored.report);
      expect(r.status).toBe(status);
      expect(r.output).toEqual([]);
      expect(toHex(r.modelHash)).toBe(toHex(modelHash));
      expect(toHex(r.inputHash)).toBe(toHex(inputHash(req.input)));
      // every member signs a failure report alike (member 4's model disagrees only on answers)
      expect(stored.signers.length).toBeGreaterThanOrEqual(3);
    }
  }, 60_000);

  it('refuses to sign a batch containing a leaf it did not compute', async () => {
    const node = cluster.nodes[1]!;
    const before = Number((await node.metrics.batchPartials.get()).values[0]?.value ?? 0);
    const own = node.store.ownPartial(new Uint8Array(32).fill(1), 0)!;
    const foreign = fromHex(`0x${'ee'.repeat(32)}`);
    await cluster.aggHost.publish(
      topics(cluster.fx.configs[0]!.network).batches,
      BatchProposalCodec.encode({ type: 'batch-proposal', v: 1, epoch: 1, batchId: 9999, requestIds: [own.requestId, new Uint8Array(32).fill(2)], leaves: [own.digest, foreign] }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const after = Number((await node.metrics.batchPartials.get()).values[0]?.value ?? 0);
    expect(after).toBe(before);
    const rejected = (await node.metrics.rejected.get()).values.find((v) => v.labels.reason === 'batch-refused');
    expect(rejected?.value).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
