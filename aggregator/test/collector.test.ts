import { describe, expect, it } from 'vitest';
import { verify, signingMessage, SigningPurpose, g2Compressed } from '@destra/protocol';
import { PartialCollector, type CoreEvent } from '../src/index.ts';
import { committee as makeCommittee, partialFor, report, type VerifierKind } from './helpers.ts';

const combined = (evs: CoreEvent[]) => evs.filter((e) => e.type === 'combined');
const named = (evs: CoreEvent[]) => evs.flatMap((e) => (e.type === 'misbehaviour' ? [[e.evidence.member, e.evidence.kind] as const] : []));

describe.each(['batch-first', 'optimistic'] as VerifierKind[])('PartialCollector (%s)', (kind) => {
  const committee = (t: number, n: number) => makeCommittee(t, n, kind);
  /** add() plus the deferred verification the shell runs after broadcasting. */
  const addAll = (c: PartialCollector, p: Parameters<PartialCollector['add']>[0]) => [...c.add(p), ...c.flushLate()];
  it('combines the first t valid partials into a group signature that verifies', async () => {
    const { shares, sharing, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier);
    const r = report(1, [42n]);
    const evs: CoreEvent[] = [];
    for (const s of shares) evs.push(...addAll(c, partialFor(s, r)));
    const res = combined(evs);
    expect(res).toHaveLength(1);
    const out = res[0]!.type === 'combined' ? res[0]!.result : undefined;
    expect(out!.signers).toEqual([1, 2, 3]);
    expect(out!.report).toEqual(r.bytes);
    expect(verify(g2Compressed(sharing.groupKey), signingMessage(SigningPurpose.ReportRoot, r.leaf), out!.signature)).toBe(true);
    expect(named(evs)).toEqual([]);
  });

  it('does not combine below t, and ignores duplicate deliveries', async () => {
    const { shares, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier);
    const r = report(2, [1n]);
    expect(c.add(partialFor(shares[0]!, r))).toEqual([]);
    expect(c.add(partialFor(shares[0]!, r))).toEqual([]);
    expect(c.add(partialFor(shares[1]!, r))).toEqual([]);
    expect(c.resultOf(r.id)).toBeUndefined();
    expect(combined(c.add(partialFor(shares[2]!, r)))).toHaveLength(1);
  });

  it('names a member whose partial is invalid and still combines from the valid ones', async () => {
    const { shares, sharing, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier);
    const r = report(3, [5n]);
    const bad = partialFor(shares[1]!, r);
    bad.signature = partialFor(shares[0]!, r).signature; // member 1's signature claimed by member 2
    const evs = [...addAll(c, partialFor(shares[0]!, r)), ...addAll(c, bad), ...addAll(c, partialFor(shares[2]!, r))];
    expect(named(evs)).toEqual([[2, 'invalid-partial']]);
    expect(combined(evs)).toHaveLength(0);
    const more = addAll(c, partialFor(shares[3]!, r));
    const res = combined(more)[0];
    expect(res?.type === 'combined' && res.result.signers).toEqual([1, 3, 4]);
    expect(verify(g2Compressed(sharing.groupKey), signingMessage(SigningPurpose.ReportRoot, r.leaf), c.resultOf(r.id)!.signature)).toBe(true);
  });

  it('names a member that signed a different report for the request, with both signed messages', async () => {
    const { shares, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier);
    const good = report(4, [100n]);
    const wrong = { ...report(4, [999n]) };
    const evs = [...addAll(c, partialFor(shares[3]!, wrong)), ...addAll(c, partialFor(shares[0]!, good)), ...addAll(c, partialFor(shares[1]!, good)), ...addAll(c, partialFor(shares[2]!, good))];
    expect(combined(evs)).toHaveLength(1);
    const ev = evs.find((e) => e.type === 'misbehaviour');
    expect(ev?.type === 'misbehaviour' && ev.evidence.kind).toBe('conflicting-digest');
    if (ev?.type !== 'misbehaviour') throw new Error('expected evidence');
    expect(ev.evidence.member).toBe(4);
    expect(ev.evidence.offending.report).toEqual(wrong.bytes);
    expect(ev.evidence.offending.message).toEqual(signingMessage(SigningPurpose.ReportRoot, wrong.leaf));
    expect(ev.evidence.counter?.report).toEqual(good.bytes);
    // A conflicting partial that arrives after combination is named too.
    const c2 = new PartialCollector(verifier);
    for (const s of shares.slice(0, 3)) addAll(c2, partialFor(s, good));
    expect(named(addAll(c2, partialFor(shares[3]!, wrong)))).toEqual([[4, 'conflicting-digest']]);
  });

  it('names equivocation: one member validly signing two digests for one request', async () => {
    const { shares, verifier } = await committee(2, 4);
    const c = new PartialCollector(verifier);
    const a = report(5, [1n]);
    const b = report(5, [2n]);
    const evs = [...addAll(c, partialFor(shares[0]!, a)), ...addAll(c, partialFor(shares[0]!, b)), ...addAll(c, partialFor(shares[1]!, b))];
    const kinds = named(evs);
    expect(kinds).toContainEqual([1, 'equivocation']);
    expect(combined(evs)).toHaveLength(1);
  });

  it('verifies late partials of many requests in one flush and names only the bad one', async () => {
    const { shares, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier);
    const reps = [10, 11, 12].map((i) => report(i, [BigInt(i)]));
    for (const r of reps) for (const s of shares.slice(0, 3)) c.add(partialFor(s, r));
    c.flushLate();
    expect(reps.every((r) => c.resultOf(r.id))).toBe(true);
    const lateBad = partialFor(shares[3]!, reps[1]!);
    lateBad.signature = partialFor(shares[0]!, reps[1]!).signature;
    expect(c.add(partialFor(shares[3]!, reps[0]!))).toEqual([]); // deferred, not verified inline
    c.add(lateBad);
    c.add(partialFor(shares[3]!, reps[2]!));
    expect(c.lateBacklog).toBe(3);
    const evs = c.flushLate();
    expect(named(evs)).toEqual([[4, 'invalid-partial']]);
    expect(evs.find((e) => e.type === 'misbehaviour' && e.evidence.requestId === reps[1]!.id)).toBeDefined();
    expect(c.lateBacklog).toBe(0);
  });

  it('rejects malformed partials before any curve work', async () => {
    const { shares, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier);
    const r = report(6, [1n]);
    const p = partialFor(shares[0]!, r);
    expect(c.add({ ...p, member: 9 })[0]).toMatchObject({ type: 'rejected', reason: expect.stringContaining('outside 1..4') });
    expect(c.add({ ...p, signature: new Uint8Array(47) })[0]).toMatchObject({ type: 'rejected' });
    expect(c.add({ ...p, digest: new Uint8Array(31) })[0]).toMatchObject({ type: 'rejected' });
    expect(c.add({ ...p, report: report(6, [2n]).bytes })[0]).toMatchObject({ type: 'rejected', reason: expect.stringContaining('do not hash') });
    expect(c.size).toBe(0);
  });

  it('expires unfinished requests after the TTL and bounds memory', async () => {
    const { shares, verifier } = await committee(3, 4);
    const c = new PartialCollector(verifier, { ttlMs: 1000, maxRequests: 2 });
    c.add(partialFor(shares[0]!, report(7, [1n])), 0);
    c.add(partialFor(shares[0]!, report(8, [1n])), 10);
    c.add(partialFor(shares[0]!, report(9, [1n])), 20);
    expect(c.size).toBe(2);
    expect(c.expire(500)).toEqual([]);
    const ex = c.expire(1500);
    expect(ex).toHaveLength(2);
    expect(ex[0]).toMatchObject({ type: 'expired', partials: 1 });
    expect(c.size).toBe(0);
  });
});
