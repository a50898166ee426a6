// Partial-signature collection for single-report rounds: partials are grouped by (request id, digest),
// batch-verified against each member's public share once a group could reach t, and the first t valid
// partials of the first digest to get there are combined. Members whose partials are invalid, disagree
// with the combined digest, or sign two digests for one request are named with the signed messages.
import { signingMessage, SigningPurpose, type PartialSignature } from '@destra/protocol';
import { hexKey } from './hex.ts';
import type { CombinedResult, CoreEvent, Evidence, PartialIn, ShareVerifier } from './types.ts';
import { validatePartialShape } from './validate.ts';

interface DigestGroup {
  digest: Uint8Array;
  message: Uint8Array;
  report?: Uint8Array;
  pending: PartialIn[];
  valid: PartialIn[];
  members: Set<number>;
  /** The optimistic combine-then-check failed once for this digest: batch-verify from now on. */
  optimisticFailed?: boolean;
}

interface RequestState {
  requestId: Uint8Array;
  round: number;
  firstSeen: number;
  groups: Map<string, DigestGroup>;
  /** member → digest key of its first *valid* partial, for equivocation evidence. */
  validDigestOf: Map<number, string>;
  done?: { key: string; result: CombinedResult };
  named: Set<string>; // "member:kind" already reported, so evidence is emitted once
}

export interface CollectorOptions {
  /** How long an unfinished request is kept (ms). */
  ttlMs?: number;
  /** Upper bound on requests tracked at once; the oldest is dropped first (memory bound under flood). */
  maxRequests?: number;
  /** Verify partials that arrive after combination, to name bad members (default true). */
  verifyLate?: boolean;
}

export class PartialCollector {
  private readonly requests = new Map<string, RequestState>();
  private readonly t: number;
  private readonly n: number;
  private readonly ttlMs: number;
  private readonly maxRequests: number;
  private readonly verifyLate: boolean;
  /** Requests combined optimistically whose extra partials still await verification (flushLate). */
  private readonly lateQueue = new Set<RequestState>();

  constructor(
    private readonly verifier: ShareVerifier,
    opts: CollectorOptions = {},
  ) {
    this.t = verifier.threshold;
    this.n = verifier.sharing.size;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxRequests = opts.maxRequests ?? 100_000;
    this.verifyLate = opts.verifyLate ?? true;
  }

  get size(): number {
    return this.requests.size;
  }

  /** The combined result for a request, once there is one. */
  resultOf(requestId: Uint8Array, round = 0): CombinedResult | undefined {
    return this.requests.get(roundKey(requestId, round))?.done?.result;
  }

  add(p: PartialIn, now: number = Date.now()): CoreEvent[] {
    const problem = validatePartialShape(p, this.n);
    if (problem) return [{ type: 'rejected', member: p.member, reason: problem }];
    const state = this.stateFor(p.requestId, p.round ?? 0, now);
    const key = hexKey(p.digest);
    let group = state.groups.get(key);
    if (!group) {
      const message = signingMessage(SigningPurpose.ReportRoot, p.digest);
      // Hash now, while the other partials are on their way: the t-th arrival only pays for the pairing.
      this.verifier.prepare?.(message);
      group = { digest: p.digest, message, pending: [], valid: [], members: new Set() };
      state.groups.set(key, group);
    }
    if (group.members.has(p.member)) return []; // duplicate delivery (gossip + direct): harmless
    group.members.add(p.member);
    if (p.report && !group.report) group.report = p.report;
    group.pending.push(p);

    const events: CoreEvent[] = [];
    if (state.done) {
      // The result is out: what arrives now only serves to name members, so it is verified later, in
      // one batch with the other late partials (flushLate), off the rounds' critical path.
      if (this.verifyLate || state.done.key !== key) this.lateQueue.add(state);
      else group.pending.pop(); // verifyLate off: an extra partial for the agreed digest is not checked
      return events;
    }
    if (group.valid.length + group.pending.length < this.t) return events;
    if (this.tryOptimistic(state, key, group, events)) return events;
    this.verifyGroup(state, key, group, events);
    if (group.valid.length >= this.t) this.finish(state, key, group, group.valid.slice(0, this.t), events);
    return events;
  }

  /**
   * Verifies what the fast path left unverified (partials beyond the first t, other digests). The shell
   * calls this after it has broadcast and relayed the result, so naming members costs no latency.
   */
  flushLate(): CoreEvent[] {
    const events: CoreEvent[] = [];
    const groups: { state: RequestState; key: string; group: DigestGroup }[] = [];
    for (const state of this.lateQueue) {
      for (const [key, group] of state.groups) if (group.pending.length > 0) groups.push({ state, key, group });
    }
    this.lateQueue.clear();
    const many = this.verifier.verifyMany?.bind(this.verifier);
    if (!many) {
      for (const g of groups) this.verifyGroup(g.state, g.key, g.group, events);
      return events;
    }
    // One multi-message check for every late partial of every request (one final exponentiation).
    const items = groups.flatMap((g) => g.group.pending.map((p) => ({ g, p, msg: g.group.message, partial: toPartial(p) })));
    const ok = many(items);
    for (const g of groups) g.group.pending = [];
    items.forEach((it, i) => {
      if (ok[i]) this.acceptValid(it.g.state, it.g.key, it.g.group, it.p, events);
      else this.name(it.g.state, events, { kind: 'invalid-partial', member: it.p.member, requestId: it.g.state.requestId, offending: signed(it.msg, it.p.signature, it.p.report) });
    });
    return events;
  }

  /** Partials waiting for flushLate (the shell decides when to flush). */
  get lateBacklog(): number {
    return this.lateQueue.size;
  }

  /** Combines the first t pending partials and checks the result once; true when that finished the round. */
  private tryOptimistic(state: RequestState, key: string, group: DigestGroup, events: CoreEvent[]): boolean {
    const check = this.verifier.verifyCombined?.bind(this.verifier);
    if (!check || group.optimisticFailed || group.valid.length > 0) return false;
    const chosen = group.pending.slice(0, this.t);
    let signature: Uint8Array | undefined;
    try {
      signature = this.verifier.combine(chosen.map(toPartial));
    } catch {
      signature = undefined; // a partial that is not even a curve point
    }
    if (!signature || !check(signature, group.message)) {
      group.optimisticFailed = true;
      return false;
    }
    group.pending = group.pending.slice(this.t);
    for (const p of chosen) this.acceptValid(state, key, group, p, events);
    this.finish(state, key, group, chosen, events, signature);
    if (this.verifyLate) this.lateQueue.add(state);
    return true;
  }

  private finish(state: RequestState, key: string, group: DigestGroup, chosen: PartialIn[], events: CoreEvent[], signature?: Uint8Array): void {
    const sig = signature ?? this.verifier.combine(chosen.map(toPartial));
    const result: CombinedResult = { requestId: state.requestId, round: state.round, digest: group.digest, signature: sig, signers: chosen.map((c) => c.member) };
    if (group.report) result.report = group.report;
    state.done = { key, result };
    events.push({ type: 'combined', result });
    // Now that the committee's answer is known, partials on other digests are checked and named (later,
    // off the critical path, when the fast path was taken).
    if (signature && this.verifyLate) return;
    for (const [otherKey, other] of state.groups) if (otherKey !== key) this.verifyGroup(state, otherKey, other, events);
  }

  /** Drops requests older than the TTL; unfinished ones are reported so the shell can log them. */
  expire(now: number = Date.now()): CoreEvent[] {
    const events: CoreEvent[] = [];
    for (const [key, s] of this.requests) {
      if (now - s.firstSeen < this.ttlMs) break; // insertion order == age order
      this.requests.delete(key);
      if (!s.done) {
        let partials = 0;
        for (const g of s.groups.values()) partials += g.members.size;
        events.push({ type: 'expired', requestId: s.requestId, digests: s.groups.size, partials });
      }
    }
    return events;
  }

  private stateFor(requestId: Uint8Array, round: number, now: number): RequestState {
    const key = roundKey(requestId, round);
    let s = this.requests.get(key);
    if (!s) {
      if (this.requests.size >= this.maxRequests) {
        const oldest = this.requests.keys().next().value;
        if (oldest !== undefined) this.requests.delete(oldest);
      }
      s = { requestId, round, firstSeen: now, groups: new Map(), validDigestOf: new Map(), named: new Set() };
      this.requests.set(key, s);
    }
    return s;
  }

  private verifyGroup(state: RequestState, key: string, group: DigestGroup, events: CoreEvent[]): void {
    if (group.pending.length === 0) return;
    const pending = group.pending;
    group.pending = [];
    const { valid, invalid } = this.verifier.verifyBatch(group.message, pending.map(toPartial));
    const validSet = new Set(valid.map((v) => v.index));
    const bad = new Set(invalid);
    for (const p of pending) {
      if (bad.has(p.member) || !validSet.has(p.member)) {
        this.name(state, events, {
          kind: 'invalid-partial',
          member: p.member,
          requestId: state.requestId,
          offending: signed(group.message, p.signature, p.report),
        });
        continue;
      }
      this.acceptValid(state, key, group, p, events);
    }
  }

  /** Records a verified partial; names equivocation and disagreement with the combined digest. */
  private acceptValid(state: RequestState, key: string, group: DigestGroup, p: PartialIn, events: CoreEvent[]): void {
    group.valid.push(p);
    const firstKey = state.validDigestOf.get(p.member);
    if (firstKey === undefined) state.validDigestOf.set(p.member, key);
    else if (firstKey !== key) {
      const first = state.groups.get(firstKey)!;
      const firstPartial = first.valid.find((v) => v.member === p.member)!;
      this.name(state, events, {
        kind: 'equivocation',
        member: p.member,
        requestId: state.requestId,
        offending: signed(group.message, p.signature, p.report),
        counter: signed(first.message, firstPartial.signature, firstPartial.report),
      });
    }
    if (state.done && state.done.key !== key) {
      const agreed = state.done.result;
      this.name(state, events, {
        kind: 'conflicting-digest',
        member: p.member,
        requestId: state.requestId,
        offending: signed(group.message, p.signature, p.report),
        counter: signed(signingMessage(SigningPurpose.ReportRoot, agreed.digest), agreed.signature, agreed.report),
      });
    }
  }

  private name(state: RequestState, events: CoreEvent[], evidence: Evidence): void {
    const tag = `${evidence.member}:${evidence.kind}`;
    if (state.named.has(tag)) return;
    state.named.add(tag);
    events.push({ type: 'misbehaviour', evidence });
  }
}

const roundKey = (id: Uint8Array, round: number): string => `${hexKey(id)}:${round}`;

const toPartial = (p: PartialIn): PartialSignature => ({ index: p.member, signature: p.signature });

function signed(message: Uint8Array, signature: Uint8Array, report?: Uint8Array): Evidence['offending'] {
  return report ? { message, signature, report } : { message, signature };
}

