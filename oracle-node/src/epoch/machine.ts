// The epoch state machine, pure: fed chain snapshots, DKG outcomes, peers' DKG results and timer ticks,
// it returns what the node must do (start/abort a DKG, publish its DKG result, sign a handover, switch
// keys). All I/O, signatures and crypto checks live in manager.ts, so the hard cases (committee changes
// mid-DKG, failed ceremonies, late members, genesis) are tested here without processes.
//
// Schedule (rotations): epoch E+1's DKG is due `epochLength` seconds after E was activated (chain time),
// due = (activatedAt + epochLength)·1000 ms, and attempt k owns the window [due + k·retryMs,
// due + (k+1)·retryMs). Every node derives the attempt from the window, so members agree on it without
// talking (attempts > 0 change the DKG session: a node on another attempt is left out):
//  - an attempt is started only in the first retryMs/3 of its window; a node arriving later (restart,
//    late failure, key published mid-window) waits for the next window's attempt;
//  - a committee change (the chain's next membersRoot or payoutsRoot differs from the one the
//    running/done/failed ceremony ran with, or from the one this node saw last) aborts a running
//    ceremony and counts as a failure: everybody who saw it runs the NEXT window's attempt, never the
//    current one (a member that joins mid-window waits for that one too);
//  - after a failure the next attempt is max(attempt + 1, current window), at its window start;
//  - a node whose DKG succeeded but whose handover has not landed by the end of its window plus one
//    whole window concludes the others failed and joins the then-current window's attempt;
//  - a share for the target epoch found on disk (restart) or left from a ceremony this node dropped out
//    of only skips the window in which the machine first sees it (the attempt that may have made it);
//    from the next window on the node follows the schedule like everyone else, so a share never makes
//    it deaf to committee changes or to later attempts. Running an attempt that others do not (because
//    the handover is merely slow) costs one failed ceremony and nothing else.
// Genesis has no chain time: attempt 0 starts at once, a failure retries after retryMs/4 and a committee
// change restarts at once with attempt + 1. The DKG runs among the committee the chain selects now
// (CommitteeRegistry.nextCommittee). The current committee keeps serving throughout, so a failed or
// abandoned DKG never leaves a gap.
import { decodeHandover, toHex } from '@destra/protocol';
import type { ChainSnapshot } from './chain-view.ts';
import { memberIndexOf, type EpochCommittee } from './committee.ts';

export interface MachineOptions {
  /** This node's operator key (compressed G2). */
  self: Uint8Array;
  /** Time between DKG attempts of one epoch (≥ one whole ceremony). */
  retryMs: number;
  /** How often a finished DKG's result is re-published until the chain moves on (gossip is lossy). */
  republishMs?: number;
}

export type EpochEvent =
  | { type: 'chain'; snapshot: ChainSnapshot; now: number }
  | { type: 'tick'; now: number }
  /** Our DKG finished; `handover` is absent for genesis (the genesis authority installs the key). */
  | { type: 'dkg-done'; epoch: number; attempt: number; groupKey: Uint8Array; handover?: Uint8Array; now: number }
  | { type: 'dkg-failed'; epoch: number; attempt: number; reason: string; now: number }
  /** A key share found on disk at start (or made earlier) for `epoch`. */
  | { type: 'key-known'; epoch: number; groupKey: Uint8Array }
  /** A next-committee member's DKG result whose signature and commitments the manager verified. */
  | { type: 'dkg-result'; epoch: number; attempt: number; index: number; handover: Uint8Array }
  /** We signed (and published) our partial for this handover. */
  | { type: 'handover-signed'; oldEpoch: number; handover: Uint8Array }
  /** A member of the next committee sends DKG messages of this attempt (seen on the DKG topic). */
  | { type: 'peer-attempt'; epoch: number; attempt: number; now: number };

export type EpochAction =
  | { type: 'start-dkg'; epoch: number; attempt: number; committee: EpochCommittee; index: number; membersRoot: Uint8Array; payoutsRoot: Uint8Array }
  | { type: 'abort-dkg'; epoch: number; attempt: number; reason: string }
  | { type: 'publish-dkg-result'; epoch: number; attempt: number }
  | { type: 'sign-handover'; oldEpoch: number; handover: Uint8Array }
  /** Serve `epoch` from now on: with this node's share when `member`, as an observer otherwise. */
  | { type: 'activate'; epoch: number; member: boolean }
  /** Why nothing can happen now (logged once per distinct reason). */
  | { type: 'blocked'; reason: string };

interface DkgState {
  epoch: number;
  attempt: number;
  membersRoot: string;
  payoutsRoot: string;
  status: 'running' | 'done' | 'failed';
  handover?: string;
  /** ms: when a failed genesis attempt may be retried / when the result was last published. */
  at: number;
}

const hex = (b: Uint8Array): string => toHex(b).toLowerCase();

export class EpochMachine {
  private snapshot: ChainSnapshot | undefined;
  private now = 0;
  private dkg: DkgState | undefined;
  /** epoch → group key (hex) of the share this node holds. */
  private readonly keys = new Map<number, string>();
  private activated: number | undefined;
  /** handover hex → member indices (next committee) that published it, for the pending epoch. */
  private attestations = new Map<string, Set<number>>();
  private attestationEpoch = 0;
  private readonly signed = new Set<string>();
  private lastBlocked = '';
  /**
   * Rotation alignment for the target epoch: the chain's next-committee roots last seen, the lowest
   * attempt this node may still start (raised past the current window by a committee change or by a
   * share found for the target epoch), and whether such a share was accounted for.
   */
  private align: { epoch: number; roots: string; min: number; keySeen: boolean } | undefined;

  constructor(private readonly o: MachineOptions) {}

  /** Epoch this node serves now (undefined before activation). */
  get activeEpoch(): number | undefined {
    return this.activated;
  }

  /** The DKG this machine runs or ran last, for status pages. */
  get ceremony(): Readonly<Omit<DkgState, 'membersRoot' | 'payoutsRoot' | 'handover'>> | undefined {
    return this.dkg && { epoch: this.dkg.epoch, attempt: this.dkg.attempt, status: this.dkg.status, at: this.dkg.at };
  }

  handle(e: EpochEvent): EpochAction[] {
    const out: EpochAction[] = [];
    switch (e.type) {
      case 'chain':
        this.snapshot = e.snapshot;
        this.now = e.now;
        break;
      case 'tick':
        this.now = e.now;
        break;
      case 'key-known':
        this.keys.set(e.epoch, hex(e.groupKey));
        break;
      case 'dkg-done':
        this.now = e.now;
        // Only the ceremony in progress counts: a late outcome of an aborted one (committee change) is stale.
        if (this.dkg && this.dkg.epoch === e.epoch && this.dkg.attempt === e.attempt && this.dkg.status === 'running') {
          this.keys.set(e.epoch, hex(e.groupKey));
          this.dkg.status = 'done';
          if (e.handover) {
            this.dkg.handover = hex(e.handover);
            this.dkg.at = e.now;
            out.push({ type: 'publish-dkg-result', epoch: e.epoch, attempt: e.attempt });
          }
        }
        break;
      case 'dkg-failed':
        this.now = e.now;
        if (this.dkg && this.dkg.epoch === e.epoch && this.dkg.attempt === e.attempt && this.dkg.status === 'running') {
          this.dkg.status = 'failed';
          this.dkg.at = e.now;
        }
        break;
      case 'dkg-result':
        this.onAttestation(e.epoch, e.index, e.handover);
        break;
      case 'peer-attempt':
        this.now = e.now;
        this.joinPeerAttempt(e.epoch, e.attempt, out);
        return out;
      case 'handover-signed':
        this.signed.add(`${e.oldEpoch}:${hex(e.handover)}`);
        break;
    }
    this.evaluate(out);
    return out;
  }

  private onAttestation(epoch: number, index: number, handover: Uint8Array): void {
    const s = this.snapshot;
    if (!s || epoch !== s.currentEpoch + 1) return;
    if (this.attestationEpoch !== epoch) {
      this.attestations = new Map();
      this.attestationEpoch = epoch;
    }
    const h = hex(handover);
    // One vote per member: a member that changes its answer (a new attempt) moves its vote.
    for (const [k, set] of this.attestations) if (k !== h) set.delete(index);
    const set = this.attestations.get(h) ?? new Set<number>();
    set.add(index);
    this.attestations.set(h, set);
  }

  private evaluate(out: EpochAction[]): void {
    const s = this.snapshot;
    if (!s) return;
    this.activate(s, out);
    this.runDkg(s, out);
    this.signHandover(s, out);
  }

  private activate(s: ChainSnapshot, out: EpochAction[]): void {
    if (!s.current) return;
    const mine = this.keys.get(s.currentEpoch);
    const member = mine !== undefined && mine === hex(s.current.groupKey) && memberIndexOf(s.current.committee, this.o.self) !== undefined;
    // A member whose share is not known yet serves as an observer and is activated as a member as soon
    // as the matching share is known (a share of another ceremony never matches the chain's key).
    const state = `${member ? 'member' : 'observer'}:${s.currentEpoch}`;
    if (state === this.activation) return;
    this.activation = state;
    this.activated = member ? s.currentEpoch : undefined;
    out.push({ type: 'activate', epoch: s.currentEpoch, member });
  }
  private activation = '';

  private blocked(out: EpochAction[], reason: string): void {
    if (reason === this.lastBlocked) return;
    this.lastBlocked = reason;
    out.push({ type: 'blocked', reason });
  }

  private runDkg(s: ChainSnapshot, out: EpochAction[]): void {
    const target = s.currentEpoch + 1;
    const d = this.dkg;
    // A ceremony for an epoch the chain already reached (or passed) is over.
    if (d && d.epoch <= s.currentEpoch) {
      if (d.status === 'running') out.push({ type: 'abort-dkg', epoch: d.epoch, attempt: d.attempt, reason: `epoch ${d.epoch} is already active on chain` });
      this.dkg = undefined;
    }
    const next = s.next;
    const root = hex(next.membersRoot);
    const payouts = hex(next.payoutsRoot);
    const genesis = s.currentEpoch === 0;
    const due = genesis ? 0 : (s.current!.activatedAt + s.epochLength) * 1000;
    // The window the clock is in (negative before the due time).
    const window = Math.floor((this.now - due) / this.o.retryMs);
    if (!genesis) this.observe(target, `${root}:${payouts}`, window);
    const index = memberIndexOf({ epoch: target, threshold: next.threshold, members: next.members }, this.o.self);
    const cur = this.dkg;
    if (index === undefined) {
      if (cur?.status === 'running') out.push({ type: 'abort-dkg', epoch: cur.epoch, attempt: cur.attempt, reason: 'this operator is not in the committee the chain selects now' });
      if (cur) this.dkg = undefined;
      return;
    }
    if (next.members.length === 0) return;
    const missing = next.members.filter((m) => m.encryptionKey.every((b) => b === 0));
    if (missing.length > 0) return this.blocked(out, `epoch ${target}: members ${missing.map((m) => m.index).join(', ')} published no node info (encryption key); the DKG waits`);
    if (genesis) return this.runGenesis(out, target, index, s, root);
    if (this.now < due) return;
    const align = this.align!;
    if (!cur || cur.epoch !== target) return this.startAligned(out, target, align.min, index, s, due);
    if (cur.membersRoot !== root || cur.payoutsRoot !== payouts) {
      // Everyone sees the change within a poll: all of them abandon this attempt and run the next window's.
      if (cur.status === 'running') out.push({ type: 'abort-dkg', epoch: cur.epoch, attempt: cur.attempt, reason: 'the chain selects another committee now' });
      cur.status = 'failed';
      cur.at = this.now;
      cur.membersRoot = root;
      cur.payoutsRoot = payouts;
      delete cur.handover;
      align.min = Math.max(align.min, window + 1);
    }
    if (cur.status === 'running') return;
    if (cur.status === 'done') {
      if (cur.handover && this.now - cur.at >= (this.o.republishMs ?? 3000)) {
        cur.at = this.now;
        out.push({ type: 'publish-dkg-result', epoch: cur.epoch, attempt: cur.attempt });
      }
      // No handover by the end of our window plus one whole window: the others failed (and retried
      // without us); join the attempt of the window then current.
      return this.startAligned(out, target, Math.max(cur.attempt + 2, align.min), index, s, due);
    }
    return this.startAligned(out, target, Math.max(cur.attempt + 1, align.min), index, s, due);
  }

  /**
   * Our ceremony ended (done alone, or failed) but the others run a later attempt — the one of the window
   * the clock is in now: join it at once rather than a window later. (A member that started late can
   * finish an attempt on re-sent deals that the others already failed; without this it sat one out.)
   */
  private joinPeerAttempt(epoch: number, attempt: number, out: EpochAction[]): void {
    const s = this.snapshot;
    const cur = this.dkg;
    if (!s || !s.current || !cur || cur.epoch !== epoch || epoch !== s.currentEpoch + 1) return;
    if (cur.status === 'running' || attempt <= cur.attempt) return;
    const due = (s.current.activatedAt + s.epochLength) * 1000;
    if (attempt !== Math.floor((this.now - due) / this.o.retryMs)) return; // only the attempt of this window
    const index = memberIndexOf({ epoch, threshold: s.next.threshold, members: s.next.members }, this.o.self);
    if (index === undefined || hex(s.next.membersRoot) !== cur.membersRoot) return;
    this.start(out, epoch, attempt, index, s);
  }

  /** Tracks the chain's next committee for `target`; a change pushes the next attempt past `window`. */
  private observe(target: number, roots: string, window: number): void {
    const a = this.align;
    if (!a || a.epoch !== target) {
      this.align = { epoch: target, roots, min: 0, keySeen: false };
    } else if (a.roots !== roots) {
      a.roots = roots;
      a.min = Math.max(a.min, window + 1);
    }
    const al = this.align!;
    // A share for the target epoch with no ceremony of ours behind it (made before a restart, or by a
    // ceremony we dropped out of): it may come from the attempt of the current window, which the others
    // do not run again, so that one attempt is skipped; later windows are started as usual.
    if (!al.keySeen && this.keys.has(target) && !(this.dkg && this.dkg.epoch === target)) {
      al.keySeen = true;
      al.min = Math.max(al.min, window + 1);
    }
  }

  /** Starts the attempt of the current window if it is `min` or later and its window began < retryMs/3 ago. */
  private startAligned(out: EpochAction[], target: number, min: number, index: number, s: ChainSnapshot, due: number): void {
    if (this.now < due) return;
    const window = Math.floor((this.now - due) / this.o.retryMs);
    if (window < min) return;
    if (this.now - (due + window * this.o.retryMs) >= this.o.retryMs / 3) return; // too late: wait for the next window
    this.start(out, target, window, index, s);
  }

  /** Genesis: no chain time to align on; attempt 0 at once, retries after a pause, restart on a change. */
  private runGenesis(out: EpochAction[], target: number, index: number, s: ChainSnapshot, root: string): void {
    const cur = this.dkg;
    if (cur && cur.epoch === target) {
      // initGenesis takes no payoutsRoot: only the members matter.
      if (cur.membersRoot !== root) {
        if (cur.status === 'running') out.push({ type: 'abort-dkg', epoch: cur.epoch, attempt: cur.attempt, reason: 'the chain selects another committee now' });
        return this.start(out, target, cur.attempt + 1, index, s);
      }
      if (cur.status === 'done') {
        if (cur.handover && this.now - cur.at >= (this.o.republishMs ?? 3000)) {
          cur.at = this.now;
          out.push({ type: 'publish-dkg-result', epoch: cur.epoch, attempt: cur.attempt });
        }
        return;
      }
      if (cur.status === 'failed' && this.now - cur.at >= this.o.retryMs / 4) this.start(out, target, cur.attempt + 1, index, s);
      return;
    }
    if (this.keys.has(target)) return; // made before a restart; the genesis authority installs it
    this.start(out, target, 0, index, s);
  }

  private start(out: EpochAction[], epoch: number, attempt: number, index: number, s: ChainSnapshot): void {
    this.dkg = { epoch, attempt, membersRoot: hex(s.next.membersRoot), payoutsRoot: hex(s.next.payoutsRoot), status: 'running', at: this.now };
    this.lastBlocked = '';
    out.push({
      type: 'start-dkg',
      epoch,
      attempt,
      committee: { epoch, threshold: s.next.threshold, members: s.next.members },
      index,
      membersRoot: s.next.membersRoot,
      payoutsRoot: s.next.payoutsRoot,
    });
  }

  private signHandover(s: ChainSnapshot, out: EpochAction[]): void {
    if (!s.current || this.activated !== s.currentEpoch || this.attestationEpoch !== s.currentEpoch + 1) return;
    // Only a member serving the current epoch signs its handover (activated === currentEpoch).
    for (const [h, voters] of this.attestations) {
      if (voters.size < s.next.threshold) continue;
      if (this.signed.has(`${s.currentEpoch}:${h}`)) continue;
      const reason = handoverMismatch(h, s);
      if (reason) continue;
      this.signed.add(`${s.currentEpoch}:${h}`);
      out.push({ type: 'sign-handover', oldEpoch: s.currentEpoch, handover: hexToBytes(h) });
    }
  }
}

const hexToBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));

/**
 * Why `handover` is not the handover the chain expects now (domain, epochs, committee size, threshold,
 * members and payouts of the committee it selects), or undefined when it is. Group key and sharesRoot
 * are checked against the commitments by the caller.
 */
export function handoverMismatch(handover: string | Uint8Array, s: ChainSnapshot): string | undefined {
  let h;
  try {
    h = decodeHandover(typeof handover === 'string' ? hexToBytes(handover) : handover);
  } catch (err) {
    return `malformed handover: ${(err as Error).message}`;
  }
  if (hex(h.domain) !== hex(s.domain)) return 'handover for another deployment (domain)';
  if (h.oldEpoch !== BigInt(s.currentEpoch)) return `handover from epoch ${h.oldEpoch}, current epoch is ${s.currentEpoch}`;
  if (h.committeeSize !== s.next.members.length) return `handover names ${h.committeeSize} members, the chain selects ${s.next.members.length}`;
  if (h.threshold !== s.next.threshold) return `handover threshold ${h.threshold}, expected ${s.next.threshold}`;
  if (hex(h.membersRoot) !== hex(s.next.membersRoot)) return 'handover names another committee (membersRoot)';
  if (hex(h.payoutsRoot) !== hex(s.next.payoutsRoot)) return 'handover carries another payout table (payoutsRoot)';
  return undefined;
}
