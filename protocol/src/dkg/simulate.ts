// Runs a whole DKG ceremony in one process (CLI `destra dkg simulate`, tests, benchmarks, devnet): every
// member is a real DkgParticipant; faulty members inject the misbehaviour named by their FaultKind.
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { G2 } from '../bls/curve.ts';
import { g2Compressed } from '../bls/encoding.ts';
import { R_ORDER } from '../bls/curve.ts';
import { randomPolynomial, evaluatePolynomial } from '../threshold/polynomial.ts';
import { loadMcl, withNobleOnly } from '../threshold/mcl-backend.ts';
import { generateEncryptionKeyPair } from './encryption.ts';
import type { DealMessage, DkgMessage } from './messages.ts';
import { DkgParticipant, buildDeal, type DkgConfig, type DkgResult } from './participant.ts';

/**
 * - silent: never speaks (offline from the start)
 * - bad-share: sends every member a share that does not match its commitments, never justifies
 * - bad-commitment: publishes a malformed commitment (not a curve point)
 * - bad-justification: cheats one member, then "justifies" with another wrong share
 * - drop-after-deal: deals honestly, then disconnects for the rest of the ceremony
 */
export type FaultKind = 'silent' | 'bad-share' | 'bad-commitment' | 'bad-justification' | 'drop-after-deal';
export const FAULT_KINDS: readonly FaultKind[] = ['bad-share', 'bad-commitment', 'silent', 'bad-justification', 'drop-after-deal'];

export interface SimulationOptions {
  n: number;
  t: number;
  /** Faulty members by index; or a count, assigned to the highest indices cycling through FAULT_KINDS. */
  faulty?: number | Record<number, FaultKind>;
  session?: Uint8Array;
}

export interface SimulationReport {
  /** Results of the members that completed (honest ones), by index. */
  results: Map<number, DkgResult>;
  faults: Record<number, FaultKind>;
  timingsMs: { phase: string; ms: number }[];
  groupPublicKey: Uint8Array;
  qualified: number[];
}

export function assignFaults(n: number, faulty: SimulationOptions['faulty']): Record<number, FaultKind> {
  if (faulty === undefined) return {};
  if (typeof faulty !== 'number') return { ...faulty };
  const out: Record<number, FaultKind> = {};
  for (let k = 0; k < faulty; k++) out[n - k] = FAULT_KINDS[k % FAULT_KINDS.length]!;
  return out;
}

/** Runs the ceremony; loads the wasm backend first unless `backend: 'noble'` is asked for. */
export async function simulateDkg(opts: SimulationOptions & { backend?: 'auto' | 'noble' }): Promise<SimulationReport> {
  if (opts.backend === 'noble') return withNobleOnly(() => simulateDkgSync(opts));
  await loadMcl();
  // Let timers and I/O run before a multi-second synchronous ceremony (test runners and servers share
  // this event loop).
  await new Promise((resolve) => setImmediate(resolve));
  return simulateDkgSync(opts);
}

/** The ceremony with whatever backend is already loaded (noble when none). */
export function simulateDkgSync(opts: SimulationOptions): SimulationReport {
  const { n, t } = opts;
  const faults = assignFaults(n, opts.faulty);
  const session = opts.session ?? sha256(randomBytes(32));
  const keys = Array.from({ length: n }, () => generateEncryptionKeyPair());
  const configs: DkgConfig[] = keys.map((k, i) => ({
    session,
    index: i + 1,
    n,
    t,
    encryptionKey: k.secretKey,
    peerEncryptionKeys: keys.map((x) => x.publicKey),
  }));
  const honest = new Map<number, DkgParticipant>();
  for (const c of configs) {
    const f = faults[c.index];
    if (f === undefined || f === 'drop-after-deal') honest.set(c.index, new DkgParticipant(c));
  }
  const timings: { phase: string; ms: number }[] = [];
  const timed = <T>(phase: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    timings.push({ phase, ms: performance.now() - t0 });
    return r;
  };
  const live = (): DkgParticipant[] => [...honest.entries()].filter(([i]) => faults[i] !== 'drop-after-deal').map(([, p]) => p);
  const broadcast = (msgs: DkgMessage[], to: DkgParticipant[]): void => {
    for (const m of msgs) for (const p of to) if (!isOwn(p, m)) p.handle(m);
  };

  const cheaters = new Map<number, bigint[]>();
  timed('deal', () => {
    const deals: DkgMessage[] = [];
    for (const c of configs) {
      const f = faults[c.index];
      const p = honest.get(c.index);
      if (p) deals.push(...p.start().map((o) => o.message));
      else if (f === 'bad-share') {
        const coeffs = randomPolynomial(t);
        deals.push(buildDeal(c, coeffs, randomBytes, (to) => (evaluatePolynomial(coeffs, to) + 1n) % R_ORDER));
      } else if (f === 'bad-commitment') {
        const coeffs = randomPolynomial(t);
        const deal: DealMessage = buildDeal(c, coeffs);
        const broken = new Uint8Array(96);
        broken[0] = 0x80; // compressed flag, x = 0: not on the curve
        broken[95] = 7;
        deal.commitments[Math.min(1, t - 1)] = broken;
        deals.push(deal);
      } else if (f === 'bad-justification') {
        const coeffs = randomPolynomial(t);
        cheaters.set(c.index, coeffs);
        const victim = c.index === 1 ? 2 : 1;
        deals.push(buildDeal(c, coeffs, randomBytes, (to) => (to === victim ? (evaluatePolynomial(coeffs, to) + 5n) % R_ORDER : evaluatePolynomial(coeffs, to))));
      }
    }
    broadcast(deals, [...honest.values()]);
  });
  timed('complaint', () => {
    const msgs = live().flatMap((p) => p.onDealPhaseEnd().map((o) => o.message));
    broadcast(msgs, live());
  });
  timed('justification', () => {
    const msgs = live().flatMap((p) => p.onComplaintPhaseEnd().map((o) => o.message));
    for (const [dealer, coeffs] of cheaters) {
      const victim = dealer === 1 ? 2 : 1;
      msgs.push({
        type: 'justification',
        session,
        dealer,
        shares: [{ to: victim, value: numberToBytesBE((evaluatePolynomial(coeffs, victim) + 9n) % R_ORDER, 32) }],
      });
    }
    broadcast(msgs, live());
  });
  const results = timed('finalise', () => new Map(live().map((p) => [p.config.index, p.onJustificationPhaseEnd()])));
  const first = results.values().next().value as DkgResult;
  return {
    results,
    faults,
    timingsMs: timings,
    groupPublicKey: first ? first.groupPublicKey : g2Compressed(G2.BASE),
    qualified: first ? first.qualified : [],
  };
}

function isOwn(p: DkgParticipant, m: DkgMessage): boolean {
  const sender = m.type === 'complaint' ? m.from : m.dealer;
  return sender === p.config.index;
}
