// Batch mode input: members announce (request id, report leaf) for reports they computed. A leaf becomes
// ready for a batch once t members announced the same leaf for the request, so a batch built from ready
// leaves can collect t root signatures (an honest node signs a root only if it computed every leaf).
import { equalBytes } from './hex.ts';

/** Map key for a 32-byte id: latin1 is a 1:1 byte↔char mapping and much cheaper than hex. */
const idKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export interface ReadyLeaf {
  requestId: Uint8Array;
  leaf: Uint8Array;
  readyAt: number;
  /** The report bytes behind the leaf, when announcements carry them (needed to relay). */
  report?: Uint8Array;
}

export interface LeafConflict {
  member: number;
  requestId: Uint8Array;
  leaf: Uint8Array;
  agreedLeaf: Uint8Array;
}

interface Tally {
  requestId: Uint8Array;
  firstSeen: number;
  /** Distinct leaves announced for the request (almost always exactly one). */
  byLeaf: { leaf: Uint8Array; members: number[]; report?: Uint8Array }[];
  members: Set<number>;
  ready?: Uint8Array;
}

export interface AnnounceOutcome {
  ready?: ReadyLeaf;
  conflicts: LeafConflict[];
  /** Set when the announced report bytes do not hash to the announced leaf (the entry was dropped). */
  badReport?: boolean;
}

/** Checks that report bytes are the preimage of a leaf (reportLeaf); injected so tests can count calls. */
export type ReportCheck = (report: Uint8Array, leaf: Uint8Array) => boolean;

export class LeafQuorum {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly t: number,
    private readonly n: number,
    private readonly ttlMs = 30_000,
    private readonly maxTracked = 1_000_000,
    private readonly checkReport?: ReportCheck,
  ) {}

  get tracked(): number {
    return this.tallies.size;
  }

  /** Records one announcement; returns the leaf when it just reached t, and members that disagree. */
  announce(member: number, requestId: Uint8Array, leaf: Uint8Array, now: number, report?: Uint8Array): AnnounceOutcome {
    const conflicts: LeafConflict[] = [];
    if (!Number.isInteger(member) || member < 1 || member > this.n || requestId.length !== 32 || leaf.length !== 32) {
      return { conflicts };
    }
    const key = idKey(requestId);
    let tally = this.tallies.get(key);
    if (!tally) {
      if (this.tallies.size >= this.maxTracked) {
        const oldest = this.tallies.keys().next().value;
        if (oldest !== undefined) this.tallies.delete(oldest);
      }
      tally = { requestId, firstSeen: now, byLeaf: [], members: new Set() };
      this.tallies.set(key, tally);
    }
    if (tally.members.has(member)) return { conflicts };
    let entry = tally.byLeaf.find((e) => equalBytes(e.leaf, leaf));
    // Report bytes are hashed once per distinct leaf: later announcers of the same leaf cost a map lookup.
    const needsReport = report !== undefined && !entry?.report;
    if (needsReport && this.checkReport && !this.checkReport(report, leaf)) return { conflicts, badReport: true };
    tally.members.add(member);
    if (!entry) tally.byLeaf.push((entry = { leaf, members: [] }));
    if (needsReport) entry.report = report;
    entry.members.push(member);

    if (tally.ready) {
      if (!equalBytes(tally.ready, leaf)) conflicts.push({ member, requestId, leaf, agreedLeaf: tally.ready });
      return { conflicts };
    }
    if (entry.members.length < this.t) return { conflicts };
    tally.ready = leaf;
    const ready: ReadyLeaf = { requestId, leaf, readyAt: now };
    if (entry.report) ready.report = entry.report;
    for (const other of tally.byLeaf) {
      if (other === entry) continue;
      for (const m of other.members) conflicts.push({ member: m, requestId, leaf: other.leaf, agreedLeaf: leaf });
    }
    return { ready, conflicts };
  }

  expire(now: number): number {
    let dropped = 0;
    for (const [key, tally] of this.tallies) {
      if (now - tally.firstSeen < this.ttlMs) break;
      this.tallies.delete(key);
      dropped++;
    }
    return dropped;
  }
}
