// The epoch state machine, pure: fed chain snapshots, DKG outcomes, peers' DKG results and timer ticks,
// it returns what the node must do (start/abort a DKG, publish its DKG result, sign a handover, switch
// keys). All I/O, signatures and crypto checks live in manager.ts, so the hard cases (committee changes
// mid-DKG, failed ceremonies, late members, genesis) are tested here without processes.
//
// Schedule: epoch E+1's DKG is due `epochLength` seconds after E was activated (chain time); attempt k
// of a rotation starts `k × retryMs` after that, so members that fail together retry together and a
// restarted member joins the attempt in progress. The DKG runs among the committee the chain selects
// now (CommitteeRegistry.nextCommittee); if that changes before the handover lands (a stake, an
// unbonding), the ceremony is abandoned and the next attempt runs with the new committee. The current
// committee keeps serving throughout, so a failed or abandoned DKG never leaves a gap.
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
  | { type: 'handover-signed'; oldEpoch: number; handover: Uint8Array };

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
        if (this.dkg && this.dkg.epoch === e.epoch && this.dkg.attempt === e.attempt) {
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
        if (this.dkg && this.dkg.epoch === e.epoch && this.dkg.attempt === e.attempt) {
          this.dkg.status = 'failed';
          this.dkg.at = e.now;
        }
        break;
      case 'dkg-result':
        this.onAttestation(e.epoch, e.index, e.handover);
        break;
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
    const index = memberIndexOf({ epoch: target, threshold: next.threshold, members: next.members }, this.o.self);
    const root = hex(next.membersRoot);
    const payouts = hex(next.payoutsRoot);
    const cur = this.dkg;
    if (index === undefined) {
      if (cur?.status === 'running') out.push({ type: 'abort-dkg', epoch: cur.epoch, attempt: cur.attempt, reason: 'this operator is not in the committee the chain selects now' });
      if (cur) this.dkg = undefined;
      return;
    }
    if (next.members.length === 0) return;
    const missing = next.members.filter((m) => m.encryptionKey.every((b) => b === 0));
    if (missing.length > 0) return this.blocked(out, `epoch ${target}: members ${missing.map((m) => m.index).join(', ')} published no node info (encryption key); the DKG waits`);
    const genesis = s.currentEpoch === 0;
    const due = genesis ? 0 : (s.current!.activatedAt + s.epochLength) * 1000;
    if (this.now < due) return;
    const windowAttempt = genesis ? 0 : Math.floor((this.now - due) / this.o.retryMs);
    if (cur && cur.epoch === target) {
      const committeeChanged = cur.membersRoot !== root || (!genesis && cur.payoutsRoot !== payouts);
      if (committeeChanged) {
        if (cur.status === 'running') out.push({ type: 'abort-dkg', epoch: cur.epoch, attempt: cur.attempt, reason: 'the chain selects another committee now' });
        // Everyone sees the change within a poll: the next attempt starts at once for all of them.
        return this.start(out, target, Math.max(cur.attempt + 1, windowAttempt), index, s);
      }
      if (cur.status === 'running') return;
      if (cur.status === 'done') {
        if (cur.handover && this.now - cur.at >= (this.o.republishMs ?? 3000)) {
          cur.at = this.now;
          out.push({ type: 'publish-dkg-result', epoch: cur.epoch, attempt: cur.attempt });
        }
        return;
      }
      // failed: genesis retries after a pause; rotations at the next attempt window
      if (genesis) {
        if (this.now - cur.at >= this.o.retryMs / 4) this.start(out, target, cur.attempt + 1, index, s);
        return;
      }
      const nextAttempt = Math.max(cur.attempt + 1, windowAttempt);
      if (this.now >= due + nextAttempt * this.o.retryMs) this.start(out, target, nextAttempt, index, s);
      return;
    }
    if (this.keys.has(target)) return; // made before a restart; nothing to redo until the chain moves
    this.start(out, target, windowAttempt, index, s);
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
