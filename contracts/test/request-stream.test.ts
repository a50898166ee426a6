// OracleRouter's request stream on a real anvil: every request gets the next sequence number (consecutive
// from 0 per router, whoever asks and however), the request id derivation is unchanged, and a range
// relayed with fulfillBatch lands what can land while fresh, already fulfilled, refunded and expired
// requests share the batch; requestStates tells a relayer in one call which of them are still open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAbiParameters, keccak256, maxUint256, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import { buildMerkleTree, merkleProof, reportLeaf } from '@destra/protocol';
import { destraTokenAbi, oracleRouterAbi } from '../src-ts/abi.ts';
import { canonicalInput, deployMarket, marketRequest, requestReport, setupFixture, write, type Fixture } from './fixture.ts';

let f: Fixture;
let router: Address;
let market: Address;

beforeAll(async () => {
  f = await setupFixture();
  router = f.deployed.addresses.router;
  market = await deployMarket(f);
});
afterAll(async () => f?.stop());

const read = (functionName: string, args: unknown[] = []) => f.clients.publicClient.readContract({ address: router, abi: oracleRouterAbi, functionName, args } as any) as Promise<any>;

async function directRequest(input: Uint8Array, clients = f.clients) {
  const [value] = (await read('quote', [f.modelId, 0])) as [bigint, bigint];
  const receipt = await write(clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(input), 0], value);
  const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
  return ev!.args;
}

const advance = async (seconds: number) => {
  await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [seconds] as any });
  await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
};

describe('request sequence numbers', () => {
  it('numbers requests consecutively from 0 across requesters and entry points; ids keep their derivation', async () => {
    expect(await read('nonce')).toBe(0n);
    const seen: { seq: bigint; requestId: Hex; requester: Address }[] = [];
    seen.push(await directRequest(canonicalInput([1n])));
    const viaMarket = await marketRequest(f, market, canonicalInput([2n]));
    seen.push(parseEventLogs({ abi: oracleRouterAbi, logs: viaMarket.receipt.logs, eventName: 'InferenceRequested' })[0]!.args);
    // another account (an operator key holds DSYNC and ETH in the fixture) asks too
    const op = f.operators[0]!;
    await write(op.clients, f.deployed.addresses.token, destraTokenAbi, 'approve', [router, maxUint256]);
    seen.push(await directRequest(canonicalInput([3n]), op.clients));
    seen.push(await directRequest(canonicalInput([4n])));
    expect(seen.map((s) => s.seq)).toEqual([0n, 1n, 2n, 3n]);
    expect(await read('nonce')).toBe(4n);
    for (const s of seen) {
      const expected = keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }], [f.chainId, router, s.requester, s.seq]));
      expect(s.requestId).toBe(expected);
    }
    // several requests in one block keep execution order
    await f.clients.publicClient.request({ method: 'evm_setAutomine' as any, params: [false] as any });
    const [value] = (await read('quote', [f.modelId, 0])) as [bigint, bigint];
    const hashes: Hex[] = [];
    for (let i = 0; i < 3; i++) {
      hashes.push(await f.clients.walletClient.writeContract({ address: router, abi: oracleRouterAbi, functionName: 'request', args: [f.modelId, toHex(canonicalInput([BigInt(10 + i)])), 0], value, account: f.clients.walletClient.account!, chain: f.clients.chain, gas: 300_000n }));
    }
    await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
    await f.clients.publicClient.request({ method: 'evm_setAutomine' as any, params: [true] as any });
    const receipts = await Promise.all(hashes.map((hash) => f.clients.publicClient.waitForTransactionReceipt({ hash })));
    expect(new Set(receipts.map((r) => r.blockNumber)).size).toBe(1);
    const seqs = receipts.map((r) => parseEventLogs({ abi: oracleRouterAbi, logs: r.logs, eventName: 'InferenceRequested' })[0]!.args.seq);
    expect(seqs).toEqual([4n, 5n, 6n]);
  });
});

describe('fulfillBatch over a range with settled and expired requests', () => {
  it('lands the fresh and late-but-unrefunded requests, skips fulfilled and refunded ones, never reverts the whole range', async () => {
    const inputs = [21n, 22n, 23n, 24n, 25n].map((v) => canonicalInput([v]));
    const reqs = [];
    for (const input of inputs) reqs.push(await marketRequest(f, market, input));
    const ids = reqs.map((r) => r.id);
    const reports = ids.map((id, i) => requestReport(f, id, inputs[i]!, [BigInt(1000 + i)]));
    // request 1 was already answered (another relayer, single-report round)
    await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(reports[1]!), f.committee.signRoot(reportLeaf(reports[1]!))]);
    // all expire; request 3 is refunded by its requester, request 4 stays open (late answers may still land)
    await advance(3601);
    await write(f.clients, router, oracleRouterAbi, 'refund', [ids[3]!]);
    // What the relayer reads first, in one call: open = neither answered, refunded, failed nor unknown.
    const unknown = keccak256(toHex('no such request'));
    const [open, deadlines, gasLimits] = (await read('requestStates', [[...ids, unknown]])) as [boolean[], bigint[], number[]];
    expect(open).toEqual([true, false, true, false, true, false]);
    for (const [i, id] of ids.entries()) {
      const r = (await read('requests', [id])) as readonly unknown[];
      expect([deadlines[i], gasLimits[i]]).toEqual([r[2], r[1]]);
    }
    expect([deadlines[5], gasLimits[5]]).toEqual([0n, 0]);
    expect(await read('requestStates', [[]])).toEqual([[], [], []]);
    const limit = Number(await read('MAX_STATES_PER_CALL'));
    await expect(read('requestStates', [Array.from({ length: limit + 1 }, () => unknown)])).rejects.toThrow(/TooManyIds/);
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const sig = f.committee.signRoot(tree.root);
    // whole-range mode (no proofs: the router rebuilds the root from the reports in order)
    const receipt = await write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), sig, reports.map((r) => toHex(r)), []]);
    const landed = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'RequestFulfilled' }).map((e) => e.args.requestId);
    expect(landed).toEqual([ids[0], ids[2], ids[4]]);
    for (const [i, id] of ids.entries()) expect(await read('isFulfilled', [id])).toBe(i !== 3);
    // the same range relayed again (a second aggregator) lands nothing and does not revert
    const again = await write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), sig, reports.map((r) => toHex(r)), []]);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: again.logs, eventName: 'RequestFulfilled' })).toHaveLength(0);
  });

  it('a range relayed in chunks with proofs: each chunk verifies the one root, settled reports are skipped', async () => {
    const inputs = [31n, 32n, 33n, 34n, 35n, 36n].map((v) => canonicalInput([v]));
    const ids: Hex[] = [];
    for (const input of inputs) ids.push((await directRequest(input)).requestId);
    const reports = ids.map((id, i) => requestReport(f, id, inputs[i]!, [BigInt(i)]));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const sig = f.committee.signRoot(tree.root);
    const proofs = reports.map((_, i) => merkleProof(tree, i).map((p) => toHex(p)));
    const chunk = (a: number, b: number) => write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), sig, reports.slice(a, b).map((r) => toHex(r)), proofs.slice(a, b)]);
    const first = await chunk(0, 3);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: first.logs, eventName: 'RequestFulfilled' })).toHaveLength(3);
    // a retried chunk overlapping the first one lands only what is new
    const second = await chunk(2, 6);
    expect(parseEventLogs({ abi: oracleRouterAbi, logs: second.logs, eventName: 'RequestFulfilled' }).map((e) => e.args.requestId)).toEqual(ids.slice(3));
  });

  it('still refuses a range whose signature or root is wrong (one bad report cannot ride on the signature)', async () => {
    const inputs = [41n, 42n].map((v) => canonicalInput([v]));
    const ids: Hex[] = [];
    for (const input of inputs) ids.push((await directRequest(input)).requestId);
    const reports = ids.map((id, i) => requestReport(f, id, inputs[i]!, [BigInt(i)]));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const forged = requestReport(f, ids[1]!, inputs[1]!, [999n]);
    const sim = (rs: Uint8Array[], sig: Hex) =>
      f.clients.publicClient.simulateContract({ address: router, abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [toHex(tree.root), sig, rs.map((r) => toHex(r)), []], account: f.clients.walletClient.account! });
    await expect(sim([reports[0]!, forged], f.committee.signRoot(tree.root))).rejects.toThrow(/MerkleProofInvalid/);
    await expect(sim(reports, f.committee.signRoot(reportLeaf(reports[0]!)))).rejects.toThrow(/BadSignature/);
  });
});
