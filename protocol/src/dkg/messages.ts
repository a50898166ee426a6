// DKG messages: plain objects (numbers, strings, Uint8Array, arrays) so any codec (CBOR on the wire)
// carries them. Every one is broadcast to the whole committee; shares inside a deal are encrypted per
// recipient, so broadcasting them leaks nothing.
import { DkgError } from '../errors.ts';

export const DKG_SESSION_LENGTH = 32;
export const DKG_NONCE_LENGTH = 24;
/** 32-byte share + 16-byte Poly1305 tag. */
export const DKG_CIPHERTEXT_LENGTH = 48;
export const DKG_SHARE_LENGTH = 32;
export const DKG_COMMITMENT_LENGTH = 96;

export interface EncryptedShare {
  to: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

export interface DealMessage {
  type: 'deal';
  session: Uint8Array;
  dealer: number;
  /** Feldman commitments to the dealer's polynomial, t compressed G2 points (C_0 first). */
  commitments: Uint8Array[];
  /** One encrypted share for every other member. */
  shares: EncryptedShare[];
}

export interface ComplaintMessage {
  type: 'complaint';
  session: Uint8Array;
  from: number;
  /** Dealers whose share to `from` failed to decrypt or to match their commitments. */
  against: number[];
}

export interface JustificationMessage {
  type: 'justification';
  session: Uint8Array;
  dealer: number;
  /** The shares complained about, revealed in clear so everyone can check them. */
  shares: { to: number; value: Uint8Array }[];
}

export type DkgMessage = DealMessage | ComplaintMessage | JustificationMessage;

export interface DkgOutgoing {
  to: 'all';
  message: DkgMessage;
}

const isBytes = (v: unknown, len?: number): v is Uint8Array => v instanceof Uint8Array && (len === undefined || v.length === len);
const isIndex = (v: unknown, n: number): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= n;

function fail(what: string): never {
  throw new DkgError(`malformed DKG message: ${what}`, 'DKG_MALFORMED');
}

/**
 * Structural validation of an untrusted message for a committee of n with threshold t. Cryptographic
 * checks (points, shares) happen in the participant, which can then blame the sender.
 */
export function validateDkgMessage(msg: unknown, n: number, t: number): DkgMessage {
  if (typeof msg !== 'object' || msg === null) fail('not an object');
  const m = msg as Record<string, unknown>;
  if (!isBytes(m.session, DKG_SESSION_LENGTH)) fail(`session must be ${DKG_SESSION_LENGTH} bytes`);
  switch (m.type) {
    case 'deal': {
      if (!isIndex(m.dealer, n)) fail(`dealer must be in 1..${n}`);
      if (!Array.isArray(m.commitments) || m.commitments.length !== t) fail(`deal needs exactly t=${t} commitments`);
      if (!m.commitments.every((c) => isBytes(c, DKG_COMMITMENT_LENGTH))) fail(`commitments must be ${DKG_COMMITMENT_LENGTH}-byte G2 points`);
      if (!Array.isArray(m.shares) || m.shares.length > n) fail(`deal carries at most n=${n} shares`);
      const seen = new Set<number>();
      for (const s of m.shares as unknown[]) {
        const e = s as Record<string, unknown>;
        if (typeof s !== 'object' || s === null || !isIndex(e.to, n)) fail('share recipient out of range');
        if (seen.has(e.to as number)) fail(`two shares for member ${e.to}`);
        seen.add(e.to as number);
        if (!isBytes(e.nonce, DKG_NONCE_LENGTH) || !isBytes(e.ciphertext, DKG_CIPHERTEXT_LENGTH)) fail('encrypted share has wrong sizes');
      }
      return m as unknown as DealMessage;
    }
    case 'complaint': {
      if (!isIndex(m.from, n)) fail(`complainer must be in 1..${n}`);
      if (!Array.isArray(m.against) || m.against.length > n || !m.against.every((d) => isIndex(d, n))) fail('complaint list invalid');
      if (new Set(m.against).size !== m.against.length) fail('duplicate dealer in complaint');
      return m as unknown as ComplaintMessage;
    }
    case 'justification': {
      if (!isIndex(m.dealer, n)) fail(`dealer must be in 1..${n}`);
      if (!Array.isArray(m.shares) || m.shares.length > n) fail('justification share list invalid');
      for (const s of m.shares as unknown[]) {
        const e = s as Record<string, unknown>;
        if (typeof s !== 'object' || s === null || !isIndex(e.to, n) || !isBytes(e.value, DKG_SHARE_LENGTH)) fail('revealed share invalid');
      }
      return m as unknown as JustificationMessage;
    }
    default:
      fail(`unknown type ${String(m.type)}`);
  }
}
