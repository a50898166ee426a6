// FeedRegistry (feeds defined on chain, governance only), batched FeedStore writes and BlockScores (one
// signed root per block, a transaction's score checked by proof) on a real anvil.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexToBytes, keccak256, parseEventLogs, toHex, type Abi, type Address, type Hex } from 'viem';
import {
  ReportKind, anyDestination, blockTxInputHash, buildMerkleTree, encodeReport, evmDestination, feedId, merkleProof, reportLeaf, type Report,
} from '@destra/protocol';
import { FeedSource, addFeedCall, feedArgs, feedIdOf, passProposal, removeFeedCall, updateFeedCall, type Clients } from '../src-ts/index.ts';
import { blockScoresAbi, feedRegistryAbi, feedStoreAbi } from '../src-ts/abi.ts';
import { MODEL_HASH, canonicalInput, setupFixture, write, type Fixture } from './fixture.ts';

let f: Fixture;
let gov: Clients;
let feedRegistry: Address;
let blockScores: Address;
let feeds: Address;

beforeAll(async () => {
  f = await setupFixture();
  ({ feedRegistry, blockScores, feeds } = f.deployed.addresses);
  gov = await f.governance();
});
afterAll(async () => f?.stop());

const read = (address: Address, abi: Abi, functionName: string, args: unknown[] = []) => f.clients.publicClient.readContract({ address, abi, functionName, args } as never) as Promise<any>;
const simulate = (address: Address, abi: Abi, functionName: string, args: unknown[], account: any = f.clients.walletClient.account!) =>
  f.clients.publicClient.simulateContract({ address, abi, functionName, args, account } as never);
const input = canonicalInput([16n, -32n, 48n]);
const fixed = (name: string, over: { heartbeatSec?: number; deviationBps?: number; destinations?: number } = {}) =>
  ({ name, model: f.modelId, source: FeedSource.Fixed, input, heartbeatSec: 30, deviationBps: 50, destinations: 3, ...over }) as const;

describe('FeedRegistry', () => {
  it('only governance adds, changes and removes feeds; each change is an event nodes follow', async () => {
    const def = fixed('risk-eth-1');
    const args = [def.name, def.model, ...feedArgs(def)];
    // neither the deployer nor an operator may define feeds: only a passed proposal (the governor)
    await expect(simulate(feedRegistry, feedRegistryAbi, 'addFeed', args)).rejects.toThrow(/NotGovernance/);
    await expect(simulate(feedRegistry, feedRegistryAbi, 'addFeed', args, f.operators[0]!.clients.walletClient.account!)).rejects.toThrow(/NotGovernance/);
    const added = await write(gov, feedRegistry, feedRegistryAbi, 'addFeed', args);
    const [ev] = parseEventLogs({ abi: feedRegistryAbi, logs: added.logs, eventName: 'FeedAdded' });
    expect(ev!.args).toMatchObject({ feedId: feedIdOf(def.name), name: def.name, model: f.modelId, source: 0, params: toHex(input), heartbeat: 30, deviationBps: 50, destinations: 3 });
    expect(feedIdOf(def.name)).toBe(toHex(feedId(def.name))); // the report id the rounds carry
    const stored = await read(feedRegistry, feedRegistryAbi, 'feed', [feedIdOf(def.name)]);
    expect(stored).toMatchObject({ model: f.modelId, source: 0, heartbeat: 30, deviationBps: 50, destinations: 3, revision: 1, params: toHex(input), name: def.name });
    expect(stored.sinceBlock).toBe(added.blockNumber);
    await expect(write(gov, feedRegistry, feedRegistryAbi, 'addFeed', args)).rejects.toThrow(/FeedExists/);

    await expect(simulate(feedRegistry, feedRegistryAbi, 'updateFeed', [feedIdOf(def.name), f.modelId, ...feedArgs({ ...def, heartbeatSec: 60 })])).rejects.toThrow(/NotGovernance/);
    const changed = await write(gov, feedRegistry, feedRegistryAbi, 'updateFeed', [feedIdOf(def.name), f.modelId, ...feedArgs({ ...def, heartbeatSec: 60 })]);
    const [ch] = parseEventLogs({ abi: feedRegistryAbi, logs: changed.logs, eventName: 'FeedChanged' });
    expect(ch!.args).toMatchObject({ feedId: feedIdOf(def.name), revision: 2, heartbeat: 60 });

    await write(gov, feedRegistry, feedRegistryAbi, 'addFeed', ['risk-eth-2', ...args.slice(1)]);
    expect(await read(feedRegistry, feedRegistryAbi, 'feedIds')).toEqual([feedIdOf('risk-eth-1'), feedIdOf('risk-eth-2')]);
    await expect(simulate(feedRegistry, feedRegistryAbi, 'removeFeed', [feedIdOf('risk-eth-1')])).rejects.toThrow(/NotGovernance/);
    const removed = await write(gov, feedRegistry, feedRegistryAbi, 'removeFeed', [feedIdOf('risk-eth-1')]);
    expect(parseEventLogs({ abi: feedRegistryAbi, logs: removed.logs, eventName: 'FeedRemoved' })[0]!.args.feedId).toBe(feedIdOf('risk-eth-1'));
    expect(await read(feedRegistry, feedRegistryAbi, 'feedIds')).toEqual([feedIdOf('risk-eth-2')]);
    await expect(read(feedRegistry, feedRegistryAbi, 'feed', [feedIdOf('risk-eth-1')])).rejects.toThrow(/UnknownFeed/);
    await write(gov, feedRegistry, feedRegistryAbi, 'removeFeed', [feedIdOf('risk-eth-2')]);

    await expect(simulate(feedRegistry, feedRegistryAbi, 'setWindow', [10])).rejects.toThrow(/NotGovernance/);
    await expect(write(gov, feedRegistry, feedRegistryAbi, 'setWindow', [0])).rejects.toThrow(/InvalidWindow/);
    expect(await read(feedRegistry, feedRegistryAbi, 'window')).toBe(5);
    expect((await read(feedRegistry, feedRegistryAbi, 'blockScores')).toLowerCase()).toBe(blockScores.toLowerCase());
    expect((await read(feedRegistry, feedRegistryAbi, 'feedStore')).toLowerCase()).toBe(feeds.toLowerCase());
  });

  it('refuses definitions nodes could not run: unknown model, bad input, block feeds off Ethereum, bad names', async () => {
    const add = (name: string, model: Hex, a: unknown[]) => simulate(feedRegistry, feedRegistryAbi, 'addFeed', [name, model, ...a], gov.walletClient.account!);
    const def = fixed('x');
    await expect(add('x', keccak256('0x1234'), feedArgs(def))).rejects.toThrow(/UnknownModel/);
    await expect(add('x', f.modelId, [0, '0x', 30, 50, 3])).rejects.toThrow(/InvalidFeed.*params/s);
    await expect(add('x', f.modelId, [0, '0x0102', 30, 50, 3])).rejects.toThrow(/InvalidFeed.*params/s); // not whole int64 values
    await expect(add('x', f.modelId, [0, toHex(input), 0, 50, 3])).rejects.toThrow(/InvalidFeed.*heartbeat/s);
    await expect(add('x', f.modelId, [0, toHex(input), 30, 10_001, 3])).rejects.toThrow(/InvalidFeed.*deviationBps/s);
    await expect(add('x', f.modelId, [0, toHex(input), 30, 50, 0])).rejects.toThrow(/InvalidFeed.*destinations/s);
    await expect(add('x', f.modelId, [0, toHex(input), 30, 50, 4])).rejects.toThrow(/InvalidFeed.*destinations/s);
    await expect(add('x', f.modelId, [2, toHex(input), 30, 50, 3])).rejects.toThrow(/InvalidFeed.*source/s);
    await expect(add('x', f.modelId, [1, '0x0002', 0, 0, 3])).rejects.toThrow(/InvalidFeed.*destinations/s); // block roots: Ethereum only
    await expect(add('x', f.modelId, [1, '0x02', 0, 0, 1])).rejects.toThrow(/InvalidFeed.*params/s);
    await expect(add('x', f.modelId, [1, '0x0002', 12, 0, 1])).rejects.toThrow(/InvalidFeed.*heartbeat/s);
    await expect(add('', f.modelId, feedArgs(def))).rejects.toThrow(/InvalidFeed.*name/s);
    await expect(add('n'.repeat(65), f.modelId, feedArgs(def))).rejects.toThrow(/InvalidFeed.*name/s);
  });

  it('a feed added by a passed proposal: operators propose and vote, the governor executes after the timelock', async () => {
    const voters = f.operators.map((o) => o.clients);
    const advance = async (s: number) => {
      await f.clients.publicClient.request({ method: 'evm_increaseTime' as any, params: [s] as any });
      await f.clients.publicClient.request({ method: 'evm_mine' as any, params: [] as any });
    };
    const def = fixed('governed-feed', { heartbeatSec: 45 });
    await passProposal(voters, f.deployed.addresses.governor, addFeedCall(feedRegistry, def), { advance });
    expect((await read(feedRegistry, feedRegistryAbi, 'feed', [feedIdOf(def.name)])).heartbeat).toBe(45);
    await passProposal(voters, f.deployed.addresses.governor, updateFeedCall(feedRegistry, { ...def, deviationBps: 0 }), { advance });
    expect((await read(feedRegistry, feedRegistryAbi, 'feed', [feedIdOf(def.name)])).deviationBps).toBe(0);
    await passProposal(voters, f.deployed.addresses.governor, removeFeedCall(feedRegistry, def.name), { advance });
    expect(await read(feedRegistry, feedRegistryAbi, 'feedIds')).toEqual([]);
  });
});

const feedReport = (name: string, round: bigint, values: bigint[], over: Partial<Report> = {}): Uint8Array =>
  encodeReport({
    kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: feedId(name),
    modelHash: hexToBytes(MODEL_HASH), inputHash: keccak256Bytes(input), timestamp: round, round, output: values, ...over,
  });
const keccak256Bytes = (b: Uint8Array) => hexToBytes(keccak256(b));

describe('FeedStore batches: one verification for a window of feeds', () => {
  it('updateFeeds stores every feed of a signed root; stale rounds are skipped, a stranger epoch refused', async () => {
    const names = ['batch-a', 'batch-b', 'batch-c'];
    const reports = names.map((n, i) => feedReport(n, 1_800_000_000n, [BigInt(100 + i)]));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    const sig = f.committee.signRoot(tree.root);
    const proofs = reports.map((_, i) => merkleProof(tree, i).map((p) => toHex(p)));
    const rx = await write(f.clients, feeds, feedStoreAbi, 'updateFeeds', [toHex(tree.root), sig, reports.map((r) => toHex(r)), proofs]);
    expect(parseEventLogs({ abi: feedStoreAbi, logs: rx.logs, eventName: 'FeedUpdated' }).map((e) => e.args.feedId)).toEqual(names.map((n) => toHex(feedId(n))));
    for (const [i, n] of names.entries()) expect(await read(feeds, feedStoreAbi, 'latestRound', [toHex(feedId(n))])).toEqual([[BigInt(100 + i)], 1_800_000_000n, 1_800_000_000n, 1n]);
    // a relayer landing the same batch again (or an older one) changes nothing: StaleRound rounds are skipped
    const again = await write(f.clients, feeds, feedStoreAbi, 'updateFeeds', [toHex(tree.root), sig, reports.map((r) => toHex(r)), proofs]);
    expect(parseEventLogs({ abi: feedStoreAbi, logs: again.logs, eventName: 'FeedUpdated' })).toHaveLength(0);
    // one report that is not under the signed root spoils the call
    const foreign = feedReport('batch-a', 1_800_000_005n, [1n]);
    await expect(simulate(feeds, feedStoreAbi, 'updateFeeds', [toHex(tree.root), sig, [toHex(foreign)], [proofs[0]]])).rejects.toThrow(/MerkleProofInvalid/);
    // gas: one pairing check for three feeds vs three single updates
    const singles = names.map((n, i) => feedReport(n, 1_800_000_010n, [BigInt(i)]));
    let singleGas = 0n;
    for (const r of singles) singleGas += (await write(f.clients, feeds, feedStoreAbi, 'updateFeed', [toHex(r), f.committee.signRoot(reportLeaf(r))])).gasUsed;
    const next = names.map((n, i) => feedReport(n, 1_800_000_020n, [BigInt(i)]));
    const t2 = buildMerkleTree(next.map(reportLeaf));
    const batchGas = (await write(f.clients, feeds, feedStoreAbi, 'updateFeeds', [toHex(t2.root), f.committee.signRoot(t2.root), next.map((r) => toHex(r)), next.map((_, i) => merkleProof(t2, i).map((p) => toHex(p)))])).gasUsed;
    expect(batchGas * 2n).toBeLessThan(singleGas);
  });
});

describe('BlockScores: one root per block, a transaction checked by proof', () => {
  const BLOCK_FEED = 'tx-anomaly-blocks';
  const blockHash = hexToBytes(keccak256('0xb10c'));
  const txs = [1, 2, 3, 4, 5].map((i) => hexToBytes(keccak256(toHex(`tx-${i}`))));
  const rows = txs.map((_, i) => canonicalInput([BigInt(i), 16n]));
  const leafReport = (block: bigint, i: number, over: Partial<Report> = {}) =>
    encodeReport({
      kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: evmDestination(f.chainId, hexToBytes(blockScores)),
      id: feedId(BLOCK_FEED), modelHash: hexToBytes(MODEL_HASH), inputHash: blockTxInputHash(block, blockHash, txs[i]!, rows[i]!), timestamp: 1_800_000_100n,
      round: block, output: [BigInt(1000 * i)], ...over,
    });
  const treeOf = (block: bigint) => {
    const reports = txs.map((_, i) => leafReport(block, i));
    const tree = buildMerkleTree(reports.map(reportLeaf));
    return { reports, tree, sig: f.committee.signRoot(tree.root), proof: (i: number) => merkleProof(tree, i).map((p) => toHex(p)) };
  };

  beforeAll(async () => {
    await write(gov, feedRegistry, feedRegistryAbi, 'addFeed', [BLOCK_FEED, f.modelId, ...feedArgs({ name: BLOCK_FEED, model: f.modelId, source: FeedSource.BlockTransactions, confirmations: 2 })]);
  });

  it('stores the signed root under the block its reports name; a score verifies by proof, anything else reverts', async () => {
    const b = treeOf(100n);
    const rx = await write(f.clients, blockScores, blockScoresAbi, 'submitRoot', [toHex(b.tree.root), b.sig, toHex(b.reports[2]!), b.proof(2)]);
    expect(parseEventLogs({ abi: blockScoresAbi, logs: rx.logs, eventName: 'BlockScored' })[0]!.args).toMatchObject({ feedId: feedIdOf(BLOCK_FEED), blockNumber: 100n, root: toHex(b.tree.root), epoch: 1n });
    expect(await read(blockScores, blockScoresAbi, 'rootOf', [feedIdOf(BLOCK_FEED), 100n])).toEqual([toHex(b.tree.root), 1n, 1_800_000_100n]);
    expect(await read(blockScores, blockScoresAbi, 'latestBlock', [feedIdOf(BLOCK_FEED)])).toBe(100n);
    const check = (i: number, over: { tx?: Uint8Array; row?: Uint8Array; block?: bigint; proof?: Hex[]; report?: Uint8Array } = {}) =>
      read(blockScores, blockScoresAbi, 'verifyTxScore', [feedIdOf(BLOCK_FEED), over.block ?? 100n, toHex(blockHash), toHex(over.tx ?? txs[i]!), toHex(over.row ?? rows[i]!), toHex(over.report ?? b.reports[i]!), over.proof ?? b.proof(i)]);
    for (let i = 0; i < txs.length; i++) expect(await check(i)).toEqual([BigInt(1000 * i)]);
    await expect(check(1, { tx: txs[2] })).rejects.toThrow(/InputMismatch/); // another transaction's hash
    await expect(check(1, { row: rows[2] })).rejects.toThrow(/InputMismatch/); // another feature row
    await expect(check(1, { proof: b.proof(2) })).rejects.toThrow(/MerkleProofInvalid/);
    await expect(check(1, { block: 101n })).rejects.toThrow(/WrongBlock/);
    await expect(check(1, { report: leafReport(100n, 1, { output: [999_999n] }) })).rejects.toThrow(/MerkleProofInvalid/); // a forged score
  });

  it('a relayer cannot file a root twice, under another block, unsigned, or as a FeedStore round', async () => {
    const b = treeOf(200n);
    await write(f.clients, blockScores, blockScoresAbi, 'submitRoot', [toHex(b.tree.root), b.sig, toHex(b.reports[0]!), b.proof(0)]);
    // the same block signed again (e.g. in a later epoch) keeps the first root
    const again = treeOf(200n);
    await expect(simulate(blockScores, blockScoresAbi, 'submitRoot', [toHex(again.tree.root), again.sig, toHex(again.reports[1]!), again.proof(1)])).rejects.toThrow(/BlockKnown/);
    // block 201's root with block 200's report: the proof does not lead there
    const c = treeOf(201n);
    await expect(simulate(blockScores, blockScoresAbi, 'submitRoot', [toHex(c.tree.root), c.sig, toHex(b.reports[0]!), b.proof(0)])).rejects.toThrow(/MerkleProofInvalid/);
    await expect(simulate(blockScores, blockScoresAbi, 'submitRoot', [toHex(c.tree.root), b.sig, toHex(c.reports[0]!), c.proof(0)])).rejects.toThrow(/BadSignature/);
    // a timed feed's root is not a block feed's
    const timed = feedReport('not-a-block-feed', 5n, [1n], { destination: evmDestination(f.chainId, hexToBytes(blockScores)) });
    await expect(simulate(blockScores, blockScoresAbi, 'submitRoot', [toHex(reportLeaf(timed)), f.committee.signRoot(reportLeaf(timed)), toHex(timed), []])).rejects.toThrow(/UnknownFeed/);
    // reports addressed elsewhere are refused
    const anywhere = leafReport(300n, 0, { destination: anyDestination() });
    await expect(simulate(blockScores, blockScoresAbi, 'submitRoot', [toHex(reportLeaf(anywhere)), f.committee.signRoot(reportLeaf(anywhere)), toHex(anywhere), []])).rejects.toThrow(/WrongDestination/);
    // and FeedStore refuses a block leaf: a transaction's score never passes for the feed's latest round
    await expect(simulate(feeds, feedStoreAbi, 'updateFeed', [toHex(b.reports[0]!), f.committee.signRoot(reportLeaf(b.reports[0]!))])).rejects.toThrow(/WrongDestination/);
  });
});
