// A chain's request stream signed in ranges (docs/node.md "Chain requests in ranges"). The chain watcher
// hands over requests with their sequence numbers and says when it has read every request up to a block;
// this module then checks it holds the stream without a gap up to that block (the chain's own counter at
// the block's end says how far the stream goes; a gap is re-read from the chain), cuts the ranges
// (request-stream.ts: one block each), runs inference, and commits each range through the node's range
// service (one root signature per range, the aggregators certify it). Members 1..n−t+1 also send the
// range's report bytes to the aggregators, which relay certified ranges with fulfillBatch. A range that is
// not certified in time, or that this node cannot commit, goes to the single-request round path.
import { encodeReport, inputHash, rangeId, ReportBatchEncoder, ReportKind, ReportStatus, toHex, type Destination } from '@destra/protocol';
import { encodeRangeReports, PROTOCOL_RANGE_REPORTS } from '@destra/aggregator/range-reports';
import { loadFastHasher, type FastHasher } from '@destra/aggregator/fast-hash';
import type { Logger } from 'pino';
import { UnknownModelError } from '../inference/errors.ts';
import { rangeInferencer, type RangeInferencer } from '../range/inference.ts';
import { failureStatus, modelHashFromName } from '../round/failure.ts';
import type { Inferencer, InferenceResult } from '../round/inference.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { ChainRequest } from '../round/types.ts';
import { cutRanges, equalLengthRuns, StreamBuffer, type SequencedRequest, type StreamRange } from './request-stream.ts';

/** What the stream reads from its chain besides the watcher's feed. */
export interface StreamChainReader {
  /** Sequence number the first request after `block` gets (Ethereum: the router's nonce at that block). */
  nextSeqAfter(block: bigint): Promise<number>;
  /** Every request of blocks `from..to` (inclusive), read from the chain again (gap recovery). */
  requestsIn(from: bigint, to: bigint): Promise<SequencedRequest[]>;
}

/** The node's range service (oracle-node/src/range/service.ts), as far as a chain stream uses it. */
export interface RangeCommitter {
  commitRange(stream: Uint8Array, start: number, reports: Uint8Array, reportLength: number, epoch?: number): Promise<Uint8Array>;
  onCertified(id: Uint8Array | string, cb: (r: unknown) => void): () => void;
  /** First sequence number of `stream` not committed here yet (the SQLite guard). */
  nextSeq(stream: Uint8Array): number;
}

export interface StreamHost {
  sendDirect(peerId: string, protocol: string, data: Uint8Array): Promise<void>;
  peersWithRole(role: 'aggregator'): { peerId: string }[];
}

export interface ChainRequestStreamOptions {
  /** requestStream(destination) of the router / program. */
  stream: Uint8Array;
  reader: StreamChainReader;
  ranges: RangeCommitter;
  inference: Inferencer;
  domain: Uint8Array;
  activeKey(): ActiveKey | undefined;
  host: StreamHost;
  /** The single-request round path (RoundEngine.onChainRequest). */
  fallback(r: ChainRequest): void;
  /** Requests per range at most (a block with more is split). Default 1024. */
  maxRangeSize?: number;
  /** A committed range not certified within this goes to the round path. Default 30 s. */
  certifyTimeoutMs?: number;
  /** A node further behind than this many requests (e.g. back after a long outage) skips ahead. Default 65,536. */
  maxCatchUp?: number;
  /** Batch Keccak for input hashes (default: loaded on first use; the protocol's hashing without it). */
  hasher?: FastHasher;
  log: Logger;
}

export interface ChainStreamStats {
  ranges: number;
  requests: number;
  certifiedRanges: number;
  certifiedRequests: number;
  /** Requests handed to the round path (range not committed or not certified in time). */
  fallbackRequests: number;
  /** Gaps in the watcher's feed re-read from the chain, and those still open after the re-read. */
  gapsRecovered: number;
  gapsOpen: number;
}

export class ChainRequestStream {
  private buffer = new StreamBuffer(0);
  /** Last block whose requests were cut (undefined until the first sync). */
  private cursorBlock: bigint | undefined;
  /** Ranges starting below this were committed before a restart (the guard's position). */
  private committedUpTo = 0;
  private work: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly rows: RangeInferencer;
  private hasher: Promise<FastHasher | undefined> | undefined;
  readonly stats: ChainStreamStats = { ranges: 0, requests: 0, certifiedRanges: 0, certifiedRequests: 0, fallbackRequests: 0, gapsRecovered: 0, gapsOpen: 0 };

  constructor(private readonly o: ChainRequestStreamOptions) {
    this.rows = rangeInferencer(o.inference);
    if (o.hasher) this.hasher = Promise.resolve(o.hasher);
  }

  /** A request from the watcher (in any order; duplicates and requests already cut are ignored). */
  add(r: SequencedRequest): void {
    this.buffer.add(r);
  }

  /** The watcher has handed over every request of blocks up to `block`: cut and sign what is complete. */
  synced(block: bigint): Promise<void> {
    const run = this.work.then(() => (this.stopped ? undefined : this.process(block)));
    this.work = run.catch((err: Error) => this.o.log.warn({ block: String(block), err: err.message }, 'request stream: sync failed; retried at the next block'));
    return this.work;
  }

  /** Resolves when every sync handed over so far has been processed. */
  idle(): Promise<void> {
    return this.work;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async process(block: bigint): Promise<void> {
    const { reader, log } = this.o;
    if (this.cursorBlock === undefined) {
      // First sync: start at the first block the watcher delivered (or after `block` when it delivered none).
      const first = this.buffer.firstBlock();
      const base = first === undefined ? block : first - 1n;
      const start = await reader.nextSeqAfter(base);
      this.committedUpTo = this.o.ranges.nextSeq(this.o.stream);
      this.buffer.skipTo(start);
      this.cursorBlock = base;
      log.info({ stream: toHex(this.o.stream), block: String(base + 1n), seq: start, committedUpTo: this.committedUpTo }, 'request stream: following from this block');
    }
    if (block <= this.cursorBlock) return;
    const end = await reader.nextSeqAfter(block);
    if (end - this.buffer.next > (this.o.maxCatchUp ?? 65_536)) {
      log.warn({ from: this.buffer.next, to: end }, 'request stream: too far behind; skipping ahead (the other members sign what is skipped)');
      this.buffer.skipTo(end);
      this.cursorBlock = block;
      return;
    }
    let got = this.buffer.take(end);
    if ('missing' in got) {
      // The watcher's feed has a hole (an RPC that dropped a log, a restart mid-block): read the blocks again.
      const missing = got.missing;
      for (const r of await reader.requestsIn(this.cursorBlock + 1n, block)) this.buffer.add(r);
      got = this.buffer.take(end);
      if ('missing' in got) {
        this.stats.gapsOpen++;
        log.warn({ missing: got.missing.length, first: got.missing[0], block: String(block) }, 'request stream: requests missing after re-reading the chain; retrying at the next block');
        return;
      }
      this.stats.gapsRecovered++;
      log.info({ recovered: missing.length, first: missing[0] }, 'request stream: gap in the watcher feed recovered from the chain');
    }
    this.cursorBlock = block;
    for (const range of cutRanges(got.ready, this.o.maxRangeSize ?? 1024)) {
      if (this.stopped) return;
      await this.sign(range);
    }
  }

  private async sign(range: StreamRange): Promise<void> {
    const end = range.start + range.requests.length;
    if (end <= this.committedUpTo) return; // committed before a restart: certified or left to the others
    const key = this.o.activeKey();
    if (!key) return this.toRounds(range.requests, 'no active key share');
    let fast: { flat: Uint8Array; length: number } | undefined;
    try {
      fast = await this.fastReports(range.requests, key.epoch);
    } catch (err) {
      return this.toRounds(range.requests, `inference failed: ${(err as Error).message}`);
    }
    if (fast) return this.commit(key, range.start, range.requests, fast.flat, fast.length);
    let reports: (Uint8Array | undefined)[];
    try {
      reports = await this.reports(range.requests, key.epoch);
    } catch (err) {
      return this.toRounds(range.requests, `inference failed: ${(err as Error).message}`);
    }
    // A request nobody can sign (refused, and no model hash to name in a failure report) is left out:
    // every honest member leaves out the same ones.
    const unsignable = range.requests.filter((_, i) => !reports[i]);
    if (unsignable.length > 0) this.toRounds(unsignable, 'refused without a model hash to sign a failure report for');
    for (const run of equalLengthRuns(reports.map((r) => r?.length ?? 0))) {
      if (run.length === 0) continue;
      const flat = new Uint8Array(run.count * run.length);
      for (let i = 0; i < run.count; i++) flat.set(reports[run.offset + i]!, i * run.length);
      await this.commit(key, range.start + run.offset, range.requests.slice(run.offset, run.offset + run.count), flat, run.length);
    }
  }

  /** Commits `requests` (reports back to back in `flat`) as one range; carriers send the bytes; certification is watched. */
  private async commit(key: ActiveKey, start: number, requests: SequencedRequest[], flat: Uint8Array, length: number): Promise<void> {
    if (start < this.committedUpTo) return;
    try {
      await this.o.ranges.commitRange(this.o.stream, start, flat, length, key.epoch);
    } catch (err) {
      return this.toRounds(requests, `range not committed: ${(err as Error).message}`);
    }
    this.stats.ranges++;
    this.stats.requests += requests.length;
    this.watchCertification(start, requests);
    // Members 1..n−t+1 carry the bytes: any t committers include one of them.
    if (key.index <= key.n - key.t + 1) {
      void this.sendReports(key, start, Array.from({ length: requests.length }, (_, i) => flat.subarray(i * length, (i + 1) * length)));
    }
  }

  /**
   * The common case at speed: every request names the served model (and its hash), one block (one
   * timestamp), one destination, every row valid — one inferBatch, batch Keccak of the inputs, one
   * template encode (ReportBatchEncoder: byte-identical to encodeReport). Undefined when the range is not
   * that case; the general path (reports()) then handles refusals row by row.
   */
  private async fastReports(requests: readonly SequencedRequest[], epoch: number): Promise<{ flat: Uint8Array; length: number } | undefined> {
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

  private watchCertification(start: number, requests: SequencedRequest[]): void {
    const id = rangeId(this.o.stream, start, requests.length);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      cancel();
      this.toRounds(requests, 'range not certified in time');
    }, this.o.certifyTimeoutMs ?? 30_000);
    timer.unref();
    this.timers.add(timer);
    const cancel = this.o.ranges.onCertified(id, () => {
      clearTimeout(timer);
      this.timers.delete(timer);
      this.stats.certifiedRanges++;
      this.stats.certifiedRequests += requests.length;
    });
  }

  private async sendReports(key: ActiveKey, start: number, reports: Uint8Array[]): Promise<void> {
    const frame = encodeRangeReports({ epoch: key.epoch, index: key.index, stream: this.o.stream, start, reports });
    await Promise.all(
      this.o.host.peersWithRole('aggregator').map((p) =>
        this.o.host.sendDirect(p.peerId, PROTOCOL_RANGE_REPORTS, frame).catch((err: Error) => this.o.log.debug({ peer: p.peerId, start, err: err.message }, 'range reports not sent')),
      ),
    );
  }

  private toRounds(requests: readonly SequencedRequest[], why: string): void {
    if (this.stopped || requests.length === 0) return;
    this.stats.fallbackRequests += requests.length;
    this.o.log.warn({ first: requests[0]!.seq, count: requests.length, why }, 'request stream: requests go to the single-request round path');
    for (const r of requests) this.o.fallback(r);
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
  private async reports(requests: readonly SequencedRequest[], epoch: number): Promise<(Uint8Array | undefined)[]> {
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
