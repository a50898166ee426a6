// A chain's request stream signed in ranges (docs/node.md "Chain requests in ranges"). The chain watcher
// hands over requests with their sequence numbers and says when it has read every request up to a block;
// this module then checks it holds the stream without a gap up to that block (the chain's own counter at
// the block's end says how far the stream goes; a gap is re-read from the chain), cuts the ranges
// (request-stream.ts: one block each), runs inference, and commits each range through the node's range
// service (one root signature per range, the aggregators certify it). Members 1..n−t+1 also send the
// range's report bytes to the aggregators, which relay certified ranges with fulfillBatch. A range that is
// not certified in time, or that this node cannot commit, goes to the single-request round path.
import { rangeId, toHex } from '@destra/protocol';
import { encodeRangeReports, PROTOCOL_RANGE_REPORTS } from '@destra/aggregator/range-reports';
import type { FastHasher } from '@destra/aggregator/fast-hash';
import type { Logger } from 'pino';
import type { Inferencer } from '../round/inference.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { ChainRequest } from '../round/types.ts';
import { RangeReportBuilder } from './range-reports.ts';
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
  /**
   * A gap the chain re-read could not fill is tried again after this long even when no new block comes
   * (the watcher syncs only on new blocks; after a burst's last block that could be minutes). Default 1 s.
   */
  gapRetryMs?: number;
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
  private gapRetry: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly builder: RangeReportBuilder;
  readonly stats: ChainStreamStats = { ranges: 0, requests: 0, certifiedRanges: 0, certifiedRequests: 0, fallbackRequests: 0, gapsRecovered: 0, gapsOpen: 0 };

  constructor(private readonly o: ChainRequestStreamOptions) {
    this.builder = new RangeReportBuilder({ inference: o.inference, domain: o.domain, ...(o.hasher ? { hasher: o.hasher } : {}) });
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
    if (this.gapRetry) clearTimeout(this.gapRetry);
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
        log.warn({ missing: got.missing.length, first: got.missing[0], block: String(block) }, 'request stream: requests missing after re-reading the chain; retrying');
        // Seen on anvil under load: a block's requests missing from eth_getLogs right after it was mined.
        this.gapRetry ??= setTimeout(() => {
          this.gapRetry = undefined;
          void this.synced(block);
        }, this.o.gapRetryMs ?? 1000);
        this.gapRetry.unref();
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
      fast = await this.builder.fastReports(range.requests, key.epoch);
    } catch (err) {
      return this.toRounds(range.requests, `inference failed: ${(err as Error).message}`);
    }
    if (fast) return this.commit(key, range.start, range.requests, fast.flat, fast.length);
    let reports: (Uint8Array | undefined)[];
    try {
      reports = await this.builder.reports(range.requests, key.epoch);
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

}
