// Relaying to a real chain: anvil + the deployed protocol (contracts' fixture), real threshold
// signatures; checks single and batched fulfilment and the "another aggregator landed it" back-off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEventLog, hexToBytes, type Hex } from 'viem';
import { buildMerkleTree, merkleProof, reportLeaf, rootSigningMessage } from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import { canonicalInput, requestReport, setupFixture, write, type Fixture } from '../../contracts/test/fixture.ts';
import { EthereumRelaySink } from '@destra/adapter-ethereum';
import { Relayer, SqliteRelayJournal, type SignedReport } from '../src/index.ts';

let f: Fixture;
let sink: EthereumRelaySink;

beforeAll(async () => {
  f = await setupFixture();
  const c = f.operators[0]!.clients; // relayer account: any funded account may relay
  sink = new EthereumRelaySink({ publicClient: c.publicClient, walletClient: c.walletClient, router: f.deployed.addresses.router, retries: 1, minRetryDelayMs: 10 });
}, 180_000);
afterAll(async () => f?.stop());

async function newRequest(values: bigint[]): Promise<{ id: Hex; input: Uint8Array }> {
  const input = canonicalInput(values);
  // the router's quote: the model's fee + the callback gas prepayment (the deployer approved the DSYNC burn)
  const [value] = await f.clients.publicClient.readContract({ address: f.deployed.addresses.router, abi: oracleRouterAbi, functionName: 'quote', args: [f.modelId, 100_000] });
  const receipt = await write(f.clients, f.deployed.addresses.router, oracleRouterAbi, 'request', [f.modelId, `0x${Buffer.from(input).toString('hex')}`, 100_000], value);
  for (const log of receipt.logs) {
    try {
      const ev = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics });
      if (ev.eventName === 'InferenceRequested') return { id: ev.args.requestId as Hex, input };
    } catch {
      /* other contract's log */
    }
  }
  throw new Error('no InferenceRequested event');
}

const sigOf = (root: Uint8Array) => f.committee.signMessage(rootSigningMessage(root));

describe('EthereumRelaySink via Relayer on anvil', () => {
  it('fulfils a single-report round, then backs off for the duplicate', async () => {
    const { id, input } = await newRequest([1n, 2n]);
    const report = requestReport(f, id, input, [42n]);
    const leaf = reportLeaf(report);
    const item: SignedReport = { requestId: hexToBytes(id), report, root: leaf, proof: [], signature: sigOf(leaf) };
    const relayer = new Relayer([sink], { maxAttempts: 2, baseDelayMs: 10 });
    expect((await relayer.relay(item))[0]).toMatchObject({ chain: 'ethereum', status: 'submitted' });
    expect(await sink.isFulfilled(item)).toBe(true);
    expect((await relayer.relay(item))[0]).toMatchObject({ status: 'already-fulfilled', attempts: 1 });
  });

  it('fulfils a batched report with its Merkle proof', async () => {
    const reqs = [await newRequest([3n]), await newRequest([4n]), await newRequest([5n])];
    const reports = reqs.map((r, i) => requestReport(f, r.id, r.input, [BigInt(i)]));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const signature = sigOf(tree.root);
    const relayer = new Relayer([sink], { maxAttempts: 2, baseDelayMs: 10 });
    // Concurrent relays from one account: the sink serialises them (one nonce at a time).
    const outs = await Promise.all(reports.map((report, i) => relayer.relay({ requestId: hexToBytes(reqs[i]!.id), report, root: tree.root, proof: merkleProof(tree, i), signature })));
    expect(outs.map((o) => o[0]!.status)).toEqual(['submitted', 'submitted', 'submitted']);
  });

  it('reports a bad signature as a failure, not as fulfilled', async () => {
    const { id, input } = await newRequest([9n]);
    const report = requestReport(f, id, input, [1n]);
    const wrong = sigOf(reportLeaf(requestReport(f, id, input, [2n])));
    const out = await new Relayer([sink], { maxAttempts: 2, baseDelayMs: 10 }).relay({ requestId: hexToBytes(id), report, root: reportLeaf(report), proof: [], signature: wrong });
    // A contract rejection is final: no retry can land this report, deadline or not.
    expect(out[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(out[0]!.status === 'failed' && out[0]!.error.message).toMatch(/BadSignature/);
  });
});

describe('relaying until it lands', () => {
  const relayerAccount = () => f.operators[0]!.clients.walletClient.account!.address;
  const setBalance = (wei: bigint) => f.clients.publicClient.request({ method: 'anvil_setBalance' as never, params: [relayerAccount(), `0x${wei.toString(16)}`] as never });
  const signedFor = async (values: bigint[]): Promise<SignedReport> => {
    const { id, input } = await newRequest(values);
    const report = requestReport(f, id, input, [7n]);
    const leaf = reportLeaf(report);
    return { requestId: hexToBytes(id), report, root: leaf, proof: [], signature: sigOf(leaf) };
  };

  it('keeps retrying through an empty relayer balance (past maxAttempts) and lands once it is funded again', async () => {
    const item = await signedFor([21n]);
    await setBalance(0n);
    const relayer = new Relayer([sink], { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200 });
    const relayed = relayer.relay(item);
    await new Promise((r) => setTimeout(r, 1500)); // many failed attempts meanwhile
    expect(await sink.isFulfilled(item)).toBe(false);
    await setBalance(10n ** 20n);
    const [out] = await relayed;
    expect(out).toMatchObject({ chain: 'ethereum', status: 'submitted' });
    expect(out!.attempts).toBeGreaterThan(2); // a request has a deadline: maxAttempts does not apply
    expect(await sink.isFulfilled(item)).toBe(true);
  }, 60_000);

  it('a restarted relayer resumes what the previous run journaled and did not land', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destra-journal-'));
    try {
      const item = await signedFor([22n]);
      // The previous process journaled the relay, then died before landing it.
      const before = new SqliteRelayJournal(join(dir, 'relay.db'));
      before.add('ethereum', item);
      before.close();
      const journal = new SqliteRelayJournal(join(dir, 'relay.db'));
      expect(journal.pending().map((p) => p.chain)).toEqual(['ethereum']);
      const outs = await new Relayer([sink], { journal, baseDelayMs: 10 }).resume();
      expect(outs).toMatchObject([{ chain: 'ethereum', status: 'submitted' }]);
      expect(await sink.isFulfilled(item)).toBe(true);
      expect(journal.pending()).toEqual([]);
      journal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops at the request deadline when it cannot land, and clears the journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destra-journal-'));
    const journal = new SqliteRelayJournal(join(dir, 'relay.db'));
    try {
      const item = await signedFor([23n]);
      await setBalance(0n);
      let skew = 0;
      const relayer = new Relayer([sink], { journal, baseDelayMs: 50, maxDelayMs: 100, now: () => Date.now() + skew });
      const relayed = relayer.relay(item);
      await new Promise((r) => setTimeout(r, 500));
      expect(journal.pending()).toHaveLength(1);
      skew = 2 * 3600_000; // the request's hour has passed
      const [out] = await relayed;
      expect(out).toMatchObject({ status: 'failed' });
      expect(out!.status === 'failed' && out!.error.message).toMatch(/deadline passed/);
      expect(journal.pending()).toEqual([]);
    } finally {
      await setBalance(10n ** 20n);
      journal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
