// The reports of a chain stream's range, built exactly as the round path builds each request's report
// (same validation, fields, timestamp: the request's block time), so a request signed both ways is the
// same report. The common range goes through one inferBatch, batch Keccak and template encoding; any
// other range row by row, with failure reports for what the committee refuses.
import { encodeReport, inputHash, ReportBatchEncoder, ReportKind, ReportStatus, toHex, type Destination } from '@destra/protocol';
import { loadFastHasher, type FastHasher } from '@destra/aggregator/fast-hash';
import { UnknownModelError } from '../inference/errors.ts';
import { rangeInferencer, type RangeInferencer } from '../range/inference.ts';
import { failureStatus, modelHashFromName } from '../round/failure.ts';
import type { Inferencer, InferenceResult } from '../round/inference.ts';
import type { SequencedRequest } from './request-stream.ts';

export class RangeReportBuilder {
  private readonly rows: RangeInferencer;
  private hasher: Promise<FastHasher | undefined> | undefined;

  constructor(private readonly o: { inference: Inferencer; domain: Uint8Array; hasher?: FastHasher }) {
    this.rows = rangeInferencer(o.inference);
    if (o.hasher) this.hasher = Promise.resolve(o.hasher);
  }

  /**
   * The common case at speed: every request names the served model (and its hash), one block (one
   * timestamp), one destination, every row valid — one inferBatch, batch Keccak of the inputs, one
   * template encode (ReportBatchEncoder: byte-identical to encodeReport). Undefined when the range is not
   * that case; the general path (reports()) then handles refusals row by row.
   */
  async fastReports(requests: readonly SequencedRequest[], epoch: number): Promise<{ flat: Uint8Array; length: number } | undefined> {
    const engine = this.o.inference as Inferencer & { inferBatch?: (model: string, input: Uint8Array) => Promise<Uint8Array> };
    if (typeof engine.inferBatch !== 'function' || requests.length < 2) return undefined;
    const first = requests[0]!;
    let served: Uint8Array;
    try {
      served = this.o.inference.modelHash(first.model);
    } catch {
      return undefined;
    }
    const rowBytes = first.input.length;
    const dest = first.destination;
    for (const r of requests) {
      if (r.model !== first.model || r.timestamp !== first.timestamp || r.input.length !== rowBytes) return undefined;
      if (r.destination !== dest && (r.destination.chainType !== dest.chainType || !sameBytes(r.destination.chainId, dest.chainId) || !sameBytes(r.destination.contract, dest.contract))) return undefined;
      if (r.modelHash && !sameBytes(r.modelHash, served)) return undefined;
    }
    const rows = new Uint8Array(rowBytes * requests.length);
    const ids = new Uint8Array(32 * requests.length);
    requests.forEach((r, i) => {
      rows.set(r.input, i * rowBytes);
      ids.set(r.requestId, i * 32);
    });
    try {
      this.rows.checkRows(first.model, rows, rowBytes);
    } catch {
      return undefined;
    }
    let outputs: Uint8Array;
    try {
      outputs = await engine.inferBatch(first.model, rows);
    } catch (err) {
      if (failureStatus(err) !== undefined) return undefined; // a row's output is refused: row by row
      throw err;
    }
    const k = outputs.length / 8 / requests.length;
    this.hasher ??= loadFastHasher().catch(() => undefined);
    const hasher = await this.hasher;
    const inputHashes = hasher ? hasher.keccakFlat(rows, rowBytes) : concat(requests.map((r) => inputHash(r.input)));
    const encoder = new ReportBatchEncoder({ kind: ReportKind.Request, domain: this.o.domain, epoch: BigInt(epoch), destination: dest as Destination, modelHash: served, timestamp: BigInt(first.timestamp), round: 0n, outputCount: k });
    return { flat: encoder.encode(ids, inputHashes, outputs), length: encoder.length };
  }

  /**
   * The reports of a range's requests, exactly as the round path builds each (same validation, fields,
   * timestamp — the request's block time), so a request signed both ways is the same report. Valid rows
   * of one model run in one inference call (the engine's batch path; bit-identical to single rows). A
   * request the committee refuses deterministically (unknown model or model hash, bad input,
   * unrepresentable output) gets a failure report naming the model hash the chain request names — none
   * (undefined) when there is no hash to name, as the round path records it failed. Other errors (not the
   * request's fault) throw.
   */
  async reports(requests: readonly SequencedRequest[], epoch: number): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(requests.length);
    const byModel = new Map<string, number[]>();
    for (const [i, r] of requests.entries()) {
      const invalid = this.validationError(r);
      if (invalid) out[i] = this.failureReport(r, epoch, invalid);
      else byModel.set(r.model, [...(byModel.get(r.model) ?? []), i]);
    }
    for (const [model, rows] of byModel) {
      let results: InferenceResult[];
      try {
        results = await this.inferRows(model, rows.map((i) => requests[i]!.input));
      } catch (err) {
        // A row the batch cannot canonicalise (NaN…): each row alone, so only that one fails.
        if (failureStatus(err) === undefined) throw err;
        results = [];
        for (const i of rows) {
          const r = requests[i]!;
          try {
            results.push(await this.o.inference.infer(r.model, r.input));
          } catch (e) {
            results.push({ output: [], modelHash: new Uint8Array(0), inputHash: new Uint8Array(0) });
            out[i] = this.failureReport(r, epoch, e, true);
          }
        }
      }
      rows.forEach((i, j) => {
        if (out[i] === undefined && results[j]!.modelHash.length === 32) out[i] = this.encode(requests[i]!, epoch, ReportStatus.Ok, results[j]!);
      });
    }
    return out;
  }

  /** Rows of one model: one inferBatch call on the node's ONNX engine, row by row on any other Inferencer. */
  private async inferRows(model: string, inputs: Uint8Array[]): Promise<InferenceResult[]> {
    const engine = this.o.inference as Inferencer & { inferBatch?: (model: string, input: Uint8Array) => Promise<Uint8Array> };
    if (typeof engine.inferBatch !== 'function' || inputs.length === 1) return Promise.all(inputs.map((input) => this.o.inference.infer(model, input)));
    const rowBytes = inputs[0]!.length;
    const rows = new Uint8Array(rowBytes * inputs.length);
    inputs.forEach((input, i) => rows.set(input, i * rowBytes));
    const outputs = await engine.inferBatch(model, rows);
    const k = outputs.length / 8 / inputs.length;
    const view = new DataView(outputs.buffer, outputs.byteOffset, outputs.byteLength);
    const modelHash = this.o.inference.modelHash(model);
    return inputs.map((input, i) => ({ output: Array.from({ length: k }, (_, j) => view.getBigInt64((i * k + j) * 8)), modelHash, inputHash: inputHash(input) }));
  }

  /** Why the committee refuses a request before running it (the round path's intake checks), if it does. */
  private validationError(r: SequencedRequest): unknown {
    try {
      this.o.inference.validate(r.model, r.input);
      if (r.modelHash && toHex(this.o.inference.modelHash(r.model)) !== toHex(r.modelHash)) return new UnknownModelError(toHex(r.modelHash), [r.model]);
      return undefined;
    } catch (err) {
      return err;
    }
  }

  /**
   * The failure report for a refused request; undefined when it has no hash to name; throws when `err` is
   * not the request's fault. As in the round path: refused before running, the hash the request names;
   * refused after running (its output), the served model's hash when the request names none.
   */
  private failureReport(r: SequencedRequest, epoch: number, err: unknown, ran = false): Uint8Array | undefined {
    const status = failureStatus(err);
    if (status === undefined) throw err;
    const modelHash = r.modelHash ?? modelHashFromName(r.model) ?? (ran ? this.o.inference.modelHash(r.model) : undefined);
    if (!modelHash) return undefined;
    return this.encode(r, epoch, status, { modelHash, inputHash: inputHash(r.input), output: [] });
  }

  private encode(r: SequencedRequest, epoch: number, status: ReportStatus, inf: InferenceResult): Uint8Array {
    return encodeReport({
      kind: ReportKind.Request,
      domain: this.o.domain,
      epoch: BigInt(epoch),
      destination: r.destination as Destination,
      id: r.requestId,
      modelHash: inf.modelHash,
      inputHash: inf.inputHash,
      timestamp: BigInt(r.timestamp),
      round: 0n,
      status,
      output: inf.output,
    });
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
