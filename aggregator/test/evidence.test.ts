// Which evidence becomes an on-chain slashing proof, and the reporter's once-per-evidence submission.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ReportKind, anyDestination, encodeReport, feedId, randomSecretKey, reportLeaf, rootSigningMessage, sign } from '@destra/protocol';
import { EquivocationReporter, equivocationProof, type EvidenceSink } from '../src/relay/evidence.ts';
import type { Evidence } from '../src/core/types.ts';

const sk = randomSecretKey();
const report = (o: { round?: bigint; output?: bigint[]; kind?: ReportKind; id?: string } = {}) =>
  encodeReport({
    kind: o.kind ?? ReportKind.Feed, domain: new Uint8Array(32), epoch: 3n, destination: anyDestination(), id: feedId(o.id ?? 'f'),
    modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: 1n, round: o.round ?? 7n, output: o.output ?? [1n],
  });
const signed = (r: Uint8Array) => ({ message: rootSigningMessage(reportLeaf(r)), signature: sign(sk, rootSigningMessage(reportLeaf(r))), report: r });
const ev = (kind: Evidence['kind'], a: Uint8Array, b: Uint8Array): Evidence => ({ kind, member: 2, requestId: feedId('f'), offending: signed(b), counter: signed(a) });

describe('equivocationProof', () => {
  it('turns a double-sign into the registry proof (epoch from the reports, the member index)', () => {
    const a = report({ output: [1n] });
    const b = report({ output: [2n] });
    expect(equivocationProof(ev('equivocation', a, b))).toEqual({ epoch: 3n, index: 2, reportA: a, signatureA: signed(a).signature, reportB: b, signatureB: signed(b).signature });
  });

  it('is undefined for what the chain cannot slash: disagreement, garbage, missing reports, different questions', () => {
    const a = report();
    expect(equivocationProof(ev('conflicting-digest', a, report({ output: [5n] })))).toBeUndefined();
    expect(equivocationProof(ev('invalid-partial', a, report({ output: [5n] })))).toBeUndefined();
    expect(equivocationProof({ kind: 'equivocation', member: 2, requestId: feedId('f'), offending: { message: new Uint8Array(33), signature: new Uint8Array(48) }, counter: signed(a) })).toBeUndefined();
    expect(equivocationProof(ev('equivocation', a, report({ round: 8n })))).toBeUndefined(); // next feed round
    expect(equivocationProof(ev('equivocation', a, report({ kind: ReportKind.OnDemand })))).toBeUndefined();
    expect(equivocationProof(ev('equivocation', a, new Uint8Array([1, 2, 3])))).toBeUndefined();
  });
});

describe('EquivocationReporter', () => {
  it('submits each piece of evidence once, and again after a failed submission', async () => {
    const sent: number[] = [];
    let fail = true;
    const sink: EvidenceSink = {
      async submitEquivocation(p) {
        sent.push(p.index);
        if (fail) throw new Error('rpc down');
        return { status: 'submitted', txHash: '0x01' };
      },
    };
    const reporter = new EquivocationReporter(sink, pino({ level: 'silent' }));
    const e = ev('equivocation', report({ output: [1n] }), report({ output: [2n] }));
    await reporter.onEvidence(e);
    fail = false;
    await reporter.onEvidence(e); // the failure released it
    expect(reporter.onEvidence(e)).toBeUndefined(); // landed: never again
    expect(reporter.onEvidence(ev('conflicting-digest', report(), report({ output: [9n] })))).toBeUndefined();
    await reporter.idle();
    expect(sent).toEqual([2, 2]);
  });
});
