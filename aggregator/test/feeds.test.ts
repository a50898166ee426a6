// Feed batches at the aggregator: members' FeedCommits combined into a certificate (hostile members
// outvoted, forged carried reports refused, impersonation refused), and the FeedRelay landing certified
// batches on a real anvil (FeedStore.updateFeeds with one signature check for the window, BlockScores for a
// block) and in the real oracle program on LiteSVM (verify_root once, then every feed account), durably.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexToBytes, toHex as viemHex, type Hex } from 'viem';
import { Keypair } from '@solana/web3.js';
import {
  FeedCommitCodec, RangeCertificateCodec, ReportKind, TIMED_FEEDS_SCOPE, anyDestination, blockTxInputHash, buildMerkleTree, dealShares, encodeReport,
  evmDestination, feedBatchStream, feedId, inputHash, merkleProof, reportLeaf, rootSigningMessage, signPartial, toHex,
  verify, type KeyShare,
} from '@destra/protocol';
import { BlockScoresSubmitter, FulfillmentSubmitter } from '@destra/adapter-ethereum';
import { createLocalDeployment } from '@destra/adapter-solana';
import { FeedSource, feedArgs, feedRegistryAbi, feedStoreAbi } from '@destra/contracts';
import { canonicalInput, setupFixture, write, type Fixture } from '../../contracts/test/fixture.ts';
import { AggregatorVerifier, EpochBook, FeedCommitService, FeedRelay, SqliteFeedRelayJournal, registryDestinations, type CertifiedFeedBatch } from '../src/index.ts';
import { FeedRegistryReader } from '@destra/adapter-ethereum';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

describe('FeedCommitService: t matching roots make a certificate', () => {
  const DOMAIN = new Uint8Array(32).fill(1);
  const window = 1_800_000_000n;
  const report = (name: string, value: bigint) =>
    encodeReport({ kind: ReportKind.Feed, domain: DOMAIN, epoch: 1n, destination: anyDestination(), id: feedId(name), modelHash: new Uint8Array(32).fill(2), inputHash: inputHash(new Uint8Array(8)), timestamp: window, round: window, output: [value] });
  const stream = feedBatchStream(TIMED_FEEDS_SCOPE, window);

  async function setup() {
    const { shares, sharing } = dealShares(3, 4);
    const verifier = await AggregatorVerifier.create(sharing);
    const book = EpochBook.fixed({ epoch: 1, verifier, sharing });
    let handler: ((data: Uint8Array, from: any) => void) | undefined;
    const published: Uint8Array[] = [];
    const host = { handleDirect: async (_p: string, _m: number, h: any) => void (handler = h), publish: async (_t: string, d: Uint8Array) => (published.push(d), 1) };
    const svc = new FeedCommitService({ host, epochs: book, batchesTopic: 'batches', log: quiet });
    await svc.start();
    const certified: CertifiedFeedBatch[] = [];
    const named: number[] = [];
    svc.on('certified', (b) => certified.push(b));
    svc.on('misbehaviour', (e) => named.push(e.member));
    const commit = (share: KeyShare, reports: Uint8Array[], over: { index?: number; from?: number; carried?: Uint8Array[] } = {}) => {
      const tree = buildMerkleTree(reports.map(reportLeaf));
      const carried = over.carried ?? reports;
      const frame = FeedCommitCodec.encode({
        type: 'feed-commit', v: 1, epoch: 1, index: over.index ?? share.index, stream, count: reports.length, root: tree.root,
        signature: signPartial(share, rootSigningMessage(tree.root)).signature, reports: carried, proofs: carried.map((_, i) => merkleProof(tree, i)),
      });
      handler!(frame, { peerId: `peer-${over.from ?? share.index}`, role: 'member', index: over.from ?? share.index });
      return tree.root;
    };
    return { shares, sharing, svc, certified, named, published, commit };
  }

  it('certifies the root t members agree on; the certificate goes back to the members; a member signing another value is outvoted and named', async () => {
    const s = await setup();
    const honest = [report('a', 100n), report('b', 200n)];
    const lying = [report('a', 999_999n), report('b', 200n)]; // member 4 signs a different value for feed a
    s.commit(s.shares[3]!, lying);
    const root = s.commit(s.shares[0]!, honest);
    s.commit(s.shares[1]!, honest);
    expect(s.certified).toHaveLength(0);
    s.commit(s.shares[2]!, honest);
    expect(s.certified).toHaveLength(1);
    const c = s.certified[0]!;
    expect(toHex(c.root)).toBe(toHex(root));
    expect(c.reports.map(toHex)).toEqual(honest.map(toHex));
    expect(verify(s.sharing.groupKey, rootSigningMessage(c.root), c.signature)).toBe(true);
    const cert = RangeCertificateCodec.decode(s.published[0]!);
    expect([toHex(cert.stream), toHex(cert.root), cert.count, cert.start]).toEqual([toHex(stream), toHex(root), 2, 0]);
    // the liar's root never reaches t; it is named once its late partial is checked
    await new Promise((r) => setTimeout(r, 1200));
    expect(s.named).toContain(4);
    expect(s.svc.stats.certified).toBe(1);
  });

  it('refuses carried reports that are not under the signed root, impersonation, and foreign epochs', async () => {
    const s = await setup();
    const honest = [report('a', 100n), report('b', 200n)];
    // member 1 signs the honest root but carries a forged report (another value) with the honest proof
    s.commit(s.shares[0]!, honest, { carried: [report('a', 5n), honest[1]!] });
    // member 2's connection claims to be member 3
    s.commit(s.shares[1]!, honest, { index: 3, from: 2 });
    expect(s.svc.stats.rejected).toBe(2);
    expect(s.svc.stats.commits).toBe(0);
    s.commit(s.shares[1]!, honest);
    s.commit(s.shares[2]!, honest);
    s.commit(s.shares[3]!, honest);
    expect(s.certified).toHaveLength(1);
    expect(s.certified[0]!.reports.map(toHex)).toEqual(honest.map(toHex)); // never the forged one
  });
});

describe('FeedRelay on anvil and LiteSVM', () => {
  let f: Fixture;
  let dir: string;
  let solana: Awaited<ReturnType<typeof createLocalDeployment>>;
  let relay: FeedRelay;
  let journal: SqliteFeedRelayJournal;
  const payer = Keypair.generate();
  const sign = (root: Uint8Array) => f.committee.signMessage(rootSigningMessage(root));

  beforeAll(async () => {
    f = await setupFixture();
    dir = mkdtempSync(join(tmpdir(), 'destra-feed-relay-'));
    solana = await createLocalDeployment({ groupKey: f.committee.groupKeyUncompressed, domain: hexToBytes(f.deployed.domain), clusterId: new Uint8Array(32).fill(9), threshold: f.committee.t, committeeSize: 4 });
    solana.transport.airdrop(payer.publicKey, 10_000_000_000n);
    const gov = await f.governance();
    const input = canonicalInput([16n]);
    // on chain: 'eth-and-sol' to both chains, 'eth-only' to Ethereum, and a block feed
    for (const [name, destinations] of [['eth-and-sol', 3], ['eth-only', 1]] as const) {
      await write(gov, f.deployed.addresses.feedRegistry, feedRegistryAbi, 'addFeed', [name, f.modelId, ...feedArgs({ name, model: f.modelId, source: FeedSource.Fixed, input, heartbeatSec: 10, deviationBps: 0, destinations })]);
    }
    await write(gov, f.deployed.addresses.feedRegistry, feedRegistryAbi, 'addFeed', ['blocks', f.modelId, ...feedArgs({ name: 'blocks', model: f.modelId, source: FeedSource.BlockTransactions, confirmations: 1 })]);
    const c = f.operators[0]!.clients;
    const feeds = new FulfillmentSubmitter({ publicClient: c.publicClient, walletClient: c.walletClient, router: f.deployed.addresses.router, feeds: f.deployed.addresses.feeds, retries: 1, minRetryDelayMs: 10 });
    const blockScores = new BlockScoresSubmitter({ publicClient: c.publicClient, walletClient: c.walletClient, blockScores: f.deployed.addresses.blockScores, nonceManager: feeds.nonces, retries: 1 });
    journal = new SqliteFeedRelayJournal(join(dir, 'feed-relay.db'));
    relay = new FeedRelay({
      targets: { ethereum: { feeds, blockScores }, solana: { client: solana.client, payer } },
      destinations: registryDestinations(new FeedRegistryReader(f.clients.publicClient, f.deployed.addresses.feedRegistry), 0),
      journal, log: quiet, baseDelayMs: 10, maxDelayMs: 50,
    });
  }, 240_000);
  afterAll(async () => {
    journal?.close();
    await f?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const windowBatch = (round: bigint, values: Record<string, bigint>): CertifiedFeedBatch => {
    const reports = Object.entries(values).map(([name, v]) =>
      encodeReport({ kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: feedId(name), modelHash: new Uint8Array(32).fill(2), inputHash: inputHash(new Uint8Array(8)), timestamp: round, round, output: [v] }),
    );
    const tree = buildMerkleTree(reports.map(reportLeaf));
    return { epoch: 1, stream: feedBatchStream(TIMED_FEEDS_SCOPE, round), root: tree.root, signature: sign(tree.root), signers: [1, 2, 3], count: reports.length, reports, proofs: reports.map((_, i) => merkleProof(tree, i)) };
  };
  const stored = async (name: string) => (await f.clients.publicClient.readContract({ address: f.deployed.addresses.feeds, abi: feedStoreAbi, functionName: 'latestRound', args: [viemHex(feedId(name))] })) as readonly [readonly bigint[], bigint, bigint, bigint];

  it('lands a window on both chains: one updateFeeds on Ethereum, verify_root once and each feed account on Solana; per-feed destinations kept', async () => {
    const out = await relay.relay(windowBatch(1_800_000_000n, { 'eth-and-sol': 11n, 'eth-only': 22n }));
    expect(out.map((o) => [o.chain, o.status])).toEqual([['ethereum', 'landed'], ['solana', 'landed']]);
    expect((await stored('eth-and-sol')).slice(0, 2)).toEqual([[11n], 1_800_000_000n]);
    expect((await stored('eth-only')).slice(0, 2)).toEqual([[22n], 1_800_000_000n]);
    expect((await solana.client.fetchResult(feedId('eth-and-sol')))?.output).toEqual([11n]);
    expect(await solana.client.fetchResult(feedId('eth-only'))).toBeNull(); // its destinations say Ethereum only
    expect(journal.count()).toBe(0);
  });

  it('a relayer landing an older round (or the same one again) changes nothing: stale counts as done', async () => {
    await relay.relay(windowBatch(1_800_000_010n, { 'eth-and-sol': 12n, 'eth-only': 23n }));
    const old = await relay.relay(windowBatch(1_800_000_005n, { 'eth-and-sol': 666n, 'eth-only': 666n }));
    expect(old.map((o) => o.status)).toEqual(['stale', 'stale']);
    expect((await stored('eth-and-sol')).slice(0, 2)).toEqual([[12n], 1_800_000_010n]);
    expect((await solana.client.fetchResult(feedId('eth-and-sol')))?.round).toBe(1_800_000_010n);
    // the same certified batch handed in again joins the first relay (two aggregators sharing it) …
    const same = windowBatch(1_800_000_010n, { 'eth-and-sol': 12n, 'eth-only': 23n });
    expect((await relay.relay(same)).map((o) => o.status)).toEqual(['landed', 'landed']);
    // … and another aggregator's relay finds it on chain already: done, nothing sent
    const other = new FeedRelay({ targets: (relay as any).o.targets, destinations: (relay as any).o.destinations, log: quiet, baseDelayMs: 10 });
    expect((await other.relay(same)).map((o) => o.status)).toEqual(['stale', 'stale']);
  });

  it('a batch the chains refuse (a signature over another root) fails for good without retrying forever', async () => {
    const b = windowBatch(1_800_000_020n, { 'eth-and-sol': 1n });
    const bad = { ...b, signature: sign(reportLeaf(b.reports[0]!).map((x) => x ^ 1)) };
    const out = await relay.relay(bad);
    expect(out.map((o) => [o.chain, o.status])).toEqual([['ethereum', 'failed'], ['solana', 'failed']]);
    expect(journal.count()).toBe(0);
  });

  it("stores a block's root in BlockScores from one of its reports; a second root for the block is done, not an error", async () => {
    const blockHash = new Uint8Array(32).fill(0xab);
    const mk = (epochSig: (r: Uint8Array) => Uint8Array, value: bigint): CertifiedFeedBatch => {
      const reports = [1, 2, 3].map((i) =>
        encodeReport({
          kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: evmDestination(f.chainId, hexToBytes(f.deployed.addresses.blockScores)), id: feedId('blocks'),
          modelHash: new Uint8Array(32).fill(2), inputHash: blockTxInputHash(500n, blockHash, new Uint8Array(32).fill(i), canonicalInput([BigInt(i)])), timestamp: 1_800_000_000n, round: 500n, output: [value + BigInt(i)],
        }),
      );
      const tree = buildMerkleTree(reports.map(reportLeaf));
      return { epoch: 1, stream: feedBatchStream(feedId('blocks'), 500n), root: tree.root, signature: epochSig(tree.root), signers: [1, 2, 3], count: 3, reports: [reports[0]!], proofs: [merkleProof(tree, 0)] };
    };
    const out = await relay.relay(mk(sign, 0n));
    expect(out.map((o) => [o.chain, o.kind, o.status])).toEqual([['ethereum', 'block', 'landed']]);
    const root = (await f.clients.publicClient.readContract({ address: f.deployed.addresses.blockScores, abi: (await import('@destra/contracts')).blockScoresAbi, functionName: 'rootOf', args: [viemHex(feedId('blocks')), 500n] })) as readonly [Hex, bigint, bigint];
    expect(root[0]).toBe(viemHex(mk(sign, 0n).root));
    expect((await relay.relay(mk(sign, 7n))).map((o) => o.status)).toEqual(['stale']);
  });

  it('resumes what a killed aggregator left in its journal', async () => {
    const b = windowBatch(1_800_000_030n, { 'eth-and-sol': 30n });
    journal.add('ethereum', b);
    journal.add('solana', b);
    const fresh = new FeedRelay({ targets: (relay as any).o.targets, journal, log: quiet, baseDelayMs: 10 });
    const out = await fresh.resume();
    expect(out.map((o) => o.status).sort()).toEqual(['landed', 'landed']);
    expect((await stored('eth-and-sol'))[0]).toEqual([30n]);
    expect(journal.count()).toBe(0);
  });
});
