// The DKG runner with members whose deadlines differ: four runners on an in-process message bus (what
// gossip delivers, including the runner's own re-broadcasts), where every copy of one dealer's deal to
// one member arrives only after that member's deal deadline. The late deal must be complained about,
// answered and counted by everyone: one group key, one qualified set, all four dealers in it. And a
// hostile member that re-labels its messages as another member's gets them dropped.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { generateEncryptionKeyPair, signPartial, combinePartials, verify, type DkgResult } from '@destra/protocol';
import { DkgRunner } from '../src/dkg/runner.ts';
import { DkgEnvelopeCodec, type DkgEnvelope } from '../src/wire.ts';
import { captureLog } from './helpers.ts';

const PHASE_MS = 600;
let runners: DkgRunner[] = [];
afterEach(() => runners.forEach((r) => r.stop()));

/**
 * Runs n runners; `delayMs(from, to, type)` holds each copy of a message that long before delivery.
 * `tamper(from, env)` may return extra envelopes that member `from` also sends (a hostile member).
 */
async function ceremony(
  n: number,
  t: number,
  delayMs: (from: number, to: number, type: string) => number,
  tamper: (from: number, env: DkgEnvelope) => DkgEnvelope[] = () => [],
): Promise<(DkgResult | Error)[]> {
  const session = new Uint8Array(randomBytes(32));
  const keys = Array.from({ length: n }, () => generateEncryptionKeyPair());
  const timers = new Set<NodeJS.Timeout>();
  runners = keys.map((k, i) => {
    const index = i + 1;
    return new DkgRunner({
      epoch: 1, index, n, t, session,
      encryptionKey: k.secretKey,
      peerEncryptionKeys: keys.map((x) => x.publicKey),
      phaseTimeoutMs: PHASE_MS,
      rebroadcastMs: 100,
      log: captureLog('error').log,
      transport: {
        readyMembers: () => Array.from({ length: n }, (_, j) => j + 1),
        publish: async (data) => {
          const sent = DkgEnvelopeCodec.decode(data);
          for (const env of [sent, ...tamper(index, sent)]) {
            const type = String((env.message as { type?: unknown }).type);
            runners.forEach((r, j) => {
              if (j === i) return;
              const timer = setTimeout(() => {
                timers.delete(timer);
                r.receive(env, { peerId: `peer${index}`, role: 'member', index });
              }, delayMs(index, j + 1, type));
              timers.add(timer);
            });
          }
          return n - 1;
        },
      },
    });
  });
  try {
    return await Promise.all(runners.map((r) => r.run().catch((err: Error) => err)));
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

describe('DKG runner: late messages, and members speaking for others', () => {
  it('a deal that reaches one member only after its deal deadline still counts at every member', async () => {
    // Dealer 4's deal (first copy and every re-broadcast) reaches member 1 1.5 phases late.
    const results = await ceremony(4, 3, (from, to, type) => (type === 'deal' && from === 4 && to === 1 ? PHASE_MS * 1.5 : 5));
    for (const r of results) expect(r).not.toBeInstanceOf(Error);
    const ok = results as DkgResult[];
    for (const r of ok) {
      expect(r.qualified).toEqual([1, 2, 3, 4]);
      expect(r.groupPublicKey).toEqual(ok[0]!.groupPublicKey);
    }
    const msg = new Uint8Array(randomBytes(32));
    const sig = combinePartials(ok.slice(1).map((r) => signPartial(r.share, msg)), 3);
    expect(verify(ok[0]!.groupPublicKey, msg, sig)).toBe(true);
  }, 30_000);

  it('a member whose complaint reaches the dealer late still gets an answer (a further justification)', async () => {
    // Member 1 misses dealer 2's deal in time; its complaint reaches dealer 2 after dealer 2 answered the others.
    const results = await ceremony(4, 3, (from, to, type) => {
      if (type === 'deal' && from === 2 && to === 1) return PHASE_MS * 1.5;
      if (type === 'complaint' && from === 1 && to === 2) return PHASE_MS * 0.8;
      return 5;
    });
    for (const r of results) expect(r).not.toBeInstanceOf(Error);
    const ok = results as DkgResult[];
    for (const r of ok) {
      expect(r.qualified).toEqual([1, 2, 3, 4]);
      expect(r.groupPublicKey).toEqual(ok[0]!.groupPublicKey);
    }
  }, 30_000);

  it('a member cannot speak for another: a forged second deal and a contradicting answer "from" an honest dealer are dropped', async () => {
    // Member 4 is hostile. Besides its own messages it sends, in its own authenticated envelopes, a copy of
    // each of its messages re-labelled as dealer 2's (a second, different deal from 2; a justification from
    // 2 revealing a garbage share for member 1) and a complaint in member 3's name against dealer 2. Taken
    // in, the first disqualifies dealer 2 for equivocation at every member.
    const forge = (from: number, env: DkgEnvelope): DkgEnvelope[] => {
      if (from !== 4) return [];
      const m = env.message as Record<string, unknown>;
      if (m.type === 'deal') return [{ ...env, message: { ...m, dealer: 2 } }];
      if (m.type === 'complaint') return [{ ...env, message: { ...m, from: 3, against: [2] } }, { ...env, message: { type: 'justification', session: m.session, dealer: 2, shares: [{ to: 1, value: new Uint8Array(32).fill(9) }] } }];
      return [];
    };
    const results = await ceremony(4, 3, () => 5, forge);
    for (const r of results) expect(r).not.toBeInstanceOf(Error);
    const ok = results as DkgResult[];
    for (const r of ok) {
      expect(r.qualified).toEqual([1, 2, 3, 4]);
      expect(r.disqualified).toEqual([]);
      expect(r.groupPublicKey).toEqual(ok[0]!.groupPublicKey);
    }
  }, 30_000);
});
