// CPU cost of the aggregator core alone (no network): one single-report round (t partials in →
// combined out) and the batch path per result (t leaf announcements in, Merkle tree, one root
// signature check), to separate the aggregator's share from nodes and transport in the e2e figures.
import { dealShares, domainTag, encodeReport, evmDestination, ReportKind, rootSigningMessage, signPartial } from '@destra/protocol';
import { AggregatorVerifier, BatchPlanner, BatchRound, LeafQuorum, loadFastHasher, PartialCollector } from '@destra/aggregator';
import { PartialVerifier } from '@destra/protocol';

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export async function coreRows(): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  const hasher = await loadFastHasher();
  const report = (k: number) =>
    encodeReport({ kind: ReportKind.Request, domain: domainTag('bench'), epoch: 1n, destination: evmDestination(1n, new Uint8Array(20)), id: hasher.keccak(new Uint8Array([k & 255, k >> 8, k >> 16])), modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: 1n, round: 0n, output: [BigInt(k)] });
  for (const [n, t] of [[4, 3], [7, 5]] as const) {
    const { shares, sharing } = dealShares(t, n);
    for (const kind of ['optimistic', 'batch-first'] as const) {
      const verifier = kind === 'optimistic' ? await AggregatorVerifier.create(sharing) : await PartialVerifier.create(sharing);
      const times: number[] = [];
      for (let r = 0; r < 40; r++) {
        const bytes = report(r);
        const leaf = hasher.reportLeaf(bytes);
        const partials = shares.slice(0, t).map((s) => ({ member: s.index, requestId: leaf, digest: leaf, signature: signPartial(s, rootSigningMessage(leaf)).signature }));
        const c = new PartialCollector(verifier, { verifyLate: false });
        const s0 = performance.now();
        for (const p of partials) c.add(p);
        times.push(performance.now() - s0);
        if (!c.resultOf(leaf)) throw new Error('core bench: round did not combine');
      }
      times.sort((a, b) => a - b);
      rows.push({ case: `single round n=${n} t=${t} (${kind})`, 'p50 ms': pct(times, 50), 'p99 ms': pct(times, 99) });
    }
  }
  // Batch path for n=7, t=5: announcements → quorum → 1024-leaf batch → 5 root partials → combined.
  const { shares, sharing } = dealShares(5, 7);
  const verifier = await AggregatorVerifier.create(sharing);
  const quorum = new LeafQuorum(5, 7);
  const planner = new BatchPlanner({ maxSize: 1024, maxDelayMs: 1e9, highLoadPerSecond: 1 }, 1n, 1n, (l) => hasher.merkleTree(l));
  const total = 16 * 1024;
  const ids = Array.from({ length: total }, (_, k) => hasher.keccak(new Uint32Array([k]) as unknown as Uint8Array));
  const leaves = ids.map((_, k) => hasher.reportLeaf(report(k)));
  let signed = 0;
  const s0 = performance.now();
  for (let k = 0; k < total; k++) for (let m = 1; m <= 7; m++) {
    const out = quorum.announce(m, ids[k]!, leaves[k]!, 0);
    if (out.ready) planner.push(out.ready);
  }
  for (let b = planner.take(0); b; b = planner.take(0)) {
    const round = new BatchRound(b, verifier);
    const msg = rootSigningMessage(b.root);
    for (const s of shares.slice(0, 5)) for (const ev of round.add(s.index, signPartial(s, msg).signature)) if (ev.type === 'signed') signed += b.leaves.length;
  }
  const secs = (performance.now() - s0) / 1000;
  rows.push({ case: 'batch path n=7 t=5, 1024-leaf batches (incl. members\' 5 root signatures)', 'results/s': signed / secs });
  return rows;
}
