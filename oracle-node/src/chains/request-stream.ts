// The cut rule of a chain's request stream (pure). Every request carries its sequence number (router
// nonce / program request_seq) and the block (slot) it executed in. Members must cut identically with
// no one proposing, from chain data alone:
//
//   a range is the requests of ONE block, split into consecutive pieces of at most `maxRangeSize` starting
//   at the block's first sequence number; a range's report bytes must have one length (RangeMember's
//   tree takes fixed-length reports), so a piece is split again into runs of equal report length
//   (answers of models with different output counts, failure reports) — deterministic too, since honest
//   members compute identical reports.
//
// Why blocks and not fixed-size ranges aligned to K: a fixed-size range waits for K requests, so a quiet
// stream would need a wall-clock timeout, and wall clocks differ between members; a block is final once
// the watcher has read past it (at its confirmation depth), every member sees the same one, and a range
// closes within one block of its last request — no later than a single-request round would start.
import type { ChainRequest } from '../round/types.ts';

/** A chain request with its place in the request stream. */
export interface SequencedRequest extends ChainRequest {
  seq: number;
  /** Block number (Ethereum) or slot (Solana) the request executed in. */
  block: bigint;
}

/** One range as cut: `requests[i]` has sequence number `start + i`. */
export interface StreamRange {
  start: number;
  requests: SequencedRequest[];
}

/**
 * Cuts `requests` (consecutive sequence numbers, in order) into ranges: one per block, split every
 * `maxRangeSize` from the block's first sequence number. Throws on a gap or disorder (a caller bug: the
 * stream only cuts what it holds completely).
 */
export function cutRanges(requests: readonly SequencedRequest[], maxRangeSize: number): StreamRange[] {
  if (!Number.isInteger(maxRangeSize) || maxRangeSize < 1) throw new RangeError(`maxRangeSize must be a positive integer, got ${maxRangeSize}`);
  const out: StreamRange[] = [];
  let cur: StreamRange | undefined;
  for (const [i, r] of requests.entries()) {
    if (i > 0 && r.seq !== requests[i - 1]!.seq + 1) throw new RangeError(`request ${r.seq} follows ${requests[i - 1]!.seq}: ranges are cut from consecutive requests only`);
    if (i > 0 && r.block < requests[i - 1]!.block) throw new RangeError(`request ${r.seq} is in block ${r.block}, before its predecessor's ${requests[i - 1]!.block}`);
    if (!cur || cur.requests[0]!.block !== r.block || cur.requests.length >= maxRangeSize) {
      cur = { start: r.seq, requests: [] };
      out.push(cur);
    }
    cur.requests.push(r);
  }
  return out;
}

/** Consecutive runs of equal length in `lengths`: [offset, count, length]. */
export function equalLengthRuns(lengths: readonly number[]): { offset: number; count: number; length: number }[] {
  const runs: { offset: number; count: number; length: number }[] = [];
  for (const [i, len] of lengths.entries()) {
    const last = runs.at(-1);
    if (last && last.length === len) last.count++;
    else runs.push({ offset: i, count: 1, length: len });
  }
  return runs;
}

/**
 * What a member holds of the stream from `next` on: requests arrive from the watcher (and from re-reads
 * after a gap); `take(end)` hands out [next, end) once every one of them is there, else names the missing
 * sequence numbers. Requests below `next` (already cut) are ignored.
 */
export class StreamBuffer {
  private readonly held = new Map<number, SequencedRequest>();

  constructor(private nextSeq: number) {}

  get next(): number {
    return this.nextSeq;
  }

  get size(): number {
    return this.held.size;
  }

  /** Smallest block among held requests (undefined when none is held). */
  firstBlock(): bigint | undefined {
    let b: bigint | undefined;
    for (const r of this.held.values()) if (b === undefined || r.block < b) b = r.block;
    return b;
  }

  add(r: SequencedRequest): void {
    if (r.seq < this.nextSeq) return;
    this.held.set(r.seq, r);
  }

  /** Forgets everything below `seq` and continues from there (a node that fell too far behind). */
  skipTo(seq: number): void {
    for (const k of this.held.keys()) if (k < seq) this.held.delete(k);
    this.nextSeq = Math.max(this.nextSeq, seq);
  }

  take(end: number): { ready: SequencedRequest[] } | { missing: number[] } {
    const missing: number[] = [];
    for (let s = this.nextSeq; s < end; s++) if (!this.held.has(s)) missing.push(s);
    if (missing.length > 0) return { missing };
    const ready: SequencedRequest[] = [];
    for (let s = this.nextSeq; s < end; s++) {
      ready.push(this.held.get(s)!);
      this.held.delete(s);
    }
    this.nextSeq = Math.max(this.nextSeq, end);
    return { ready };
  }
}
