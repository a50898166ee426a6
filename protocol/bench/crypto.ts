// `npm run bench -- crypto`: BLS12-381 min-sig and DKG figures on this machine, both backends where they
// differ. Each figure is the median of several timed runs after a warm-up.
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { hashToG1, publicKeyOf, randomSecretKey, sign, verify } from '../src/bls/index.ts';
import { simulateDkg } from '../src/dkg/index.ts';
import { PartialVerifier, dealShares, loadMcl, signPartial, withNobleOnly } from '../src/threshold/index.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(runs: number, f: () => unknown | Promise<unknown>): Promise<number> {
  await f(); // warm-up (JIT, caches, lazy tables)
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

export async function run(): Promise<void> {
  const msg = utf8ToBytes('destra bench message 0123456789abcdef');
  const sk = randomSecretKey();
  const pk = publicKeyOf(sk);
  const rows: BenchRow[] = [];
  const add = (op: string, backend: string, ms: number, perOp = 1, goal = '') =>
    rows.push({ operation: op, backend, 'median ms': ms, 'ops/s': Math.round((1000 * perOp) / ms), goal });

  // hashToG1 memoises recent messages, so hashing and signing get messages they have not seen.
  let counter = 0;
  const fresh = () => utf8ToBytes(`destra bench message ${counter++}`);
  add('hash-to-G1 (RFC 9380)', 'noble', await time(20, () => hashToG1(fresh())));
  add('sign (incl. hash-to-G1)', 'noble', await time(20, () => sign(sk, fresh())));
  const sig = sign(sk, msg);
  add('verify (pairing; hash memoised)', 'noble', await time(20, () => withNobleOnly(() => verify(pk, msg, sig))));
  await loadMcl();
  add('verify (pairing; hash memoised)', 'mcl', await time(20, () => verify(pk, msg, sig)));

  const { shares, sharing } = dealShares(21, 100);
  const hashed = hashToG1(msg);
  const partials = shares.map((s) => signPartial(s, msg, { hashed }));
  for (const backend of ['mcl', 'noble'] as const) {
    const v = await PartialVerifier.create(sharing, { backend });
    const batch = await time(backend === 'mcl' ? 10 : 3, () => {
      const r = v.verifyBatch(msg, partials, { hashed });
      if (r.invalid.length) throw new Error('bench partials must verify');
    });
    add('batch-verify 100 partials', backend, batch, 100, backend === 'mcl' ? '≥ 2,000 partials/s' : '');
    for (const t of [5, 21]) {
      const committee = t === 5 ? dealShares(5, 7) : { shares: shares.slice(0, 21), sharing };
      const cv = t === 5 ? await PartialVerifier.create(committee.sharing, { backend }) : v;
      const ps = committee.shares.slice(0, t).map((s) => signPartial(s, msg, { hashed }));
      add(`combine t=${t}`, backend, await time(10, () => cv.combine(ps)));
    }
  }
  for (const [n, t] of [[7, 5], [31, 21]] as const) {
    for (const backend of ['auto', 'noble'] as const) {
      if (backend === 'noble' && n === 31) continue; // minutes in pure JS; the table shows n=7 for the ratio
      const ms = await time(n === 31 ? 2 : 3, () => simulateDkg({ n, t, backend }));
      add(`DKG n=${n} t=${t} (all members, one process)`, backend === 'auto' ? 'mcl' : 'noble', ms, 1, n === 31 ? '≤ 10,000 ms' : '');
    }
  }
  printTable('crypto (BLS12-381 min-sig, threshold, DKG)', rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
