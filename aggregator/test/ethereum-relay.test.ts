// Relaying to a real chain: anvil + the deployed protocol (contracts' fixture), real threshold
// signatures; checks single and batched fulfilment and the "another aggregator landed it" back-off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEventLog, hexToBytes, type Hex } from 'viem';
import { buildMerkleTree, merkleProof, reportLeaf, rootSigningMessage } from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import { canonicalInput, requestReport, setupFixture, write, type Fixture } from '../../contracts/test/fixture.ts';
import { EthereumSink, Relayer, type SignedReport } from '../src/index.ts';

let f: Fixture;
let sink: EthereumSink;

beforeAll(async () => {
  f = await setupFixture();
  const c = f.operators[0]!.clients; // relayer account: any funded account may relay
  sink = new EthereumSink({ publicClient: c.publicClient, walletClient: c.walletClient, chain: c.chain, router: f.deployed.addresses.router });
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

describe('EthereumSink via Relayer on anvil', () => {
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
    expect(out[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(out[0]!.status === 'failed' && out[0]!.error.message).toMatch(/BadSignature/);
  });
});
