// SQLite schema of the node's durable state. Versioned so a newer node can migrate an older file.
//   1: own_partials keyed (request id, round)
//   2: own_partials keyed (request id, round, epoch): a chain request still open at a handover is signed
//      again by the next committee (slashing is per (id, round, epoch, kind)); handover_signatures added.
export const SCHEMA_VERSION = 2;

/**
 * Every partial this node ever produced. The primary key is the double-signing guard: one digest per
 * (request id, round, epoch), forever. Separate so the v1 → v2 migration creates exactly this table.
 */
export const OWN_PARTIALS_SQL = `
CREATE TABLE IF NOT EXISTS own_partials (
  request_id BLOB NOT NULL,
  round INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  digest BLOB NOT NULL,
  report BLOB NOT NULL,
  signature BLOB,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, round, epoch)
);
CREATE INDEX IF NOT EXISTS own_partials_digest ON own_partials (digest);
-- Retention drops guard rows of old epochs only: found by epoch, not by scanning every row each minute.
CREATE INDEX IF NOT EXISTS own_partials_epoch ON own_partials (epoch, created_at);
`;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- Work received (chain watchers, HTTP, feeds, proposals) and not yet finished.
CREATE TABLE IF NOT EXISTS requests (
  request_id BLOB NOT NULL,
  round INTEGER NOT NULL,
  source TEXT NOT NULL,
  kind INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  model TEXT NOT NULL,
  input BLOB NOT NULL,
  timestamp INTEGER NOT NULL,
  destination BLOB NOT NULL,
  leader INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending', 'signed', 'done', 'failed')),
  error TEXT,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, round)
);
CREATE INDEX IF NOT EXISTS requests_status ON requests (status);
-- Age order: retention (oldest finished first), the resume scan and the dashboard's recent rounds.
CREATE INDEX IF NOT EXISTS requests_received_at ON requests (received_at);
${OWN_PARTIALS_SQL}-- Threshold-signed results received from aggregators (verified before insert).
CREATE TABLE IF NOT EXISTS reports (
  request_id BLOB NOT NULL,
  round INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  report BLOB NOT NULL,
  root BLOB NOT NULL,
  signature BLOB NOT NULL,
  proof BLOB NOT NULL,
  signers TEXT NOT NULL,
  invalid TEXT NOT NULL,
  conflicting TEXT NOT NULL,
  latency_ms INTEGER,
  combined_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, round)
);
CREATE INDEX IF NOT EXISTS reports_combined_at ON reports (combined_at);
-- Batch roots this node signed.
CREATE TABLE IF NOT EXISTS batch_partials (
  epoch INTEGER NOT NULL,
  batch_id INTEGER NOT NULL,
  root BLOB NOT NULL,
  signature BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (epoch, batch_id)
);
-- Key share metadata per epoch; the share itself is stored as an EIP-2335 keystore (JSON).
CREATE TABLE IF NOT EXISTS key_shares (
  epoch INTEGER PRIMARY KEY,
  member_index INTEGER NOT NULL,
  n INTEGER NOT NULL,
  t INTEGER NOT NULL,
  session BLOB NOT NULL,
  group_key BLOB NOT NULL,
  commitments BLOB NOT NULL,
  qualified TEXT NOT NULL,
  disqualified TEXT NOT NULL,
  keystore TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- The handover hash this node signed per old epoch (handover-signing guard): one hash per epoch, forever.
CREATE TABLE IF NOT EXISTS handover_signatures (
  old_epoch INTEGER PRIMARY KEY,
  handover_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
`;
