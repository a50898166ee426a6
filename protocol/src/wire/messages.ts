// Every libp2p message of the destra network, version 1. Each has a `type` tag, a `v` version, a size
// limit checked before decoding, and a strict schema (unknown fields are rejected).
import { z } from 'zod';
import { MAX_REPORT_LENGTH } from '../report/report.ts';
import { MAX_BATCH_SIZE, MAX_PROOF_DEPTH } from '../report/merkle.ts';
import { defineMessage, decodeCbor, MAX_FRAME_BYTES, type MessageCodec } from './codec.ts';
import { WireError } from './errors.ts';
import { MAX_MEMBERS, bytes, bytes32, bytesUpTo, g1Bytes, g2Bytes, memberIndex, peerIndex, shortText, uint } from './fields.ts';

export const WIRE_VERSION = 1;
/** Largest model input carried in a RoundProposal. */
export const MAX_INPUT_BYTES = 1024 * 1024;
/** Most leaves in one BatchProposal / Combined broadcast. */
export const MAX_WIRE_BATCH = 1024;
export const MAX_MODEL_NAME = 128;
export const MAX_PEER_ID_BYTES = 64;

const reportBytes = bytesUpTo(MAX_REPORT_LENGTH, 1);

// ---- Admission -------------------------------------------------------------------------------------

export const PeerRole = { Member: 'member', Aggregator: 'aggregator' } as const;
export type PeerRole = (typeof PeerRole)[keyof typeof PeerRole];

export interface Hello {
  type: 'hello';
  v: 1;
  /** keccak256("destra:" + network): peers of another deployment are refused. */
  domain: Uint8Array;
  role: PeerRole;
  /**
   * Registration index: the member index of a fixed committee, or, where the chain is the registry, the
   * operator's 1-based position in CommitteeRegistry.operatorList (stable across epochs; a member's index
   * within an epoch's committee is looked up by its operator key). Aggregators: their registry index.
   */
  index: number;
  /** Registered operator BLS public key (compressed G2). */
  operatorKey: Uint8Array;
  /** The libp2p peer id (multihash bytes) this operator binds to. */
  peerId: Uint8Array;
  /** BLS signature by the operator key over `admissionMessage(domain, role, index, peerId)`. */
  signature: Uint8Array;
}

const helloSchema = z.strictObject({
  type: z.literal('hello'),
  v: z.literal(1),
  domain: bytes32,
  role: z.enum(['member', 'aggregator']),
  index: peerIndex,
  operatorKey: g2Bytes,
  peerId: bytesUpTo(MAX_PEER_ID_BYTES, 1),
  signature: g1Bytes,
});
export const HelloCodec: MessageCodec<Hello> = defineMessage<Hello>('hello', 1, 1024, helloSchema);

export interface Admission {
  type: 'admission';
  v: 1;
  accepted: boolean;
  /** Why a peer was refused (empty when accepted). */
  reason: string;
  /** The responder's own Hello, so admission is mutual. Null on refusal. */
  hello: Hello | null;
}

export const AdmissionCodec: MessageCodec<Admission> = defineMessage<Admission>(
  'admission',
  1,
  2048,
  z.strictObject({
    type: z.literal('admission'),
    v: z.literal(1),
    accepted: z.boolean(),
    reason: shortText(256),
    hello: helloSchema.nullable(),
  }),
);

// ---- Rounds ----------------------------------------------------------------------------------------

export interface PartialSignatureMsg {
  type: 'partial';
  v: 1;
  epoch: number;
  /** Report id (request id / on-demand id / feed id). */
  requestId: Uint8Array;
  /** Report round (feeds: one report per round under the same id; 0 otherwise). Conflicts key on (requestId, round). */
  round: number;
  /** Signer's member index. */
  index: number;
  /** The report bytes the signer built; the aggregator recomputes the leaf from them. */
  report: Uint8Array;
  /** reportLeaf(report): the digest signed as signingMessage(0x01, digest). */
  digest: Uint8Array;
  /** Partial signature by the signer's key share (compressed G1). */
  signature: Uint8Array;
}

export const PartialSignatureCodec: MessageCodec<PartialSignatureMsg> = defineMessage<PartialSignatureMsg>(
  'partial',
  1,
  2048,
  z.strictObject({
    type: z.literal('partial'),
    v: z.literal(1),
    epoch: uint,
    requestId: bytes32,
    round: uint,
    index: memberIndex,
    report: reportBytes,
    digest: bytes32,
    signature: g1Bytes,
  }),
);

export interface RoundProposal {
  type: 'round-proposal';
  v: 2;
  epoch: number;
  /** The leader (the node that took the HTTP request). */
  leader: number;
  /**
   * Report id: onDemandRequestId over this proposal's content and nonce (protocol/src/report/on-demand.ts);
   * members refuse a proposal whose id does not match, so one id always means one report.
   */
  requestId: Uint8Array;
  /** The leader's random 16 bytes in the id. */
  nonce: Uint8Array;
  /** Registered model name. */
  model: string;
  /** Canonical input bytes; every node hashes and runs them itself. */
  input: Uint8Array;
  /** Report timestamp (unix seconds) picked by the leader; followers check the skew. */
  timestamp: number;
  round: number;
}

export const RoundProposalCodec: MessageCodec<RoundProposal> = defineMessage<RoundProposal>(
  'round-proposal',
  2,
  MAX_INPUT_BYTES + 1024,
  z.strictObject({
    type: z.literal('round-proposal'),
    v: z.literal(2),
    epoch: uint,
    leader: memberIndex,
    requestId: bytes32,
    nonce: bytes(16),
    model: z.string().min(1).max(MAX_MODEL_NAME),
    input: bytesUpTo(MAX_INPUT_BYTES, 1),
    timestamp: uint,
    round: uint,
  }),
);

export interface BatchProposal {
  type: 'batch-proposal';
  v: 1;
  epoch: number;
  /** Aggregator-chosen batch id, unique per epoch. */
  batchId: number;
  /** Ordered leaves of the batch tree and the request each belongs to (same length). */
  requestIds: Uint8Array[];
  leaves: Uint8Array[];
}

export const BatchProposalCodec: MessageCodec<BatchProposal> = defineMessage<BatchProposal>(
  'batch-proposal',
  1,
  MAX_WIRE_BATCH * 80 + 1024,
  z
    .strictObject({
      type: z.literal('batch-proposal'),
      v: z.literal(1),
      epoch: uint,
      batchId: uint,
      requestIds: z.array(bytes32).min(1).max(MAX_WIRE_BATCH),
      leaves: z.array(bytes32).min(1).max(MAX_WIRE_BATCH),
    })
    .refine((m) => m.requestIds.length === m.leaves.length, { message: 'requestIds and leaves differ in length', path: ['leaves'] }),
);

/** Most entries in one ReportAnnouncement. */
export const MAX_ANNOUNCE_ENTRIES = 2048;

/**
 * Batch-mode input (member → aggregator, direct stream): the reports a member computed, as (request id,
 * leaf, report bytes). The aggregator batches leaves that t members agree on and proposes them.
 */
export interface ReportAnnouncement {
  type: 'report-announce';
  v: 1;
  epoch: number;
  /** Announcing member's index (must match the admitted connection). */
  index: number;
  requestIds: Uint8Array[];
  leaves: Uint8Array[];
  /** Report bytes per entry (same length as leaves), or empty when only leaves are announced. */
  reports: Uint8Array[];
}

export const ReportAnnouncementCodec: MessageCodec<ReportAnnouncement> = defineMessage<ReportAnnouncement>(
  'report-announce',
  1,
  MAX_ANNOUNCE_ENTRIES * (MAX_REPORT_LENGTH + 80) + 1024,
  z
    .strictObject({
      type: z.literal('report-announce'),
      v: z.literal(1),
      epoch: uint,
      index: memberIndex,
      requestIds: z.array(bytes32).min(1).max(MAX_ANNOUNCE_ENTRIES),
      leaves: z.array(bytes32).min(1).max(MAX_ANNOUNCE_ENTRIES),
      reports: z.array(reportBytes).max(MAX_ANNOUNCE_ENTRIES),
    })
    .refine((m) => m.requestIds.length === m.leaves.length, { message: 'requestIds and leaves differ in length', path: ['leaves'] })
    .refine((m) => m.reports.length === 0 || m.reports.length === m.leaves.length, { message: 'reports must be empty or match leaves', path: ['reports'] }),
);

export interface BatchPartial {
  type: 'batch-partial';
  v: 1;
  epoch: number;
  batchId: number;
  index: number;
  /** Merkle root of the proposal's leaves, signed as signingMessage(0x01, root). */
  root: Uint8Array;
  signature: Uint8Array;
}

export const BatchPartialCodec: MessageCodec<BatchPartial> = defineMessage<BatchPartial>(
  'batch-partial',
  1,
  1024,
  z.strictObject({
    type: z.literal('batch-partial'),
    v: z.literal(1),
    epoch: uint,
    batchId: uint,
    index: memberIndex,
    root: bytes32,
    signature: g1Bytes,
  }),
);

// ---- Range batches ----------------------------------------------------------------------------------
// For ordered request streams (every node sees the same requests in the same order, e.g. a contract's
// request nonce), the batch is implied by the range: each member builds the tree of its own reports for
// requests start..start+count-1 and signs the root; t matching roots make a certificate. Nothing per
// report crosses the network. Disagreeing ranges fall back to leaf announcements (ReportAnnouncement).

export interface RangeCommit {
  type: 'range-commit';
  v: 1;
  epoch: number;
  /** Committing member (must match the admitted connection). */
  index: number;
  /** The ordered request stream (e.g. keccak256 of the source chain and contract). */
  stream: Uint8Array;
  /** First sequence number in the range, and how many requests it covers. */
  start: number;
  count: number;
  /** Merkle root (report tree) of the member's reports for the range, in sequence order. */
  root: Uint8Array;
  /** Partial signature over signingMessage(0x01, root). */
  signature: Uint8Array;
}

const rangeFields = {
  epoch: uint,
  stream: bytes32,
  start: uint,
  count: z.number().int().min(1).max(MAX_BATCH_SIZE),
  root: bytes32,
  signature: g1Bytes,
};

export const RangeCommitCodec: MessageCodec<RangeCommit> = defineMessage<RangeCommit>(
  'range-commit',
  1,
  1024,
  z.strictObject({ type: z.literal('range-commit'), v: z.literal(1), index: memberIndex, ...rangeFields }),
);

/** Aggregator → members: t members committed to this root for the range; `signature` is the group's. */
export interface RangeCertificate {
  type: 'range-certificate';
  v: 1;
  epoch: number;
  stream: Uint8Array;
  start: number;
  count: number;
  root: Uint8Array;
  signature: Uint8Array;
  /** Members whose partials were combined. */
  signers: number[];
}

export const RangeCertificateCodec: MessageCodec<RangeCertificate> = defineMessage<RangeCertificate>(
  'range-certificate',
  1,
  2048,
  z.strictObject({ type: z.literal('range-certificate'), v: z.literal(1), ...rangeFields, signers: z.array(memberIndex).min(1).max(MAX_MEMBERS) }),
);

/** Most row bytes in one RangeProposal (the frame stays under MAX_FRAME_BYTES). */
export const MAX_RANGE_ROWS_BYTES = 2 * 1024 * 1024 - 1024;

/**
 * Member → committee members (direct stream PROTOCOL_RANGE_PROPOSAL): a batch job's rows start..start+n-1
 * on the proposer's job stream (`jobStream(domain, proposer's operator key, job)`, recomputed by every
 * receiver from the admitted connection, so nobody can propose on another member's stream). Each member
 * runs the rows itself, builds the range's report tree and sends a RangeCommit; rows arrive once, in one
 * frame, never per report.
 */
export interface RangeProposal {
  type: 'range-proposal';
  v: 1;
  /** The epoch whose key signs the range (the proposer's active epoch). */
  epoch: number;
  /** Proposer's member index in that epoch (must match the admitted connection). */
  proposer: number;
  /** Job id chosen by the proposer (16 random bytes); names the stream. */
  job: Uint8Array;
  /** First sequence number of the range on the job stream. */
  start: number;
  model: string;
  /** Report timestamp (unix seconds) picked by the proposer; members check the skew. */
  timestamp: number;
  /** Bytes per canonical input row. */
  rowLength: number;
  /** count · rowLength bytes: the canonical input rows back to back, in sequence order. */
  rows: Uint8Array;
}

export const RangeProposalCodec: MessageCodec<RangeProposal> = defineMessage<RangeProposal>(
  'range-proposal',
  1,
  MAX_FRAME_BYTES,
  z
    .strictObject({
      type: z.literal('range-proposal'),
      v: z.literal(1),
      epoch: uint,
      proposer: memberIndex,
      job: bytes(16),
      start: uint,
      model: z.string().min(1).max(MAX_MODEL_NAME),
      timestamp: uint,
      rowLength: z.number().int().min(1).max(MAX_INPUT_BYTES),
      rows: bytesUpTo(MAX_RANGE_ROWS_BYTES, 1),
    })
    .refine((m) => m.rows.length % m.rowLength === 0, { message: 'rows is not a whole number of rowLength-byte rows', path: ['rows'] })
    .refine((m) => m.rows.length / m.rowLength <= MAX_BATCH_SIZE, { message: `a range holds at most ${MAX_BATCH_SIZE} rows`, path: ['rows'] }),
);

export interface CombinedEntry {
  requestId: Uint8Array;
  report: Uint8Array;
}

export interface Combined {
  type: 'combined';
  v: 1;
  epoch: number;
  /** Root signed by the group: the single report's leaf, or the batch tree root. */
  root: Uint8Array;
  /** Threshold signature (compressed G1) over signingMessage(0x01, root). */
  signature: Uint8Array;
  /** Reports in leaf order; proofs follow from rebuilding the tree of reportLeaf(report). */
  entries: CombinedEntry[];
  /** Members whose partials were combined. */
  signers: number[];
  /** Members whose partials failed verification. */
  invalid: number[];
  /** Members that signed a different report for one of these request ids. */
  conflicting: number[];
}

const indexList = z.array(memberIndex).max(MAX_MEMBERS);

export const CombinedCodec: MessageCodec<Combined> = defineMessage<Combined>(
  'combined',
  1,
  MAX_WIRE_BATCH * (MAX_REPORT_LENGTH + 64) + 4096,
  z.strictObject({
    type: z.literal('combined'),
    v: z.literal(1),
    epoch: uint,
    root: bytes32,
    signature: g1Bytes,
    entries: z.array(z.strictObject({ requestId: bytes32, report: reportBytes })).min(1).max(MAX_WIRE_BATCH),
    signers: indexList.min(1),
    invalid: indexList,
    conflicting: indexList,
  }),
);

// ---- DKG -------------------------------------------------------------------------------------------

/** Wraps one DKG protocol message (deal / complaint / justification, see protocol/src/dkg/messages.ts). */
export interface DkgEnvelope {
  type: 'dkg';
  v: 1;
  /** The epoch whose committee runs this ceremony. */
  epoch: number;
  /** Retry number of the ceremony for this epoch (0 first); messages of another attempt are ignored. */
  attempt?: number;
  from: number;
  /** Structurally bounded here; `validateDkgMessage(n, t)` and the participant check the rest. */
  message: Record<string, unknown>;
}

const dkgShare = z.strictObject({ to: memberIndex, nonce: bytes(24), ciphertext: bytes(48) });
const dkgInner = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('deal'),
    session: bytes32,
    dealer: memberIndex,
    commitments: z.array(bytes(96)).min(1).max(MAX_MEMBERS),
    shares: z.array(dkgShare).max(MAX_MEMBERS),
  }),
  z.strictObject({ type: z.literal('complaint'), session: bytes32, from: memberIndex, against: z.array(memberIndex).max(MAX_MEMBERS) }),
  z.strictObject({
    type: z.literal('justification'),
    session: bytes32,
    dealer: memberIndex,
    shares: z.array(z.strictObject({ to: memberIndex, value: bytes32 })).max(MAX_MEMBERS),
  }),
]);

export const DkgEnvelopeCodec: MessageCodec<DkgEnvelope> = defineMessage<DkgEnvelope>(
  'dkg',
  1,
  256 * 1024,
  z
    .strictObject({ type: z.literal('dkg'), v: z.literal(1), epoch: uint, attempt: z.number().int().min(0).max(1_000_000).optional(), from: memberIndex, message: dkgInner })
    .refine((m) => (m.message.type === 'complaint' ? m.message.from : m.message.dealer) === m.from, {
      message: 'envelope sender differs from the DKG message author',
      path: ['from'],
    }) as unknown as z.ZodType<DkgEnvelope>,
);

// ---- Epoch handover --------------------------------------------------------------------------------

/** Bytes of a handover (docs/report-format.md §4). */
const HANDOVER_BYTES = 341;

/**
 * A member of the next committee publishes the handover its DKG produced, with the commitments it was
 * derived from (so anyone can check groupKey and sharesRoot), signed by its operator key over
 * `dkgResultMessage(handover, commitments)`. The current committee signs the handover only when enough
 * next members published the same bytes.
 */
export interface DkgResultMsg {
  type: 'dkg-result';
  v: 1;
  /** The new epoch. */
  epoch: number;
  attempt: number;
  /** Sender's index in the new committee. */
  index: number;
  handover: Uint8Array;
  /** Compressed G2 Feldman commitments of the qualified dealers' sum (t of them). */
  commitments: Uint8Array[];
  signature: Uint8Array;
}

export const DkgResultCodec: MessageCodec<DkgResultMsg> = defineMessage<DkgResultMsg>(
  'dkg-result',
  1,
  64 * 1024,
  z.strictObject({
    type: z.literal('dkg-result'),
    v: z.literal(1),
    epoch: uint,
    attempt: z.number().int().min(0).max(1_000_000),
    index: memberIndex,
    handover: bytes(HANDOVER_BYTES),
    commitments: z.array(g2Bytes).min(1).max(MAX_MEMBERS),
    signature: g1Bytes,
  }),
);

/** A current member's partial signature over `handoverSigningMessage(handover)`. */
export interface HandoverPartialMsg {
  type: 'handover-partial';
  v: 1;
  /** The current (old) epoch whose key share signed. */
  epoch: number;
  /** Signer's index in the current committee. */
  index: number;
  handover: Uint8Array;
  signature: Uint8Array;
}

export const HandoverPartialCodec: MessageCodec<HandoverPartialMsg> = defineMessage<HandoverPartialMsg>(
  'handover-partial',
  1,
  1024,
  z.strictObject({ type: z.literal('handover-partial'), v: z.literal(1), epoch: uint, index: memberIndex, handover: bytes(HANDOVER_BYTES), signature: g1Bytes }),
);

/** A handover with the current committee's threshold signature: what relays submit to both chains. */
export interface SignedHandoverMsg {
  type: 'handover-signed';
  v: 1;
  handover: Uint8Array;
  signature: Uint8Array;
}

export const SignedHandoverCodec: MessageCodec<SignedHandoverMsg> = defineMessage<SignedHandoverMsg>(
  'handover-signed',
  1,
  1024,
  z.strictObject({ type: z.literal('handover-signed'), v: z.literal(1), handover: bytes(HANDOVER_BYTES), signature: g1Bytes }),
);

// ---- Dispatch --------------------------------------------------------------------------------------

export type WireMessage =
  | Hello
  | Admission
  | PartialSignatureMsg
  | RoundProposal
  | ReportAnnouncement
  | BatchProposal
  | BatchPartial
  | RangeCommit
  | RangeCertificate
  | RangeProposal
  | Combined
  | DkgEnvelope
  | DkgResultMsg
  | HandoverPartialMsg
  | SignedHandoverMsg;

const codecs: Record<string, MessageCodec<WireMessage>> = Object.fromEntries(
  [HelloCodec, AdmissionCodec, PartialSignatureCodec, RoundProposalCodec, ReportAnnouncementCodec, BatchProposalCodec, BatchPartialCodec, RangeCommitCodec, RangeCertificateCodec, RangeProposalCodec, CombinedCodec, DkgEnvelopeCodec, DkgResultCodec, HandoverPartialCodec, SignedHandoverCodec].map(
    (c) => [c.type, c as unknown as MessageCodec<WireMessage>],
  ),
);

export const WIRE_TYPES = Object.keys(codecs);

/**
 * Decodes a frame on a channel that carries several message types (a gossipsub topic): the frame must be
 * one of `allowed`, within that type's size limit and schema.
 */
export function decodeWire<T extends WireMessage['type']>(bytes: Uint8Array, allowed: readonly T[]): Extract<WireMessage, { type: T }> {
  const expected = allowed.join('|');
  const unknown = allowed.find((t) => !Object.hasOwn(codecs, t));
  if (unknown !== undefined) throw new WireError(expected, `no codec for message type ${describeType(unknown)}`, 'type');
  const limit = Math.min(MAX_FRAME_BYTES, Math.max(...allowed.map((t) => codecs[t]!.maxBytes)));
  const value = decodeCbor(bytes, limit, expected);
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !(allowed as readonly string[]).includes(type)) {
    throw new WireError(expected, `unexpected message type ${describeType(type)}`, 'type');
  }
  const codec = codecs[type]!;
  if (bytes.length > codec.maxBytes) {
    throw new WireError(type, `frame of ${bytes.length} bytes exceeds the ${codec.maxBytes}-byte limit`, undefined, 'WIRE_OVERSIZED');
  }
  return codec.parse(value) as Extract<WireMessage, { type: T }>;
}

/**
 * A peer-supplied `type` for an error message. Never JSON.stringify: CBOR gives bigints (TypeError),
 * shared-value tags give cycles, and a long string would flood the log. Strings are quoted and cut.
 */
function describeType(type: unknown): string {
  if (typeof type === 'string') return type.length > 40 ? `"${type.slice(0, 40)}…" (${type.length} chars)` : `"${type}"`;
  if (type === null) return 'null';
  if (Array.isArray(type)) return 'an array';
  if (type instanceof Uint8Array) return `a ${type.length}-byte string`;
  return typeof type === 'object' ? 'an object' : `a ${typeof type}`;
}

export function encodeWire(msg: WireMessage): Uint8Array {
  const type = (msg as { type: unknown }).type;
  const codec = typeof type === 'string' && Object.hasOwn(codecs, type) ? codecs[type] : undefined;
  if (!codec) throw new WireError(describeType(type), 'unknown message type', 'type');
  return codec.encode(msg);
}
