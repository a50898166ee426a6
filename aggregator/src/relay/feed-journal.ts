// The feed relay's journal in SQLite (`<dataDir>/feed-relay.db`): certified feed batches not landed yet,
// per chain, written before the first attempt and removed when the relay ends, so an aggregator killed
// mid-relay lands them after its restart (FeedRelay.resume).
import Database from 'better-sqlite3';
import { fromHex, toHex } from '@destra/protocol';
import type { CertifiedFeedBatch } from '../net/feed-commits.ts';
import type { FeedChain, FeedRelayJournal } from './feeds.ts';

const encode = (b: CertifiedFeedBatch): string =>
  JSON.stringify({
    epoch: b.epoch, stream: toHex(b.stream), root: toHex(b.root), signature: toHex(b.signature), signers: b.signers, count: b.count,
    reports: b.reports.map((r) => toHex(r)), proofs: b.proofs.map((p) => p.map((h) => toHex(h))),
  });

function decode(text: string): CertifiedFeedBatch {
  const o = JSON.parse(text) as { epoch: number; stream: string; root: string; signature: string; signers: number[]; count: number; reports: string[]; proofs: string[][] };
  return {
    epoch: o.epoch, stream: fromHex(o.stream), root: fromHex(o.root), signature: fromHex(o.signature), signers: o.signers, count: o.count,
    reports: o.reports.map((r) => fromHex(r)), proofs: o.proofs.map((p) => p.map((h) => fromHex(h))),
  };
}

export class SqliteFeedRelayJournal implements FeedRelayJournal {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS pending_feed_batches (
      chain TEXT NOT NULL,
      stream TEXT NOT NULL,
      batch TEXT NOT NULL,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (chain, stream)
    )`);
  }

  add(chain: FeedChain, batch: CertifiedFeedBatch): void {
    this.db.prepare('INSERT OR REPLACE INTO pending_feed_batches (chain, stream, batch, added_at) VALUES (?, ?, ?, ?)').run(chain, toHex(batch.stream), encode(batch), Date.now());
  }

  remove(chain: FeedChain, stream: Uint8Array): void {
    if (this.db.open) this.db.prepare('DELETE FROM pending_feed_batches WHERE chain = ? AND stream = ?').run(chain, toHex(stream));
  }

  pending(): { chain: FeedChain; batch: CertifiedFeedBatch; addedAt: number }[] {
    return (this.db.prepare('SELECT chain, batch, added_at FROM pending_feed_batches ORDER BY added_at').all() as { chain: string; batch: string; added_at: number }[]).map((r) => ({
      chain: r.chain as FeedChain, batch: decode(r.batch), addedAt: r.added_at,
    }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM pending_feed_batches').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
