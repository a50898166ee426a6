// Turns the equivocation evidence the collector names into on-chain slashing. Only a double-sign is
// provable on chain (two different reports for one (id, round, epoch, kind), each with the member's valid
// partial); a member that merely disagrees with the committee (conflicting-digest) or sends garbage
// (invalid-partial) is named in the results, never submitted for slashing.
import type { Logger } from 'pino';
import { decodeReport, toHex } from '@destra/protocol';
import type { EquivocationProof } from '@destra/adapter-ethereum';
import type { Evidence } from '../core/types.ts';

/** Where equivocation proofs go (e.g. the Ethereum adapter's EvidenceSubmitter bound to an epoch's committee). */
export interface EvidenceSink {
  submitEquivocation(p: EquivocationProof): Promise<{ status: string; txHash?: string }>;
}

/** The on-chain proof behind an equivocation, or undefined when the evidence is not one (or lacks the reports). */
export function equivocationProof(e: Evidence): EquivocationProof | undefined {
  if (e.kind !== 'equivocation' || !e.counter?.report || !e.offending.report) return undefined;
  let a, b;
  try {
    a = decodeReport(e.counter.report);
    b = decodeReport(e.offending.report);
  } catch {
    return undefined; // partials whose reports do not decode cannot be evidence on chain
  }
  if (a.epoch !== b.epoch || a.kind !== b.kind || a.round !== b.round || toHex(a.id) !== toHex(b.id)) return undefined;
  return { epoch: a.epoch, index: e.member, reportA: e.counter.report, signatureA: e.counter.signature, reportB: e.offending.report, signatureB: e.offending.signature };
}

/** Submits each equivocation once; failures are logged (the evidence stays valid for the epoch's window). */
export class EquivocationReporter {
  private readonly seen = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  constructor(
    private readonly sink: EvidenceSink,
    private readonly log: Logger,
  ) {}

  /** Call with every misbehaviour event; returns the submission (resolved when it settles). */
  onEvidence(e: Evidence): Promise<void> | undefined {
    const p = equivocationProof(e);
    if (!p) return undefined;
    const r = decodeReport(p.reportA);
    const key = `${p.epoch}:${p.index}:${r.kind}:${toHex(r.id)}:${r.round}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    const run = this.sink
      .submitEquivocation(p)
      .then((res) => this.log.warn({ member: p.index, epoch: Number(p.epoch), requestId: toHex(r.id), status: res.status, tx: res.txHash }, 'equivocation evidence submitted for slashing'))
      .catch((err) => {
        this.seen.delete(key); // a later sighting may try again
        this.log.error({ member: p.index, err: (err as Error).message }, 'equivocation evidence not submitted');
      })
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
    return run;
  }

  /** Resolves when every submission in flight has settled (shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
