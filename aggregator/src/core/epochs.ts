// Per-epoch verification state: which operator is which member index in an epoch, and the epoch's public
// sharing (the DKG's Feldman commitments) with the verifier built from it.
//
// * fixed: one configured epoch (today's config committee + sharing); senders are named by their Hello index.
// * chain: the current epoch comes from CommitteeRegistry (setCurrent), each epoch's committee and what the
//   chain installed for it (compressed group key, sharesRoot) from the registry too (setCommittee). Sharings
//   arrive from the next committee's `dkg-result` messages (offer) and are ACCEPTED only when they match the
//   chain: commitment 0 is the epoch's group key and keccak of the uncompressed public shares is its
//   sharesRoot, so a hostile member's commitments are never used. Candidates that arrive before the chain
//   has the epoch (the DKG runs before the handover lands) are kept, bounded, until it does.
import { EventEmitter } from 'node:events';
import { keccak256 } from 'viem';
import { PublicSharing, sharesRoot } from '@destra/protocol';
import { AggregatorVerifier } from './group-check.ts';
import { equalBytes } from './hex.ts';
import type { ShareVerifier } from './types.ts';

/** One member of an epoch's committee. */
export interface EpochMember {
  /** 1-based index in the epoch's committee (key share index). */
  index: number;
  /** Compressed G2 operator key, 0x-hex: the operator's identity across epochs. */
  operatorKey: string;
  /** The operator's Ethereum address (chain committees): evidence for slashing names members by it. */
  address?: string;
}

export interface EpochCommitteeInfo {
  epoch: number;
  threshold: number;
  size: number;
  /** Members in index order. Empty for a fixed committee, whose senders are named by their Hello index. */
  members: readonly EpochMember[];
  /** What the chain installed for the epoch; a sharing is accepted only when it matches both. */
  expected?: {
    /** Compressed G2 (96 bytes). */
    groupKey: Uint8Array;
    /** keccak256 of the uncompressed public shares (32 bytes). */
    sharesRoot: Uint8Array;
  };
}

export interface EpochEntry {
  epoch: number;
  committee: EpochCommitteeInfo;
  /** The public sharing (absent only for a fixed committee built from a bare verifier). */
  sharing?: PublicSharing;
  verifier: ShareVerifier;
  /** Where the sharing came from: 'config', 'store', 'dkg-result from operator 0x…'. */
  source: string;
}

export type EpochLookup =
  | { status: 'ready'; entry: EpochEntry }
  /** The epoch may become ready (its sharing or committee is not known yet): hold its input. */
  | { status: 'pending'; reason: string }
  | { status: 'refused'; reason: string };

export type OfferResult =
  | { status: 'accepted'; entry: EpochEntry }
  /** The epoch already has this sharing. */
  | { status: 'known' }
  /** Kept until the chain has the epoch. */
  | { status: 'held'; reason: string }
  | { status: 'refused'; reason: string };

/** What the book needs to know about a sender (the host's PeerInfo fits). */
export interface SenderInfo {
  role: string;
  index: number;
  /** 0x-hex compressed G2 operator key. */
  operatorKey?: string;
}

export interface BookLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface EpochBookOptions {
  /** Epochs behind the current one that stay usable (their results still land on Ethereum in the grace window). Default 1. */
  keepBehind?: number;
  /** Epochs ahead of the current one whose input is held and whose candidate sharings are kept. Default 1. */
  lookAhead?: number;
  /** Distinct candidate sharings kept per sender and epoch (a DKG may be retried). Default 4. */
  maxCandidatesPerSender?: number;
  /** Builds the verifier of an accepted sharing (default AggregatorVerifier.create). */
  makeVerifier?: (sharing: PublicSharing) => Promise<ShareVerifier>;
  log?: BookLog;
}

export interface EpochBookEvents {
  /** An epoch's sharing became known (its input can be processed now). */
  ready: [EpochEntry];
  /** The chain's current epoch changed. */
  current: [number];
  /** An epoch fell out of the window (its state is dropped). */
  retired: [number];
  /** A candidate sharing did not match the chain (a hostile or broken member). */
  refused: [{ epoch: number; source: string; reason: string }];
}

interface Candidate {
  hash: string;
  commitments: Uint8Array[];
  source: string;
}

const G2_COMPRESSED = 96;
const MAX_COMMITMENTS = 256;

function commitmentsHash(commitments: readonly Uint8Array[]): string {
  const all = new Uint8Array(commitments.length * G2_COMPRESSED);
  commitments.forEach((c, i) => all.set(c, i * G2_COMPRESSED));
  return keccak256(all);
}

const lower = (k: string): string => k.toLowerCase();

export class EpochBook extends EventEmitter<EpochBookEvents> {
  readonly mode: 'fixed' | 'chain';
  private currentEpoch: number | undefined;
  private readonly committees = new Map<number, EpochCommitteeInfo>();
  private readonly entries = new Map<number, EpochEntry>();
  /** epoch → sender → candidates (oldest first). */
  private readonly candidates = new Map<number, Map<string, Candidate[]>>();
  /** epoch → hashes of commitments already found not to match the chain. */
  private readonly refusedHashes = new Map<number, Map<string, string>>();
  /** epoch → evaluation in progress (serialises verifier construction). */
  private readonly evaluating = new Map<number, Promise<void>>();
  private readonly keepBehind: number;
  private readonly lookAhead: number;
  private readonly maxPerSender: number;
  private readonly makeVerifier: (sharing: PublicSharing) => Promise<ShareVerifier>;
  private readonly log: BookLog | undefined;

  private constructor(mode: 'fixed' | 'chain', o: EpochBookOptions = {}) {
    super();
    this.mode = mode;
    this.keepBehind = o.keepBehind ?? 1;
    this.lookAhead = o.lookAhead ?? 1;
    this.maxPerSender = o.maxCandidatesPerSender ?? 4;
    this.makeVerifier = o.makeVerifier ?? ((s) => AggregatorVerifier.create(s));
    this.log = o.log;
  }

  /** A chain-driven book: empty until setCurrent / setCommittee / offer. */
  static chain(o: EpochBookOptions = {}): EpochBook {
    return new EpochBook('chain', o);
  }

  /**
   * A fixed committee (config): one epoch, its verifier, senders named by Hello index. `members` (index ↔
   * operator key) is optional: with it, a sender must also hold the listed key.
   */
  static fixed(p: { epoch: number; verifier: ShareVerifier; sharing?: PublicSharing; members?: readonly EpochMember[]; source?: string }, o: EpochBookOptions = {}): EpochBook {
    const b = new EpochBook('fixed', o);
    const committee: EpochCommitteeInfo = { epoch: p.epoch, threshold: p.verifier.threshold, size: p.verifier.sharing.size, members: p.members ?? [] };
    b.currentEpoch = p.epoch;
    b.committees.set(p.epoch, committee);
    b.entries.set(p.epoch, { epoch: p.epoch, committee, verifier: p.verifier, source: p.source ?? 'config', ...(p.sharing ? { sharing: p.sharing } : {}) });
    return b;
  }

  /** The chain's current epoch (fixed: the configured one); undefined until the chain was read. */
  get current(): number | undefined {
    return this.currentEpoch;
  }

  /** Epochs whose sharing is known, ascending. */
  get readyEpochs(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  entry(epoch: number): EpochEntry | undefined {
    return this.entries.get(epoch);
  }

  /** Distinct candidate sharings kept for an epoch the registry has not installed (or not matched) yet. */
  candidateCount(epoch: number): number {
    const hashes = new Set<string>();
    for (const list of this.candidates.get(epoch)?.values() ?? []) for (const c of list) hashes.add(c.hash);
    return hashes.size;
  }

  committee(epoch: number): EpochCommitteeInfo | undefined {
    return this.committees.get(epoch);
  }

  /** The group key (compressed) an epoch's signatures verify under: the chain's, else the sharing's. */
  groupKey(epoch: number): Uint8Array | undefined {
    return this.committees.get(epoch)?.expected?.groupKey ?? this.entries.get(epoch)?.sharing?.groupKeyBytes;
  }

  /** The sender's member index in the epoch (fixed: its Hello index); undefined when it is not a member or the committee is unknown. */
  memberIndexOf(epoch: number, from: SenderInfo): number | undefined {
    const c = this.committees.get(epoch);
    if (!c) return undefined;
    if (c.members.length === 0) return this.mode === 'fixed' ? from.index : undefined;
    if (from.operatorKey === undefined) return undefined;
    const key = lower(from.operatorKey);
    return c.members.find((m) => lower(m.operatorKey) === key)?.index;
  }

  /** Whether input for `epoch` can be processed now, may be later (hold it), or never. */
  lookup(epoch: number): EpochLookup {
    const e = this.entries.get(epoch);
    if (e) return { status: 'ready', entry: e };
    const cur = this.currentEpoch;
    if (this.mode === 'fixed') return { status: 'refused', reason: `epoch ${epoch} is not the current epoch ${cur}` };
    if (cur === undefined) return { status: 'pending', reason: 'the registry has not been read yet' };
    if (epoch < cur - this.keepBehind) return { status: 'refused', reason: `epoch ${epoch} is retired (the registry is at epoch ${cur})` };
    if (epoch > cur + this.lookAhead) return { status: 'refused', reason: `epoch ${epoch} is ahead of the registry's epoch ${cur}` };
    if (!this.committees.has(epoch)) return { status: 'pending', reason: `epoch ${epoch} is not installed on the registry (yet)` };
    return { status: 'pending', reason: `epoch ${epoch}'s sharing is not known yet (no dkg-result matching the registry)` };
  }

  /**
   * The sender check for a partial or announcement: `from` must be the member that `index` names in
   * `epoch` (by operator key; fixed committee: by Hello index), and the epoch must be usable.
   */
  check(epoch: number, from: SenderInfo & { peerId?: string }, index: number): EpochLookup {
    if (from.role !== 'member') return { status: 'refused', reason: `peer ${from.peerId ?? '?'} is not a committee member` };
    const c = this.committees.get(epoch);
    if (this.mode === 'fixed') {
      if (from.index !== index) return { status: 'refused', reason: `member ${from.index} sent a message claiming index ${index}` };
      if (c && c.members.length > 0) {
        const m = c.members.find((x) => x.index === index);
        if (m && from.operatorKey !== undefined && lower(m.operatorKey) !== lower(from.operatorKey)) {
          return { status: 'refused', reason: `member ${index}'s operator key differs from the sender's` };
        }
      }
      return this.lookup(epoch);
    }
    const look = this.lookup(epoch);
    if (look.status === 'refused' || !c) return look;
    const mine = this.memberIndexOf(epoch, from);
    if (mine === undefined) return { status: 'refused', reason: `operator ${from.operatorKey ?? '(no key)'} (peer ${from.peerId ?? '?'}) is not a member of epoch ${epoch}` };
    if (mine !== index) return { status: 'refused', reason: `member ${mine} of epoch ${epoch} sent a message claiming index ${index}` };
    return look;
  }

  /** The registry moved to `epoch`: epochs outside the window are dropped (emits retired / current). */
  setCurrent(epoch: number): void {
    if (this.mode !== 'chain' || epoch === this.currentEpoch) return;
    this.currentEpoch = epoch;
    const lo = epoch - this.keepBehind;
    const hi = epoch + this.lookAhead;
    const retired = new Set<number>();
    for (const m of [this.entries, this.committees, this.candidates, this.refusedHashes] as Map<number, unknown>[]) {
      for (const e of [...m.keys()]) {
        if (e < lo || e > hi) {
          m.delete(e);
          if (e < lo) retired.add(e);
        }
      }
    }
    this.emit('current', epoch);
    for (const e of [...retired].sort((a, b) => a - b)) this.emit('retired', e);
  }

  /**
   * The registry's view of an epoch (committee, threshold, group key, sharesRoot). Candidate sharings for
   * the epoch are checked against it; resolves once that is done.
   */
  async setCommittee(info: EpochCommitteeInfo): Promise<void> {
    if (this.mode !== 'chain') return;
    if (!this.inWindow(info.epoch)) return;
    this.committees.set(info.epoch, info);
    await this.evaluate(info.epoch);
  }

  /**
   * A sharing for `epoch` (a dkg-result's commitments, a stored or configured one). `source` names who
   * sent it: one sender keeps at most maxCandidatesPerSender candidates per epoch. Accepted only when it
   * matches what the registry installed for the epoch; kept until then when the registry has not.
   */
  async offer(epoch: number, commitments: readonly Uint8Array[], source: string): Promise<OfferResult> {
    if (this.mode !== 'chain') return { status: 'refused', reason: 'the committee is fixed by the config' };
    if (!Number.isSafeInteger(epoch) || epoch < 1) return { status: 'refused', reason: `epoch ${epoch} is not a valid epoch` };
    if (commitments.length < 1 || commitments.length > MAX_COMMITMENTS || commitments.some((c) => !(c instanceof Uint8Array) || c.length !== G2_COMPRESSED)) {
      return { status: 'refused', reason: `expected 1..${MAX_COMMITMENTS} compressed G2 commitments of ${G2_COMPRESSED} bytes` };
    }
    const hash = commitmentsHash(commitments);
    const known = this.entries.get(epoch);
    if (known) {
      if (known.sharing && commitmentsHash(known.sharing.commitmentBytes()) === hash) return { status: 'known' };
      return { status: 'refused', reason: `epoch ${epoch} already has a sharing that matches the registry; these commitments differ` };
    }
    if (!this.inWindow(epoch)) return { status: 'refused', reason: `epoch ${epoch} is outside the window around the registry's epoch ${this.currentEpoch}` };
    const earlier = this.refusedHashes.get(epoch)?.get(hash);
    if (earlier) return { status: 'refused', reason: earlier };
    let bySender = this.candidates.get(epoch);
    if (!bySender) this.candidates.set(epoch, (bySender = new Map()));
    const list = bySender.get(source) ?? [];
    if (!list.some((c) => c.hash === hash)) {
      list.push({ hash, commitments: commitments.map((c) => Uint8Array.from(c)), source });
      while (list.length > this.maxPerSender) list.shift();
      bySender.set(source, list);
    }
    if (!this.committees.has(epoch)) return { status: 'held', reason: `epoch ${epoch} is not installed on the registry yet; the sharing is kept until it is` };
    await this.evaluate(epoch);
    const entry = this.entries.get(epoch);
    if (entry) return entry.sharing && commitmentsHash(entry.sharing.commitmentBytes()) === hash ? { status: 'accepted', entry } : { status: 'refused', reason: `epoch ${epoch} took another sharing` };
    return { status: 'refused', reason: this.refusedHashes.get(epoch)?.get(hash) ?? `epoch ${epoch}: not accepted` };
  }

  private inWindow(epoch: number): boolean {
    const cur = this.currentEpoch;
    if (cur === undefined) return true;
    return epoch >= cur - this.keepBehind && epoch <= cur + this.lookAhead;
  }

  /** Checks the epoch's candidates against the registry, one evaluation at a time per epoch. */
  private evaluate(epoch: number): Promise<void> {
    const prev = this.evaluating.get(epoch) ?? Promise.resolve();
    const run = prev.then(() => this.evaluateNow(epoch));
    const tail = run.catch(() => undefined).finally(() => {
      if (this.evaluating.get(epoch) === tail) this.evaluating.delete(epoch);
    });
    this.evaluating.set(epoch, tail);
    return run;
  }

  private async evaluateNow(epoch: number): Promise<void> {
    if (this.entries.has(epoch)) return;
    const info = this.committees.get(epoch);
    const bySender = this.candidates.get(epoch);
    if (!info || !bySender) return;
    let refused = this.refusedHashes.get(epoch);
    if (!refused) this.refusedHashes.set(epoch, (refused = new Map()));
    const tried = new Set<string>();
    for (const list of [...bySender.values()]) {
      for (const cand of [...list]) {
        if (tried.has(cand.hash) || refused.has(cand.hash)) continue;
        tried.add(cand.hash);
        const checked = matchChain(info, cand.commitments);
        if ('reason' in checked) {
          const reason = `commitments from ${cand.source} for epoch ${epoch} do not match the registry: ${checked.reason}`;
          refused.set(cand.hash, reason);
          this.log?.warn({ epoch, source: cand.source, reason: checked.reason }, 'sharing refused: it does not match the registry');
          this.emit('refused', { epoch, source: cand.source, reason });
          continue;
        }
        const verifier = await this.makeVerifier(checked.sharing);
        if (this.entries.has(epoch) || this.committees.get(epoch) !== info) return; // retired or replaced meanwhile
        const entry: EpochEntry = { epoch, committee: info, sharing: checked.sharing, verifier, source: cand.source };
        this.entries.set(epoch, entry);
        this.candidates.delete(epoch);
        this.log?.info({ epoch, source: cand.source, t: info.threshold, n: info.size }, 'epoch sharing accepted (matches the registry)');
        this.emit('ready', entry);
        return;
      }
    }
  }
}

/** The sharing when `commitments` are exactly what the registry installed for the epoch, else why not. */
export function matchChain(info: EpochCommitteeInfo, commitments: readonly Uint8Array[]): { sharing: PublicSharing } | { reason: string } {
  const exp = info.expected;
  if (!exp) return { reason: 'the registry view of the epoch carries no group key / sharesRoot' };
  if (commitments.length !== info.threshold) return { reason: `${commitments.length} commitments, the registry's threshold is ${info.threshold}` };
  // cheap first: commitment 0 is the group key (compressed encodings are canonical)
  if (!equalBytes(commitments[0]!, exp.groupKey)) return { reason: "the group key (commitment 0) is not the registry's" };
  let sharing: PublicSharing;
  try {
    sharing = PublicSharing.fromBytes(commitments, info.size);
  } catch (err) {
    return { reason: `the commitments do not decode: ${(err as Error).message}` };
  }
  const root = sharesRoot(sharing.publicShares().map((p) => p.toBytes(false)));
  if (!equalBytes(root, exp.sharesRoot)) return { reason: "the public shares do not hash to the registry's sharesRoot" };
  return { sharing };
}
