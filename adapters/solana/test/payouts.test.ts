// Request fees on Solana go to the current committee's operators, pro rata to stake: distribute_fees pays
// the vault to the payout table the epoch's handover (or initialize) committed to (payoutsRoot).
import { beforeAll, describe, expect, it } from 'vitest';
import { Keypair, PublicKey } from '@solana/web3.js';
import { encodeHandover, handoverSigningMessage, inputHash, membersRoot, payoutsRoot, sharesRoot, type PayoutEntry } from '@destra/protocol';
import { ORACLE_PROGRAM_ID, SolanaTransactionError } from '../src/index.ts';
import { DOMAIN, MODEL_HASH, feedReport, keyCommittee, post, setup, type Committee, type Fixture } from './fixture.ts';

async function rejects(p: Promise<unknown>, name: string): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, `expected ${name}`).toBeInstanceOf(SolanaTransactionError);
  expect((e as SolanaTransactionError).programErrorName).toBe(name);
}

const FEE = 7_000_003n; // odd on purpose: shares do not divide evenly, the dust stays
const ZERO = new Uint8Array(32);

function funded(f: Fixture): PublicKey {
  const k = Keypair.generate().publicKey;
  f.transport.airdrop(k, 1_000_000_000n);
  return k;
}
const lamports = async (f: Fixture, k: PublicKey) => (await f.transport.getAccount(k))?.lamports ?? 0n;

/** Requests `count` inferences and answers each with a signed report: each answer moves FEE to the vault. */
async function earnFees(f: Fixture, count: number, tag: string): Promise<void> {
  const requester = Keypair.generate();
  f.transport.airdrop(requester.publicKey, 10_000_000_000n);
  for (let i = 1; i <= count; i++) {
    const input = new Uint8Array(8).fill(i);
    await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce: BigInt(i), modelHash: MODEL_HASH, input })], [requester]);
    const req = f.client.requestAddress(requester.publicKey, BigInt(i));
    const epoch = (await f.client.fetchConfig())!.epoch;
    await post(f, feedReport({ kind: 1, epoch, id: req.toBytes(), round: 0n, inputHash: inputHash(input), output: [BigInt(i)], timestamp: BigInt(1_764_000_000 + i) }), { request: req });
    expect((await f.client.fetchRequest(req))?.status, `${tag} request ${i}`).toBe('fulfilled');
  }
}

describe('distribute_fees: Solana request fees to the committee, pro rata to stake', () => {
  let f: Fixture;
  let committee: Committee;
  let table: PayoutEntry[];
  let payees: PublicKey[];
  let rent: bigint;

  beforeAll(async () => {
    committee = keyCommittee();
    payees = [0, 1, 2].map(() => Keypair.generate().publicKey);
    // weights in whole DSYNC: 10,000 / 25,000 / 40,000, and a member without a payout address (5,000)
    table = [
      { payee: payees[0]!.toBytes(), weight: 10_000n },
      { payee: payees[1]!.toBytes(), weight: 25_000n },
      { payee: ZERO, weight: 5_000n },
      { payee: payees[2]!.toBytes(), weight: 40_000n },
    ];
    f = await setup({ committee, fee: FEE, payoutsRoot: payoutsRoot(table) });
    for (const p of payees) f.transport.airdrop(p, 1_000_000_000n);
    rent = await lamports(f, f.client.vaultAddress()); // the vault is created with exactly its rent-exempt minimum
    expect((await f.client.fetchConfig())?.payoutsRoot).toEqual(payoutsRoot(table));
  }, 120_000);

  it('pays the fees of several answered requests pro rata to weight; the zero-payout share and the dust stay', async () => {
    await earnFees(f, 3, 'genesis');
    const pot = 3n * FEE;
    expect(await lamports(f, f.client.vaultAddress())).toBe(rent + pot);
    const before = await Promise.all(payees.map((p) => lamports(f, p)));

    // anyone may call: a stranger pays the transaction fee
    const caller = Keypair.generate();
    f.transport.airdrop(caller.publicKey, 1_000_000_000n);
    await f.client.send([f.client.distributeFeesIx({ epoch: 1n, payouts: table })], [caller]);

    const total = 80_000n;
    const shares = [10_000n, 25_000n, 40_000n].map((w) => (pot * w) / total);
    for (const [i, p] of payees.entries()) expect(await lamports(f, p) - before[i]!, `payee ${i}`).toBe(shares[i]);
    const paid = shares.reduce((a, b) => a + b, 0n);
    const zeroShare = (pot * 5_000n) / total;
    expect(pot - paid).toBeGreaterThanOrEqual(zeroShare); // the unregistered member's share (+ rounding dust) stays
    expect(pot - paid - zeroShare).toBeLessThan(4n);
    expect(await lamports(f, f.client.vaultAddress())).toBe(rent + pot - paid);
    expect((await f.client.fetchVault())?.totalDistributed).toBe(paid);
    expect((await f.client.fetchVault())?.totalCollected).toBe(pot);

    // the next call pays out what stayed, pro rata again; the zero member's share keeps staying
    const left = pot - paid;
    const before2 = await Promise.all(payees.map((p) => lamports(f, p)));
    await f.client.send([f.client.distributeFeesIx({ epoch: 1n, payouts: table })], [caller]);
    const shares2 = [10_000n, 25_000n, 40_000n].map((w) => (left * w) / total);
    for (const [i, p] of payees.entries()) expect(await lamports(f, p) - before2[i]!).toBe(shares2[i]);
  });

  it('refuses a list that is not the committed table: tampered weight, payee, order, epoch or accounts', async () => {
    await earnFees(f, 1, 'refusals');
    const vault = await lamports(f, f.client.vaultAddress());
    const send = (ix: ReturnType<typeof f.client.distributeFeesIx>) => f.client.send([ix], [f.admin]);
    const heavier = table.map((e, i) => (i === 0 ? { ...e, weight: e.weight * 10n } : e));
    await rejects(send(f.client.distributeFeesIx({ epoch: 1n, payouts: heavier })), 'PayoutsMismatch');
    const thief = funded(f);
    const stolen = table.map((e, i) => (i === 3 ? { ...e, payee: thief.toBytes() } : e));
    await rejects(send(f.client.distributeFeesIx({ epoch: 1n, payouts: stolen })), 'PayoutsMismatch');
    // the zero member's share cannot be claimed by filling in an address
    const filled = table.map((e, i) => (i === 2 ? { ...e, payee: thief.toBytes() } : e));
    await rejects(send(f.client.distributeFeesIx({ epoch: 1n, payouts: filled })), 'PayoutsMismatch');
    await rejects(send(f.client.distributeFeesIx({ epoch: 1n, payouts: [...table].reverse() })), 'PayoutsMismatch');
    await rejects(send(f.client.distributeFeesIx({ epoch: 1n, payouts: table.slice(0, 3) })), 'PayoutsMismatch');
    await rejects(send(f.client.distributeFeesIx({ epoch: 2n, payouts: table })), 'WrongEpoch');
    // the right list with another account in a payee's place, or a payee missing
    const swapped = f.client.distributeFeesIx({ epoch: 1n, payouts: table });
    swapped.keys[3] = { pubkey: thief, isSigner: false, isWritable: true };
    await rejects(send(swapped), 'WrongAccount');
    const short = f.client.distributeFeesIx({ epoch: 1n, payouts: table });
    short.keys.pop();
    await rejects(send(short), 'MissingAccount');
    expect(await lamports(f, f.client.vaultAddress())).toBe(vault); // nothing moved
  });

  it('a handover to a new table changes who is paid', async () => {
    await earnFees(f, 2, 'before handover');
    const next = keyCommittee();
    const newPayees = [funded(f), funded(f)];
    const newTable: PayoutEntry[] = [
      { payee: newPayees[0]!.toBytes(), weight: 3n },
      { payee: payees[1]!.toBytes(), weight: 1n }, // an operator that stays, with less stake
      { payee: newPayees[1]!.toBytes(), weight: 6n },
    ];
    const h = encodeHandover({
      domain: DOMAIN, oldEpoch: 1n, newEpoch: 2n, threshold: 1, committeeSize: 3, groupKey: next.groupKey,
      sharesRoot: sharesRoot([next.groupKey, next.groupKey, next.groupKey]), membersRoot: membersRoot(newTable.map((e) => e.payee)),
      payoutsRoot: payoutsRoot(newTable),
    });
    await f.client.send([f.client.handoverIx({ handover: h, signature: committee.sign(handoverSigningMessage(h)) })], [f.admin]);
    expect((await f.client.fetchConfig())?.payoutsRoot).toEqual(payoutsRoot(newTable));
    f.committee = next;
    await earnFees(f, 1, 'after handover');

    // the old table no longer pays, under either epoch
    await rejects(f.client.send([f.client.distributeFeesIx({ epoch: 2n, payouts: table })], [f.admin]), 'PayoutsMismatch');
    await rejects(f.client.send([f.client.distributeFeesIx({ epoch: 1n, payouts: table })], [f.admin]), 'WrongEpoch');

    const pot = (await lamports(f, f.client.vaultAddress())) - rent;
    const old = await Promise.all([payees[0]!, payees[2]!].map((p) => lamports(f, p)));
    const before = await Promise.all(newTable.map((e) => lamports(f, new PublicKey(e.payee))));
    await f.client.send([f.client.distributeFeesIx({ epoch: 2n, payouts: newTable })], [f.admin]);
    for (const [i, e] of newTable.entries()) {
      expect(await lamports(f, new PublicKey(e.payee)) - before[i]!, `new payee ${i}`).toBe((pot * e.weight) / 10n);
    }
    // members that left the committee get nothing from the new epoch's distribution
    expect(await Promise.all([payees[0]!, payees[2]!].map((p) => lamports(f, p)))).toEqual(old);
  });

  it('skips payees no transaction can credit (a program, the vault, an account left below rent) instead of failing', async () => {
    const c = keyCommittee();
    const good = Keypair.generate().publicKey;
    const poor = Keypair.generate().publicKey; // no lamports: a tiny share would leave it below rent exemption
    const g0 = await setup({ committee: c, fee: 10_000_000n });
    const vault = g0.client.vaultAddress();
    const t: PayoutEntry[] = [
      { payee: good.toBytes(), weight: 1_000_000n },
      { payee: ORACLE_PROGRAM_ID.toBytes(), weight: 1_000_000n },
      { payee: vault.toBytes(), weight: 1_000_000n },
      { payee: poor.toBytes(), weight: 1n },
    ];
    const g = await setup({ committee: c, fee: 10_000_000n, payoutsRoot: payoutsRoot(t) });
    expect(g.client.vaultAddress().equals(vault)).toBe(true);
    await earnFees(g, 1, 'skips');
    const rentG = (await lamports(g, vault)) - 10_000_000n;
    await rejects(g.client.send([g.client.distributeFeesIx({ epoch: 1n, payouts: [{ payee: good.toBytes(), weight: 0n }] })], [g.admin]), 'PayoutsMismatch');
    const ix = g.client.distributeFeesIx({ epoch: 1n, payouts: t });
    ix.keys[3] = { pubkey: ORACLE_PROGRAM_ID, isSigner: false, isWritable: false }; // a program account cannot be written
    await g.client.send([ix], [g.admin]);
    const share = (10_000_000n * 1_000_000n) / 3_000_001n;
    expect(await lamports(g, good)).toBe(share);
    expect(await lamports(g, poor)).toBe(0n);
    expect(await lamports(g, vault)).toBe(rentG + 10_000_000n - share);
  });

  it('refuses to distribute an empty vault', async () => {
    const payee = Keypair.generate().publicKey;
    const t = [{ payee: payee.toBytes(), weight: 1n }];
    const g = await setup({ committee: keyCommittee(), payoutsRoot: payoutsRoot(t) });
    await rejects(g.client.send([g.client.distributeFeesIx({ epoch: 1n, payouts: t })], [g.admin]), 'NothingToDistribute');
  });
});
