// The oracle program's request stream in LiteSVM: every request_inference (direct or through the example
// consumer's CPI) takes the config's next sequence number, stored in the request account; the watcher
// hands requests over in sequence order and a node reads any position back with requestBySeq, whatever
// the request's status.
import { beforeAll, describe, expect, it } from 'vitest';
import { Keypair, SystemProgram, TransactionInstruction, type AccountMeta } from '@solana/web3.js';
import { inputHash, svmDestination, type Report } from '@destra/protocol';
import { CONSUMER_PROGRAM_ID, ORACLE_PROGRAM_ID, SolanaTransactionError, consumerCoder, watchRequests } from '../src/index.ts';
import { CLUSTER_ID, DOMAIN, MODEL_HASH, post, setup, type Fixture } from './fixture.ts';

let f: Fixture;
beforeAll(async () => {
  f = await setup({ fee: 1000n, requestTimeoutSlots: 10n });
}, 120_000);

const input = (v: number) => new Uint8Array(8).fill(v);

async function request(requester: Keypair, nonce: bigint, v: number) {
  await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce, modelHash: MODEL_HASH, input: input(v) })], [requester]);
  return f.client.requestAddress(requester.publicKey, nonce);
}

function answer(id: Uint8Array, v: number): Report {
  return {
    kind: 1, domain: DOMAIN, epoch: 1n, destination: svmDestination(CLUSTER_ID, ORACLE_PROGRAM_ID.toBytes()), id,
    modelHash: MODEL_HASH, inputHash: inputHash(input(v)), timestamp: 1_764_000_000n, round: 0n, output: [BigInt(v)],
  };
}

describe('request sequence numbers (destra_oracle)', () => {
  it('numbers requests consecutively from 0 across requesters and the consumer CPI, in the config and each request', async () => {
    expect((await f.client.fetchConfig())?.requestSeq).toBe(0n);
    const a = Keypair.generate();
    const b = Keypair.generate();
    f.transport.airdrop(a.publicKey, 10_000_000_000n);
    f.transport.airdrop(b.publicKey, 10_000_000_000n);
    const r0 = await request(a, 5n, 1);
    const r1 = await request(b, 5n, 2); // same nonce, another requester: another account, the next number
    const r2 = await request(a, 6n, 3);
    // the example consumer asks through CPI (it must pass the config writable now)
    const pool = await initPool();
    const viaCpi = f.client.requestAddress(f.admin.publicKey, 9n);
    const BN = (await import('@coral-xyz/anchor')).default.BN;
    const keys = (configWritable: boolean): AccountMeta[] => [
      { pubkey: f.admin.publicKey, isSigner: true, isWritable: true }, { pubkey: pool, isSigner: false, isWritable: false },
      { pubkey: ORACLE_PROGRAM_ID, isSigner: false, isWritable: false }, { pubkey: f.client.configAddress(), isSigner: false, isWritable: configWritable },
      { pubkey: viaCpi, isSigner: false, isWritable: true }, { pubkey: f.client.vaultAddress(), isSigner: false, isWritable: true },
      { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
    ];
    const data = consumerCoder.instruction.encode('request_risk', { nonce: new BN(9), model_hash: Array.from(MODEL_HASH), input: Buffer.from(input(4)) });
    // a caller that passes the config read-only cannot make a request (the counter must be written)
    await expect(f.transport.send([new TransactionInstruction({ programId: CONSUMER_PROGRAM_ID, keys: keys(false), data })], [f.admin])).rejects.toThrow(SolanaTransactionError);
    await f.transport.send([new TransactionInstruction({ programId: CONSUMER_PROGRAM_ID, keys: keys(true), data })], [f.admin]);

    const seqs = await Promise.all([r0, r1, r2, viaCpi].map(async (addr) => (await f.client.fetchRequest(addr))!.seq));
    expect(seqs).toEqual([0n, 1n, 2n, 3n]);
    expect((await f.client.fetchConfig())?.requestSeq).toBe(4n);
    // a replayed request (same requester and nonce) is refused and takes no number
    await expect(request(a, 5n, 1)).rejects.toThrow(/Replay/);
    expect((await f.client.fetchConfig())?.requestSeq).toBe(4n);

    // the watcher hands requests over in stream order, with their numbers
    const seen: bigint[] = [];
    const w = watchRequests(f.client, (q) => void seen.push(q.seq!));
    await w.poll();
    w.stop();
    expect(seen).toEqual([0n, 1n, 2n, 3n]);

    // any position reads back by number whatever happened to the request: answered, refunded, pending
    await post(f, answer(r1.toBytes(), 2), { request: r1 });
    f.transport.svm.warpToSlot(f.transport.svm.getClock().slot + 20n);
    await f.client.send([f.client.refundIx({ requester: a.publicKey, request: r2 })], [a]);
    expect((await f.client.requestBySeq(1n))).toMatchObject({ status: 'fulfilled', seq: 1n });
    expect((await f.client.requestBySeq(2n))).toMatchObject({ status: 'refunded', seq: 2n });
    expect((await f.client.requestBySeq(0n))?.address.equals(r0)).toBe(true);
    expect(await f.client.requestBySeq(4n)).toBeNull();
    await expect(f.client.requestBySeq(-1n)).rejects.toThrow(/outside u64/);
  });
});

async function initPool() {
  const BN = (await import('@coral-xyz/anchor')).default.BN;
  const [pool] = (await import('@solana/web3.js')).PublicKey.findProgramAddressSync([Buffer.from('pool'), f.admin.publicKey.toBytes()], CONSUMER_PROGRAM_ID);
  const data = consumerCoder.instruction.encode('init_pool', { oracle_program: ORACLE_PROGRAM_ID, feed_id: Array.from(new Uint8Array(32)), max_age_secs: new BN(60) });
  await f.transport.send([new TransactionInstruction({
    programId: CONSUMER_PROGRAM_ID,
    keys: [{ pubkey: f.admin.publicKey, isSigner: true, isWritable: true }, { pubkey: pool, isSigner: false, isWritable: true }, { pubkey: SystemProgram.programId, isSigner: false, isWritable: false }],
    data,
  })], [f.admin]);
  return pool;
}
