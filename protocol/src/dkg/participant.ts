// Joint-Feldman DKG (Pedersen; Gennaro et al.'s complaint/justification flow) as a pure state machine.
// The caller owns time: it feeds messages in with `handle`, and calls the phase-end methods when every
// expected message has arrived or the phase deadline passes. Members that stay silent are excluded and
// the rest finish; nothing here waits or aborts because someone went quiet.
//
//   start()                  -> deal            (commitments + one encrypted share per member)
//   onDealPhaseEnd()         -> complaint       (dealers whose share to me is missing, bad or late)
//   onComplaintPhaseEnd()    -> justification   (if I was complained about: the shares in clear)
//   onJustificationPhaseEnd()-> DkgResult       (qualified set, group key, my share, public shares)
//
// The qualified set must come out the same at every member, or their keys differ. So no member excludes
// a dealer on its own clock: a deal missing at my deadline becomes a public complaint, which the dealer
// answers like any other; a dealer is excluded only for what every member sees (a complaint left
// unanswered, a bad answer, two deals). Deals and complaints that arrive after their phase still count
// until the end (a late complaint gets a further justification), so members whose deadlines passed at
// different moments converge. A member that misses a deal the others hold drops out with
// DKG_MISSING_DEAL rather than derive a key of its own.
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { R_ORDER } from '../bls/curve.ts';
import { g2Compressed } from '../bls/encoding.ts';
import { commitToBytes, decodeCommitments, sumCommitments, type CommitmentSet } from './commitments.ts';
import { DkgError } from '../errors.ts';
import { evaluatePolynomial, randomPolynomial, type Rng } from '../threshold/polynomial.ts';
import { PublicSharing, assertThresholdParams, type KeyShare } from '../threshold/shares.ts';
import { decryptShare, encryptShare } from './encryption.ts';
import {
  DKG_SESSION_LENGTH,
  validateDkgMessage,
  type ComplaintMessage,
  type DealMessage,
  type DkgMessage,
  type DkgOutgoing,
  type JustificationMessage,
} from './messages.ts';

export interface DkgConfig {
  /** 32 bytes binding the ceremony (e.g. keccak(domain ‖ epoch ‖ members)); messages of other sessions are rejected. */
  session: Uint8Array;
  /** This member's index, 1..n. */
  index: number;
  n: number;
  t: number;
  /** This member's X25519 secret key (32 bytes). */
  encryptionKey: Uint8Array;
  /** X25519 public keys of all members, position i-1 for member i. */
  peerEncryptionKeys: readonly Uint8Array[];
  rng?: Rng;
}

export type DkgPhase = 'init' | 'deal' | 'complaint' | 'justification' | 'done';

export type DisqualificationReason = 'silent' | 'bad-commitment' | 'equivocation' | 'unjustified-complaint' | 'bad-justification';

export interface DkgResult {
  index: number;
  n: number;
  t: number;
  /** Dealers whose contributions make up the key, ascending. */
  qualified: number[];
  disqualified: { dealer: number; reason: DisqualificationReason }[];
  /** 96-byte compressed G2 group public key. */
  groupPublicKey: Uint8Array;
  /** This member's final secret share. */
  share: KeyShare;
  /** Summed Feldman commitments (compressed G2), from which every member's public share follows. */
  commitments: Uint8Array[];
  sharing: PublicSharing;
}

/** Phases in which a message can still change the outcome: late deals and complaints count until the end. */
const ACCEPTED_IN: Record<DkgMessage['type'], readonly DkgPhase[]> = {
  deal: ['deal', 'complaint', 'justification'],
  complaint: ['complaint', 'justification'],
  justification: ['justification'],
};

interface ReceivedDeal {
  message: DealMessage;
  commitments: CommitmentSet;
}

const shareBytes = (v: bigint): Uint8Array => numberToBytesBE(v, 32);

export class DkgParticipant {
  readonly config: DkgConfig;
  private phaseValue: DkgPhase = 'init';
  private coefficients: bigint[] = [];
  private readonly deals = new Map<number, ReceivedDeal>();
  private readonly myShares = new Map<number, bigint>();
  private readonly disqualified = new Map<number, DisqualificationReason>();
  private readonly complaints = new Map<number, Set<number>>(); // dealer -> complainers
  private readonly complaintSenders = new Set<number>();
  /** dealer -> shares revealed in its justifications (several when complaints came late), by recipient. */
  private readonly justifications = new Map<number, Map<number, bigint>>();
  private result: DkgResult | undefined;

  constructor(config: DkgConfig) {
    assertThresholdParams(config.t, config.n);
    if (!Number.isInteger(config.index) || config.index < 1 || config.index > config.n) {
      throw new DkgError(`own index ${config.index} is outside 1..${config.n}`);
    }
    if (!(config.session instanceof Uint8Array) || config.session.length !== DKG_SESSION_LENGTH) {
      throw new DkgError(`session must be ${DKG_SESSION_LENGTH} bytes`);
    }
    if (config.peerEncryptionKeys.length !== config.n || config.peerEncryptionKeys.some((k) => k.length !== 32)) {
      throw new DkgError(`need one 32-byte X25519 public key per member (n=${config.n})`);
    }
    this.config = config;
  }

  get phase(): DkgPhase {
    return this.phaseValue;
  }

  private get rng(): Rng {
    return this.config.rng ?? randomBytes;
  }

  /** Deals: a fresh random polynomial of degree t-1, its commitments, and every member's encrypted share. */
  start(): DkgOutgoing[] {
    this.expectPhase('init', 'start');
    this.coefficients = randomPolynomial(this.config.t, undefined, this.rng);
    const deal = buildDeal(this.config, this.coefficients, this.rng);
    this.phaseValue = 'deal';
    this.acceptDeal(deal);
    return [{ to: 'all', message: deal }];
  }

  /** Whether a message of this type can still be handled now (false: too early, or its phase is over for good). */
  accepts(type: DkgMessage['type']): boolean {
    return ACCEPTED_IN[type].includes(this.phaseValue);
  }

  /**
   * Feeds one incoming message; returns what to broadcast (a further justification when a complaint
   * against this member comes late). Throws DkgError for malformed or out-of-phase messages (log and drop).
   */
  handle(raw: unknown): DkgOutgoing[] {
    const msg = validateDkgMessage(raw, this.config.n, this.config.t);
    if (!bytesEqual(msg.session, this.config.session)) throw new DkgError('message belongs to another DKG session', 'DKG_SESSION');
    if (!this.accepts(msg.type)) throw new DkgError(`a ${msg.type} is not allowed in phase '${this.phaseValue}'`, 'DKG_PHASE');
    switch (msg.type) {
      case 'deal':
        this.acceptDeal(msg);
        return [];
      case 'complaint':
        this.acceptComplaint(msg);
        return this.phaseValue === 'justification' ? this.justify() : [];
      case 'justification':
        this.acceptJustification(msg);
        return [];
    }
  }

  /** True once every member's deal arrived (the caller may end the phase before its deadline). */
  hasAllDeals(): boolean {
    return this.deals.size + [...this.disqualified.keys()].filter((d) => !this.deals.has(d)).length >= this.config.n;
  }

  hasAllComplaints(): boolean {
    return this.complaintSenders.size >= this.config.n;
  }

  /**
   * True once every dealer complained about (by anyone) is out, or has answered every complaint and its
   * deal is here (a deal that missed my deadline is still on its way: the dealer re-broadcasts it).
   */
  hasAllJustifications(): boolean {
    return [...this.complaints].every(
      ([d, complainers]) => this.disqualified.has(d) || (this.deals.has(d) && [...complainers].every((to) => this.justifications.get(d)?.has(to))),
    );
  }

  onDealPhaseEnd(): DkgOutgoing[] {
    this.expectPhase('deal', 'ending the deal phase');
    const against: number[] = [];
    for (let dealer = 1; dealer <= this.config.n; dealer++) {
      if (this.disqualified.has(dealer)) continue;
      const deal = this.deals.get(dealer);
      if (!deal) {
        // Not here by my deadline: complained about, not dropped; whether the dealer is out must not
        // depend on my clock (see the header).
        against.push(dealer);
        continue;
      }
      const share = dealer === this.config.index ? evaluatePolynomial(this.coefficients, this.config.index) : this.openShare(deal.message);
      if (share !== undefined && deal.commitments.verifyShare(share, this.config.index)) this.myShares.set(dealer, share);
      else against.push(dealer);
    }
    this.phaseValue = 'complaint';
    const complaint: ComplaintMessage = { type: 'complaint', session: this.config.session, from: this.config.index, against };
    this.acceptComplaint(complaint);
    return [{ to: 'all', message: complaint }];
  }

  onComplaintPhaseEnd(): DkgOutgoing[] {
    this.expectPhase('complaint', 'ending the complaint phase');
    this.phaseValue = 'justification';
    return this.justify();
  }

  /** Reveals, in clear, my shares for every complainer not answered yet. */
  private justify(): DkgOutgoing[] {
    const answered = this.justifications.get(this.config.index);
    const pending = [...(this.complaints.get(this.config.index) ?? [])].filter((to) => !answered?.has(to)).sort((a, b) => a - b);
    if (pending.length === 0) return [];
    const justification: JustificationMessage = {
      type: 'justification',
      session: this.config.session,
      dealer: this.config.index,
      shares: pending.map((to) => ({ to, value: shareBytes(evaluatePolynomial(this.coefficients, to)) })),
    };
    this.acceptJustification(justification);
    return [{ to: 'all', message: justification }];
  }

  onJustificationPhaseEnd(): DkgResult {
    this.expectPhase('justification', 'ending the justification phase');
    for (const [dealer, complainers] of this.complaints) {
      if (complainers.size === 0 || this.disqualified.has(dealer)) continue;
      const revealed = this.justifications.get(dealer);
      const deal = this.deals.get(dealer);
      if (!revealed) {
        this.disqualified.set(dealer, deal ? 'unjustified-complaint' : 'silent');
        continue;
      }
      if (!deal) {
        // The others hold this deal (its dealer answered complaints) and will count it; a key without it
        // would be a different key, so this member leaves the ceremony instead.
        throw new DkgError(
          `dealer ${dealer} answered complaints but its deal never reached member ${this.config.index}; this member cannot derive the committee's key and leaves this ceremony`,
          'DKG_MISSING_DEAL',
        );
      }
      const ok = [...complainers].every((to) => {
        const v = revealed.get(to);
        return v !== undefined && deal.commitments.verifyShare(v, to);
      });
      if (!ok) {
        this.disqualified.set(dealer, 'bad-justification');
        continue;
      }
      const mine = revealed.get(this.config.index);
      if (complainers.has(this.config.index) && mine !== undefined) this.myShares.set(dealer, mine);
    }
    const qualified = [...this.deals.keys()].filter((d) => !this.disqualified.has(d)).sort((a, b) => a - b);
    if (qualified.length < this.config.t) {
      throw new DkgError(`only ${qualified.length} dealers qualified, need at least t=${this.config.t}; rerun the ceremony`, 'DKG_TOO_FEW_QUALIFIED');
    }
    let share = 0n;
    for (const d of qualified) {
      const s = this.myShares.get(d);
      if (s === undefined) throw new DkgError(`no valid share from qualified dealer ${d}`, 'DKG_MISSING_SHARE');
      share = (share + s) % R_ORDER;
    }
    const summed = sumCommitments(qualified.map((d) => this.deals.get(d)!.commitments), this.config.t);
    if (summed[0]!.is0()) throw new DkgError('group key is the identity; rerun the ceremony', 'DKG_IDENTITY_KEY');
    const sharing = new PublicSharing(summed, this.config.n);
    this.phaseValue = 'done';
    this.result = {
      index: this.config.index,
      n: this.config.n,
      t: this.config.t,
      qualified,
      disqualified: [...this.disqualified].map(([dealer, reason]) => ({ dealer, reason })).sort((a, b) => a.dealer - b.dealer),
      groupPublicKey: g2Compressed(summed[0]!),
      share: { index: this.config.index, value: share },
      commitments: summed.map((c) => g2Compressed(c)),
      sharing,
    };
    return this.result;
  }

  get output(): DkgResult | undefined {
    return this.result;
  }

  private expectPhase(phase: DkgPhase, what: string): void {
    if (this.phaseValue !== phase) throw new DkgError(`${what} is not allowed in phase '${this.phaseValue}'`, 'DKG_PHASE');
  }

  private acceptDeal(msg: DealMessage): void {
    const prev = this.deals.get(msg.dealer);
    if (prev) {
      if (!dealsEqual(prev.message, msg)) {
        this.deals.delete(msg.dealer);
        this.disqualified.set(msg.dealer, 'equivocation');
      }
      return;
    }
    if (this.disqualified.has(msg.dealer)) return;
    let commitments: CommitmentSet;
    try {
      commitments = decodeCommitments(msg.commitments);
    } catch {
      this.disqualified.set(msg.dealer, 'bad-commitment');
      return;
    }
    this.deals.set(msg.dealer, { message: msg, commitments });
  }

  private openShare(deal: DealMessage): bigint | undefined {
    const enc = deal.shares.find((s) => s.to === this.config.index);
    if (!enc) return undefined;
    const plain = decryptShare(
      this.config.encryptionKey,
      this.config.peerEncryptionKeys[deal.dealer - 1]!,
      this.config.session,
      deal.dealer,
      this.config.index,
      enc.nonce,
      enc.ciphertext,
    );
    return plain && plain.length === 32 ? bytesToNumberBE(plain) : undefined;
  }

  private acceptComplaint(msg: ComplaintMessage): void {
    if (this.complaintSenders.has(msg.from)) return; // one complaint bundle per member
    this.complaintSenders.add(msg.from);
    for (const dealer of msg.against) {
      if (dealer === msg.from) continue;
      let set = this.complaints.get(dealer);
      if (!set) this.complaints.set(dealer, (set = new Set()));
      set.add(msg.from);
    }
  }

  private acceptJustification(msg: JustificationMessage): void {
    let revealed = this.justifications.get(msg.dealer);
    if (!revealed) this.justifications.set(msg.dealer, (revealed = new Map()));
    for (const s of msg.shares) {
      const value = bytesToNumberBE(s.value);
      const before = revealed.get(s.to);
      // Two different shares revealed for one member: the dealer lies to someone.
      if (before !== undefined && before !== value && !this.disqualified.has(msg.dealer)) this.disqualified.set(msg.dealer, 'bad-justification');
      if (before === undefined) revealed.set(s.to, value);
    }
  }
}

/** Builds a dealer's broadcast: commitments to `coefficients` and each member's encrypted share. */
export function buildDeal(
  config: DkgConfig,
  coefficients: readonly bigint[],
  rng: Rng = randomBytes,
  shareFor: (to: number) => bigint = (to) => evaluatePolynomial(coefficients, to),
): DealMessage {
  const shares = [];
  for (let to = 1; to <= config.n; to++) {
    if (to === config.index) continue;
    const { nonce, ciphertext } = encryptShare(
      config.encryptionKey,
      config.peerEncryptionKeys[to - 1]!,
      config.session,
      config.index,
      to,
      shareBytes(shareFor(to)),
      rng,
    );
    shares.push({ to, nonce, ciphertext });
  }
  return {
    type: 'deal',
    session: config.session,
    dealer: config.index,
    commitments: commitToBytes(coefficients),
    shares,
  };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function dealsEqual(a: DealMessage, b: DealMessage): boolean {
  return (
    a.commitments.length === b.commitments.length &&
    a.commitments.every((c, i) => bytesEqual(c, b.commitments[i]!)) &&
    a.shares.length === b.shares.length &&
    a.shares.every((s, i) => s.to === b.shares[i]!.to && bytesEqual(s.ciphertext, b.shares[i]!.ciphertext) && bytesEqual(s.nonce, b.shares[i]!.nonce))
  );
}

export type { DkgMessage };
