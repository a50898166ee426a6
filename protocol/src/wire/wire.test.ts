import { describe, expect, it } from 'vitest';
import { encodeCbor } from './codec.ts';
import { WireError } from './errors.ts';
import {
  AdmissionCodec,
  BatchPartialCodec,
  BatchProposalCodec,
  CombinedCodec,
  DkgEnvelopeCodec,
  HelloCodec,
  MAX_INPUT_BYTES,
  PartialSignatureCodec,
  RangeCertificateCodec,
  RangeCommitCodec,
  RoundProposalCodec,
  decodeWire,
  encodeWire,
  type Hello,
  type PartialSignatureMsg,
} from './messages.ts';
import { admissionMessage, checkHello, signAdmission } from './admission.ts';
import { publicKeyOf, randomSecretKey } from '../bls/signature.ts';

const b = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

const partial: PartialSignatureMsg = {
  type: 'partial',
  v: 1,
  epoch: 3,
  requestId: b(32, 1),
  round: 0,
  index: 2,
  report: b(229, 9),
  digest: b(32, 2),
  signature: b(48, 3),
};

function expectWireError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WireError);
  expect((caught as Error).message).toMatch(pattern);
}

describe('wire codecs', () => {
  it('round-trips every message type', () => {
    const msgs = [
      partial,
      { type: 'round-proposal', v: 2, epoch: 1, leader: 1, requestId: b(32), nonce: b(16), model: 'm', input: b(10), timestamp: 1_700_000_000, round: 0 },
      { type: 'batch-proposal', v: 1, epoch: 1, batchId: 5, requestIds: [b(32, 1), b(32, 2)], leaves: [b(32, 3), b(32, 4)] },
      { type: 'report-announce', v: 1, epoch: 1, index: 2, requestIds: [b(32)], leaves: [b(32)], reports: [] },
      { type: 'batch-partial', v: 1, epoch: 1, batchId: 5, index: 4, root: b(32), signature: b(48) },
      { type: 'range-commit', v: 1, epoch: 1, index: 3, stream: b(32, 5), start: 4096, count: 1024, root: b(32), signature: b(48) },
      { type: 'range-certificate', v: 1, epoch: 1, stream: b(32, 5), start: 4096, count: 1024, root: b(32), signature: b(48), signers: [1, 2, 3] },
      { type: 'combined', v: 1, epoch: 1, root: b(32), signature: b(48), entries: [{ requestId: b(32), report: b(229) }], signers: [1, 2, 3], invalid: [4], conflicting: [] },
      {
        type: 'dkg',
        v: 1,
        epoch: 2,
        from: 1,
        message: { type: 'deal', session: b(32), dealer: 1, commitments: [b(96)], shares: [{ to: 2, nonce: b(24), ciphertext: b(48) }] },
      },
      { type: 'dkg', v: 1, epoch: 2, from: 3, message: { type: 'complaint', session: b(32), from: 3, against: [1] } },
    ] as const;
    for (const m of msgs) {
      const bytes = encodeWire(m as never);
      const back = decodeWire(bytes, [m.type]);
      expect(encodeWire(back)).toEqual(bytes);
      expect(back.type).toBe(m.type);
    }
    const a = AdmissionCodec.decode(AdmissionCodec.encode({ type: 'admission', v: 1, accepted: false, reason: 'nope', hello: null }));
    expect(a.reason).toBe('nope');
  });

  it('rejects oversized frames before decoding', () => {
    expectWireError(() => PartialSignatureCodec.decode(new Uint8Array(PartialSignatureCodec.maxBytes + 1)), /exceeds the 2048-byte limit/);
    expectWireError(() => BatchPartialCodec.decode(new Uint8Array(5000)), /exceeds/);
    const big = { type: 'round-proposal', v: 2, epoch: 1, leader: 1, requestId: b(32), nonce: b(16), model: 'm', input: b(MAX_INPUT_BYTES + 2048), timestamp: 1, round: 0 };
    expectWireError(() => RoundProposalCodec.decode(encodeCbor(big)), /exceeds/);
    expectWireError(() => RoundProposalCodec.encode(big as never), /input/);
  });

  it('rejects malformed CBOR, trailing bytes and empty frames', () => {
    expectWireError(() => PartialSignatureCodec.decode(new Uint8Array([0xff, 0x00])), /invalid CBOR/);
    const good = PartialSignatureCodec.encode(partial);
    expectWireError(() => PartialSignatureCodec.decode(new Uint8Array([...good, 0])), /invalid CBOR/);
    expectWireError(() => PartialSignatureCodec.decode(new Uint8Array(0)), /empty/);
    expectWireError(() => PartialSignatureCodec.decode(encodeCbor([1, 2, 3])), /partial/);
  });

  it('names the bad field: lengths, ranges, types, unknown fields, versions', () => {
    const bad = (patch: Record<string, unknown>) => encodeCbor({ ...partial, ...patch });
    expectWireError(() => PartialSignatureCodec.decode(bad({ signature: b(47) })), /signature.*48 bytes/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ requestId: b(33) })), /requestId/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ index: 0 })), /index/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ index: 257 })), /index/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ epoch: -1 })), /epoch/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ epoch: 1.5 })), /epoch/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ digest: 'aa' })), /digest/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ report: b(1000) })), /report/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ extra: 1 })), /extra|Unrecognized/i);
    expectWireError(() => PartialSignatureCodec.decode(bad({ v: 2 })), /v/);
    expectWireError(() => PartialSignatureCodec.decode(bad({ type: 'combined' })), /type/);
  });

  it('validates batch and DKG structure', () => {
    const bp = { type: 'batch-proposal', v: 1, epoch: 1, batchId: 1, requestIds: [b(32)], leaves: [b(32), b(32)] };
    expectWireError(() => BatchProposalCodec.decode(encodeCbor(bp)), /differ in length/);
    expectWireError(() => BatchProposalCodec.decode(encodeCbor({ ...bp, requestIds: [], leaves: [] })), /requestIds/);
    const dkg = { type: 'dkg', v: 1, epoch: 1, from: 2, message: { type: 'complaint', session: b(32), from: 3, against: [] } };
    expectWireError(() => DkgEnvelopeCodec.decode(encodeCbor(dkg)), /sender differs/);
    const deal = { type: 'dkg', v: 1, epoch: 1, from: 1, message: { type: 'deal', session: b(32), dealer: 1, commitments: [b(95)], shares: [] } };
    expectWireError(() => DkgEnvelopeCodec.decode(encodeCbor(deal)), /commitments/);
    const c = { type: 'combined', v: 1, epoch: 1, root: b(32), signature: b(48), entries: [], signers: [1], invalid: [], conflicting: [] };
    expectWireError(() => CombinedCodec.decode(encodeCbor(c)), /entries/);
  });

  it('validates range commits and certificates', () => {
    const rc = { type: 'range-commit', v: 1, epoch: 1, index: 3, stream: b(32), start: 0, count: 16, root: b(32), signature: b(48) };
    expect(RangeCommitCodec.decode(encodeCbor(rc)).count).toBe(16);
    expectWireError(() => RangeCommitCodec.decode(encodeCbor({ ...rc, count: 0 })), /count/);
    expectWireError(() => RangeCommitCodec.decode(encodeCbor({ ...rc, count: 1_000_000 })), /count/);
    expectWireError(() => RangeCommitCodec.decode(encodeCbor({ ...rc, start: -1 })), /start/);
    expectWireError(() => RangeCommitCodec.decode(encodeCbor({ ...rc, stream: b(31) })), /stream/);
    expectWireError(() => RangeCommitCodec.decode(new Uint8Array(RangeCommitCodec.maxBytes + 1)), /exceeds/);
    const cert = { type: 'range-certificate', v: 1, epoch: 1, stream: b(32), start: 0, count: 16, root: b(32), signature: b(48), signers: [] };
    expectWireError(() => RangeCertificateCodec.decode(encodeCbor(cert)), /signers/);
  });

  it('decodeWire only accepts the types allowed on a channel', () => {
    const bytes = PartialSignatureCodec.encode(partial);
    expectWireError(() => decodeWire(bytes, ['round-proposal', 'combined']), /unexpected message type "partial"/);
    expect(decodeWire(bytes, ['partial', 'batch-partial']).type).toBe('partial');
  });
});

describe('admission binding', () => {
  const sk = randomSecretKey();
  const operatorKey = publicKeyOf(sk);
  const domain = b(32, 0xd0);
  const peerId = b(38, 0x11);
  const hello: Hello = { type: 'hello', v: 1, domain, role: 'member', index: 2, operatorKey, peerId, signature: signAdmission(sk, domain, 'member', 2, peerId) };
  const lookup = (role: string, index: number) => (role === 'member' && index === 2 ? operatorKey : undefined);

  it('accepts a registered operator binding its own peer id', () => {
    expect(checkHello(HelloCodec.decode(HelloCodec.encode(hello)), peerId, domain, lookup)).toEqual({ ok: true });
  });

  it('rejects unregistered members, other peer ids, other domains and forged signatures', () => {
    expect(checkHello({ ...hello, index: 3 }, peerId, domain, lookup)).toMatchObject({ ok: false, reason: /no registered member with index 3/ });
    expect(checkHello(hello, b(38, 0x12), domain, lookup)).toMatchObject({ ok: false, reason: /different peer id/ });
    expect(checkHello(hello, peerId, b(32, 1), lookup)).toMatchObject({ ok: false, reason: /domain/ });
    const other = randomSecretKey();
    const forged = { ...hello, signature: signAdmission(other, domain, 'member', 2, peerId) };
    expect(checkHello(forged, peerId, domain, lookup)).toMatchObject({ ok: false, reason: /does not verify/ });
    const impostor = { ...forged, operatorKey: publicKeyOf(other) };
    expect(checkHello(impostor, peerId, domain, lookup)).toMatchObject({ ok: false, reason: /does not match the registration/ });
    expect(admissionMessage(domain, 'member', 2, peerId)).not.toEqual(admissionMessage(domain, 'aggregator', 2, peerId));
  });
});
