// Which request failures the committee answers on chain with a signed failure report
// (docs/report-format.md §1.1), and with which status. Pure: every honest node maps the same
// deterministic validation / canonicalisation error to the same status, so their reports agree.
import { ReportStatus } from '@destra/protocol';
import { InferenceInputError, InferenceOutputError, UnknownModelError } from '../inference/errors.ts';

/**
 * The failure status for an error that stopped a chain request, or undefined when the error is not the
 * request's fault (runtime failure, misconfigured model, node shutting down, ...): those are never signed.
 */
export function failureStatus(err: unknown): ReportStatus | undefined {
  if (err instanceof UnknownModelError) return ReportStatus.UnknownModel;
  if (err instanceof InferenceInputError) return err.problem === 'length' ? ReportStatus.InputLength : ReportStatus.InputRange;
  if (err instanceof InferenceOutputError && err.problem === 'value') return ReportStatus.OutputInvalid;
  return undefined;
}

/** A model addressed by its sha256 (`0x` + 64 hex digits, as chain requests name it): the raw hash, else undefined. */
export function modelHashFromName(model: string): Uint8Array | undefined {
  if (!/^0x[0-9a-fA-F]{64}$/.test(model)) return undefined;
  return new Uint8Array(Buffer.from(model.slice(2), 'hex'));
}
