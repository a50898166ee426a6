// Fuzz targets for the libp2p wire messages: every codec in protocol/src/wire/messages.ts, and
// decodeWire with the type sets the topics use. Inputs: byte mutations of valid frames (with CBOR
// headers that declare huge lengths, shared-value and generic-object tags), and valid messages with
// fields replaced, removed, added, swapped or grown past their limits, then CBOR-encoded.
import * as fc from 'fast-check';
import {
  AdmissionCodec,
  BatchPartialCodec,
  BatchProposalCodec,
  CombinedCodec,
  DkgEnvelopeCodec,
  HelloCodec,
  PartialSignatureCodec,
  RangeCertificateCodec,
  RangeCommitCodec,
  RangeProposalCodec,
  ReportAnnouncementCodec,
  RoundProposalCodec,
  WIRE_TYPES,
  WireError,
  decodeWire,
  encodeCbor,
  encodeWire,
  type MessageCodec,
  type WireMessage,
} from '../../src/wire/index.ts';
import { equalBytes, target, verdict, type FuzzTarget } from './harness.ts';
import { cborValues, mutatedBytes, mutatedTree } from './mutators.ts';

const b = (n: number, fill: number) => new Uint8Array(n).fill(fill);

const hello = { type: 'hello', v: 1, domain: b(32, 1), role: 'member', index: 3, operatorKey: b(96, 2), peerId: b(38, 3), signature: b(48, 4) } as const;

/** At least one valid message per type (per variant for admission and DKG). */
export const WIRE_SEEDS: readonly WireMessage[] = [
  hello,
  { type: 'admission', v: 1, accepted: true, reason: '', hello },
  { type: 'admission', v: 1, accepted: false, reason: 'no registered member with index 9', hello: null },
  { type: 'partial', v: 1, epoch: 3, requestId: b(32, 1), round: 0, index: 2, report: b(229, 9), digest: b(32, 2), signature: b(48, 3) },
  { type: 'round-proposal', v: 2, epoch: 1, leader: 1, requestId: b(32, 5), nonce: b(16, 7), model: 'iris-mlp', input: b(40, 6), timestamp: 1_700_000_000, round: 0 },
  { type: 'batch-proposal', v: 1, epoch: 1, batchId: 5, requestIds: [b(32, 1), b(32, 2)], leaves: [b(32, 3), b(32, 4)] },
  { type: 'report-announce', v: 1, epoch: 1, index: 2, requestIds: [b(32, 1)], leaves: [b(32, 2)], reports: [b(237, 3)] },
  { type: 'report-announce', v: 1, epoch: 1, index: 2, requestIds: [b(32, 1), b(32, 4)], leaves: [b(32, 2), b(32, 5)], reports: [] },
  { type: 'batch-partial', v: 1, epoch: 1, batchId: 5, index: 4, root: b(32, 7), signature: b(48, 8) },
  { type: 'range-commit', v: 1, epoch: 1, index: 3, stream: b(32, 5), start: 4096, count: 1024, root: b(32, 6), signature: b(48, 7) },
  { type: 'range-certificate', v: 1, epoch: 1, stream: b(32, 5), start: 4096, count: 1024, root: b(32, 6), signature: b(48, 7), signers: [1, 2, 3] },
  { type: 'range-proposal', v: 1, epoch: 1, proposer: 2, job: b(16, 8), start: 2048, model: 'liquidation-risk', timestamp: 1_700_000_000, rowLength: 56, rows: b(56 * 3, 9) },
  { type: 'combined', v: 1, epoch: 1, root: b(32, 1), signature: b(48, 2), entries: [{ requestId: b(32, 3), report: b(229, 4) }], signers: [1, 2, 3], invalid: [4], conflicting: [] },
  {
    type: 'dkg',
    v: 1,
    epoch: 2,
    from: 1,
    message: { type: 'deal', session: b(32, 1), dealer: 1, commitments: [b(96, 2), b(96, 3)], shares: [{ to: 2, nonce: b(24, 4), ciphertext: b(48, 5) }] },
  },
  { type: 'dkg', v: 1, epoch: 2, from: 3, message: { type: 'complaint', session: b(32, 1), from: 3, against: [1, 2] } },
  { type: 'dkg', v: 1, epoch: 2, from: 1, message: { type: 'justification', session: b(32, 1), dealer: 1, shares: [{ to: 3, value: b(32, 9) }] } },
];

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

/** CBOR items that stress the decoder: huge declared lengths, indefinite lengths, tags cbor-x acts on. */
export const CBOR_TOKENS: readonly Uint8Array[] = [
  hex('9b ffffffffffffffff'), // array of 2^64-1 items
  hex('9a 7fffffff'), // array of 2^31-1 items
  hex('bb ffffffffffffffff'), // map of 2^64-1 pairs
  hex('5b 0000000100000000'), // byte string of 2^32 bytes
  hex('7a ffffffff'), // text string of 2^32-1 bytes
  hex('9f 01 02'), // indefinite array without its break
  hex('bf 61 61 01 ff'), // indefinite map {a: 1}
  hex('5f 41 01 41 02 ff'), // indefinite byte string
  hex('d8 1b 82 65 4572726f72 61 78'), // tag 27 generic object: Error('x')
  hex('d8 1b 82 66 526567457870 61 5b'), // tag 27: RegExp('[') (invalid pattern)
  hex('d8 1c a1 61 61 d8 1d 00'), // tag 28 shareable map containing tag 29 reference to itself (a cycle)
  hex('d8 1d 05'), // reference to a value never shared
  hex('c2 49 010000000000000000'), // bignum 2^64
  hex('c3 49 010000000000000000'), // negative bignum
  hex('1b ffffffffffffffff'), // uint64 max
  hex('3b ffffffffffffffff'), // negint64 min
  hex('f9 7e00'), // half-float NaN
  hex('fb 7ff0000000000000'), // +Infinity
  hex('d9 d9f7'), // self-describe tag
  hex('d8 40 43 010203'), // tag 64: Uint8Array
  hex('d8 44 43 010203'), // tag 68: Uint8ClampedArray
  hex('c1 1b ffffffffffffffff'), // epoch date out of range
  hex('f7'), // undefined
  hex('ff'), // stray break
];

const STRINGS = [...WIRE_TYPES, 'member', 'aggregator', 'deal', 'complaint', 'justification', 'v', 'type'];
const SIZES = [0, 1, 2, 31, 33, 49, 97, 129, 257, 1025, 2049];
const KEYS = ['type', 'v', 'epoch', 'index', 'extra', 'hello', 'message', '__proto__'];

const encodeOrNull = (v: unknown): Uint8Array => {
  try {
    return encodeCbor(v);
  } catch {
    return new Uint8Array([0xf6]); // cbor-x cannot encode it: send CBOR null instead
  }
};

/** Frames for a decoder whose seeds are `seeds`: byte mutations and structured mutations. */
function frames(seeds: readonly WireMessage[], limit: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    mutatedBytes(seeds.map((m) => encodeCbor(m)), { limit, tokens: CBOR_TOKENS }),
    mutatedTree(seeds, cborValues(STRINGS), SIZES, KEYS).map(encodeOrNull),
  );
}

/** A decoded message must re-encode, decode back to the same message and fit in the size limit. */
function consistent(codec: MessageCodec<WireMessage>, input: Uint8Array, msg: WireMessage): string | undefined {
  if (input.length > codec.maxBytes) return `accepted a ${input.length}-byte frame over the ${codec.maxBytes}-byte limit`;
  if (msg.type !== codec.type) return `decoded a '${String(msg.type)}' message`;
  const again = codec.encode(msg);
  if (!equalBytes(codec.encode(codec.decode(again)), again)) return 'the re-encoded message does not decode to itself';
  return undefined;
}

const CODECS = [
  HelloCodec,
  AdmissionCodec,
  PartialSignatureCodec,
  RoundProposalCodec,
  BatchProposalCodec,
  ReportAnnouncementCodec,
  BatchPartialCodec,
  RangeCommitCodec,
  RangeCertificateCodec,
  RangeProposalCodec,
  CombinedCodec,
  DkgEnvelopeCodec,
] as unknown as readonly MessageCodec<WireMessage>[];

function codecTarget(codec: MessageCodec<WireMessage>): FuzzTarget<unknown> {
  // Seeds of this type first; the other types' frames stay in (wrong type tag, wrong shape).
  const own = WIRE_SEEDS.filter((m) => m.type === codec.type);
  return target<Uint8Array>({
    name: `wire ${codec.type}`,
    typedError: WireError,
    arbitrary: fc.oneof({ weight: 5, arbitrary: frames(own, codec.maxBytes) }, { weight: 1, arbitrary: frames(WIRE_SEEDS, codec.maxBytes) }),
    check: (bytes) => verdict(WireError, () => codec.decode(bytes), (msg) => consistent(codec, bytes, msg)),
  });
}

/** The type sets the gossipsub topics and direct streams accept (see aggregator/, oracle-node/src/p2p). */
export const TOPIC_TYPE_SETS: readonly (readonly WireMessage['type'][])[] = [
  ['partial', 'batch-partial', 'range-commit'],
  ['batch-proposal', 'range-certificate'],
  ['round-proposal'],
  ['range-proposal'],
  ['combined'],
  ['dkg'],
  ['report-announce'],
  ['hello'],
  ['admission'],
  WIRE_TYPES as WireMessage['type'][],
];

interface TopicFrame {
  bytes: Uint8Array;
  allowed: readonly WireMessage['type'][];
}

const decodeWireTarget = target<TopicFrame>({
  name: 'wire decodeWire',
  typedError: WireError,
  arbitrary: fc.record({ bytes: frames(WIRE_SEEDS, 64 * 1024), allowed: fc.constantFrom(...TOPIC_TYPE_SETS) }),
  check: ({ bytes, allowed }) =>
    verdict(
      WireError,
      () => decodeWire(bytes, allowed),
      (msg) => {
        if (!allowed.includes(msg.type)) return `accepted a '${msg.type}' frame on a channel for ${allowed.join('|')}`;
        return consistent(CODECS.find((c) => c.type === msg.type)!, bytes, msg) ?? (equalBytes(encodeWire(msg), encodeWire(decodeWire(encodeWire(msg), allowed))) ? undefined : 'encodeWire is not stable');
      },
    ),
});

export const wireTargets: readonly FuzzTarget<unknown>[] = [...CODECS.map(codecTarget), decodeWireTarget];
