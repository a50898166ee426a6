// The feed scheduler: a pure state machine fed with the feed definitions read from FeedRegistry, the
// clock, chain heads and what the committee certified; it answers which feeds start or stop, which window
// to evaluate, whether a timed feed is due in it, and which blocks a block feed scores next. No I/O.
//
// Agreement (docs/node.md "Feeds"): a timed feed's round number and timestamp are its window's start
// (⌊t / window⌋ · window, unix seconds), so every member builds the same report for a window. Whether a
// feed is due in a window is decided against a reference every member sees alike: the newer of the round
// FeedStore holds (read after the window began) and the last round of the feed the committee certified
// (the aggregator's certificate reaches every member). A member that decides differently (it has just
// restarted, or read the chain a moment before a round landed) signs a different window root; at most
// that window's rounds are lost, never a wrong value, and the next window decides again.

export interface TimedFeedDef {
  kind: 'timed';
  /** keccak256(name), 0x-hex lower case. */
  id: string;
  name: string;
  /** The local model name the inference engine serves the feed's model under. */
  model: string;
  input: Uint8Array;
  heartbeatSec: number;
  deviationBps: number;
  destinations: { ethereum: boolean; solana: boolean };
  revision: number;
}

export interface BlockFeedDef {
  kind: 'block';
  id: string;
  name: string;
  model: string;
  confirmations: number;
  /** The block the feed was added in: blocks after it are scored. */
  sinceBlock: bigint;
  revision: number;
}

export type FeedDef = TimedFeedDef | BlockFeedDef;

/** A feed round as published (on chain, or certified by the committee). */
export interface PublishedRound {
  round: bigint;
  timestamp: bigint;
  values: readonly bigint[];
}

export type SchedulerEvent =
  | { type: 'started'; feed: FeedDef }
  | { type: 'changed'; feed: FeedDef; fromRevision: number }
  | { type: 'stopped'; id: string; name: string };

/** Why a timed feed is signed in a window. */
export type Trigger = 'first' | 'heartbeat' | 'deviation';

export interface SchedulerOptions {
  /** Seconds after a window starts before it is evaluated (chain reads then include what landed before it). */
  settleSec?: number;
  /** A block feed never scores more than this many blocks below the confirmed head (a node far behind skips the rest). */
  maxBacklogBlocks?: number;
  /** Blocks handed out per blocksDue call. */
  maxBlocksPerCall?: number;
}

/** True when any output moved more than `bps` basis points from `prev` (a changed output count counts). */
export function deviates(prev: readonly bigint[], next: readonly bigint[], bps: number): boolean {
  if (prev.length !== next.length) return true;
  const b = BigInt(bps);
  for (let i = 0; i < prev.length; i++) {
    const p = prev[i]!;
    const d = next[i]! - p;
    const diff = d < 0n ? -d : d;
    const base = p < 0n ? -p : p;
    if (base === 0n ? diff > 0n : diff * 10_000n > b * base) return true;
  }
  return false;
}

const newer = (a: PublishedRound | null | undefined, b: PublishedRound | null | undefined): PublishedRound | undefined => {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return b.round > a.round ? b : a;
};

export class FeedScheduler {
  private windowSec = 5;
  private lastWindow: bigint | undefined;
  private readonly timed = new Map<string, { def: TimedFeedDef; certified?: PublishedRound }>();
  private readonly blocks = new Map<string, { def: BlockFeedDef; next: bigint }>();
  private readonly settle: bigint;
  private readonly maxBacklog: bigint;
  private readonly perCall: number;

  constructor(o: SchedulerOptions = {}) {
    this.settle = BigInt(o.settleSec ?? 1);
    this.maxBacklog = BigInt(o.maxBacklogBlocks ?? 64);
    this.perCall = o.maxBlocksPerCall ?? 8;
  }

  get window(): number {
    return this.windowSec;
  }

  /**
   * The registry's definitions now: feeds not seen before start, feeds whose revision moved restart (a
   * block feed keeps its position), feeds no longer listed stop. Returns what changed.
   */
  setDefinitions(windowSec: number, defs: readonly FeedDef[]): SchedulerEvent[] {
    if (!Number.isInteger(windowSec) || windowSec < 1) throw new RangeError(`window must be a positive integer of seconds, got ${windowSec}`);
    this.windowSec = windowSec;
    const events: SchedulerEvent[] = [];
    const seen = new Set<string>();
    for (const def of defs) {
      seen.add(def.id);
      const old = this.timed.get(def.id)?.def ?? this.blocks.get(def.id)?.def;
      if (old && old.revision === def.revision && old.kind === def.kind && old.model === def.model) continue;
      this.timed.delete(def.id);
      const oldBlock = this.blocks.get(def.id);
      this.blocks.delete(def.id);
      if (def.kind === 'timed') this.timed.set(def.id, { def });
      else this.blocks.set(def.id, { def, next: oldBlock && oldBlock.def.sinceBlock === def.sinceBlock ? oldBlock.next : def.sinceBlock + 1n });
      events.push(old ? { type: 'changed', feed: def, fromRevision: old.revision } : { type: 'started', feed: def });
    }
    for (const [id, { def }] of [...this.timed, ...this.blocks]) {
      if (seen.has(id)) continue;
      this.timed.delete(id);
      this.blocks.delete(id);
      events.push({ type: 'stopped', id, name: def.name });
    }
    return events;
  }

  /** Timed feeds, ordered by id (the order of their reports in a window's tree). */
  timedFeeds(): TimedFeedDef[] {
    return [...this.timed.values()].map((f) => f.def).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  blockFeeds(): BlockFeedDef[] {
    return [...this.blocks.values()].map((f) => f.def).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  feed(id: string): FeedDef | undefined {
    return this.timed.get(id)?.def ?? this.blocks.get(id)?.def;
  }

  /**
   * The start of the window to evaluate at `nowSec`, once per window (undefined: nothing new, or no timed
   * feeds). A node that fell behind evaluates only the latest window, never a backlog.
   */
  nextWindow(nowSec: number): bigint | undefined {
    if (this.timed.size === 0) return undefined;
    const now = BigInt(Math.floor(nowSec)) - this.settle;
    if (now < 0n) return undefined;
    const w = BigInt(this.windowSec);
    const start = (now / w) * w;
    if (this.lastWindow !== undefined && start <= this.lastWindow) return undefined;
    this.lastWindow = start;
    return start;
  }

  /**
   * Whether timed feed `id` is signed in the window starting at `windowStart`, given its model output for
   * the window and the round FeedStore holds (null: none). Undefined: not due (or not a timed feed).
   */
  decide(id: string, windowStart: bigint, output: readonly bigint[], stored: PublishedRound | null): Trigger | undefined {
    const f = this.timed.get(id);
    if (!f) return undefined;
    const ref = newer(stored, f.certified);
    if (!ref) return 'first';
    if (ref.round >= windowStart) return undefined; // this window (or a later one) is out already
    if (windowStart - ref.timestamp >= BigInt(f.def.heartbeatSec)) return 'heartbeat';
    if (f.def.deviationBps > 0 && deviates(ref.values, output, f.def.deviationBps)) return 'deviation';
    return undefined;
  }

  /** The committee certified a round of a timed feed (it is the reference from now on if newer). */
  onCertified(id: string, round: PublishedRound): void {
    const f = this.timed.get(id);
    if (f) f.certified = newer(f.certified, round);
  }

  /** The next blocks feed `id` scores given the chain head: confirmed, in order, a few per call. */
  blocksDue(id: string, head: bigint): bigint[] {
    const f = this.blocks.get(id);
    if (!f) return [];
    const confirmed = head - BigInt(f.def.confirmations);
    if (confirmed < f.next) return [];
    if (confirmed - f.next >= this.maxBacklog) f.next = confirmed - this.maxBacklog + 1n;
    const out: bigint[] = [];
    for (let b = f.next; b <= confirmed && out.length < this.perCall; b++) out.push(b);
    return out;
  }

  /** Block `block` of feed `id` is done (scored and committed, or empty): the feed moves past it. */
  onBlockDone(id: string, block: bigint): void {
    const f = this.blocks.get(id);
    if (f && block + 1n > f.next) f.next = block + 1n;
  }

  /** Restores a block feed's position after a restart (never behind the feed's start). */
  resumeBlocks(id: string, next: bigint): void {
    const f = this.blocks.get(id);
    if (f && next > f.next) f.next = next;
  }

  nextBlock(id: string): bigint | undefined {
    return this.blocks.get(id)?.next;
  }
}
