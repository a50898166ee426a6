// Regression tests for two findings against the destra_oracle program:
// - issue 11/3: program accounts were created with CreateAccount, which fails once the address holds
//   lamports, so anyone could block config, vault, result, root and request PDAs by sending lamports first;
// - issue 12/8: `initialize` was first-come (whoever called first became admin).
// And the refund of unanswered requests that keeps a blocked or ignored request's fee from being stuck.
import { beforeAll, describe, expect, it } from 'vitest';
import { Keypair, PublicKey, SystemProgram, TransactionInstruction } from '@solana/web3.js';
import { ReportStatus, buildMerkleTree, encodeReport, feedId, inputHash, reportLeaf, rootSigningMessage } from '@destra/protocol';
import anchor from '@coral-xyz/anchor';
import {
  BPF_LOADER_UPGRADEABLE_ID, CONSUMER_PROGRAM_ID, SolanaTransactionError, consumerCoder, deployLocalPrograms, OracleClient, ORACLE_PROGRAM_ID,
  type LiteSvmTransport,
} from '../src/index.ts';
import { CLUSTER_ID, DOMAIN, MODEL_HASH, feedReport, keyCommittee, post, setup, type Fixture } from './fixture.ts';

async function rejects(p: Promise<unknown>, name: string): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, `expected ${name}`).toBeInstanceOf(SolanaTransactionError);
  expect((e as SolanaTransactionError).programErrorName).toBe(name);
}

/** What the attacker sent in the finding: a rent-exempt minimum for a 0-byte account. */
const GRIEF = 890_880n;
const FEE = 1_000_000n;
const TIMEOUT = 100n;

const lamports = async (t: LiteSvmTransport, a: PublicKey): Promise<bigint> => (await t.getAccount(a))?.lamports ?? 0n;
const rent = (t: LiteSvmTransport, len: number): bigint => BigInt(t.svm.minimumBalanceForRentExemption(BigInt(len)));
const funded = (t: LiteSvmTransport, lamports = 100_000_000_000n): Keypair => {
  const k = Keypair.generate();
  t.airdrop(k.publicKey, lamports);
  return k;
};

function initArgs(admin: PublicKey) {
  return {
    admin, domain: DOMAIN, clusterId: CLUSTER_ID, epoch: 1n, threshold: 1, committeeSize: 1, groupKey: keyCommittee().groupKey,
    requestFee: FEE, requestTimeoutSlots: TIMEOUT, payoutsRoot: new Uint8Array(32),
  };
}

describe('initialize: only the upgrade authority', () => {
  it('refuses a signer that is not the upgrade authority, accepts the authority', async () => {
    const authority = Keypair.generate();
    const t = deployLocalPrograms(authority.publicKey);
    t.airdrop(authority.publicKey, 10_000_000_000n);
    const client = new OracleClient(t);
    const attacker = funded(t);
    await rejects(client.send([client.initializeIx(initArgs(attacker.publicKey))], [attacker]), 'NotUpgradeAuthority');
    expect(await client.fetchConfig()).toBeNull();

    // a forged "ProgramData" (right layout, attacker as authority) at another address is refused
    const fake = Keypair.generate();
    const data = new Uint8Array(45);
    data.set([3, 0, 0, 0], 0);
    data[12] = 1;
    data.set(attacker.publicKey.toBytes(), 13);
    t.svm.setAccount({ address: fake.publicKey.toBase58(), lamports: 10_000_000n, data, programAddress: BPF_LOADER_UPGRADEABLE_ID.toBase58(), executable: false } as never);
    const forged = client.initializeIx(initArgs(attacker.publicKey));
    forged.keys[4] = { pubkey: fake.publicKey, isSigner: false, isWritable: false };
    await rejects(client.send([forged], [attacker]), 'WrongAccount');
    // the instruction without the ProgramData account
    const short = client.initializeIx(initArgs(attacker.publicKey));
    short.keys.pop();
    await rejects(client.send([short], [attacker]), 'MissingAccount');

    await client.send([client.initializeIx(initArgs(authority.publicKey))], [authority]);
    const cfg = await client.fetchConfig();
    expect(cfg?.admin.equals(authority.publicKey)).toBe(true);
    expect(cfg?.requestTimeoutSlots).toBe(TIMEOUT);
    // and only once
    await rejects(client.send([client.initializeIx(initArgs(authority.publicKey))], [authority]), 'AlreadyInitialized');
  });

  it('refuses everyone once the program is immutable (no upgrade authority)', async () => {
    const authority = Keypair.generate();
    const t = deployLocalPrograms(authority.publicKey);
    t.airdrop(authority.publicKey, 10_000_000_000n);
    t.setUpgradeAuthority(ORACLE_PROGRAM_ID, null);
    const client = new OracleClient(t);
    await rejects(client.send([client.initializeIx(initArgs(authority.publicKey))], [authority]), 'NotUpgradeAuthority');
  });
});

describe('PDAs pre-funded by a stranger are still created', () => {
  it('config and vault: initialize succeeds over lamports sent to both addresses', async () => {
    const authority = Keypair.generate();
    const t = deployLocalPrograms(authority.publicKey);
    t.airdrop(authority.publicKey, 10_000_000_000n);
    const client = new OracleClient(t);
    t.airdrop(client.configAddress(), GRIEF); // less than the config's rent: topped up
    t.airdrop(client.vaultAddress(), 5_000_000n); // more than the vault's rent: nothing to add
    const before = await lamports(t, authority.publicKey);
    const sent = await client.send([client.initializeIx(initArgs(authority.publicKey))], [authority]);
    expect((await client.fetchConfig())?.admin.equals(authority.publicKey)).toBe(true);
    const cfg = (await t.getAccount(client.configAddress()))!;
    expect(cfg.owner.equals(ORACLE_PROGRAM_ID)).toBe(true);
    expect(cfg.lamports).toBe(rent(t, cfg.data.length));
    expect(await lamports(t, client.vaultAddress())).toBe(5_000_000n);
    // the admin paid only what was missing (plus the 5,000-lamport signature fee)
    expect(before - (await lamports(t, authority.publicKey))).toBe(rent(t, cfg.data.length) - GRIEF + 5_000n);
    console.log(`initialize over two pre-funded PDAs: ${sent.computeUnits} CU`);
  });

  describe('with an initialised oracle', () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await setup({ fee: FEE });
    }, 60_000);

    it('result: a feed report is stored over a pre-funded result address', async () => {
      const r = feedReport({ id: feedId('grief/result') });
      f.transport.airdrop(f.client.resultAddress(r.id), GRIEF);
      expect(await f.client.fetchResult(r.id)).toBeNull(); // lamports alone are not a result (relayers poll this)
      const sent = await post(f, r);
      expect((await f.client.fetchResult(r.id))?.output).toEqual(r.output);
      console.log(`post_report over a pre-funded result PDA: ${sent.computeUnits} CU`);
    });

    it('result: a request is still answered after its result address was pre-funded (the reported attack)', async () => {
      const requester = funded(f.transport);
      const input = new Uint8Array(8).fill(5);
      await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce: 1n, modelHash: MODEL_HASH, input })], [requester]);
      const req = f.client.requestAddress(requester.publicKey, 1n);
      f.transport.airdrop(f.client.resultAddress(req.toBytes()), GRIEF);
      await post(f, feedReport({ kind: 1, id: req.toBytes(), round: 0n, inputHash: inputHash(input), output: [7n] }), { request: req });
      expect((await f.client.fetchRequest(req))?.status).toBe('fulfilled');
      expect((await f.client.fetchResult(req.toBytes()))?.output).toEqual([7n]);
    });

    it('root: a batch is posted over a pre-funded verified-root address', async () => {
      const reports = Array.from({ length: 3 }, (_, i) => feedReport({ id: feedId(`grief/batch/${i}`), output: [BigInt(i)] }));
      const bytes = reports.map(encodeReport);
      const root = buildMerkleTree(bytes.map(reportLeaf)).root;
      f.transport.airdrop(f.client.rootAddress(root, 1n), GRIEF);
      const out = await f.client.postBatch({
        payer: f.admin, reports: bytes, ids: reports.map((r) => r.id), epoch: 1n, signature: f.committee.sign(rootSigningMessage(root)),
      });
      console.log(`verify_root over a pre-funded root PDA: ${out.verify.computeUnits} CU`);
      for (const [i, r] of reports.entries()) expect((await f.client.fetchResult(r.id))?.output).toEqual([BigInt(i)]);
    });

    it('request: request_inference succeeds over a pre-funded request address and escrows the fee', async () => {
      const requester = funded(f.transport);
      const req = f.client.requestAddress(requester.publicKey, 9n);
      f.transport.airdrop(req, GRIEF);
      const vaultBefore = await lamports(f.transport, f.client.vaultAddress());
      const sent = await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce: 9n, modelHash: MODEL_HASH, input: new Uint8Array(8) })], [requester]);
      const q = await f.client.fetchRequest(req);
      expect(q?.status).toBe('pending');
      expect(q?.fee).toBe(FEE);
      const acc = (await f.transport.getAccount(req))!;
      expect(acc.lamports).toBe(rent(f.transport, acc.data.length) + FEE);
      expect(await lamports(f.transport, f.client.vaultAddress())).toBe(vaultBefore); // not the admin's until answered
      console.log(`request_inference over a pre-funded request PDA: ${sent.computeUnits} CU`);
    });

    it('consumer pool: init_pool succeeds over a pre-funded pool address', async () => {
      const admin = funded(f.transport);
      const pool = PublicKey.findProgramAddressSync([Buffer.from('pool'), admin.publicKey.toBytes()], CONSUMER_PROGRAM_ID)[0];
      f.transport.airdrop(pool, GRIEF);
      await f.transport.send([new TransactionInstruction({
        programId: CONSUMER_PROGRAM_ID,
        keys: [
          { pubkey: admin.publicKey, isSigner: true, isWritable: true }, { pubkey: pool, isSigner: false, isWritable: true },
          { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
        ],
        data: consumerCoder.instruction.encode('init_pool', { oracle_program: ORACLE_PROGRAM_ID, feed_id: Array.from(feedId('x')), max_age_secs: new anchor.BN(0) }),
      })], [admin]);
      expect((await f.transport.getAccount(pool))?.owner.equals(CONSUMER_PROGRAM_ID)).toBe(true);
    });
  });
});

/** A fresh funded requester asks for an inference of MODEL_HASH on `input`; returns it and the request account. */
async function requestFrom(f: Fixture, nonce: bigint, input: Uint8Array) {
  const requester = funded(f.transport);
  await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce, modelHash: MODEL_HASH, input })], [requester]);
  return { requester, address: f.client.requestAddress(requester.publicKey, nonce) };
}

describe('refund of unanswered requests', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ fee: FEE, requestTimeoutSlots: TIMEOUT });
  }, 60_000);

  async function request(nonce: bigint, input = new Uint8Array(8).fill(Number(nonce))) {
    const { requester, address } = await requestFrom(f, nonce, input);
    const answer = feedReport({ kind: 1, id: address.toBytes(), round: 0n, inputHash: inputHash(input), output: [1n] });
    return { requester, address, answer };
  }
  const warpPast = async (address: PublicKey) => {
    const q = await f.client.fetchRequest(address);
    f.transport.svm.warpToSlot(q!.deadlineSlot!);
  };
  // the admin pays the transaction fee, so the requester's balance moves by the refund alone
  const refund = (requester: Keypair, address: PublicKey) =>
    f.client.send([f.client.refundIx({ requester: requester.publicKey, request: address })], [f.admin, requester]);

  it('gives the fee back to the requester after the deadline, once, and the request can no longer be answered', async () => {
    const { requester, address, answer } = await request(1n);
    const q = await f.client.fetchRequest(address);
    expect(q?.deadlineSlot).toBe(q!.createdSlot + TIMEOUT);
    await rejects(refund(requester, address), 'RequestNotExpired');
    f.transport.svm.warpToSlot(q!.deadlineSlot! - 1n);
    await rejects(refund(requester, address), 'RequestNotExpired');
    await warpPast(address);

    const before = await lamports(f.transport, requester.publicKey);
    const sent = await refund(requester, address);
    expect((await lamports(f.transport, requester.publicKey)) - before).toBe(FEE);
    expect((await f.client.fetchRequest(address))?.status).toBe('refunded');
    expect((await f.client.listPendingRequests()).some((x) => x.address.equals(address))).toBe(false);
    console.log(`refund: ${sent.computeUnits} CU`);

    await rejects(refund(requester, address), 'RequestNotPending');
    await rejects(post(f, answer, { request: address }), 'RequestNotPending');
    expect(await f.client.fetchResult(address.toBytes())).toBeNull();
  });

  it('refuses anyone but the requester, and a requester that does not sign', async () => {
    const { requester, address } = await request(2n);
    await warpPast(address);
    const stranger = funded(f.transport);
    // the stranger names itself as the recipient: not the request's requester
    await rejects(f.client.send([f.client.refundIx({ requester: stranger.publicKey, request: address })], [stranger]), 'Unauthorized');
    // the right requester account, but the stranger signs the transaction instead
    const unsigned = f.client.refundIx({ requester: requester.publicKey, request: address });
    unsigned.keys[0] = { pubkey: requester.publicKey, isSigner: false, isWritable: true };
    await rejects(f.client.send([unsigned], [stranger]), 'MissingSignature');
    // not a request account
    await rejects(f.client.send([f.client.refundIx({ requester: requester.publicKey, request: f.client.vaultAddress() })], [requester]), 'NotInitialized');
    expect((await f.client.fetchRequest(address))?.status).toBe('pending');
    await refund(requester, address);
  });

  it('an answered request cannot be refunded; its fee went to the vault', async () => {
    const { requester, address, answer } = await request(3n);
    const vault = f.client.vaultAddress();
    const vaultBefore = await lamports(f.transport, vault);
    await post(f, answer, { request: address });
    expect((await lamports(f.transport, vault)) - vaultBefore).toBe(FEE);
    const acc = (await f.transport.getAccount(address))!;
    expect(acc.lamports).toBe(rent(f.transport, acc.data.length)); // the escrow left, the rent stays
    await warpPast(address);
    await rejects(refund(requester, address), 'RequestNotPending');
    // the answer must name the vault (where the fee goes)
    const { address: other, answer: otherAnswer } = await request(4n);
    const ix = f.client.postReportIx({
      payer: f.admin.publicKey, report: encodeReport(otherAnswer), id: otherAnswer.id, signature: f.committee.sign(rootSigningMessage(reportLeaf(encodeReport(otherAnswer)))),
      root: reportLeaf(encodeReport(otherAnswer)), request: other,
    });
    ix.keys.pop();
    await rejects(f.client.send([ix], [f.admin]), 'MissingAccount');
    ix.keys.push({ pubkey: Keypair.generate().publicKey, isSigner: false, isWritable: true });
    await rejects(f.client.send([ix], [f.admin]), 'WrongOwner');
  });
});

describe('failure reports (status ≠ 0) close a request', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ fee: FEE, requestTimeoutSlots: TIMEOUT });
  }, 60_000);

  async function request(nonce: bigint, input = new Uint8Array(8).fill(Number(nonce))) {
    const { requester, address } = await requestFrom(f, nonce, input);
    const failure = feedReport({ kind: 1, id: address.toBytes(), round: 0n, inputHash: inputHash(input), status: ReportStatus.InputRange, output: [] });
    return { requester, address, failure, input };
  }
  const refund = (requester: Keypair, address: PublicKey) =>
    f.client.send([f.client.refundIx({ requester: requester.publicKey, request: address })], [f.admin, requester]);

  it('stores the status, keeps the processing fee in the vault, refunds the rest at once, and stays closed', async () => {
    expect((await f.client.fetchConfig())?.failureFeeBps).toBe(1_000);
    const { requester, address, failure } = await request(1n);
    const vault = f.client.vaultAddress();
    const vaultBefore = await lamports(f.transport, vault);
    const sent = await post(f, failure, { request: address });
    console.log(`post failure report: ${sent.computeUnits} CU`);
    const kept = FEE / 10n;
    expect((await lamports(f.transport, vault)) - vaultBefore).toBe(kept);
    const q = await f.client.fetchRequest(address);
    expect(q?.status).toBe('failed');
    expect(q?.fee).toBe(FEE - kept);
    const result = await f.client.fetchResult(address.toBytes());
    expect(result).toMatchObject({ status: ReportStatus.InputRange, statusName: 'INPUT_RANGE', output: [], kind: 1 });
    expect((await f.client.listPendingRequests()).some((x) => x.address.equals(address))).toBe(false);
    // no deadline to wait for: the requester takes the rest back now, once
    const before = await lamports(f.transport, requester.publicKey);
    await refund(requester, address);
    expect((await lamports(f.transport, requester.publicKey)) - before).toBe(FEE - kept);
    expect((await f.client.fetchRequest(address))?.status).toBe('failed');
    await rejects(refund(requester, address), 'RequestNotPending');
    // neither an answer nor a second failure report is accepted
    await rejects(post(f, { ...failure, output: [1n], status: ReportStatus.Ok }, { request: address }), 'Replay');
    await rejects(post(f, failure, { request: address }), 'Replay');
  });

  it('rejects failure reports with outputs, of another kind, with an unknown status, or for another input', async () => {
    const { address, failure } = await request(2n);
    const bytes = encodeReport(failure);
    const withOutputs = encodeReport({ ...failure, status: ReportStatus.Ok, output: [7n] });
    withOutputs[219] = ReportStatus.InputRange;
    const unknown = bytes.slice();
    unknown[219] = 5;
    const okEmpty = bytes.slice();
    okEmpty[219] = 0;
    const feed = bytes.slice();
    feed[1] = 2;
    for (const b of [withOutputs, unknown, okEmpty, feed]) await rejects(post(f, failure, { bytes: b, request: address }), 'MalformedReport');
    await rejects(post(f, { ...failure, inputHash: inputHash(new Uint8Array(8)) }, { request: address }), 'InputHashMismatch');
    await rejects(post(f, { ...failure, modelHash: new Uint8Array(32).fill(1) }, { request: address }), 'RequestMismatch');
    expect((await f.client.fetchRequest(address))?.status).toBe('pending');
    await post(f, failure, { request: address });
    expect((await f.client.fetchRequest(address))?.status).toBe('failed');
  });

  it('the processing fee is set by the admin only, at most 100%', async () => {
    const stranger = funded(f.transport);
    await rejects(f.client.send([f.client.setFailureFeeIx({ admin: stranger.publicKey, failureFeeBps: 0 })], [stranger]), 'Unauthorized');
    await rejects(f.client.send([f.client.setFailureFeeIx({ admin: f.admin.publicKey, failureFeeBps: 10_001 })], [f.admin]), 'InvalidFee');
    await f.client.send([f.client.setFailureFeeIx({ admin: f.admin.publicKey, failureFeeBps: 10_000 })], [f.admin]);
    const { requester, address, failure } = await request(3n);
    const vaultBefore = await lamports(f.transport, f.client.vaultAddress());
    await post(f, failure, { request: address });
    expect((await lamports(f.transport, f.client.vaultAddress())) - vaultBefore).toBe(FEE);
    expect((await f.client.fetchRequest(address))?.fee).toBe(0n);
    await rejects(refund(requester, address), 'RequestNotPending');
    await f.client.send([f.client.setFailureFeeIx({ admin: f.admin.publicKey, failureFeeBps: 1_000 })], [f.admin]);
  });
});
