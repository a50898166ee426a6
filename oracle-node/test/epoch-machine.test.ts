// The pure epoch state machine (src/epoch/machine.ts), driven by hand-made chain snapshots, DKG outcomes,
// peers' DKG results and timer ticks: genesis, the rotation schedule (due time, time-derived attempts,
// retries, committee changes mid-ceremony, dropping out, the chain moving on), activation as member or
// observer, and when a current member signs the next committee's handover. No processes, no network, no
// crypto beyond encodeHandover (whose group key is an opaque 192-byte string here).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeHandover, toHex } from '@destra/protocol';
import type { ChainEpoch, ChainSnapshot, NextCommittee } from '../src/epoch/chain-view.ts';
import type { CommitteeMember } from '../src/epoch/committee.ts';
import { EpochMachine, handoverMismatch, type EpochAction, type EpochEvent } from '../src/epoch/machine.ts';

const rnd = (n: number): Uint8Array => {
  const b = new Uint8Array(randomBytes(n));
  b[0] = b[0]! | 1; // never all zero (an all-zero encryption key means "none published")
  return b;
};

interface Operator {
  operatorKey: Uint8Array;
  encryptionKey: Uint8Array;
}
const operator = (): Operator => ({ operatorKey: rnd(96), encryptionKey: rnd(32) });

/** This node's operator; committees hold a copy of its key (the machine matches keys by value). */
const SELF = operator();
/** Other operators, A..F. */
const [A, B, C, D, E, F] = Array.from({ length: 6 }, operator) as [Operator, Operator, Operator, Operator, Operator, Operator];

const DOMAIN = rnd(32);
const RETRY = 60_000;
const REPUBLISH = 5_000;
/** Epoch 1 activation (chain seconds) and the epoch length: epoch 2's DKG is due at DUE (ms). */
const ACTIVATED = 1_700_000_000;
const LENGTH = 3_600;
const DUE = (ACTIVATED + LENGTH) * 1000;

const members = (ops: Operator[], opts: { noEncryptionKey?: number[] } = {}): CommitteeMember[] =>
  ops.map((o, i) => ({
    index: i + 1,
    operatorKey: Uint8Array.from(o.operatorKey),
    encryptionKey: opts.noEncryptionKey?.includes(i + 1) ? new Uint8Array(32) : Uint8Array.from(o.encryptionKey),
    addrs: [],
  }));

function nextCommittee(ops: Operator[], o: { threshold?: number; membersRoot?: Uint8Array; payoutsRoot?: Uint8Array; noEncryptionKey?: number[] } = {}): NextCommittee {
  return {
    members: members(ops, o),
    threshold: o.threshold ?? Math.floor((2 * ops.length) / 3) + 1,
    membersRoot: o.membersRoot ?? rnd(32),
    payoutsRoot: o.payoutsRoot ?? rnd(32),
  };
}

function chainEpoch(epoch: number, ops: Operator[], groupKey: Uint8Array, activatedAt: number, threshold = Math.floor((2 * ops.length) / 3) + 1): ChainEpoch {
  return { committee: { epoch, threshold, members: members(ops) }, groupKey, activatedAt };
}

function snapshot(currentEpoch: number, next: NextCommittee, current?: ChainEpoch, o: { epochLength?: number; domain?: Uint8Array } = {}): ChainSnapshot {
  return {
    domain: o.domain ?? DOMAIN,
    currentEpoch,
    ...(current ? { current } : {}),
    next,
    epochLength: o.epochLength ?? LENGTH,
    handoverGrace: 600,
    minThresholdBps: 5_000,
    directory: [],
  };
}

const machine = (): EpochMachine => new EpochMachine({ self: Uint8Array.from(SELF.operatorKey), retryMs: RETRY, republishMs: REPUBLISH });

const startDkg = (epoch: number, attempt: number, next: NextCommittee, index: number): EpochAction => ({
  type: 'start-dkg',
  epoch,
  attempt,
  committee: { epoch, threshold: next.threshold, members: next.members },
  index,
  membersRoot: next.membersRoot,
  payoutsRoot: next.payoutsRoot,
});
const abortDkg = (epoch: number, attempt: number): EpochAction => ({ type: 'abort-dkg', epoch, attempt, reason: expect.any(String) as unknown as string });
const publish = (epoch: number, attempt: number): EpochAction => ({ type: 'publish-dkg-result', epoch, attempt });
const activate = (epoch: number, member: boolean): EpochAction => ({ type: 'activate', epoch, member });

/** The handover the chain expects from `s` (its fields overridable), with a dummy 192-byte group key. */
function handoverFor(s: ChainSnapshot, o: Partial<{ domain: Uint8Array; oldEpoch: bigint; threshold: number; committeeSize: number; membersRoot: Uint8Array; payoutsRoot: Uint8Array; groupKey: Uint8Array }> = {}): Uint8Array {
  const oldEpoch = o.oldEpoch ?? BigInt(s.currentEpoch);
  return encodeHandover({
    domain: o.domain ?? s.domain,
    oldEpoch,
    newEpoch: oldEpoch + 1n,
    threshold: o.threshold ?? s.next.threshold,
    committeeSize: o.committeeSize ?? s.next.members.length,
    groupKey: o.groupKey ?? rnd(192),
    sharesRoot: rnd(32),
    membersRoot: o.membersRoot ?? s.next.membersRoot,
    payoutsRoot: o.payoutsRoot ?? s.next.payoutsRoot,
  });
}

const attest = (epoch: number, index: number, handover: Uint8Array, attempt = 0): EpochEvent => ({ type: 'dkg-result', epoch, attempt, index, handover });

// ---- genesis ---------------------------------------------------------------------------------------------

describe('genesis (currentEpoch 0)', () => {
  const genesisNext = (ops: Operator[], o: Parameters<typeof nextCommittee>[1] = {}) => nextCommittee(ops, o);

  it('a member of the next committee starts the DKG of epoch 1, attempt 0, at once and only once', () => {
    const m = machine();
    const next = genesisNext([A, SELF, B]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 })).toEqual([startDkg(1, 0, next, 2)]);
    expect(m.ceremony).toEqual({ epoch: 1, attempt: 0, status: 'running', at: 5 });
    expect(m.activeEpoch).toBeUndefined();
    // The same chain again, ticks: the ceremony keeps running.
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 10 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: 10 * RETRY })).toEqual([]);
  });

  it('a node that is not in the next committee does nothing', () => {
    const m = machine();
    const next = genesisNext([A, B, C]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: 100 * RETRY })).toEqual([]);
    expect(m.handle(attest(1, 1, handoverFor(snapshot(0, next))))).toEqual([]);
    expect(m.ceremony).toBeUndefined();
  });

  it('members without an encryption key block the DKG: one blocked action, not repeated, until they publish one', () => {
    const m = machine();
    const roots = { membersRoot: rnd(32), payoutsRoot: rnd(32) };
    const blocked = genesisNext([A, SELF, B, C], { ...roots, noEncryptionKey: [1, 3] });
    const out = m.handle({ type: 'chain', snapshot: snapshot(0, blocked), now: 5 });
    expect(out).toEqual([{ type: 'blocked', reason: expect.stringContaining('members 1, 3') }]);
    expect((out[0] as { reason: string }).reason).toContain('epoch 1');
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, blocked), now: 6 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: 10 * RETRY })).toEqual([]);
    expect(m.ceremony).toBeUndefined();
    // A different reason is reported again.
    const blocked3 = genesisNext([A, SELF, B, C], { ...roots, noEncryptionKey: [3] });
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, blocked3), now: 7 })).toEqual([{ type: 'blocked', reason: expect.stringContaining('members 3 ') }]);
    // Everyone published a key: the DKG starts.
    const ready = genesisNext([A, SELF, B, C], roots);
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, ready), now: 10 * RETRY + 1 })).toEqual([startDkg(1, 0, ready, 2)]);
  });

  it('a non-member is not blocked by members without an encryption key', () => {
    const m = machine();
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, genesisNext([A, B, C], { noEncryptionKey: [2] })), now: 5 })).toEqual([]);
  });

  it('dkg-done publishes nothing at genesis; the chain installing our key activates us as a member', () => {
    const m = machine();
    const next = genesisNext([A, SELF, B]);
    const groupKey = rnd(96);
    m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 });
    expect(m.handle({ type: 'dkg-done', epoch: 1, attempt: 0, groupKey, now: 1_000 })).toEqual([]);
    expect(m.ceremony).toEqual({ epoch: 1, attempt: 0, status: 'done', at: 5 });
    // No handover: nothing to re-publish either, however long the genesis takes.
    expect(m.handle({ type: 'tick', now: 1_000 + REPUBLISH })).toEqual([]);
    expect(m.handle({ type: 'tick', now: 1_000 + 100 * RETRY })).toEqual([]);
    expect(m.activeEpoch).toBeUndefined();
    // Genesis lands with our key; epoch 2's DKG is an hour away.
    const now = ACTIVATED * 1000 + 1;
    const s1 = snapshot(1, nextCommittee([A, SELF, B]), chainEpoch(1, [A, SELF, B], Uint8Array.from(groupKey), ACTIVATED));
    expect(m.handle({ type: 'chain', snapshot: s1, now })).toEqual([activate(1, true)]);
    expect(m.activeEpoch).toBe(1);
    expect(m.ceremony).toBeUndefined();
    expect(m.handle({ type: 'chain', snapshot: s1, now: now + 1000 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE - 1 })).toEqual([]);
  });

  it('genesis with a handover (as the manager sends it) publishes the result for the relays', () => {
    const m = machine();
    const next = genesisNext([SELF, A]);
    const s = snapshot(0, next);
    m.handle({ type: 'chain', snapshot: s, now: 5 });
    expect(m.handle({ type: 'dkg-done', epoch: 1, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: 100 })).toEqual([publish(1, 0)]);
  });

  it('a chain key that is not ours activates us as an observer; the right share found later makes us a member', () => {
    const m = machine();
    const next = genesisNext([A, SELF, B]);
    const ours = rnd(96);
    const chainKey = rnd(96);
    m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 });
    m.handle({ type: 'dkg-done', epoch: 1, attempt: 0, groupKey: ours, now: 100 });
    const s1 = snapshot(1, nextCommittee([A, SELF, B]), chainEpoch(1, [A, SELF, B], chainKey, ACTIVATED));
    expect(m.handle({ type: 'chain', snapshot: s1, now: ACTIVATED * 1000 })).toEqual([activate(1, false)]);
    expect(m.activeEpoch).toBeUndefined();
    expect(m.handle({ type: 'tick', now: ACTIVATED * 1000 + 1 })).toEqual([]);
    // Another wrong share changes nothing; the matching one does, once.
    expect(m.handle({ type: 'key-known', epoch: 1, groupKey: rnd(96) })).toEqual([]);
    expect(m.handle({ type: 'key-known', epoch: 1, groupKey: Uint8Array.from(chainKey) })).toEqual([activate(1, true)]);
    expect(m.activeEpoch).toBe(1);
    expect(m.handle({ type: 'key-known', epoch: 1, groupKey: Uint8Array.from(chainKey) })).toEqual([]);
  });

  it('the matching key does not make a node a member of a committee it is not in', () => {
    const m = machine();
    const groupKey = rnd(96);
    m.handle({ type: 'key-known', epoch: 1, groupKey });
    const s1 = snapshot(1, nextCommittee([A, B, C]), chainEpoch(1, [A, B, C], groupKey, ACTIVATED));
    expect(m.handle({ type: 'chain', snapshot: s1, now: ACTIVATED * 1000 })).toEqual([activate(1, false)]);
    expect(m.activeEpoch).toBeUndefined();
  });

  it('DKG outcomes of another epoch or attempt are ignored', () => {
    const m = machine();
    const next = genesisNext([A, SELF]);
    m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 });
    expect(m.handle({ type: 'dkg-done', epoch: 1, attempt: 1, groupKey: rnd(96), now: 10 })).toEqual([]);
    expect(m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), now: 10 })).toEqual([]);
    expect(m.handle({ type: 'dkg-failed', epoch: 1, attempt: 3, reason: 'x', now: 10 })).toEqual([]);
    expect(m.ceremony).toEqual({ epoch: 1, attempt: 0, status: 'running', at: 5 });
    expect(m.handle({ type: 'tick', now: 10 * RETRY })).toEqual([]);
  });

  it('a failed genesis DKG is retried with the next attempt after a quarter of retryMs', () => {
    const m = machine();
    const next = genesisNext([A, SELF]);
    m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 });
    expect(m.handle({ type: 'dkg-failed', epoch: 1, attempt: 0, reason: 'timeout', now: 1_000 })).toEqual([]);
    expect(m.ceremony?.status).toBe('failed');
    expect(m.handle({ type: 'tick', now: 1_000 + RETRY / 4 - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: 1_000 + RETRY / 4 })).toEqual([startDkg(1, 1, next, 2)]);
    expect(m.handle({ type: 'tick', now: 1_000 + RETRY })).toEqual([]);
  });

  it('a genesis committee change (membersRoot) restarts the DKG with the next attempt', () => {
    const m = machine();
    const next = genesisNext([A, SELF]);
    m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 });
    const changed = genesisNext([A, B, SELF]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, changed), now: 6 })).toEqual([abortDkg(1, 0), startDkg(1, 1, changed, 3)]);
  });

  it('a genesis payout-table change alone does not restart the DKG (initGenesis takes no payoutsRoot)', () => {
    const m = machine();
    const next = genesisNext([A, SELF]);
    m.handle({ type: 'chain', snapshot: snapshot(0, next), now: 5 });
    expect(m.handle({ type: 'chain', snapshot: snapshot(0, { ...next, payoutsRoot: rnd(32) }), now: 6 })).toEqual([]);
    expect(m.ceremony).toEqual({ epoch: 1, attempt: 0, status: 'running', at: 5 });
  });
});

// ---- rotation --------------------------------------------------------------------------------------------

describe('rotation schedule', () => {
  const G1 = rnd(96);
  const current = chainEpoch(1, [SELF, A, B, C], G1, ACTIVATED);

  /** A member of epoch 1 (index 1) holding its share, seeing a next committee in which it is member 3. */
  function activeMember(next = nextCommittee([A, B, SELF, C, D]), now = ACTIVATED * 1000 + 1_000): { m: EpochMachine; next: NextCommittee; s: ChainSnapshot } {
    const m = machine();
    expect(m.handle({ type: 'key-known', epoch: 1, groupKey: Uint8Array.from(G1) })).toEqual([]);
    const s = snapshot(1, next, current);
    expect(m.handle({ type: 'chain', snapshot: s, now })).toEqual([activate(1, true)]);
    return { m, next, s };
  }

  it('no DKG before activatedAt + epochLength; at the due time epoch+1 attempt 0 with the next committee and our index there', () => {
    const { m, next } = activeMember();
    expect(m.handle({ type: 'tick', now: DUE - 1 })).toEqual([]);
    expect(m.ceremony).toBeUndefined();
    expect(m.handle({ type: 'tick', now: DUE })).toEqual([startDkg(2, 0, next, 3)]);
    expect(m.handle({ type: 'tick', now: DUE + 1 })).toEqual([]);
  });

  it('the due time follows the chain (activatedAt, epochLength)', () => {
    const m = machine();
    const next = nextCommittee([SELF, A]);
    const s = snapshot(1, next, chainEpoch(1, [SELF, A], G1, ACTIVATED + 100), { epochLength: 60 });
    const due = (ACTIVATED + 160) * 1000;
    expect(m.handle({ type: 'chain', snapshot: s, now: due - 1 })).toEqual([activate(1, false)]);
    expect(m.handle({ type: 'tick', now: due })).toEqual([startDkg(2, 0, next, 1)]);
  });

  it('a node joining the committee (not a member of the current one) runs the DKG too', () => {
    const m = machine();
    const next = nextCommittee([A, B, C, SELF]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, next, current), now: DUE })).toEqual([activate(1, false), startDkg(2, 0, next, 4)]);
  });

  it('a node outside the next committee never runs it', () => {
    const m = machine();
    const s = snapshot(1, nextCommittee([A, B, C]), current);
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    expect(m.handle({ type: 'chain', snapshot: s, now: DUE })).toEqual([activate(1, true)]);
    expect(m.handle({ type: 'tick', now: DUE + 5 * RETRY })).toEqual([]);
    expect(m.ceremony).toBeUndefined();
  });

  it('members without an encryption key block the rotation (once)', () => {
    const m = machine();
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    const roots = { membersRoot: rnd(32), payoutsRoot: rnd(32) };
    const blocked = nextCommittee([A, SELF, B], { ...roots, noEncryptionKey: [3] });
    // Reported as soon as it is seen (before the due time), once.
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, blocked, current), now: DUE - 1_000 })).toEqual([
      activate(1, true),
      { type: 'blocked', reason: expect.stringMatching(/^epoch 2: members 3 /) },
    ]);
    expect(m.handle({ type: 'tick', now: DUE })).toEqual([]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, blocked, current), now: DUE + RETRY })).toEqual([]);
    expect(m.ceremony).toBeUndefined();
    // Member 3 publishes its key early in attempt 1's window: that attempt starts.
    const ready = nextCommittee([A, SELF, B], roots);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, ready, current), now: DUE + 1.2 * RETRY })).toEqual([startDkg(2, 1, ready, 2)]);
    // Published late in a window: the DKG waits for the next window's attempt.
    const late = machine();
    late.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    late.handle({ type: 'chain', snapshot: snapshot(1, blocked, current), now: DUE + RETRY });
    expect(late.handle({ type: 'chain', snapshot: snapshot(1, ready, current), now: DUE + 1.5 * RETRY })).toEqual([]);
    expect(late.handle({ type: 'tick', now: DUE + 2 * RETRY })).toEqual([startDkg(2, 2, ready, 2)]);
  });

  it('dkg-done publishes the result, re-published every republishMs until the chain moves on', () => {
    const { m, next, s } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    const G2 = rnd(96);
    const t0 = DUE + 20_000;
    expect(m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: G2, handover: handoverFor(s), now: t0 })).toEqual([publish(2, 0)]);
    expect(m.ceremony).toEqual({ epoch: 2, attempt: 0, status: 'done', at: t0 });
    expect(m.handle({ type: 'tick', now: t0 + REPUBLISH - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: t0 + REPUBLISH })).toEqual([publish(2, 0)]);
    expect(m.handle({ type: 'tick', now: t0 + 2 * REPUBLISH - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: t0 + 2 * REPUBLISH })).toEqual([publish(2, 0)]);
    // A done ceremony is not retried when its window passes.
    expect(m.handle({ type: 'tick', now: DUE + RETRY + 1 })).toEqual([publish(2, 0)]);
    // The handover lands with our key: member of epoch 2, no more publishing, epoch 3 not yet due.
    const s2 = snapshot(2, next, chainEpoch(2, [A, B, SELF, C, D], Uint8Array.from(G2), (DUE + RETRY + 2_000) / 1000));
    expect(m.handle({ type: 'chain', snapshot: s2, now: DUE + RETRY + 3_000 })).toEqual([activate(2, true)]);
    expect(m.activeEpoch).toBe(2);
    expect(m.ceremony).toBeUndefined();
    expect(m.handle({ type: 'tick', now: DUE + RETRY + 3_000 + 10 * REPUBLISH })).toEqual([]);
  });

  it('the default republish interval is 3 s', () => {
    const m = new EpochMachine({ self: SELF.operatorKey, retryMs: RETRY });
    const next = nextCommittee([SELF, A]);
    const s = snapshot(1, next, current);
    m.handle({ type: 'chain', snapshot: s, now: DUE });
    expect(m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + 1 })).toEqual([publish(2, 0)]);
    expect(m.handle({ type: 'tick', now: DUE + 3_000 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 3_001 })).toEqual([publish(2, 0)]);
  });

  it('dkg-failed: the next attempt starts only at due + attempt × retryMs', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    expect(m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'timeout', now: DUE + 10_000 })).toEqual([]);
    expect(m.ceremony).toEqual({ epoch: 2, attempt: 0, status: 'failed', at: DUE + 10_000 });
    expect(m.handle({ type: 'tick', now: DUE + RETRY - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, next, 3)]);
    expect(m.handle({ type: 'dkg-failed', epoch: 2, attempt: 1, reason: 'timeout', now: DUE + RETRY + 5_000 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 2 * RETRY - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 2 * RETRY })).toEqual([startDkg(2, 2, next, 3)]);
  });

  it('a ceremony that fails early in a later window joins that window\'s attempt at once; later in it, the next window\'s', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    expect(m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'slow', now: DUE + 3.2 * RETRY })).toEqual([startDkg(2, 3, next, 3)]);

    const late = activeMember();
    late.m.handle({ type: 'tick', now: DUE });
    expect(late.m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'slow', now: DUE + 3.5 * RETRY })).toEqual([]);
    expect(late.m.handle({ type: 'tick', now: DUE + 4 * RETRY - 1 })).toEqual([]);
    expect(late.m.handle({ type: 'tick', now: DUE + 4 * RETRY })).toEqual([startDkg(2, 4, late.next, 3)]);
  });

  it('a node starting early in a window joins that window\'s attempt (derived from time)', () => {
    const m = machine();
    const next = nextCommittee([A, SELF, B]);
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, next, current), now: DUE + 2.2 * RETRY })).toEqual([activate(1, true), startDkg(2, 2, next, 2)]);
    expect(m.handle({ type: 'dkg-failed', epoch: 2, attempt: 2, reason: 'x', now: DUE + 2.9 * RETRY })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 3 * RETRY })).toEqual([startDkg(2, 3, next, 2)]);
  });

  it('a late starter waits for the next window: attempts start only in the first third of their window', () => {
    const next = nextCommittee([A, SELF, B]);
    const boot = (now: number): { m: EpochMachine; out: EpochAction[] } => {
      const m = machine();
      m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
      return { m, out: m.handle({ type: 'chain', snapshot: snapshot(1, next, current), now }) };
    };
    expect(boot(DUE + RETRY / 3 - 1).out).toEqual([activate(1, true), startDkg(2, 0, next, 2)]);
    const { m, out } = boot(DUE + RETRY / 3);
    expect(out).toEqual([activate(1, true)]);
    expect(m.handle({ type: 'tick', now: DUE + 0.9 * RETRY })).toEqual([]);
    expect(m.ceremony).toBeUndefined();
    expect(m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, next, 2)]);
    // A tick that misses the first third of a window (a stalled process) waits for the next one as well.
    const stalled = boot(DUE + 2.5 * RETRY).m;
    expect(stalled.handle({ type: 'tick', now: DUE + 3.4 * RETRY })).toEqual([]);
    expect(stalled.handle({ type: 'tick', now: DUE + 4.1 * RETRY })).toEqual([startDkg(2, 4, next, 2)]);
  });

  it('a share for the next epoch already on disk (restart) skips the attempt of the window it was found in, only', () => {
    const m = machine();
    const next = nextCommittee([A, SELF]);
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    m.handle({ type: 'key-known', epoch: 2, groupKey: rnd(96) });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, next, current), now: DUE + 1 })).toEqual([activate(1, true)]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY - 1 })).toEqual([]);
    // The handover did not land in that window: the node follows the schedule (the others, done, join
    // at the end of their window plus one; failed ones have been retrying since).
    expect(m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, next, 2)]);
    // The handover landing ends it.
    const s2 = snapshot(2, nextCommittee([A, SELF]), chainEpoch(2, [A, SELF], rnd(96), (DUE + RETRY + 1_000) / 1000));
    expect(m.handle({ type: 'chain', snapshot: s2, now: DUE + RETRY + 2_000 })).toEqual([activate(2, false), abortDkg(2, 1)]);
  });

  it('a share for the next epoch on disk does not make a restarted node ignore a committee change', () => {
    const m = machine();
    const next = nextCommittee([A, SELF, B]);
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    m.handle({ type: 'key-known', epoch: 2, groupKey: rnd(96) });
    m.handle({ type: 'chain', snapshot: snapshot(1, next, current), now: DUE + 0.8 * RETRY });
    // Window 1: the handover is pending, the key's window is over; a change arrives mid-window 1.
    expect(m.handle({ type: 'tick', now: DUE + 1.5 * RETRY })).toEqual([]);
    const changed = nextCommittee([A, SELF, B, C]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 1.6 * RETRY })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 2 * RETRY })).toEqual([startDkg(2, 2, changed, 2)]);
  });

  it('a new committee (membersRoot) while running: abort at once, then the next window\'s attempt with it', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    const changed = nextCommittee([A, B, C, SELF, D, E], { payoutsRoot: next.payoutsRoot });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 1_000 })).toEqual([abortDkg(2, 0)]);
    expect(m.ceremony).toEqual({ epoch: 2, attempt: 0, status: 'failed', at: DUE + 1_000 });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 2_000 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, changed, 4)]);
    expect(m.ceremony).toEqual({ epoch: 2, attempt: 1, status: 'running', at: DUE + RETRY });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + RETRY + 1_000 })).toEqual([]);
  });

  it('a new payout table (payoutsRoot only) while running also restarts the DKG, at the next window', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    const changed: NextCommittee = { ...next, payoutsRoot: rnd(32) };
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 1_000 })).toEqual([abortDkg(2, 0)]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, changed, 3)]);
  });

  it('a committee change late in the schedule runs the attempt of the window after the current one', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    const changed: NextCommittee = { ...next, membersRoot: rnd(32) };
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 2.1 * RETRY })).toEqual([abortDkg(2, 0)]);
    expect(m.handle({ type: 'tick', now: DUE + 2.2 * RETRY })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 3 * RETRY })).toEqual([startDkg(2, 3, changed, 3)]);
  });

  it('a committee change after our DKG finished or failed starts the next window\'s attempt (nothing to abort)', () => {
    const done = activeMember();
    done.m.handle({ type: 'tick', now: DUE });
    done.m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(done.s), now: DUE + 1 });
    const c1: NextCommittee = { ...done.next, membersRoot: rnd(32) };
    expect(done.m.handle({ type: 'chain', snapshot: snapshot(1, c1, current), now: DUE + 2 })).toEqual([]);
    expect(done.m.ceremony?.status).toBe('failed');
    // No more re-publishing of the abandoned result.
    expect(done.m.handle({ type: 'tick', now: DUE + 2 * REPUBLISH })).toEqual([]);
    expect(done.m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, c1, 3)]);

    const failed = activeMember();
    failed.m.handle({ type: 'tick', now: DUE });
    failed.m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'x', now: DUE + 1 });
    const c2: NextCommittee = { ...failed.next, payoutsRoot: rnd(32) };
    expect(failed.m.handle({ type: 'chain', snapshot: snapshot(1, c2, current), now: DUE + 2 })).toEqual([]);
    expect(failed.m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, c2, 3)]);
  });

  it('leaving and rejoining the next committee mid-window waits for the next window (with the share of the abandoned ceremony)', () => {
    const { m, next, s } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + 1_000 });
    const without = nextCommittee([A, B, C, D]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, without, current), now: DUE + 2_000 })).toEqual([]);
    const back = nextCommittee([A, B, SELF, C, D], { payoutsRoot: next.payoutsRoot });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, back, current), now: DUE + 3_000 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY - 1 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, back, 3)]);

    // The same while running, and rejoining with the very same committee (roots) as before.
    const r = activeMember();
    r.m.handle({ type: 'tick', now: DUE });
    expect(r.m.handle({ type: 'chain', snapshot: snapshot(1, without, current), now: DUE + 2_000 })).toEqual([abortDkg(2, 0)]);
    expect(r.m.handle({ type: 'chain', snapshot: r.s, now: DUE + 3_000 })).toEqual([]);
    expect(r.m.handle({ type: 'tick', now: DUE + RETRY })).toEqual([startDkg(2, 1, r.next, 3)]);
  });

  it('dropping out of the next committee aborts the DKG and starts nothing', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    const without = nextCommittee([A, B, C, D]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, without, current), now: DUE + 1_000 })).toEqual([abortDkg(2, 0)]);
    expect(m.ceremony).toBeUndefined();
    expect(m.handle({ type: 'tick', now: DUE + 5 * RETRY })).toEqual([]);
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, without, current), now: DUE + 6 * RETRY })).toEqual([]);
  });

  it('dropping out after our DKG finished aborts nothing and stops re-publishing', () => {
    const { m, s } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + 1 });
    expect(m.handle({ type: 'chain', snapshot: snapshot(1, nextCommittee([A, B, C]), current), now: DUE + 2 })).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE + 10 * REPUBLISH })).toEqual([]);
  });

  it('the chain reaching the target epoch while our DKG runs aborts it', () => {
    const { m } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    // Epoch 2 installed by the others (a key we do not hold): observer, our ceremony is over.
    const s2 = snapshot(2, nextCommittee([A, B, SELF]), chainEpoch(2, [A, B, SELF, C, D], rnd(96), DUE / 1000 + 30));
    expect(m.handle({ type: 'chain', snapshot: s2, now: DUE + 31_000 })).toEqual([activate(2, false), abortDkg(2, 0)]);
    expect(m.ceremony).toBeUndefined();
    expect(m.activeEpoch).toBeUndefined();
    // Epoch 3 is due an epoch later, not now.
    expect(m.handle({ type: 'tick', now: DUE + 32_000 })).toEqual([]);
  });

  it('a late outcome of an aborted ceremony is ignored', () => {
    const { m, next } = activeMember();
    m.handle({ type: 'tick', now: DUE });
    const changed: NextCommittee = { ...next, membersRoot: rnd(32) };
    m.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 1_000 });
    // The aborted ceremony finishing anyway (a race with the abort) is not taken for a success.
    expect(m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: rnd(341), now: DUE + 1_001 })).toEqual([]);
    expect(m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'aborted', now: DUE + 1_002 })).toEqual([]);
    expect(m.ceremony).toEqual({ epoch: 2, attempt: 0, status: 'failed', at: DUE + 1_000 });
    m.handle({ type: 'tick', now: DUE + RETRY });
    expect(m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'aborted', now: DUE + RETRY + 1 })).toEqual([]);
    expect(m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: rnd(341), now: DUE + RETRY + 2 })).toEqual([]);
    expect(m.ceremony).toEqual({ epoch: 2, attempt: 1, status: 'running', at: DUE + RETRY });
  });
});

// ---- window alignment across nodes ---------------------------------------------------------------------

describe('rotation attempts stay aligned across nodes', () => {
  const G1 = rnd(96);
  const current = chainEpoch(1, [A, B, C, D], G1, ACTIVATED);
  /** A node of operator `op`, holding epoch 1's share, that has followed the chain since before DUE. */
  function node(op: Operator, next: NextCommittee): EpochMachine {
    const m = new EpochMachine({ self: Uint8Array.from(op.operatorKey), retryMs: RETRY, republishMs: REPUBLISH });
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    m.handle({ type: 'chain', snapshot: snapshot(1, next, current), now: DUE - 10_000 });
    return m;
  }
  /** The attempts a step started (other actions ignored). */
  const started = (out: EpochAction[]): number[] => out.flatMap((a) => (a.type === 'start-dkg' ? [a.attempt] : []));
  const all = (ms: EpochMachine[], e: EpochEvent): number[][] => ms.map((m) => started(m.handle(e)));

  it('a node joining the next committee mid-DKG runs the next window\'s attempt, with everyone', () => {
    const next = nextCommittee([A, B, C]);
    const [a, b, c] = [node(A, next), node(B, next), node(C, next)];
    const joiner = node(SELF, next); // follows the chain, not in the committee yet
    expect(all([a, b, c, joiner], { type: 'tick', now: DUE })).toEqual([[0], [0], [0], []]);
    // SELF stakes: the chain selects it early in attempt 0's window (still inside the first third).
    const changed = nextCommittee([A, B, C, SELF]);
    const t = DUE + 0.1 * RETRY;
    const snap: EpochEvent = { type: 'chain', snapshot: snapshot(1, changed, current), now: t };
    expect(all([a, b, c, joiner], snap)).toEqual([[], [], [], []]);
    // A node booted just now cannot tell a change from a restart: in the first third it joins attempt 0,
    // which nobody runs any more; it fails within the window and joins attempt 1 at its start.
    const fresh = new EpochMachine({ self: Uint8Array.from(SELF.operatorKey), retryMs: RETRY, republishMs: REPUBLISH });
    expect(started(fresh.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: t }))).toEqual([0]);
    fresh.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'timeout', now: DUE + RETRY - 5_000 });
    // Nothing during the rest of window 0; everybody on attempt 1 at its start.
    expect(all([a, b, c, joiner, fresh], { type: 'tick', now: DUE + 0.3 * RETRY })).toEqual([[], [], [], [], []]);
    expect(all([a, b, c, joiner, fresh], { type: 'tick', now: DUE + RETRY - 1 })).toEqual([[], [], [], [], []]);
    expect(all([a, b, c, joiner, fresh], { type: 'tick', now: DUE + RETRY })).toEqual([[1], [1], [1], [1], [1]]);
  });

  it('a node booted late in the window of a committee change waits for the next window like the others', () => {
    const next = nextCommittee([A, B, C]);
    const [a, b] = [node(A, next), node(B, next)];
    all([a, b], { type: 'tick', now: DUE });
    const changed = nextCommittee([A, B, SELF]);
    all([a, b], { type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 0.5 * RETRY });
    const fresh = new EpochMachine({ self: Uint8Array.from(SELF.operatorKey), retryMs: RETRY, republishMs: REPUBLISH });
    expect(started(fresh.handle({ type: 'chain', snapshot: snapshot(1, changed, current), now: DUE + 0.6 * RETRY }))).toEqual([]);
    expect(all([a, b, fresh], { type: 'tick', now: DUE + RETRY })).toEqual([[1], [1], [1]]);
  });

  it('a committee change: running, done and failed nodes all start the same attempt at the next window boundary', () => {
    const next = nextCommittee([A, B, C, D]);
    const [a, b, c, d] = [node(A, next), node(B, next), node(C, next), node(D, next)];
    const s = snapshot(1, next, current);
    expect(all([a, b, c, d], { type: 'tick', now: DUE })).toEqual([[0], [0], [0], [0]]);
    b.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + 10_000 });
    c.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'complaint', now: DUE + 11_000 });
    // D sees the change a poll later than the others.
    const changed = nextCommittee([A, B, C, D, SELF]);
    const ev = (now: number): EpochEvent => ({ type: 'chain', snapshot: snapshot(1, changed, current), now });
    expect([a, b, c].map((m) => m.handle(ev(DUE + 12_000)))).toEqual([[abortDkg(2, 0)], [], []]);
    expect(d.handle(ev(DUE + 14_000))).toEqual([abortDkg(2, 0)]);
    // Still in the first third of window 0: nobody restarts now.
    expect(all([a, b, c, d], { type: 'tick', now: DUE + 15_000 })).toEqual([[], [], [], []]);
    expect(all([a, b, c, d], { type: 'tick', now: DUE + RETRY - 1 })).toEqual([[], [], [], []]);
    expect(all([a, b, c, d], { type: 'tick', now: DUE + RETRY })).toEqual([[1], [1], [1], [1]]);
    for (const m of [a, b, c, d]) expect(m.ceremony).toEqual({ epoch: 2, attempt: 1, status: 'running', at: DUE + RETRY });
  });

  it('a done node joins a later attempt that the others start after failing', () => {
    const next = nextCommittee([A, B, SELF]);
    const [a, b, self] = [node(A, next), node(B, next), node(SELF, next)];
    const s = snapshot(1, next, current);
    expect(all([a, b, self], { type: 'tick', now: DUE })).toEqual([[0], [0], [0]]);
    // Attempt 0: SELF finishes, A and B fail (SELF's messages were late for them).
    expect(self.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + 20_000 })).toEqual([publish(2, 0)]);
    a.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'timeout', now: DUE + 40_000 });
    b.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'timeout', now: DUE + 40_000 });
    // Window 1: A and B retry; SELF, done, waits for the handover (it may merely be slow).
    expect(all([a, b, self], { type: 'tick', now: DUE + RETRY })).toEqual([[1], [1], []]);
    expect(self.ceremony?.status).toBe('done');
    // Attempt 1 fails without SELF; at window 2 everybody runs attempt 2.
    a.handle({ type: 'dkg-failed', epoch: 2, attempt: 1, reason: 'member 3 missing', now: DUE + 1.8 * RETRY });
    b.handle({ type: 'dkg-failed', epoch: 2, attempt: 1, reason: 'member 3 missing', now: DUE + 1.8 * RETRY });
    expect(all([a, b, self], { type: 'tick', now: DUE + 2 * RETRY - 1 })).toEqual([[], [], []]);
    expect(all([a, b, self], { type: 'tick', now: DUE + 2 * RETRY })).toEqual([[2], [2], [2]]);
    expect(self.ceremony).toEqual({ epoch: 2, attempt: 2, status: 'running', at: DUE + 2 * RETRY });
  });

  it('a done node that notices late (past the first third) joins the window after', () => {
    const next = nextCommittee([A, SELF]);
    const self = node(SELF, next);
    const s = snapshot(1, next, current);
    self.handle({ type: 'tick', now: DUE });
    self.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + 20_000 });
    expect(started(self.handle({ type: 'tick', now: DUE + 2.5 * RETRY }))).toEqual([]);
    expect(started(self.handle({ type: 'tick', now: DUE + 3 * RETRY }))).toEqual([3]);
  });
});

// ---- handover signing ------------------------------------------------------------------------------------

describe('handover signing', () => {
  const G1 = rnd(96);
  const current = chainEpoch(1, [SELF, A, B, C], G1, ACTIVATED);
  /** Next committee of 4, threshold 3; we are not in it (signing is the current committee's job). */
  const next = nextCommittee([A, B, D, E], { threshold: 3 });
  const s = snapshot(1, next, current);

  function member(): EpochMachine {
    const m = machine();
    m.handle({ type: 'key-known', epoch: 1, groupKey: Uint8Array.from(G1) });
    expect(m.handle({ type: 'chain', snapshot: s, now: ACTIVATED * 1000 + 1 })).toEqual([activate(1, true)]);
    return m;
  }
  const sign = (handover: Uint8Array): EpochAction => ({ type: 'sign-handover', oldEpoch: 1, handover });

  it('signs once next.threshold distinct members attested the same handover, and never twice', () => {
    const m = member();
    const h = handoverFor(s);
    expect(m.handle(attest(2, 1, h))).toEqual([]);
    expect(m.handle(attest(2, 2, h))).toEqual([]);
    expect(m.handle(attest(2, 2, h))).toEqual([]); // the same member again is not a third vote
    expect(m.handle(attest(2, 3, Uint8Array.from(h), 1))).toEqual([sign(h)]);
    expect(m.handle(attest(2, 4, h))).toEqual([]);
    expect(m.handle(attest(2, 1, h))).toEqual([]);
    expect(m.handle({ type: 'tick', now: DUE - 1 })).toEqual([]);
    expect(m.handle({ type: 'chain', snapshot: s, now: DUE - 1 })).toEqual([]);
  });

  it('a handover signed earlier (handover-signed) is not signed again', () => {
    const m = member();
    const h = handoverFor(s);
    expect(m.handle({ type: 'handover-signed', oldEpoch: 1, handover: h })).toEqual([]);
    for (const i of [1, 2, 3, 4]) expect(m.handle(attest(2, i, h))).toEqual([]);
  });

  it('votes for different handovers do not add up; each is signed at its own threshold', () => {
    const m = member();
    const h1 = handoverFor(s);
    const h2 = handoverFor(s);
    expect(m.handle(attest(2, 1, h1))).toEqual([]);
    expect(m.handle(attest(2, 2, h2))).toEqual([]);
    expect(m.handle(attest(2, 3, h1))).toEqual([]);
    expect(m.handle(attest(2, 4, h2))).toEqual([]);
    // Member 2 moves to h1: h1 has {1, 2, 3}.
    expect(m.handle(attest(2, 2, h1, 1))).toEqual([sign(h1)]);
  });

  it('a member that changes its attestation moves its vote', () => {
    const m = member();
    const h1 = handoverFor(s);
    const h2 = handoverFor(s);
    expect(m.handle(attest(2, 1, h1))).toEqual([]);
    expect(m.handle(attest(2, 2, h1))).toEqual([]);
    expect(m.handle(attest(2, 2, h2, 1))).toEqual([]); // 2 leaves h1
    expect(m.handle(attest(2, 3, h1))).toEqual([]); // h1: {1, 3}
    expect(m.handle(attest(2, 4, h1))).toEqual([sign(h1)]); // h1: {1, 3, 4}
  });

  it('attestations for another epoch are ignored', () => {
    const m = member();
    const h = handoverFor(s);
    for (const i of [1, 2, 3]) expect(m.handle(attest(1, i, h))).toEqual([]);
    for (const i of [1, 2, 3]) expect(m.handle(attest(3, i, h))).toEqual([]);
    expect(m.handle(attest(2, 4, h))).toEqual([]);
    expect(m.handle(attest(2, 1, h))).toEqual([]);
    expect(m.handle(attest(2, 2, h))).toEqual([sign(h)]);
  });

  it('an attestation for another epoch does not disturb the votes gathered for the next one', () => {
    const m = member();
    const h = handoverFor(s);
    expect(m.handle(attest(2, 1, h))).toEqual([]);
    expect(m.handle(attest(2, 2, h))).toEqual([]);
    expect(m.handle(attest(3, 3, h))).toEqual([]);
    expect(m.handle(attest(1, 3, h))).toEqual([]);
    expect(m.handle(attest(2, 4, h))).toEqual([sign(h)]);
  });

  it('attestations that arrive before any chain snapshot are dropped', () => {
    const m = machine();
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    const h = handoverFor(s);
    for (const i of [1, 2, 3]) expect(m.handle(attest(2, i, h))).toEqual([]);
    expect(m.handle({ type: 'chain', snapshot: s, now: ACTIVATED * 1000 })).toEqual([activate(1, true)]);
  });

  const variants: [string, Parameters<typeof handoverFor>[1], RegExp][] = [
    ['oldEpoch', { oldEpoch: 2n }, /^handover from epoch 2, current epoch is 1$/],
    ['oldEpoch (genesis)', { oldEpoch: 0n }, /^handover from epoch 0, current epoch is 1$/],
    ['threshold', { threshold: 2 }, /^handover threshold 2, expected 3$/],
    ['threshold (n)', { threshold: 4 }, /^handover threshold 4, expected 3$/],
    ['committee size', { committeeSize: 5 }, /^handover names 5 members, the chain selects 4$/],
    ['committee size (smaller)', { committeeSize: 3 }, /^handover names 3 members, the chain selects 4$/],
    ['membersRoot', { membersRoot: rnd(32) }, /membersRoot/],
    ['payoutsRoot', { payoutsRoot: rnd(32) }, /payoutsRoot/],
    ['domain', { domain: rnd(32) }, /domain/],
  ];

  for (const [name, o, reason] of variants) {
    it(`a handover with the wrong ${name} is never signed`, () => {
      const m = member();
      const bad = handoverFor(s, o);
      expect(handoverMismatch(bad, s)).toMatch(reason);
      for (const i of [1, 2, 3, 4]) expect(m.handle(attest(2, i, bad))).toEqual([]);
      // The good one still is.
      const good = handoverFor(s);
      expect(m.handle(attest(2, 1, good))).toEqual([]);
      expect(m.handle(attest(2, 2, good))).toEqual([]);
      expect(m.handle(attest(2, 3, good))).toEqual([sign(good)]);
    });
  }

  it('handoverMismatch: undefined for the expected handover (bytes or hex), reasons otherwise', () => {
    const h = handoverFor(s);
    expect(handoverMismatch(h, s)).toBeUndefined();
    expect(handoverMismatch(toHex(h), s)).toBeUndefined();
    expect(handoverMismatch(toHex(h).slice(2).toUpperCase(), s)).toBeUndefined();
    for (const [, o, reason] of variants) {
      const bad = handoverFor(s, o);
      expect(handoverMismatch(bad, s)).toMatch(reason);
      expect(handoverMismatch(toHex(bad), s)).toMatch(reason);
    }
    // The chain's view matters, not the handover's: the same bytes against another next committee.
    expect(handoverMismatch(h, snapshot(1, { ...next, membersRoot: rnd(32) }, current))).toMatch(/membersRoot/);
    expect(handoverMismatch(h, snapshot(1, { ...next, payoutsRoot: rnd(32) }, current))).toMatch(/payoutsRoot/);
    expect(handoverMismatch(h, snapshot(1, { ...next, threshold: 4 }, current))).toMatch(/threshold 3, expected 4/);
    expect(handoverMismatch(h, snapshot(1, nextCommittee([A, B, D, E, F], { threshold: 3, membersRoot: next.membersRoot, payoutsRoot: next.payoutsRoot }), current))).toMatch(/names 4 members, the chain selects 5/);
    expect(handoverMismatch(h, snapshot(2, next, current))).toMatch(/current epoch is 2/);
    expect(handoverMismatch(h, snapshot(1, next, current, { domain: rnd(32) }))).toMatch(/domain/);
    // Malformed records.
    expect(handoverMismatch(h.subarray(1), s)).toMatch(/^malformed handover: /);
    const v1 = Uint8Array.from(h);
    v1[0] = 1;
    expect(handoverMismatch(v1, s)).toMatch(/^malformed handover: .*version/);
    const badEpochs = Uint8Array.from(h);
    badEpochs[48] = badEpochs[48]! ^ 1; // newEpoch ≠ oldEpoch + 1
    expect(handoverMismatch(badEpochs, s)).toMatch(/^malformed handover: /);
    expect(handoverMismatch('0x12', s)).toMatch(/^malformed handover: /);
  });

  it('a handover for a committee the chain no longer selects is not signed', () => {
    const m = member();
    const h = handoverFor(s);
    const changed = snapshot(1, { ...next, membersRoot: rnd(32) }, current);
    m.handle({ type: 'chain', snapshot: changed, now: ACTIVATED * 1000 + 2 });
    for (const i of [1, 2, 3, 4]) expect(m.handle(attest(2, i, h))).toEqual([]);
    // Votes gathered before the change do not carry over either.
    const m2 = member();
    for (const i of [1, 2]) m2.handle(attest(2, i, h));
    m2.handle({ type: 'chain', snapshot: changed, now: ACTIVATED * 1000 + 2 });
    expect(m2.handle(attest(2, 3, h))).toEqual([]);
  });

  it('an observer (no matching share) never signs; the matching share makes it sign', () => {
    const m = machine();
    m.handle({ type: 'key-known', epoch: 1, groupKey: rnd(96) });
    expect(m.handle({ type: 'chain', snapshot: s, now: ACTIVATED * 1000 })).toEqual([activate(1, false)]);
    const h = handoverFor(s);
    for (const i of [1, 2, 3, 4]) expect(m.handle(attest(2, i, h))).toEqual([]);
    expect(m.handle({ type: 'tick', now: ACTIVATED * 1000 + 1 })).toEqual([]);
    expect(m.handle({ type: 'key-known', epoch: 1, groupKey: Uint8Array.from(G1) })).toEqual([activate(1, true), sign(h)]);
  });

  it('a node outside the current committee never signs, even holding its key', () => {
    const m = machine();
    m.handle({ type: 'key-known', epoch: 1, groupKey: G1 });
    const notMine = snapshot(1, next, chainEpoch(1, [A, B, C], G1, ACTIVATED));
    expect(m.handle({ type: 'chain', snapshot: notMine, now: ACTIVATED * 1000 })).toEqual([activate(1, false)]);
    const h = handoverFor(notMine);
    for (const i of [1, 2, 3, 4]) expect(m.handle(attest(2, i, h))).toEqual([]);
  });

  it('nobody signs at genesis', () => {
    const m = machine();
    const g = snapshot(0, next);
    expect(m.handle({ type: 'chain', snapshot: g, now: 1 })).toEqual([]);
    const h = handoverFor(g);
    for (const i of [1, 2, 3, 4]) expect(m.handle(attest(1, i, h))).toEqual([]);
  });

  it('after the chain moves on, the old attestations are dropped and the new epoch signs its own handover', () => {
    const m = member();
    const h = handoverFor(s);
    for (const i of [1, 2]) m.handle(attest(2, i, h));
    // Epoch 2 lands (we are member 3 there with the key we hold); its next committee is A, B, C.
    const G2 = rnd(96);
    m.handle({ type: 'key-known', epoch: 2, groupKey: G2 });
    const next3 = nextCommittee([A, B, C], { threshold: 2 });
    const s2 = snapshot(2, next3, chainEpoch(2, [A, B, SELF, D], G2, DUE / 1000));
    expect(m.handle({ type: 'chain', snapshot: s2, now: DUE + 1 })).toEqual([activate(2, true)]);
    expect(m.handle(attest(2, 3, h))).toEqual([]); // epoch 2's handover is history
    const h3 = handoverFor(s2);
    expect(m.handle(attest(3, 1, h3))).toEqual([]);
    expect(m.handle(attest(3, 2, h3))).toEqual([{ type: 'sign-handover', oldEpoch: 2, handover: h3 }]);
  });
});

// ---- joining the attempt the others run ------------------------------------------------------------------

describe('peer attempts', () => {
  const current = chainEpoch(1, [A, B, SELF], rnd(96), ACTIVATED);

  it('a member whose attempt ended (done alone) joins the later attempt its peers run in this window at once', () => {
    const m = machine();
    const next = nextCommittee([A, B, SELF, C]);
    const s = snapshot(1, next, current);
    expect(m.handle({ type: 'chain', snapshot: s, now: DUE + 1 })).toEqual([activate(1, false), startDkg(2, 0, next, 3)]);
    // finished attempt 0 on re-sent deals, alone: the others failed it
    expect(m.handle({ type: 'dkg-done', epoch: 2, attempt: 0, groupKey: rnd(96), handover: handoverFor(s), now: DUE + RETRY / 2 })).toEqual([publish(2, 0)]);
    // a peer's attempt-1 messages, in window 1 (past its first third): join at once
    const t = DUE + RETRY + RETRY / 2;
    expect(m.handle({ type: 'peer-attempt', epoch: 2, attempt: 1, now: t })).toEqual([startDkg(2, 1, next, 3)]);
    expect(m.ceremony).toMatchObject({ epoch: 2, attempt: 1, status: 'running' });
    // the same again while running: nothing
    expect(m.handle({ type: 'peer-attempt', epoch: 2, attempt: 1, now: t + 10 })).toEqual([]);
  });

  it('ignores attempts that are not the current window\'s (a hostile or confused peer cannot steer it), stale ones, and other epochs', () => {
    const m = machine();
    const next = nextCommittee([A, B, SELF, C]);
    const s = snapshot(1, next, current);
    m.handle({ type: 'chain', snapshot: s, now: DUE + 1 });
    m.handle({ type: 'dkg-failed', epoch: 2, attempt: 0, reason: 'too few qualified', now: DUE + RETRY / 2 });
    expect(m.handle({ type: 'peer-attempt', epoch: 2, attempt: 7, now: DUE + RETRY / 2 })).toEqual([]); // window 0, attempt 7
    expect(m.handle({ type: 'peer-attempt', epoch: 2, attempt: 0, now: DUE + RETRY / 2 })).toEqual([]); // not later than ours
    expect(m.handle({ type: 'peer-attempt', epoch: 3, attempt: 1, now: DUE + RETRY + 1 })).toEqual([]); // another epoch
    expect(m.ceremony).toMatchObject({ attempt: 0, status: 'failed' });
  });
});
