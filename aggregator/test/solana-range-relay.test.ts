// Certified ranges of the oracle program's request stream relayed with verify_root + post_batched_report
// (RangeRelayer over SolanaRangeSink) in LiteSVM with the real program: every pending request of the range
// is answered under one verified root; one answered by someone else, one refunded after its deadline and a
// root verified before are left alone; a second relay finds nothing open; a signature not over the root is
// refused for good.
import { describe, expect, it } from 'vitest';
import { Keypair, PublicKey } from '@solana/web3.js';
import {
  buildMerkleTree, dealShares, domainTag, encodeReport, g2Uncompressed, inputHash, PartialVerifier, ReportKind, reportLeaf, requestStream,
  rootSigningMessage, signPartial, svmDestination, toHex,
} from '@destra/protocol';
import { createLocalDeployment, ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { RangeRelayer, SolanaRangeSink, type SignedRange } from '../src/index.ts';

const CLUSTER = new Uint8Array(32).fill(5);
const DOMAIN = domainTag('rangetest');
const MODEL = new Uint8Array(32).fill(0x4d);

async function fixture() {
  const { shares, sharing } = dealShares(3, 4);
  const verifier = await PartialVerifier.create(sharing);
  const sign = (root: Uint8Array) => verifier.combine(shares.slice(0, 3).map((s) => signPartial(s, rootSigningMessage(root))));
  const d = await createLocalDeployment({ groupKey: g2Uncompressed(sharing.groupKey), domain: DOMAIN, clusterId: CLUSTER, threshold: 3, committeeSize: 4, requestTimeoutSlots: 50n });
  const payer = Keypair.generate();
  d.transport.airdrop(payer.publicKey, 50_000_000_000n);
  const requester = Keypair.generate();
  d.transport.airdrop(requester.publicKey, 50_000_000_000n);
  let nonce = 0n;
  const request = async (): Promise<{ address: PublicKey; input: Uint8Array; seq: bigint }> => {
    const input = new Uint8Array(16).fill(Number(nonce % 200n) + 1);
    const n = nonce++;
    await d.client.send([d.client.requestInferenceIx({ requester: requester.publicKey, nonce: n, modelHash: MODEL, input })], [requester]);
    const address = d.client.requestAddress(requester.publicKey, n);
    return { address, input, seq: (await d.client.fetchRequest(address))!.seq! };
  };
  const range = (reqs: { address: PublicKey; input: Uint8Array; seq: bigint }[], good = true): SignedRange => {
    const reports = reqs.map((q, i) =>
      encodeReport({
        kind: ReportKind.Request, domain: DOMAIN, epoch: 1n, destination: svmDestination(CLUSTER, ORACLE_PROGRAM_ID.toBytes()), id: q.address.toBytes(),
        modelHash: MODEL, inputHash: inputHash(q.input), timestamp: 1_764_000_000n, round: 0n, output: [BigInt(i + 1)],
      }),
    );
    const root = buildMerkleTree(reports.map(reportLeaf)).root;
    return { epoch: 1, stream: requestStream(svmDestination(CLUSTER, ORACLE_PROGRAM_ID.toBytes())), start: Number(reqs[0]!.seq), reports, root, signature: sign(good ? root : reportLeaf(reports[0]!)) };
  };
  const sink = new SolanaRangeSink({ client: d.client, payer, clusterId: CLUSTER });
  return { ...d, sink, request, range, requester, sign };
}

describe('RangeRelayer over SolanaRangeSink (LiteSVM)', () => {
  it('answers every pending request of a range under one verified root; settled ones are left out; a second relay finds nothing open', async () => {
    const f = await fixture();
    const reqs = [];
    for (let i = 0; i < 8; i++) reqs.push(await f.request());
    expect(reqs.map((q) => q.seq)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    const range = f.range(reqs);
    expect(toHex(f.sink.stream)).toBe(toHex(range.stream));
    // request 2 answered by someone else with the same certified range (root verified, one post)
    await f.client.postBatch({ payer: f.requester, reports: [range.reports[2]!], ids: [reqs[2]!.address.toBytes()], epoch: 1n, signature: f.sign(reportLeaf(range.reports[2]!)), requests: [reqs[2]!.address] });
    // request 5 refunded by its requester after the deadline
    f.transport.svm.warpToSlot(f.transport.svm.getClock().slot + 60n);
    await f.client.send([f.client.refundIx({ requester: f.requester.publicKey, request: reqs[5]!.address })], [f.requester]);
    const relayer = new RangeRelayer([f.sink], { baseDelayMs: 1 });
    const out = await relayer.relay(range);
    expect(out.status).toBe('submitted');
    expect(out.status === 'submitted' && out.txs).toHaveLength(1 + 6); // verify_root + 6 posts
    for (const [i, q] of reqs.entries()) {
      expect((await f.client.fetchRequest(q.address))?.status).toBe(i === 5 ? 'refunded' : 'fulfilled');
      if (i !== 5 && i !== 2) expect((await f.client.fetchResult(q.address.toBytes()))?.output).toEqual([BigInt(i + 1)]);
    }
    expect(await relayer.relay(range)).toMatchObject({ status: 'already-fulfilled', attempts: 1 });
  });

  it('reuses a root verified before (a restart mid-range) and refuses a signature that is not over the root at once', async () => {
    const f = await fixture();
    const reqs = [await f.request(), await f.request(), await f.request()];
    const range = f.range(reqs);
    await f.client.send([f.client.verifyRootIx({ payer: f.requester.publicKey, root: range.root, epoch: 1n, signature: range.signature })], [f.requester]);
    const out = await new RangeRelayer([f.sink], { baseDelayMs: 1 }).relay(range);
    expect(out.status === 'submitted' && out.txs).toHaveLength(3); // posts only
    const bad = f.range([await f.request(), await f.request()], false);
    const refused = await new RangeRelayer([f.sink], { baseDelayMs: 1 }).relay(bad);
    expect(refused).toMatchObject({ status: 'failed', attempts: 1 });
  });
});
