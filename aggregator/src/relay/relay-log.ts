// What this aggregator's relayers did, for its status endpoint (GET /v1/relays): one record per relay
// and chain — a signed report (Relayer) or a certified range (RangeRelayer) — from its start to its end,
// in a bounded in-memory ring (the oldest started record goes first). Not persisted: the relay journal
// (journal.ts) already keeps what is unfinished across restarts, and a restarted aggregator records those
// again as it resumes them.
import { randomBytes } from 'node:crypto';
import { toHex } from '@destra/protocol';
import type { ChainName, RelayOutcome } from './relayer.ts';
import type { RangeOutcome } from './range-relayer.ts';
import type { RelayObserver, RelayStart, RelayWatch } from './observer.ts';

/**
 * pending: attempts under way; confirmed: landed in `txs` (the sinks resolve once a transaction is mined /
 * confirmed); verified: nothing to land, the chain verified it with a view call (on-demand reports on
 * Ethereum); already-fulfilled: another relayer landed it first; failed: given up, `error` says why.
 */
export type RelayRecordStatus = 'pending' | 'confirmed' | 'verified' | 'already-fulfilled' | 'failed';

export interface RelayRecord {
  /** This aggregator's sequence number of the relay (per process). */
  id: number;
  /** Bumped on every change, unique across records: the cursor `since` pages by. */
  version: number;
  kind: 'report' | 'range';
  chain: ChainName;
  /** 0x-hex request (report) ids the relay lands (a range: every report of it). */
  requestIds: string[];
  /** A range relay's key (epoch:stream:start+count). */
  range?: string;
  status: RelayRecordStatus;
  /** Transaction hashes (Ethereum) or signatures (Solana) that landed it, in order. */
  txs: string[];
  /** Attempts made so far. */
  attempts: number;
  /** Why it failed, or (pending) the last failed attempt's error. */
  error?: string;
  /** Unix ms. */
  startedAt: number;
  updatedAt: number;
}

export interface RelayQuery {
  /** At most this many records. */
  limit: number;
  /** Only records changed after this cursor (a previous answer's `cursor`), oldest change first. */
  since?: number;
  /** Only records that land this 0x-hex request id. */
  requestId?: string;
}

export interface RelayPage {
  /** This log's random id, new on every aggregator start (its cursors start over then). */
  instance: string;
  /** The highest version in `relays` (or the caller's `since`, or the log's latest, when empty): pass it as `since` next time. */
  cursor: number;
  /** True when more records matched than `limit` (ask again with `since` = cursor). */
  more: boolean;
  relays: RelayRecord[];
}

export const DEFAULT_RELAY_LOG_SIZE = 2048;
const MAX_ERROR_CHARS = 300;
/** An Ethereum tx hash; a Solana signature in base58 (RPC) or as 128 hex digits (the LiteSVM transport). */
export const RELAY_TX = /^(0x[0-9a-fA-F]{64}|[0-9a-fA-F]{128}|[1-9A-HJ-NP-Za-km-z]{64,88})$/;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, MAX_ERROR_CHARS);

export class RelayLog implements RelayObserver {
  private readonly records = new Map<number, RelayRecord>();
  /** request id → ids of the records that land it. */
  private readonly byRequest = new Map<string, number[]>();
  private nextId = 1;
  private version = 0;
  private readonly capacity: number;
  private readonly now: () => number;
  readonly instance = randomBytes(8).toString('hex');

  constructor(o: { capacity?: number; now?: () => number } = {}) {
    this.capacity = Math.max(1, o.capacity ?? DEFAULT_RELAY_LOG_SIZE);
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.records.size;
  }

  started(s: RelayStart): RelayWatch {
    const at = this.now();
    const rec: RelayRecord = {
      id: this.nextId++,
      version: ++this.version,
      kind: s.kind,
      chain: s.chain,
      requestIds: s.requestIds.map((r) => toHex(r)),
      ...(s.range !== undefined ? { range: s.range } : {}),
      status: 'pending',
      txs: [],
      attempts: 0,
      startedAt: at,
      updatedAt: at,
    };
    this.records.set(rec.id, rec);
    for (const r of rec.requestIds) {
      const ids = this.byRequest.get(r);
      if (ids) ids.push(rec.id);
      else this.byRequest.set(r, [rec.id]);
    }
    while (this.records.size > this.capacity) this.evict(this.records.keys().next().value!);
    return {
      attemptFailed: (attempt, err) => this.update(rec, { attempts: attempt, error: errorText(err) }),
      finished: (out) => this.update(rec, finalFields(out)),
    };
  }

  /** Records matching `q` (see RelayQuery); without `since` the newest changes first. */
  list(q: RelayQuery): RelayPage {
    let matched = q.requestId !== undefined ? (this.byRequest.get(q.requestId.toLowerCase()) ?? []).map((id) => this.records.get(id)!) : [...this.records.values()];
    if (q.since !== undefined) {
      const since = q.since;
      matched = matched.filter((r) => r.version > since).sort((a, b) => a.version - b.version);
    } else matched.sort((a, b) => b.version - a.version);
    const relays = matched.slice(0, q.limit).map((r) => ({ ...r, requestIds: [...r.requestIds], txs: [...r.txs] }));
    const cursor = relays.length === 0 ? (q.since ?? this.version) : Math.max(...relays.map((r) => r.version));
    return { instance: this.instance, cursor, more: matched.length > relays.length, relays };
  }

  private update(rec: RelayRecord, fields: Partial<RelayRecord>): void {
    if (this.records.get(rec.id) !== rec) return; // evicted meanwhile
    Object.assign(rec, fields, { version: ++this.version, updatedAt: this.now() });
    // an attempt's error stays only while pending, or as the reason of a failure
    if (fields.status !== undefined && fields.status !== 'failed') delete rec.error;
  }

  private evict(id: number): void {
    const rec = this.records.get(id);
    this.records.delete(id);
    for (const r of rec?.requestIds ?? []) {
      const ids = this.byRequest.get(r)?.filter((x) => x !== id);
      if (ids?.length) this.byRequest.set(r, ids);
      else this.byRequest.delete(r);
    }
  }
}

/** A relayer's outcome as record fields. The Ethereum sink answers some submissions with a word instead of
 *  a hash ('already-fulfilled', 'stale', 'verified-by-view-call'): those are statuses, not transactions. */
function finalFields(out: RelayOutcome | RangeOutcome): Partial<RelayRecord> {
  if (out.status === 'failed') return { status: 'failed', attempts: out.attempts, error: errorText(out.error) };
  if (out.status === 'already-fulfilled') return { status: 'already-fulfilled', attempts: out.attempts };
  const sent = 'txs' in out ? out.txs : [out.tx];
  const txs = sent.filter((t) => RELAY_TX.test(t));
  if (txs.length > 0) return { status: 'confirmed', attempts: out.attempts, txs };
  if (sent.includes('verified-by-view-call')) return { status: 'verified', attempts: out.attempts };
  return { status: 'already-fulfilled', attempts: out.attempts };
}
