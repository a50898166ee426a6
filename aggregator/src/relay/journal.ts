// The relayer's journal in SQLite (`<dataDir>/relay.db`): every report the relayer has not landed (or
// given up on) yet, per chain, so an aggregator restarted mid-relay relays it again (Relayer.resume).
// Written before the first attempt, removed when the relay ends; a killed process leaves it pending.
import Database from 'better-sqlite3';
import { fromHex, toHex } from '@destra/protocol';
import type { ChainName, RelayJournal, SignedReport } from './relayer.ts';
import { rangeKey, type RangeJournal, type SignedRange } from './range-relayer.ts';

interface Row {
  chain: string;
  item: string;
}

const encode = (i: SignedReport): string =>
  JSON.stringify({ requestId: toHex(i.requestId), report: toHex(i.report), root: toHex(i.root), proof: i.proof.map((p) => toHex(p)), signature: toHex(i.signature) });

function decode(text: string): SignedReport {
  const o = JSON.parse(text) as { requestId: string; report: string; root: string; proof: string[]; signature: string };
  return { requestId: fromHex(o.requestId), report: fromHex(o.report), root: fromHex(o.root), proof: o.proof.map((p) => fromHex(p)), signature: fromHex(o.signature) };
}

const encodeRange = (r: SignedRange): string =>
  JSON.stringify({ epoch: r.epoch, stream: toHex(r.stream), start: r.start, root: toHex(r.root), signature: toHex(r.signature), reports: r.reports.map((x) => toHex(x)) });

function decodeRange(text: string): SignedRange {
  const o = JSON.parse(text) as { epoch: number; stream: string; start: number; root: string; signature: string; reports: string[] };
  return { epoch: o.epoch, stream: fromHex(o.stream), start: o.start, root: fromHex(o.root), signature: fromHex(o.signature), reports: o.reports.map((x) => fromHex(x)) };
}

export class SqliteRelayJournal implements RelayJournal, RangeJournal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly del: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL survives a killed process (what the journal is for) without an fsync per relay.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS pending_relays (
      chain TEXT NOT NULL,
      request_id TEXT NOT NULL,
      item TEXT NOT NULL,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (chain, request_id)
    )`);
    // Certified ranges of a chain's request stream not landed yet (RangeRelayer), one row per range and chain.
    this.db.exec(`CREATE TABLE IF NOT EXISTS pending_ranges (
      chain TEXT NOT NULL,
      range_key TEXT NOT NULL,
      item TEXT NOT NULL,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (chain, range_key)
    )`);
    this.insert = this.db.prepare('INSERT OR REPLACE INTO pending_relays (chain, request_id, item, added_at) VALUES (?, ?, ?, ?)');
    this.del = this.db.prepare('DELETE FROM pending_relays WHERE chain = ? AND request_id = ?');
  }

  add(chain: ChainName, item: SignedReport): void {
    this.insert.run(chain, toHex(item.requestId), encode(item), Date.now());
  }

  remove(chain: ChainName, requestId: Uint8Array): void {
    if (this.db.open) this.del.run(chain, toHex(requestId));
  }

  pending(): { chain: ChainName; item: SignedReport }[] {
    return (this.db.prepare('SELECT chain, item FROM pending_relays ORDER BY added_at').all() as Row[]).map((r) => ({ chain: r.chain as ChainName, item: decode(r.item) }));
  }

  addRange(chain: ChainName, range: SignedRange): void {
    this.db.prepare('INSERT OR REPLACE INTO pending_ranges (chain, range_key, item, added_at) VALUES (?, ?, ?, ?)').run(chain, rangeKey(range), encodeRange(range), Date.now());
  }

  removeRange(chain: ChainName, range: SignedRange): void {
    if (this.db.open) this.db.prepare('DELETE FROM pending_ranges WHERE chain = ? AND range_key = ?').run(chain, rangeKey(range));
  }

  pendingRanges(): { chain: ChainName; range: SignedRange }[] {
    return (this.db.prepare('SELECT chain, item FROM pending_ranges ORDER BY added_at').all() as Row[]).map((r) => ({ chain: r.chain as ChainName, range: decodeRange(r.item) }));
  }

  /** How many relays are pending (status endpoint). */
  count(): number {
    if (!this.db.open) return 0;
    return (this.db.prepare('SELECT count(*) AS n FROM pending_relays').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
