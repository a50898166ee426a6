// Test fixtures: a real t-of-n sharing, real reports and real partial signatures.
import { anyDestination, dealShares, domainTag, encodeReport, PartialVerifier, reportLeaf, ReportKind, signingMessage, SigningPurpose, signPartial, type KeyShare } from '@destra/protocol';
import { AggregatorVerifier, type PartialIn } from '../src/index.ts';

export type VerifierKind = 'batch-first' | 'optimistic';

/** A dealt t-of-n committee; `optimistic` uses AggregatorVerifier (combine first, then one check). */
export async function committee(t: number, n: number, kind: VerifierKind = 'batch-first') {
  const { shares, sharing } = dealShares(t, n);
  const verifier = kind === 'optimistic' ? await AggregatorVerifier.create(sharing) : await PartialVerifier.create(sharing);
  return { shares, sharing, verifier };
}

export function report(idByte: number, output: bigint[]): { id: Uint8Array; bytes: Uint8Array; leaf: Uint8Array } {
  const id = new Uint8Array(32).fill(idByte);
  const bytes = encodeReport({
    kind: ReportKind.OnDemand,
    domain: domainTag('test'),
    epoch: 1n,
    destination: anyDestination(),
    id,
    modelHash: new Uint8Array(32).fill(7),
    inputHash: new Uint8Array(32).fill(8),
    timestamp: 1_700_000_000n,
    round: 1n,
    output,
  });
  return { id, bytes, leaf: reportLeaf(bytes) };
}

export function partialFor(share: KeyShare, r: { id: Uint8Array; bytes: Uint8Array; leaf: Uint8Array }, withReport = true): PartialIn {
  const sig = signPartial(share, signingMessage(SigningPurpose.ReportRoot, r.leaf)).signature;
  const p: PartialIn = { member: share.index, requestId: r.id, digest: r.leaf, signature: sig };
  if (withReport) p.report = r.bytes;
  return p;
}
