// FulfillmentSubmitter against a real anvil: concurrent nonces, nonce resync, contract rejections, the
// already-fulfilled race between relayers (pre-check, estimate revert, and mined revert), transient RPC
// failures behind a flaky proxy, batches and feeds.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, createTestClient, hexToBytes, http, keccak256, toHex, type Hex } from 'viem';
import { ReportKind, anyDestination, buildMerkleTree, encodeReport, evmDestination, feedId, merkleProof, reportLeaf } from '@destra/protocol';
import { feedStoreAbi, localClients } from '@destra/contracts';
import {
  DestraEthereumClient, EthereumRelaySink, FulfillmentSubmitter, SignatureEncodingError, SubmissionFailedError, TransactionRejectedError, encodeInput,
} from '../src/index.ts';
import { MODEL_HASH, MODEL_NAME, answerReport, setupChain, signReport, signRoot, type ChainFixture } from './fixture.ts';

let f: ChainFixture;
let requester: DestraEthereumClient;

beforeAll(async () => {
  f = await setupChain();
  const a = f.account(8);
  requester = new DestraEthereumClient({ publicClient: a.publicClient, walletClient: a.walletClient, router: f.deployed.addresses.router });
});
afterAll(() => f?.stop());

function submitterFor(i: number, extra: Partial<ConstructorParameters<typeof FulfillmentSubmitter>[0]> = {}) {
  const c = f.account(i);
  return new FulfillmentSubmitter({ publicClient: c.publicClient, walletClient: c.walletClient, router: f.deployed.addresses.router, feeds: f.deployed.addresses.feeds, minRetryDelayMs: 20, maxRetryDelayMs: 100, ...extra });
}

async function newRequest(n: bigint) {
  const input = encodeInput([n]);
  const { requestId } = await requester.request({ modelId: MODEL_NAME, input });
  return { requestId, modelHash: MODEL_HASH, input };
}

/** Requests are sent one by one: the requester account is not what is under test here. */
async function requestsFor(values: bigint[]) {
  const out = [];
  for (const v of values) out.push(await newRequest(v));
  return out;
}

describe('FulfillmentSubmitter', () => {
  it('sends concurrent fulfilments from one account with distinct consecutive nonces', async () => {
    const s = submitterFor(1);
    const reqs = await requestsFor([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    const reports = reqs.map((r, i) => answerReport(f, r, [BigInt(i)]));
    const results = await Promise.all(reports.map((rep) => s.fulfill(rep, signReport(f, rep))));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('submitted'));
    const txs = await Promise.all(results.map((r) => f.clients.publicClient.getTransaction({ hash: r.txHash! })));
    const nonces = txs.map((t) => t.nonce).sort((a, b) => a - b);
    expect(new Set(nonces).size).toBe(8);
    expect(nonces[7]! - nonces[0]!).toBe(7);
    for (const r of reqs) expect(await s.isFulfilled(r.requestId)).toBe(true);
    // gas limit = estimate + 20% margin, so the tx used less than its limit
    const receipt = await f.clients.publicClient.getTransactionReceipt({ hash: results[0]!.txHash! });
    expect(receipt.gasUsed < txs[0]!.gas).toBe(true);
  });

  it('resyncs its nonce after another sender used the account', async () => {
    const s = submitterFor(2);
    const r1 = await newRequest(11n);
    const rep1 = answerReport(f, r1, [1n]);
    expect((await s.fulfill(rep1, signReport(f, rep1))).status).toBe('submitted');
    // Mid-burst (one send still in flight, so no idle refresh), someone else spends two of the account's
    // nonces behind the submitter's back: its next local nonce is now too low.
    const held = await s.nonces.take();
    const other = f.account(2);
    for (const nonce of [held, held + 1]) {
      const h = await other.walletClient.sendTransaction({ to: other.walletClient.account!.address, value: 0n, nonce, account: other.walletClient.account!, chain: other.chain });
      await f.clients.publicClient.waitForTransactionReceipt({ hash: h });
    }
    const r2 = await newRequest(12n);
    const rep2 = answerReport(f, r2, [2n]);
    const res = await s.fulfill(rep2, signReport(f, rep2));
    s.nonces.release();
    expect(res.status).toBe('submitted');
    expect(res.attempts).toBe(2);
    // When idle, the manager re-reads the chain, so outside use between bursts costs no failed attempt.
    const h = await other.walletClient.sendTransaction({ to: other.walletClient.account!.address, value: 0n, account: other.walletClient.account!, chain: other.chain });
    await f.clients.publicClient.waitForTransactionReceipt({ hash: h });
    const r3 = await newRequest(13n);
    const rep3 = answerReport(f, r3, [3n]);
    expect(await s.fulfill(rep3, signReport(f, rep3))).toMatchObject({ status: 'submitted', attempts: 1 });
  });

  it('stops at once on a contract rejection and names the reason', async () => {
    const s = submitterFor(3);
    const r = await newRequest(21n);
    const rep = answerReport(f, r, [1n]);
    const wrong = answerReport(f, r, [2n]); // the committee signed a different output
    const err = await s.fulfill(rep, signReport(f, wrong)).catch((e) => e);
    expect(err).toBeInstanceOf(TransactionRejectedError);
    expect(err.errorName).toBe('BadSignature');
    expect(err.message).toMatch(/does not verify under the epoch group key/);
    const wrongEpoch = answerReport(f, r, [1n], { epoch: 2n });
    // an epoch the registry never installed: reportKey reverts UnknownEpoch (declared in the router's ABI)
    await expect(s.fulfill(wrongEpoch, signReport(f, wrongEpoch))).rejects.toMatchObject({ errorName: 'UnknownEpoch' });
    await expect(s.fulfill(rep, new Uint8Array(48))).rejects.toBeInstanceOf(SignatureEncodingError);
    await expect(s.fulfill(rep, '0x1234')).rejects.toThrow(/expected 48/);
    expect(await s.isFulfilled(r.requestId)).toBe(false);
  });

  it('treats a relay race lost to another aggregator as success (same block, mined revert)', async () => {
    const a = submitterFor(4);
    const b = submitterFor(5);
    const r = await newRequest(31n);
    const rep = answerReport(f, r, [42n]);
    const sig = signReport(f, rep);
    const test = createTestClient({ mode: 'anvil', chain: f.clients.chain, transport: http(f.anvil.rpcUrl) });
    await test.setAutomine(false);
    try {
      const both = Promise.all([a.fulfill(rep, sig), b.fulfill(rep, sig)]);
      for (let i = 0; i < 200; i++) {
        const pending = await test.getTxpoolStatus();
        if (pending.pending >= 2) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      await test.mine({ blocks: 1 });
      const results = await both;
      expect(results.map((x) => x.status).sort()).toEqual(['already-fulfilled', 'submitted']);
      const lost = results.find((x) => x.status === 'already-fulfilled')!;
      expect(lost.txHash).toBeDefined(); // it did send, and its tx reverted on chain
      const receipt = await f.clients.publicClient.getTransactionReceipt({ hash: lost.txHash! });
      expect(receipt.status).toBe('reverted');
    } finally {
      await test.setAutomine(true);
    }
    // A later relay of the same result sees it fulfilled before spending anything.
    const again = await submitterFor(6).fulfill(rep, sig);
    expect(again).toMatchObject({ status: 'already-fulfilled', attempts: 1 });
    expect(again.txHash).toBeUndefined();
  });

  it('treats an AlreadyFulfilled revert at estimation as success', async () => {
    const r = await newRequest(32n);
    const rep = answerReport(f, r, [7n]);
    const sig = signReport(f, rep);
    const results = await Promise.all([submitterFor(4).fulfill(rep, sig), submitterFor(5).fulfill(rep, sig)]);
    expect(results.map((x) => x.status).sort()).toEqual(['already-fulfilled', 'submitted']);
  });

  it('fulfils batches with proofs, dropping requests already fulfilled', async () => {
    const s = submitterFor(7);
    const reqs = await requestsFor([41n, 42n, 43n]);
    const reports = reqs.map((r, i) => answerReport(f, r, [BigInt(100 + i)]));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const proofs = reports.map((_, i) => merkleProof(tree, i));
    const signature = signRoot(f, tree.root);
    // One report of the batch lands first on its own proof.
    const first = await s.fulfillBatch({ reports: [reports[0]!], proofs: [proofs[0]!], root: tree.root, signature });
    expect(first.status).toBe('submitted');
    const rest = await s.fulfillBatch({ reports, proofs, root: tree.root, signature });
    expect(rest.status).toBe('submitted');
    expect(rest.skipped).toEqual([reqs[0]!.requestId]);
    const none = await s.fulfillBatch({ reports, proofs, root: tree.root, signature });
    // The aggregator-facing entry point routes a proof-carrying request report to fulfillBatch.
    expect((await s.submitSigned({ report: reports[2]!, root: tree.root, proof: proofs[2]!, signature })).status).toBe('already-fulfilled');
    expect(none).toMatchObject({ status: 'already-fulfilled', attempts: 0 });
    await expect(s.fulfillBatch({ reports, proofs: [proofs[0]!], root: tree.root, signature })).rejects.toThrow(/proofs for 3 reports/);
  });

  it('updates feeds and reports a replayed round as stale', async () => {
    const s = submitterFor(7);
    const id = feedId('eth-risk');
    const feedReport = (round: bigint, value: bigint) =>
      encodeReport({
        kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n,
        destination: evmDestination(f.chainId, hexToBytes(f.deployed.addresses.feeds)), id, modelHash: hexToBytes(MODEL_HASH),
        inputHash: hexToBytes(keccak256(toHex('feed-input'))), timestamp: 1_764_000_000n + round, round, output: [value],
      });
    const r1 = feedReport(1n, 500n);
    expect((await s.submitSigned({ report: r1, root: reportLeaf(r1), proof: [], signature: signReport(f, r1) })).status).toBe('submitted');
    expect((await s.updateFeed(r1, signReport(f, r1))).status).toBe('stale');
    const r2 = feedReport(2n, 510n);
    const tree = buildMerkleTree([reportLeaf(r2)]);
    expect((await s.updateFeeds({ reports: [r2], proofs: [merkleProof(tree, 0)], root: tree.root, signature: signRoot(f, tree.root) })).status).toBe('submitted');
    const [values, round] = await f.clients.publicClient.readContract({ address: f.deployed.addresses.feeds, abi: feedStoreAbi, functionName: 'latestRound', args: [bytesToHex(id)] });
    expect(values).toEqual([510n]);
    expect(round).toBe(2n);
    await expect(s.fulfill(r1, signReport(f, r1))).rejects.toThrow(/cannot fulfil a request/);
  });
});

describe('EthereumRelaySink', () => {
  it('relays request answers and verifies on-demand reports through the aggregator interface', async () => {
    const c = f.account(3);
    const sink = new EthereumRelaySink({ publicClient: c.publicClient, walletClient: c.walletClient, router: f.deployed.addresses.router });
    const r = await newRequest(61n);
    const rep = answerReport(f, r, [61n]);
    const item = { requestId: hexToBytes(r.requestId), report: rep, root: reportLeaf(rep), proof: [], signature: signReport(f, rep) };
    expect(await sink.isFulfilled(item)).toBe(false);
    expect(await sink.submit(item)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await sink.isFulfilled(item)).toBe(true);
    expect(await sink.submit(item)).toBe('already-fulfilled');
    const od = encodeReport({
      kind: ReportKind.OnDemand, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: hexToBytes(keccak256('0x77')),
      modelHash: hexToBytes(MODEL_HASH), inputHash: hexToBytes(keccak256('0x78')), timestamp: 1n, round: 0n, output: [1n],
    });
    const odItem = { requestId: hexToBytes(keccak256('0x77')), report: od, root: reportLeaf(od), proof: [], signature: signReport(f, od) };
    expect(await sink.submit(odItem)).toBe('verified-by-view-call');
    await expect(sink.submit({ ...odItem, signature: signReport(f, rep) })).rejects.toBeInstanceOf(TransactionRejectedError);
  });
});

describe('FulfillmentSubmitter over a flaky RPC', () => {
  let proxy: Server;
  let failNext = 0;
  let proxyUrl = '';

  beforeAll(async () => {
    // A real HTTP proxy in front of anvil that answers 503 to the next `failNext` requests.
    proxy = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', async () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end('overloaded');
          return;
        }
        const upstream = await fetch(f.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const addr = proxy.address();
    proxyUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

  it('retries transient RPC failures with backoff and then succeeds', async () => {
    const c = localClients(proxyUrl, f.anvil.privateKeys[9]!, f.anvil.chainId);
    const retries: number[] = [];
    const s = new FulfillmentSubmitter({
      publicClient: c.publicClient, walletClient: c.walletClient, router: f.deployed.addresses.router, minRetryDelayMs: 10, maxRetryDelayMs: 50,
      onRetry: ({ attempt }) => void retries.push(attempt),
    });
    const r = await newRequest(51n);
    const rep = answerReport(f, r, [9n]);
    failNext = 2;
    const res = await s.fulfill(rep, signReport(f, rep));
    expect(res.status).toBe('submitted');
    expect(res.attempts).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up with SubmissionFailedError when the RPC stays down', async () => {
    const c = localClients(proxyUrl, f.anvil.privateKeys[9]!, f.anvil.chainId);
    const s = new FulfillmentSubmitter({ publicClient: c.publicClient, walletClient: c.walletClient, router: f.deployed.addresses.router, retries: 2, minRetryDelayMs: 10, maxRetryDelayMs: 20 });
    const r = await newRequest(52n);
    const rep = answerReport(f, r, [9n]);
    failNext = 1_000;
    const err = await s.fulfill(rep, signReport(f, rep)).catch((e) => e);
    failNext = 0;
    expect(err).toBeInstanceOf(SubmissionFailedError);
    expect(err.attempts).toBe(3);
    expect(err.message).toMatch(/check the RPC endpoint/);
  });
});
