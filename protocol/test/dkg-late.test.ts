// Members whose deadlines pass at different moments must still end with one qualified set and one key.
// A scheduler delivers every message either within its phase or one phase late (a deal after the
// receiver's deal deadline, a complaint after its complaint deadline); justifications, the last word,
// arrive before the end. fast-check draws the schedules.
import * as fc from 'fast-check';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { R_ORDER } from '../src/bls/curve.ts';
import { verify } from '../src/bls/index.ts';
import { DkgError } from '../src/errors.ts';
import { DkgParticipant, buildDeal, generateEncryptionKeyPair, type DkgConfig, type DkgMessage, type DkgResult } from '../src/dkg/index.ts';
import { combinePartials, signPartial } from '../src/threshold/index.ts';
import { evaluatePolynomial, randomPolynomial } from '../src/threshold/polynomial.ts';
import { loadMcl } from '../src/threshold/mcl-backend.ts';

type Phase = 'deal' | 'complaint' | 'justification';
const NEXT: Record<Phase, Phase | undefined> = { deal: 'complaint', complaint: 'justification', justification: undefined };

interface Ceremony {
  configs: DkgConfig[];
  members: Map<number, DkgParticipant>;
}

function ceremony(n: number, t: number, honest: number[]): Ceremony {
  const session = randomBytes(32);
  const keys = Array.from({ length: n }, () => generateEncryptionKeyPair());
  const configs = keys.map((k, i) => ({ session, index: i + 1, n, t, encryptionKey: k.secretKey, peerEncryptionKeys: keys.map((x) => x.publicKey) }));
  return { configs, members: new Map(honest.map((i) => [i, new DkgParticipant(configs[i - 1]!)])) };
}

const senderOf = (m: DkgMessage): number => (m.type === 'complaint' ? m.from : m.dealer);

type Rule = (from: number, to: number, type: DkgMessage['type']) => boolean;

/**
 * Runs the ceremony phase by phase. `late` says whether a copy arrives one phase late (never for
 * justifications); `lost` drops a copy for good; `inject` adds messages of non-participants (faulty
 * dealers, forged answers) at the start of a phase, delivered to every member.
 */
function run(c: Ceremony, o: { late?: Rule; lost?: Rule; inject?: Partial<Record<Phase, DkgMessage[]>> } = {}): Map<number, DkgResult | DkgError> {
  const late = o.late ?? (() => false);
  const lost = o.lost ?? (() => false);
  const queue: { to: number; msg: DkgMessage; at: Phase }[] = [];
  let phase: Phase = 'deal';
  const send = (msgs: DkgMessage[]): void => {
    for (const msg of msgs) {
      const from = senderOf(msg);
      for (const to of c.members.keys()) {
        if (to === from || lost(from, to, msg.type)) continue;
        const next = NEXT[phase];
        queue.push({ to, msg, at: next && msg.type !== 'justification' && late(from, to, msg.type) ? next : phase });
      }
    }
  };
  const deliver = (): void => {
    for (let i = 0; i < queue.length; ) {
      const q = queue[i]!;
      if (q.at !== phase) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      send(c.members.get(q.to)!.handle(q.msg).map((x) => x.message));
      i = 0; // what handle sent may be due now
    }
  };
  send([...c.members.values()].flatMap((p) => p.start().map((x) => x.message)));
  send(o.inject?.deal ?? []);
  deliver();
  phase = 'complaint';
  send([...c.members.values()].flatMap((p) => p.onDealPhaseEnd().map((x) => x.message)));
  send(o.inject?.complaint ?? []);
  deliver();
  phase = 'justification';
  send([...c.members.values()].flatMap((p) => p.onComplaintPhaseEnd().map((x) => x.message)));
  send(o.inject?.justification ?? []);
  deliver();
  const out = new Map<number, DkgResult | DkgError>();
  for (const [i, p] of c.members) {
    try {
      out.set(i, p.onJustificationPhaseEnd());
    } catch (err) {
      if (!(err instanceof DkgError)) throw err;
      out.set(i, err);
    }
  }
  return out;
}

/** Every member that finished holds the same key, and t of their shares sign under it. */
function expectOneKey(results: DkgResult[], t: number): void {
  const first = results[0]!;
  for (const r of results) {
    expect(r.qualified).toEqual(first.qualified);
    expect(r.groupPublicKey).toEqual(first.groupPublicKey);
  }
  const msg = utf8ToBytes('late but agreed');
  const partials = results.slice(0, t).map((r) => signPartial(r.share, msg));
  expect(verify(first.groupPublicKey, msg, combinePartials(partials, t))).toBe(true);
}

/** A deal whose shares do not match its commitments (never justified: the dealer is not a participant). */
function badShareDeal(config: DkgConfig): DkgMessage {
  const coeffs = randomPolynomial(config.t);
  return buildDeal(config, coeffs, randomBytes, (to) => (evaluatePolynomial(coeffs, to) + 1n) % R_ORDER);
}

describe('DKG with members whose deadlines differ', () => {
  beforeAll(async () => {
    await loadMcl();
  });

  it('a deal that arrives after one member’s deal deadline is complained about, answered, and counted by everyone', () => {
    const c = ceremony(4, 3, [1, 2, 3, 4]);
    // Dealer 4's deal reaches member 1 only in member 1's complaint phase.
    const results = run(c, { late: (from, to, type) => type === 'deal' && from === 4 && to === 1 });
    const ok = [...results.values()] as DkgResult[];
    expect(ok.every((r) => !(r instanceof Error))).toBe(true);
    expect(ok[0]!.qualified).toEqual([1, 2, 3, 4]);
    expectOneKey(ok, 3);
  });

  it('a complaint that arrives after the dealer’s complaint deadline gets a further justification', () => {
    const c = ceremony(4, 3, [1, 2, 3, 4]);
    // Member 1 misses dealer 2's deal in time, and its complaint reaches dealer 2 only after 2 justified.
    const results = run(c, { late: (from, to, type) => (type === 'deal' && from === 2 && to === 1) || (type === 'complaint' && from === 1 && to === 2) });
    const ok = [...results.values()] as DkgResult[];
    expect(ok.every((r) => !(r instanceof Error))).toBe(true);
    expect(ok[0]!.qualified).toEqual([1, 2, 3, 4]);
    expectOneKey(ok, 3);
  });

  it('a member that never gets a deal the others hold leaves with DKG_MISSING_DEAL; the others agree', () => {
    const c = ceremony(5, 3, [1, 2, 3, 4, 5]);
    const results = run(c, { lost: (from, to, type) => type === 'deal' && from === 5 && to === 1 });
    const failed = results.get(1);
    expect(failed).toBeInstanceOf(DkgError);
    expect((failed as DkgError).code).toBe('DKG_MISSING_DEAL');
    const ok = [2, 3, 4, 5].map((i) => results.get(i) as DkgResult);
    expect(ok[0]!.qualified).toEqual([1, 2, 3, 4, 5]);
    expectOneKey(ok, 3);
  });

  it('a dealer that sends nothing is out at every member, named silent', () => {
    const c = ceremony(5, 3, [1, 2, 3, 4]);
    const results = [...run(c).values()] as DkgResult[];
    expect(results[0]!.qualified).toEqual([1, 2, 3, 4]);
    expect(results[0]!.disqualified).toEqual([{ dealer: 5, reason: 'silent' }]);
    expectOneKey(results, 3);
  });

  it('a dealer that reveals two different shares for one member is out at every member', () => {
    const c = ceremony(4, 3, [1, 2, 3, 4]);
    // Member 1 gets dealer 3's deal late and complains; beside dealer 3's true answer, a second answer
    // for member 1 circulates (dealer 3 lying to some members).
    const lie: DkgMessage = { type: 'justification', session: c.configs[0]!.session, dealer: 3, shares: [{ to: 1, value: new Uint8Array(32).fill(7) }] };
    const results = run(c, { late: (from, to, type) => type === 'deal' && from === 3 && to === 1, inject: { justification: [lie] } });
    const others = [1, 2, 4].map((i) => results.get(i) as DkgResult);
    for (const r of others) {
      expect(r.qualified).toEqual([1, 2, 4]);
      expect(r.disqualified).toEqual([{ dealer: 3, reason: 'bad-justification' }]);
    }
    expectOneKey(others, 3);
  });

  it('accepts late deals and complaints until the end, and nothing before its phase or after the end', () => {
    const c = ceremony(3, 2, [1, 2, 3]);
    const p = c.members.get(2)!;
    const session = c.configs[0]!.session;
    expect(p.accepts('deal')).toBe(false); // not started
    p.start();
    expect(p.accepts('justification')).toBe(false);
    expect(() => p.handle({ type: 'justification', session, dealer: 1, shares: [] })).toThrow(/not allowed in phase 'deal'/);
    p.onDealPhaseEnd();
    p.onComplaintPhaseEnd();
    expect([p.accepts('deal'), p.accepts('complaint'), p.accepts('justification')]).toEqual([true, true, true]);
    // Both other dealers were missing: member 2 cannot reach t and says so.
    expect(() => p.onJustificationPhaseEnd()).toThrow(/need at least t=2/);
    const done = run(ceremony(3, 2, [1, 2, 3]));
    expect([...done.values()].every((r) => !(r instanceof Error))).toBe(true);
  });

  it('property: any schedule of one-phase-late deals and complaints gives every member one key (n=5, t=3, one faulty dealer)', () => {
    const n = 5;
    const t = 3;
    const pairs = n * n;
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: pairs, maxLength: pairs }),
        fc.array(fc.boolean(), { minLength: pairs, maxLength: pairs }),
        fc.boolean(),
        (lateDeals, lateComplaints, withFaulty) => {
          const honest = withFaulty ? [1, 2, 3, 4] : [1, 2, 3, 4, 5];
          const c = ceremony(n, t, honest);
          const results = run(c, {
            late: (from, to, type) => {
              const k = (from - 1) * n + (to - 1);
              return type === 'deal' ? lateDeals[k]! : type === 'complaint' ? lateComplaints[k]! : false;
            },
            inject: { deal: withFaulty ? [badShareDeal(c.configs[4]!)] : [] },
          });
          const ok = [...results.values()];
          for (const r of ok) expect(r).not.toBeInstanceOf(Error);
          expect((ok[0] as DkgResult).qualified).toEqual(honest);
          expectOneKey(ok as DkgResult[], t);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
