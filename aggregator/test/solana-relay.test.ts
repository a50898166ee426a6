// Relaying to the real destra_oracle program in LiteSVM (SIMD-0388 syscalls on), with a threshold
// signature from a dealt 3-of-4 sharing whose group key initialised the program.
import { describe, expect, it } from 'vitest';
import { Keypair } from '@solana/web3.js';
import {
  buildMerkleTree, dealShares, domainTag, encodeReport, feedId, g2Uncompressed, inputHash, merkleProof, PartialVerifier, ReportKind,
  reportLeaf, rootSigningMessage, signPartial, svmDestination,
} from '@destra/protocol';
import { createLocalDeployment, ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { Relayer, SolanaSink } from '../src/index.ts';

const CLUSTER = new Uint8Array(32).fill(3);
const DOMAIN = domainTag('relaytest');

const feed = (name: string, value: bigint) =>
  encodeReport({
    kind: ReportKind.Feed, domain: DOMAIN, epoch: 1n, destination: svmDestination(CLUSTER, ORACLE_PROGRAM_ID.toBytes()), id: feedId(name),
    modelHash: new Uint8Array(32).fill(0x4d), inputHash: inputHash(new Uint8Array(8)), timestamp: 1_764_000_000n, round: 1n, output: [value],
  });

async function fixture() {
  const { shares, sharing } = dealShares(3, 4);
  const verifier = await PartialVerifier.create(sharing);
  const sign = (root: Uint8Array) => verifier.combine(shares.slice(1, 4).map((s) => signPartial(s, rootSigningMessage(root))));
  const d = await createLocalDeployment({ groupKey: g2Uncompressed(sharing.groupKey), domain: DOMAIN, clusterId: CLUSTER, threshold: 3, committeeSize: 4 });
  const payer = Keypair.generate();
  d.transport.airdrop(payer.publicKey, 10_000_000_000n);
  return { client: d.client, sign, sink: new SolanaSink({ client: d.client, payer }) };
}

describe('SolanaSink via Relayer on LiteSVM', () => {
  it('posts a threshold-signed report (result account written), then backs off', async () => {
    const { client, sign, sink } = await fixture();
    const report = feed('risk/eth-usd', 250_000n);
    const leaf = reportLeaf(report);
    const item = { requestId: feedId('risk/eth-usd'), report, root: leaf, proof: [], signature: sign(leaf) };
    const relayer = new Relayer([sink], { maxAttempts: 2, baseDelayMs: 1 });
    expect((await relayer.relay(item))[0]).toMatchObject({ chain: 'solana', status: 'submitted' });
    expect((await client.fetchResult(item.requestId))?.output).toEqual([250_000n]);
    expect((await relayer.relay(item))[0]).toMatchObject({ status: 'already-fulfilled' });
  });

  it('posts a batched report with its proof and refuses a wrong signature', async () => {
    const { sign, sink } = await fixture();
    const reports = [1, 2, 3].map((i) => feed(`feed-${i}`, BigInt(i)));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const relayer = new Relayer([sink], { maxAttempts: 1 });
    const out = await relayer.relay({ requestId: feedId('feed-2'), report: reports[1]!, root: tree.root, proof: merkleProof(tree, 1), signature: sign(tree.root) });
    expect(out[0]!.status).toBe('submitted');
    const bad = await relayer.relay({ requestId: feedId('feed-3'), report: reports[2]!, root: tree.root, proof: merkleProof(tree, 2), signature: sign(reportLeaf(reports[0]!)) });
    expect(bad[0]!.status).toBe('failed');
  });
});

describe('SolanaSink: request answers until the request deadline', () => {
  async function requestFixture() {
    const { shares, sharing } = dealShares(3, 4);
    const verifier = await PartialVerifier.create(sharing);
    const sign = (root: Uint8Array) => verifier.combine(shares.slice(0, 3).map((s) => signPartial(s, rootSigningMessage(root))));
    const d = await createLocalDeployment({ groupKey: g2Uncompressed(sharing.groupKey), domain: DOMAIN, clusterId: CLUSTER, threshold: 3, committeeSize: 4, requestFee: 1_000n, requestTimeoutSlots: 50n });
    const requester = Keypair.generate();
    d.transport.airdrop(requester.publicKey, 10_000_000_000n);
    const input = new Uint8Array(8).fill(7);
    const modelHash = new Uint8Array(32).fill(0x4d);
    await d.client.send([d.client.requestInferenceIx({ requester: requester.publicKey, nonce: 1n, modelHash, input })], [requester]);
    const address = d.client.requestAddress(requester.publicKey, 1n);
    const report = encodeReport({
      kind: ReportKind.Request, domain: DOMAIN, epoch: 1n, destination: svmDestination(CLUSTER, ORACLE_PROGRAM_ID.toBytes()), id: address.toBytes(),
      modelHash, inputHash: inputHash(input), timestamp: 1_764_000_000n, round: 0n, output: [9n],
    });
    const leaf = reportLeaf(report);
    const payer = Keypair.generate(); // no lamports yet: every attempt fails at the transaction fee
    return { d, requester, address, payer, item: { requestId: address.toBytes(), report, root: leaf, proof: [], signature: sign(leaf) } };
  }

  it('retries an unfunded relayer past maxAttempts while the request is open, and lands once funded', async () => {
    const { d, payer, item } = await requestFixture();
    const sink = new SolanaSink({ client: d.client, payer });
    expect(await sink.deadlineOf(item)).toBeGreaterThan(Date.now());
    const relayed = new Relayer([sink], { maxAttempts: 1, baseDelayMs: 20, maxDelayMs: 50 }).relay(item);
    await new Promise((r) => setTimeout(r, 300));
    d.transport.airdrop(payer.publicKey, 1_000_000_000n);
    const [out] = await relayed;
    expect(out).toMatchObject({ chain: 'solana', status: 'submitted' });
    expect(out!.attempts).toBeGreaterThan(1);
    expect((await d.client.fetchResult(item.requestId))?.output).toEqual([9n]);
  });

  it('stops once the request was refunded after its deadline; a program rejection is final at once', async () => {
    const { d, requester, address, payer, item } = await requestFixture();
    const sink = new SolanaSink({ client: d.client, payer });
    const req = await d.client.fetchRequest(address);
    d.transport.svm.warpToSlot(req!.deadlineSlot!);
    await d.client.send([d.client.refundIx({ requester: requester.publicKey, request: address })], [requester]);
    expect(await sink.deadlineOf(item)).toBe(0);
    const [out] = await new Relayer([sink], { maxAttempts: 5, baseDelayMs: 1 }).relay(item);
    expect(out).toMatchObject({ status: 'failed', attempts: 1 });
    d.transport.airdrop(payer.publicKey, 1_000_000_000n);
    const [rejected] = await new Relayer([sink], { maxAttempts: 5, baseDelayMs: 1 }).relay(item);
    expect(rejected).toMatchObject({ status: 'failed', attempts: 1 }); // RequestNotPending: no retry can land it
    expect(rejected!.status === 'failed' && rejected!.error.message).toMatch(/RequestNotPending|rejected/);
  });
});
