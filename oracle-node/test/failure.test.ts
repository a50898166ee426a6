// Which errors a chain request is answered with a signed failure report for (docs/report-format.md §1.1).
import { describe, expect, it } from 'vitest';
import { ReportStatus } from '@destra/protocol';
import { EngineClosedError, InferenceInputError, InferenceOutputError, InferenceRuntimeError, ModelSignatureError, UnknownModelError } from '../src/inference/errors.ts';
import { failureStatus, modelHashFromName } from '../src/round/failure.ts';
import { RoundError } from '../src/errors.ts';

describe('failureStatus', () => {
  it('maps the request-caused errors to their status codes', () => {
    expect(failureStatus(new UnknownModelError('0xabc', ['risk']))).toBe(ReportStatus.UnknownModel);
    expect(failureStatus(new InferenceInputError('risk', 'canonical input must be 64 bytes', undefined, 'length'))).toBe(ReportStatus.InputLength);
    expect(failureStatus(new InferenceInputError('risk', 'expected 8 values, got 7'))).toBe(ReportStatus.InputLength);
    expect(failureStatus(new InferenceInputError('risk', 'outside the manifest range', 'ltv', 'range'))).toBe(ReportStatus.InputRange);
    expect(failureStatus(new InferenceInputError('risk', 'outside the manifest range', 'ltv'))).toBe(ReportStatus.InputRange);
    expect(failureStatus(new InferenceOutputError('risk', 'score', 'NaN', 'value'))).toBe(ReportStatus.OutputInvalid);
  });

  it('never signs a failure for what is not the request\'s fault', () => {
    expect(failureStatus(new InferenceOutputError('risk', 'score', 'no tensor named score'))).toBeUndefined();
    expect(failureStatus(new InferenceOutputError('risk', 'score', 'wrong shape', 'shape'))).toBeUndefined();
    expect(failureStatus(new InferenceRuntimeError('risk', 'onnxruntime run failed'))).toBeUndefined();
    expect(failureStatus(new ModelSignatureError('risk', 'inputs', 'mismatch'))).toBeUndefined();
    expect(failureStatus(new EngineClosedError())).toBeUndefined();
    expect(failureStatus(new RoundError('NO_KEY_SHARE', 'no key', 503))).toBeUndefined();
    expect(failureStatus(new Error('anything'))).toBeUndefined();
    expect(failureStatus('a string')).toBeUndefined();
  });

  it('reads a model hash only from 0x + 64 hex digits', () => {
    expect(modelHashFromName(`0x${'ab'.repeat(32)}`)).toEqual(new Uint8Array(32).fill(0xab));
    expect(modelHashFromName('risk-score')).toBeUndefined();
    expect(modelHashFromName(`0x${'ab'.repeat(31)}`)).toBeUndefined();
    expect(modelHashFromName(`${'ab'.repeat(32)}`)).toBeUndefined();
  });
});
