// End-to-end tests of the real destra_oracle / destra_consumer .so files in LiteSVM with SIMD-0388 active.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Keypair, PublicKey, SystemProgram, TransactionInstruction } from '@solana/web3.js';
import {
  ChainType, domainTag, encodeHandover, encodeReport, evmDestination, feedId, handoverSigningMessage, inputHash,
  buildMerkleTree, membersRoot, merkleProof, reportLeaf, rootSigningMessage, sharesRoot, svmDestination,
} from '@destra/protocol';
import { CONSUMER_PROGRAM_ID, ORACLE_PROGRAM_ID, SolanaTransactionError, consumerCoder, watchRequests } from '../src/index.ts';
import {
  CLUSTER_ID, DOMAIN, MODEL_HASH, dkgCommittee, feedReport, keyCommittee, post, setup, signed, type Committee, type Fixture,
} from './fixture.ts';

async function rejects(p: Promise<unknown>, name: string): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, `expected ${name}`).toBeInstanceOf(SolanaTransactionError);
  expect((e as SolanaTransactionError).programErrorName).toBe(name);
}

describe('destra_oracle in LiteSVM (SIMD-0388)', () => {
  let dkg: Committee;
  let f: Fixture;

  beforeAll(async () => {
    dkg = await dkgCommittee(4, 3);
    f = await setup({ committee: dkg });
  }, 120_000);

  it('posts a feed report signed by a 3-of-4 DKG committee and the example consumer acts on it', async () => {
    const r = feedReport({ output: [250_000n] });
    const sent = await post(f, r);
    expect(sent.computeUnits).toBeGreaterThan(0n);
    const res = await f.client.fetchResult(r.id);
    expect(res?.round).toBe(1n);
    expect(res?.output).toEqual([250_000n]);
    expect(res?.epoch).toBe(1n);

    // consumer: init a pool on this feed, apply the result
    const pool = PublicKey.findProgramAddressSync([Buffer.from('pool'), f.admin.publicKey.toBytes()], CONSUMER_PROGRAM_ID)[0];
    const ix = (name: string, keys: TransactionInstruction['keys'], args: object) =>
      new TransactionInstruction({ programId: CONSUMER_PROGRAM_ID, keys, data: consumerCoder.instruction.encode(name, args) });
    await f.transport.send([ix('init_pool', [
      { pubkey: f.admin.publicKey, isSigner: true, isWritable: true }, { pubkey: pool, isSigner: false, isWritable: true },
      { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
    ], { oracle_program: ORACLE_PROGRAM_ID, feed_id: Array.from(r.id), max_age_secs: new (await import('@coral-xyz/anchor')).default.BN(0) })], [f.admin]);
    const apply = () => f.transport.send([ix('apply_result', [
      { pubkey: pool, isSigner: false, isWritable: true }, { pubkey: f.client.resultAddress(r.id), isSigner: false, isWritable: false },
    ], {})], [f.admin]);
    await apply();
    const acc = await f.transport.getAccount(pool);
    const decoded = consumerCoder.accounts.decode('LendingPool', Buffer.from(acc!.data)) as { collateral_factor_bps: number; last_round: { toString(): string } };
    expect(decoded.collateral_factor_bps).toBe(7000); // risk 0.25 → 90% − 0.25·80%
    expect(decoded.last_round.toString()).toBe('1');
    const stale = await apply().then(() => undefined, (e: unknown) => e);
    expect((stale as SolanaTransactionError).programError).toBe(6010); // the consumer's StaleRound

    // a newer round updates both
    await post(f, feedReport({ round: 2n, output: [900_000n] }));
    await apply();
    const again = consumerCoder.accounts.decode('LendingPool', Buffer.from((await f.transport.getAccount(pool))!.data)) as { collateral_factor_bps: number };
    expect(again.collateral_factor_bps).toBe(1800);

    // the consumer asks the oracle for an inference through CPI, paying the fee from the admin
    const input = new Uint8Array(8).fill(3);
    const request = f.client.requestAddress(f.admin.publicKey, 77n);
    const BN = (await import('@coral-xyz/anchor')).default.BN;
    await f.transport.send([ix('request_risk', [
      { pubkey: f.admin.publicKey, isSigner: true, isWritable: true }, { pubkey: pool, isSigner: false, isWritable: false },
      { pubkey: ORACLE_PROGRAM_ID, isSigner: false, isWritable: false }, { pubkey: f.client.configAddress(), isSigner: false, isWritable: true },
      { pubkey: request, isSigner: false, isWritable: true }, { pubkey: f.client.vaultAddress(), isSigner: false, isWritable: true },
      { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
    ], { nonce: new BN(77), model_hash: Array.from(MODEL_HASH), input: Buffer.from(input) })], [f.admin]);
    const q = await f.client.fetchRequest(request);
    expect(q?.status).toBe('pending');
    expect(q?.input).toEqual(input);
    expect(q?.fee).toBe(1_000_000n);
  });

  it('rejects replays, stale rounds and misaddressed reports', async () => {
    const base = feedReport({ id: feedId('reject/base'), round: 5n });
    await post(f, base);
    await rejects(post(f, base), 'StaleRound');
    await rejects(post(f, { ...base, round: 4n }), 'StaleRound');
    await rejects(post(f, feedReport({ id: feedId('r/epoch'), epoch: 2n })), 'WrongEpoch');
    await rejects(post(f, feedReport({ id: feedId('r/domain'), domain: domainTag('mainnet') })), 'WrongDomain');
    await rejects(post(f, feedReport({ id: feedId('r/program'), destination: svmDestination(CLUSTER_ID, Keypair.generate().publicKey.toBytes()) })), 'WrongProgram');
    await rejects(post(f, feedReport({ id: feedId('r/cluster'), destination: svmDestination(new Uint8Array(32).fill(9), ORACLE_PROGRAM_ID.toBytes()) })), 'WrongCluster');
    await rejects(post(f, feedReport({ id: feedId('r/evm'), destination: evmDestination(1n, new Uint8Array(20).fill(1)) })), 'WrongChainType');
    // destChainType = 0 is accepted for feeds and on-demand reports
    await post(f, feedReport({ id: feedId('r/any'), destination: { chainType: ChainType.Any, chainId: new Uint8Array(32), contract: new Uint8Array(32) } }));
    await post(f, feedReport({ kind: 3, id: feedId('r/ondemand'), round: 0n, destination: { chainType: ChainType.Any, chainId: new Uint8Array(32), contract: new Uint8Array(32) } }));
    await rejects(post(f, feedReport({ kind: 3, id: feedId('r/ondemand'), round: 0n, destination: { chainType: ChainType.Any, chainId: new Uint8Array(32), contract: new Uint8Array(32) } })), 'Replay');
  });

  it('rejects bad signatures, bad hints and malformed bytes', async () => {
    const r = feedReport({ id: feedId('sig/other') });
    await rejects(post(f, r, { signer: keyCommittee() }), 'InvalidSignature');
    // signature over different bytes than posted
    const other = signed(f.committee, feedReport({ id: feedId('sig/other'), output: [1n] }));
    await rejects(f.client.send([f.client.postReportIx({ payer: f.admin.publicKey, report: encodeReport(r), id: r.id, signature: other.sig, root: other.root })], [f.admin]), 'BadHints');
    const s = signed(f.committee, r);
    await rejects(f.client.send([f.client.postReportIx({ payer: f.admin.publicKey, report: s.bytes, id: r.id, signature: new Uint8Array(48), root: s.root })], [f.admin]), 'BadSignatureEncoding');
    // malformed: truncated, wrong version (v1 and v3), trailing byte
    for (const bad of [s.bytes.subarray(0, s.bytes.length - 1), Uint8Array.from([1, ...s.bytes.subarray(1)]), Uint8Array.from([3, ...s.bytes.subarray(1)]), Uint8Array.from([...s.bytes, 0])]) {
      await rejects(f.client.send([f.client.postReportIx({ payer: f.admin.publicKey, report: bad, id: r.id, signature: s.sig, root: s.root })], [f.admin]), 'MalformedReport');
    }
    // tampered hint: flip one byte of the final point
    const ix = f.client.postReportIx({ payer: f.admin.publicKey, report: s.bytes, id: r.id, signature: s.sig, root: s.root });
    const hintAt = 8 + 4 + s.bytes.length + 48 + 300;
    ix.data[hintAt] = ix.data[hintAt]! ^ 1;
    await rejects(f.client.send([ix], [f.admin]), 'BadHints');
    expect(await f.client.fetchResult(r.id)).toBeNull();
  });

  it('answers an inference request, rejects mismatches, and keeps the fee in the vault for the committee', async () => {
    const requester = Keypair.generate();
    f.transport.airdrop(requester.publicKey, 10_000_000_000n);
    const input = new Uint8Array(16).map((_, i) => i);
    await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce: 1n, modelHash: MODEL_HASH, input })], [requester]);
    const reqAddr = f.client.requestAddress(requester.publicKey, 1n);

    const seen: string[] = [];
    const watcher = watchRequests(f.client, (q) => { seen.push(q.address.toBase58()); });
    const pending = await watcher.poll();
    expect(pending.map((q) => q.address.toBase58())).toContain(reqAddr.toBase58());
    expect(pending.find((q) => q.address.equals(reqAddr))?.input).toEqual(input);
    expect(await watcher.poll()).toEqual([]);
    watcher.stop();
    // with redelivery, a request still pending comes again (a node re-signs an answer the program refused)
    const again = watchRequests(f.client, () => undefined, { redeliverAfterMs: 0 });
    expect((await again.poll()).map((q) => q.address.toBase58())).toContain(reqAddr.toBase58());
    expect((await again.poll()).map((q) => q.address.toBase58())).toContain(reqAddr.toBase58());
    again.stop();

    const answer = feedReport({ kind: 1, id: reqAddr.toBytes(), round: 0n, inputHash: inputHash(input), output: [42n] });
    await rejects(post(f, answer), 'MissingAccount');
    await rejects(post(f, { ...answer, inputHash: inputHash(new Uint8Array(8)) }, { request: reqAddr }), 'InputHashMismatch');
    await rejects(post(f, { ...answer, modelHash: new Uint8Array(32).fill(1) }, { request: reqAddr }), 'RequestMismatch');
    await post(f, answer, { request: reqAddr });
    expect((await f.client.fetchRequest(reqAddr))?.status).toBe('fulfilled');
    expect((await f.client.fetchResult(reqAddr.toBytes()))?.output).toEqual([42n]);
    await rejects(post(f, answer, { request: reqAddr }), 'Replay');
    expect((await f.client.listPendingRequests()).some((q) => q.address.equals(reqAddr))).toBe(false);

    // the fee moved to the vault; no admin claim exists any more (claim_fees is gone: fees go to the committee)
    expect((await f.client.fetchVault())?.totalCollected).toBe(1_000_000n);
    const claimFees = new TransactionInstruction({ programId: ORACLE_PROGRAM_ID, keys: f.client.distributeFeesIx({ epoch: 1n, payouts: [{ payee: new Uint8Array(32), weight: 1n }] }).keys,
      data: Buffer.concat([createHash('sha256').update('global:claim_fees').digest().subarray(0, 8), Buffer.alloc(8)]) });
    await rejects(f.client.send([claimFees], [f.admin]), 'InvalidInstruction');
    // genesis here set no payout table (a zero payoutsRoot): no list is accepted
    await rejects(f.client.send([f.client.distributeFeesIx({ epoch: 1n, payouts: [{ payee: new Uint8Array(32), weight: 1n }] })], [f.admin]), 'PayoutsMismatch');
  });

  it('posts a batch of 16 reports with Merkle proofs after one root verification', async () => {
    const reports = Array.from({ length: 16 }, (_, i) => feedReport({ id: feedId(`batch/${i}`), output: [BigInt(i)] }));
    const bytes = reports.map(encodeReport);

    const root = buildMerkleTree(bytes.map(reportLeaf)).root;
    const sig = f.committee.sign(rootSigningMessage(root));
    const out = await f.client.postBatch({ payer: f.admin, reports: bytes, ids: reports.map((r) => r.id), epoch: 1n, signature: sig });
    expect(out.posts).toHaveLength(16);
    for (let i = 0; i < 16; i++) expect((await f.client.fetchResult(reports[i]!.id))?.output).toEqual([BigInt(i)]);
    // a report outside the batch cannot ride on the verified root
    const stray = encodeReport(feedReport({ id: feedId('batch/stray') }));
    await rejects(f.client.send([f.client.postBatchedReportIx({ payer: f.admin.publicKey, report: stray, id: feedId('batch/stray'), root, epoch: 1n, proof: [] })], [f.admin]), 'BadProof');
    // one report of a signed batch can also be posted on its own: report + proof + the root's signature
    const second = Array.from({ length: 5 }, (_, i) => feedReport({ id: feedId(`batch2/${i}`), output: [BigInt(100 + i)] }));
    const tree2 = buildMerkleTree(second.map((x) => reportLeaf(encodeReport(x))));
    const sig2 = f.committee.sign(rootSigningMessage(tree2.root));
    await f.client.send([f.client.postReportIx({
      payer: f.admin.publicKey, report: encodeReport(second[4]!), id: second[4]!.id, signature: sig2, root: tree2.root, proof: merkleProof(tree2, 4),
    })], [f.admin]);
    expect((await f.client.fetchResult(second[4]!.id))?.output).toEqual([104n]);
    await rejects(f.client.send([f.client.postReportIx({
      payer: f.admin.publicKey, report: encodeReport(second[3]!), id: second[3]!.id, signature: sig2, root: tree2.root, proof: merkleProof(tree2, 4),
    })], [f.admin]), 'BadHints'); // wrong proof → another root → the hints for the signed root do not match

    // and the root cannot be verified twice
    await rejects(f.client.send([f.client.verifyRootIx({ payer: f.admin.publicKey, root, epoch: 1n, signature: sig })], [f.admin]), 'Replay');
  });

  it('hands over from one DKG committee to the next only with the old committee signature', async () => {
    const g = await setup({ committee: dkg });
    const next = await dkgCommittee(5, 3);
    const handover = encodeHandover({
      domain: DOMAIN, oldEpoch: 1n, newEpoch: 2n, threshold: 3, committeeSize: 5, groupKey: next.groupKey,
      sharesRoot: sharesRoot(next.publicShares), membersRoot: membersRoot(next.publicShares.map((_, i) => new Uint8Array(32).fill(i + 1))),
      payoutsRoot: new Uint8Array(32).fill(9),
    });
    // signed by the incoming committee: refused
    await rejects(g.client.send([g.client.handoverIx({ handover, signature: next.sign(handoverSigningMessage(handover)) })], [g.admin]), 'InvalidSignature');
    await g.client.send([g.client.handoverIx({ handover, signature: g.committee.sign(handoverSigningMessage(handover)) })], [g.admin]);
    const cfg = await g.client.fetchConfig();
    expect(cfg?.epoch).toBe(2n);
    expect(cfg?.groupKey).toEqual(next.groupKey);
    expect([cfg?.threshold, cfg?.committeeSize]).toEqual([3, 5]);
    expect(cfg?.sharesRoot).toEqual(sharesRoot(next.publicShares));
    expect(cfg?.payoutsRoot).toEqual(new Uint8Array(32).fill(9));
    // the old committee's epoch-1 reports are now refused, the new committee's epoch-2 reports accepted
    await rejects(post(g, feedReport({ id: feedId('h/old') })), 'WrongEpoch');
    await rejects(post(g, feedReport({ id: feedId('h/old-key'), epoch: 2n })), 'InvalidSignature');
    await post(g, feedReport({ id: feedId('h/new'), epoch: 2n }), { signer: next });
    // replaying the same handover fails (epoch moved on)
    await rejects(g.client.send([g.client.handoverIx({ handover, signature: g.committee.sign(handoverSigningMessage(handover)) })], [g.admin]), 'WrongEpoch');
  });
});
