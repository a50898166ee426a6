// Compute units of the real destra_oracle program in LiteSVM (SIMD-0388 syscalls active):
// bare verification, a single report, a batch of 16 (per report, root verification amortised), handover,
// a result PDA pre-funded by a stranger, a request and its refund, a fee distribution to 4 payees.
// Run: npm run bench -- solana-cu   (or: npx tsx adapters/solana/bench/cu.ts)
import { Keypair } from '@solana/web3.js';
import {
  buildMerkleTree, encodeHandover, encodeReport, feedId, handoverSigningMessage, membersRoot, payoutsRoot, reportLeaf, rootSigningMessage,
  sharesRoot, type PayoutEntry,
} from '@destra/protocol';
import { printTable } from '../../../scripts/bench-table.ts';
import { DOMAIN, feedReport, keyCommittee, setup, signed } from '../test/fixture.ts';

export async function run(): Promise<void> {
  const f = await setup({ fee: 1_000_000n });
  const rows: Record<string, string | number>[] = [];
  const cu = (label: string, v: bigint, note = '') => rows.push({ operation: label, 'compute units': Number(v), note });

  // verify only: verify_signature reads the config and checks one signature, nothing else
  const msg = rootSigningMessage(new Uint8Array(32).fill(1));
  const v = await f.client.send([f.client.verifySignatureIx({ message: msg, signature: f.committee.sign(msg) })], [f.admin]);
  cu('verify signature only', v.computeUnits, 'hash-to-G1 with hints + cofactor via G1 add + 2-pair pairing');

  const r = feedReport({ id: feedId('bench/single') });
  const s = signed(f.committee, r);
  const single = await f.client.send([f.client.postReportIx({ payer: f.admin.publicKey, report: s.bytes, id: r.id, signature: s.sig, root: s.root })], [f.admin]);
  cu('post one report', single.computeUnits, 'verify + decode + result PDA creation');

  // a stranger sent lamports to the result address first: top-up + Allocate + Assign instead of CreateAccount
  const g = feedReport({ id: feedId('bench/prefunded') });
  f.transport.airdrop(f.client.resultAddress(g.id), 890_880n);
  const gs = signed(f.committee, g);
  const prefunded = await f.client.send([f.client.postReportIx({ payer: f.admin.publicKey, report: gs.bytes, id: g.id, signature: gs.sig, root: gs.root })], [f.admin]);
  cu('post one report, result PDA pre-funded', prefunded.computeUnits, 'same, over lamports sent to the result address');

  const requester = Keypair.generate();
  f.transport.airdrop(requester.publicKey, 1_000_000_000n);
  const request = f.client.requestAddress(requester.publicKey, 1n);
  const rq = await f.client.send([f.client.requestInferenceIx({ requester: requester.publicKey, nonce: 1n, modelHash: new Uint8Array(32), input: new Uint8Array(8) })], [requester]);
  cu('request_inference', rq.computeUnits, 'request PDA, fee escrowed in it');
  f.transport.svm.warpToSlot((await f.client.fetchRequest(request))!.deadlineSlot!);
  const rf = await f.client.send([f.client.refundIx({ requester: requester.publicKey, request })], [requester]);
  cu('refund after the deadline', rf.computeUnits, 'fee back to the requester, request marked refunded');

  const reports = Array.from({ length: 16 }, (_, i) => feedReport({ id: feedId(`bench/batch/${i}`), output: [BigInt(i)] }));
  const bytes = reports.map(encodeReport);
  const root = buildMerkleTree(bytes.map(reportLeaf)).root;
  const batch = await f.client.postBatch({
    payer: f.admin, reports: bytes, ids: reports.map((x) => x.id), epoch: 1n, signature: f.committee.sign(rootSigningMessage(root)),
  });
  const postsTotal = batch.posts.reduce((a, p) => a + p.computeUnits, 0n);
  cu('batch of 16: verify_root', batch.verify.computeUnits, 'once per batch');
  cu('batch of 16: post with proof (mean)', postsTotal / 16n, '4-level Merkle proof, no signature check');
  cu('batch of 16: per report incl. root share', (postsTotal + batch.verify.computeUnits) / 16n, '');

  const next = keyCommittee();
  const payees = Array.from({ length: 4 }, () => Keypair.generate().publicKey);
  for (const p of payees) f.transport.airdrop(p, 1_000_000_000n);
  const table: PayoutEntry[] = payees.map((p, i) => ({ payee: p.toBytes(), weight: BigInt(10_000 * (i + 1)) }));
  const h = encodeHandover({
    domain: DOMAIN, oldEpoch: 1n, newEpoch: 2n, threshold: 1, committeeSize: 1, groupKey: next.groupKey,
    sharesRoot: sharesRoot([next.groupKey]), membersRoot: membersRoot([Keypair.generate().publicKey.toBytes()]),
    payoutsRoot: payoutsRoot(table),
  });
  const ho = await f.client.send([f.client.handoverIx({ handover: h, signature: f.committee.sign(handoverSigningMessage(h)) })], [f.admin]);
  cu('committee handover', ho.computeUnits, 'new G2 key validated + old-key signature');

  f.transport.airdrop(f.client.vaultAddress(), 1_000_000_000n); // fees (anyone may add lamports to the vault)
  const dist = await f.client.send([f.client.distributeFeesIx({ epoch: 2n, payouts: table })], [f.admin]);
  cu('distribute_fees, 4 payees', dist.computeUnits, 'table hashed, pro-rata shares paid from the vault');

  printTable('Solana destra_oracle compute units (LiteSVM, SIMD-0388)', rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
