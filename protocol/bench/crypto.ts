// `npm run bench -- crypto`: BLS12-381 min-sig, batch Keccak and DKG figures on this machine, every
// backend where they differ. Each figure is the median of several timed runs after a warm-up.
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { hashToG1, publicKeyOf, randomSecretKey, sign, verify } from '../src/bls/index.ts';
import { simulateDkg } from '../src/dkg/index.ts';
import { PartialVerifier, dealShares, loadMcl, signPartial, withNobleOnly } from '../src/threshold/index.ts';
import { nativeBackend, withoutNative } from '../src/native/index.ts';
import { keccak_256 } from '@noble/hashes/sha3.js';

/** Runs f with the addon's 8-way Keccak switched off (it reads DESTRA_KECCAK_LANES on every call). */
function withKeccakLanesOff<T>(f: () => T): T {
  const before = process.env.DESTRA_KECCAK_LANES;
  process.env.DESTRA_KECCAK_LANES = '1';
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.DESTRA_KECCAK_LANES;
    else process.env.DESTRA_KECCAK_LANES = before;
  }
}

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
  await loadMcl();
  const native = nativeBackend();
  // Each backend forced in turn: native (blst addon), mcl-wasm (addon suspended), noble (both suspended).
  const backends = [
    ...(native ? [{ name: 'native' as const, run: <T>(f: () => T) => f() }] : []),
    { name: 'mcl' as const, run: <T>(f: () => T) => withoutNative(f) },
    { name: 'noble' as const, run: <T>(f: () => T) => withNobleOnly(f) },
  ];
  add('hash-to-G1 (RFC 9380), noble point', 'noble', await time(20, () => hashToG1(fresh())));
  const sig = sign(sk, msg);
  for (const b of backends) {
    add('sign (incl. hash-to-G1)', b.name, await time(20, () => b.run(() => sign(sk, fresh()))));
    add('verify (pairing)', b.name, await time(20, () => b.run(() => verify(pk, msg, sig))));
  }

  const { shares, sharing } = dealShares(21, 100);
  const hashed = hashToG1(msg);
  const partials = shares.map((s) => signPartial(s, msg, { hashed }));
  for (const b of backends) {
    const v = await PartialVerifier.create(sharing, { backend: b.name });
    const batch = await time(b.name === 'noble' ? 3 : 10, () => {
      const r = v.verifyBatch(msg, partials);
      if (r.invalid.length) throw new Error('bench partials must verify');
    });
    add('batch-verify 100 partials', b.name, batch, 100, b.name === 'noble' ? '' : '≥ 2,000 partials/s');
    for (const t of [5, 21]) {
      const committee = t === 5 ? dealShares(5, 7) : { shares: shares.slice(0, 21), sharing };
      const cv = t === 5 ? await PartialVerifier.create(committee.sharing, { backend: b.name }) : v;
      const ps = committee.shares.slice(0, t).map((s) => signPartial(s, msg, { hashed }));
      add(`combine t=${t}`, b.name, await time(10, () => cv.combine(ps)));
    }
  }
  if (native) {
    // Report leaves as the batch paths hash them: 8,192 reports of 230 bytes (one output).
    const reports = new Uint8Array(8192 * 230).map((_, i) => (i * 31) & 255);
    const prefix = new Uint8Array([0]);
    const lanes = native.keccakWidth();
    add(`keccak-256 report leaves ×8192 (${lanes} per step)`, 'native', await time(10, () => native.keccakMany(reports, 230, prefix)), 8192);
    add('keccak-256 report leaves ×8192 (one at a time)', 'native', await time(10, () => withKeccakLanesOff(() => native.keccakMany(reports, 230, prefix))), 8192);
    add('keccak-256 report leaves ×8192', 'noble', await time(3, () => { for (let i = 0; i < 8192; i++) keccak_256(reports.subarray(i * 230, (i + 1) * 230)); }), 8192);
  }
  for (const [n, t] of [[7, 5], [31, 21]] as const) {
    for (const backend of ['auto', 'noble'] as const) {
      if (backend === 'noble' && n === 31) continue; // minutes in pure JS; the table shows n=7 for the ratio
      const ms = await time(n === 31 ? 2 : 3, () => simulateDkg({ n, t, backend }));
      add(`DKG n=${n} t=${t} (all members, one process)`, backend === 'auto' ? 'fastest' : 'noble', ms, 1, n === 31 ? '≤ 10,000 ms' : '');
    }
  }
  printTable('crypto (BLS12-381 min-sig, threshold, DKG)', rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
