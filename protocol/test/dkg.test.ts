import { describe, expect, it } from 'vitest';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { verify } from '../src/bls/index.ts';
import { DkgError } from '../src/errors.ts';
import { DkgParticipant, generateEncryptionKeyPair, simulateDkg, validateDkgMessage, type FaultKind, type SimulationReport } from '../src/dkg/index.ts';
import { signPartial, combinePartials } from '../src/threshold/index.ts';

const msg = utf8ToBytes('signed by the committee');

/** Honest members agree, the key works with any t shares, and fails with t-1. */
function checkOutcome(r: SimulationReport, t: number): void {
  const results = [...r.results.values()];
  expect(results.length).toBeGreaterThanOrEqual(t);
  for (const x of results) {
    expect(x.groupPublicKey).toEqual(r.groupPublicKey);
    expect(x.qualified).toEqual(r.qualified);
    expect(x.commitments).toEqual(results[0]!.commitments);
  }
  const partials = results.map((x) => signPartial(x.share, msg));
  const first = combinePartials(partials.slice(0, t), t);
  const last = combinePartials(partials.slice(-t), t);
  expect(verify(r.groupPublicKey, msg, first)).toBe(true);
  expect(first).toEqual(last); // threshold signatures are unique
  // t-1 real partials plus one invented partial for the missing index: not the group signature.
  const fake = { index: partials[t - 1]!.index, signature: partials[0]!.signature };
  expect(verify(r.groupPublicKey, msg, combinePartials([...partials.slice(0, t - 1), fake], t))).toBe(false);
  // each member's public share (from the summed commitments) matches its secret share
  for (const x of results) {
    expect(verify(x.sharing.publicShare(x.index), msg, signPartial(x.share, msg).signature)).toBe(true);
  }
}

describe('DKG honest runs', () => {
  it('n=7 t=5', async () => {
    const r = await simulateDkg({ n: 7, t: 5 });
    expect(r.qualified).toEqual([1, 2, 3, 4, 5, 6, 7]);
    checkOutcome(r, 5);
  });

  it('n=31 t=21', async () => {
    const r = await simulateDkg({ n: 31, t: 21 });
    expect(r.qualified.length).toBe(31);
    checkOutcome(r, 21);
  }, 120_000);

  it('pure-JS backend gives a working key too (n=4 t=3)', async () => {
    const r = await simulateDkg({ n: 4, t: 3, backend: 'noble' });
    checkOutcome(r, 3);
  });
});

const kinds: FaultKind[] = ['bad-share', 'bad-commitment', 'silent', 'bad-justification'];

describe('DKG with malicious or silent dealers', () => {
  it.each(kinds)('n=7 t=5, one %s dealer is disqualified and the rest finish', async (kind) => {
    const r = await simulateDkg({ n: 7, t: 5, faulty: { 7: kind } });
    expect(r.qualified).toEqual([1, 2, 3, 4, 5, 6]);
    const reasons = [...r.results.values()][0]!.disqualified;
    expect(reasons.map((d) => d.dealer)).toEqual([7]);
    checkOutcome(r, 5);
  });

  it.each(kinds)('n=7 t=5, n-t=2 %s dealers', async (kind) => {
    const r = await simulateDkg({ n: 7, t: 5, faulty: { 6: kind, 7: kind } });
    expect(r.qualified).toEqual([1, 2, 3, 4, 5]);
    checkOutcome(r, 5);
  });

  it('n=31 t=21 with n-t=10 faulty members of every kind (incl. one that drops after dealing)', async () => {
    const r = await simulateDkg({ n: 31, t: 21, faulty: 10 });
    const faulty = Object.entries(r.faults);
    expect(faulty.length).toBe(10);
    const dropped = faulty.filter(([, k]) => k === 'drop-after-deal').map(([i]) => Number(i));
    const malicious = faulty.filter(([, k]) => k !== 'drop-after-deal').map(([i]) => Number(i));
    for (const i of malicious) expect(r.qualified).not.toContain(i);
    for (const i of dropped) expect(r.qualified).toContain(i); // its deal was valid: it still counts
    expect(r.results.size).toBe(31 - 10);
    checkOutcome(r, 21);
  }, 120_000);

  it('fails cleanly when fewer than t dealers qualify', async () => {
    await expect(simulateDkg({ n: 4, t: 3, faulty: { 3: 'silent', 4: 'bad-share' } })).rejects.toThrow(DkgError);
  });
});

describe('DKG message validation', () => {
  const keys = Array.from({ length: 3 }, () => generateEncryptionKeyPair());
  const session = new Uint8Array(32).fill(1);
  const make = (index: number) =>
    new DkgParticipant({ session, index, n: 3, t: 2, encryptionKey: keys[index - 1]!.secretKey, peerEncryptionKeys: keys.map((k) => k.publicKey) });

  it('rejects malformed, foreign-session and out-of-phase messages with typed errors', () => {
    const a = make(1);
    const b = make(2);
    const [deal] = a.start();
    expect(() => b.handle(deal!.message)).toThrow(/not allowed in phase 'init'/);
    b.start();
    expect(() => b.handle({ ...deal!.message, session: new Uint8Array(32) })).toThrow(/another DKG session/);
    expect(() => b.handle({ ...deal!.message, dealer: 9 })).toThrow(DkgError);
    expect(() => b.handle({ ...deal!.message, commitments: [new Uint8Array(96)] })).toThrow(/exactly t=2 commitments/);
    expect(() => b.handle({ type: 'nonsense', session })).toThrow(/unknown type/);
    expect(() => b.handle(null)).toThrow(DkgError);
    expect(() => validateDkgMessage({ type: 'complaint', session, from: 1, against: [2, 2] }, 3, 2)).toThrow(/duplicate/);
    b.handle(deal!.message);
    expect(b.hasAllDeals()).toBe(false);
  });

  it('disqualifies a dealer that equivocates (two different deals)', () => {
    const [b, c] = [make(2), make(3)];
    const d1 = make(1).start()[0]!.message;
    const d2 = make(1).start()[0]!.message; // a second, different deal from member 1
    const fromC = c.start()[0]!.message;
    b.start();
    b.handle(d1);
    b.handle(d2);
    b.handle(fromC);
    b.onDealPhaseEnd();
    b.onComplaintPhaseEnd();
    const r = b.onJustificationPhaseEnd();
    expect(r.qualified).toEqual([2, 3]);
    expect(r.disqualified).toEqual([{ dealer: 1, reason: 'equivocation' }]);
  });
});
