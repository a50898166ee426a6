// Many reports that share everything but the request (id, input hash, output) — one model answering a
// stream of requests for one destination — encoded back to back into one buffer. The shared fields are
// validated and encoded once by encodeReport; each report then costs a template copy and three writes
// (~10x cheaper than encodeReport; byte-identical, checked in protocol/test/report.test.ts).
import { encodeReport, reportLength, type Report } from './report.ts';
import { ReportFormatError } from './errors.ts';

/** Byte offsets of the per-request fields (docs/report-format.md). */
const ID_OFFSET = 107;
const INPUT_HASH_OFFSET = 171;
const OUTPUT_OFFSET = 222;

export type SharedReportFields = Omit<Report, 'id' | 'inputHash' | 'output'> & { outputCount: number };

export class ReportBatchEncoder {
  /** Bytes per report. */
  readonly length: number;
  private readonly template: Uint8Array;

  constructor(private readonly shared: SharedReportFields) {
    const zero = new Uint8Array(32);
    this.template = encodeReport({ ...shared, id: zero, inputHash: zero, output: new Array<bigint>(shared.outputCount).fill(0n) });
    this.length = reportLength(shared.outputCount);
  }

  /**
   * Writes reports for ids / inputHashes (32 bytes each, back to back) / outputs (outputCount canonical
   * big-endian int64 values per report, back to back — what the inference engine returns) into one
   * buffer of count·length bytes.
   */
  encode(ids: Uint8Array, inputHashes: Uint8Array, outputs: Uint8Array): Uint8Array {
    const outBytes = 8 * this.shared.outputCount;
    const count = ids.length / 32;
    if (!Number.isInteger(count) || count < 1) throw new ReportFormatError('id', 'ids must be a non-empty sequence of 32-byte ids');
    if (inputHashes.length !== ids.length) throw new ReportFormatError('inputHash', `expected ${count} input hashes of 32 bytes`);
    if (outputs.length !== count * outBytes) throw new ReportFormatError('output', `expected ${count * outBytes} output bytes (${this.shared.outputCount} int64 per report)`);
    const len = this.length;
    const out = new Uint8Array(count * len);
    // Template copies by doubling (a few large memcpy calls), then the per-report fields byte by byte:
    // cheaper than three subarray views per report.
    out.set(this.template, 0);
    for (let filled = len; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
    for (let i = 0, at = 0; i < count; i++, at += len) {
      const src = i * 32;
      for (let j = 0; j < 32; j++) {
        out[at + ID_OFFSET + j] = ids[src + j]!;
        out[at + INPUT_HASH_OFFSET + j] = inputHashes[src + j]!;
      }
      const o = i * outBytes;
      for (let j = 0; j < outBytes; j++) out[at + OUTPUT_OFFSET + j] = outputs[o + j]!;
    }
    return out;
  }
}
