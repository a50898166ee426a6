// The node's durable state in one SQLite file (WAL mode). Every method is a short synchronous
// transaction, so a process killed at any instant leaves a consistent file behind.
import Database from 'better-sqlite3';
import { DestraNodeError, DoubleSignError } from '../errors.ts';
import { OWN_PARTIALS_SQL, SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';

export type RequestStatus = 'pending' | 'signed' | 'done' | 'failed';

export interface StoredRequest {
  requestId: Uint8Array;
  round: number;
  source: string;
  kind: number;
  epoch: number;
  model: string;
  input: Uint8Array;
  timestamp: number;
  /** chainType (1) ‖ chainId (32) ‖ contract (32). */
  destination: Uint8Array;
  leader: number | null;
  status: RequestStatus;
  error: string | null;
  receivedAt: number;
}

export interface OwnPartial {
  requestId: Uint8Array;
  round: number;
  epoch: number;
  digest: Uint8Array;
  report: Uint8Array;
  signature: Uint8Array | null;
  createdAt: number;
}

export interface StoredReport {
  requestId: Uint8Array;
  round: number;
  epoch: number;
  report: Uint8Array;
  root: Uint8Array;
  signature: Uint8Array;
  proof: Uint8Array[];
  signers: number[];
  invalid: number[];
  conflicting: number[];
  latencyMs: number | null;
  combinedAt: number;
}

export interface KeyShareRecord {
  epoch: number;
  memberIndex: number;
  n: number;
  t: number;
  session: Uint8Array;
  groupKey: Uint8Array;
  commitments: Uint8Array[];
  qualified: number[];
  disqualified: { dealer: number; reason: string }[];
  /** EIP-2335 keystore JSON of the 32-byte share. */
  keystore: string;
  createdAt: number;
}

const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b);
const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Fixed 32-byte chunks <-> one blob (Merkle proofs, commitments of 96 bytes). */
const packChunks = (chunks: Uint8Array[]): Buffer => Buffer.concat(chunks.map((c) => Buffer.from(c)));
function unpackChunks(blob: Buffer, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + size <= blob.length; i += size) out.push(u8(blob.subarray(i, i + size)));
  return out;
}

type Row = Record<string, unknown>;

/** The statuses a request may move to each status from (forward only). */
const STATUS_FROM: Record<RequestStatus, RequestStatus[]> = {
  pending: [],
  signed: ['pending'],
  failed: ['pending', 'signed'],
  done: ['pending', 'signed', 'failed'],
};

export class NodeStore {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL survives a killed process; commits that guard against double-signing are made with
    // FULL (fsync), which also flushes every earlier commit (see durable()).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // The version is read before anything else is created: a newer file is left untouched.
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const v = this.getMeta('schema_version');
    if (v !== undefined && (!/^[0-9]+$/.test(v) || Number(v) > SCHEMA_VERSION || Number(v) < 1)) {
      this.db.close();
      throw new DestraNodeError('STATE_VERSION', `state file ${path} has schema version ${v}, this node understands 1..${SCHEMA_VERSION}; use a matching node version`);
    }
    this.db.exec(SCHEMA_SQL);
    if (v === undefined) this.setMeta('schema_version', String(SCHEMA_VERSION));
    else if (Number(v) === 1) this.migrateFromV1();
  }

  /**
   * Version 1 → 2, in place and in one durable transaction: the signing guard moves from (request id,
   * round) to (request id, round, epoch); every row is kept (each v1 row already names its epoch).
   */
  private migrateFromV1(): void {
    this.durable(() => {
      this.db.exec('ALTER TABLE own_partials RENAME TO own_partials_v1');
      // The indexes moved with the renamed table under their old names; the new table gets them afresh.
      this.db.exec('DROP INDEX IF EXISTS own_partials_digest; DROP INDEX IF EXISTS own_partials_epoch;');
      this.db.exec(OWN_PARTIALS_SQL);
      this.db.exec(
        `INSERT INTO own_partials (request_id, round, epoch, digest, report, signature, created_at)
         SELECT request_id, round, epoch, digest, report, signature, created_at FROM own_partials_v1`,
      );
      this.db.exec('DROP TABLE own_partials_v1');
      this.setMeta('schema_version', '2');
    });
  }

  /** Prepared statements by SQL text: preparing costs more than most of these queries. */
  private readonly statements = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /** Runs a write transaction whose commit is fsynced before returning (signing commitments). */
  private durable<T>(fn: () => T): T {
    this.stmt('PRAGMA synchronous = FULL').run();
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.stmt('PRAGMA synchronous = NORMAL').run();
    }
  }

  /** Runs several writes as one transaction (one commit). */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  getMeta(key: string): string | undefined {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return row ? String(row.value) : undefined;
  }

  setMeta(key: string, value: string): void {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Last processed block / slot of a chain watcher, so a restart resumes where it stopped. */
  cursor(source: string): bigint | undefined {
    const v = this.getMeta(`cursor:${source}`);
    return v === undefined ? undefined : BigInt(v);
  }

  setCursor(source: string, value: bigint): void {
    this.setMeta(`cursor:${source}`, value.toString());
  }

  // ---- range commits (double-signing guard for range batches) ---------------------------------------

  /** First sequence number of `stream` (hex) not yet committed to by this node (0 when none). */
  rangeNext(stream: string): number {
    return Number(this.getMeta(`range-next:${stream}`) ?? 0);
  }

  /**
   * Records, durably and before signing, that this node commits to `stream` up to `end` (exclusive).
   * Throws DoubleSignError when `start` lies below what was already committed: a range is signed once.
   * `durable: false` commits without the fsync (a killed process still keeps it, a power loss may not):
   * for streams whose range id fixes every byte of the reports, where signing a range again can only
   * sign the same root (batch-job ranges, see jobRangeStream) and the position only refuses replays.
   */
  reserveRange(stream: string, start: number, end: number, durable = true): void {
    const reserve = (): void => {
      const next = this.rangeNext(stream);
      if (start < next) throw new DoubleSignError(`refusing to commit range ${start}..${end - 1} of stream ${stream}: already committed up to ${next}`);
      this.setMeta(`range-next:${stream}`, String(end));
    };
    if (durable) this.durable(reserve);
    else this.db.transaction(reserve).immediate();
  }

  // ---- requests ------------------------------------------------------------------------------------

  /** Records work to do; returns false if this (request id, round) was already known. */
  addRequest(r: Omit<StoredRequest, 'status' | 'error' | 'receivedAt'> & { receivedAt?: number }): boolean {
    const res = this.stmt(
        `INSERT OR IGNORE INTO requests (request_id, round, source, kind, epoch, model, input, timestamp, destination, leader, status, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
      )
      .run(r.requestId, r.round, r.source, r.kind, r.epoch, r.model, r.input, r.timestamp, r.destination, r.leader, r.receivedAt ?? Date.now());
    return res.changes === 1;
  }

  getRequest(requestId: Uint8Array, round: number): StoredRequest | undefined {
    const row = this.stmt('SELECT * FROM requests WHERE request_id = ? AND round = ?').get(requestId, round) as Row | undefined;
    return row ? toRequest(row) : undefined;
  }

  /** Requests a restart must pick up again: not yet signed, or signed but not yet combined. */
  unfinishedRequests(): StoredRequest[] {
    return (this.stmt("SELECT * FROM requests WHERE status IN ('pending', 'signed') ORDER BY received_at").all() as Row[]).map(toRequest);
  }

  /**
   * Moves a request forward: pending → signed → done, pending/signed → failed, and failed → done (a
   * result that arrives after a local failure is still the truth). Never backwards: a late `signed` or
   * `failed` does not overwrite `done`. Returns false when the move is not allowed (nothing changes).
   */
  setRequestStatus(requestId: Uint8Array, round: number, status: RequestStatus, error: string | null = null): boolean {
    const from = STATUS_FROM[status];
    if (from.length === 0) return false;
    const res = this.stmt(`UPDATE requests SET status = ?, error = ? WHERE request_id = ? AND round = ? AND status IN (${from.map(() => '?').join(', ')})`).run(status, error, requestId, round, ...from);
    return res.changes === 1;
  }

  /**
   * The one backward move: a chain request answered under an older epoch that its chain still lists as
   * pending (the destination refused the answer after a handover) is open again, to be signed under the
   * active epoch. Returns false unless the request was `done`.
   */
  reopenRequest(requestId: Uint8Array, round: number): boolean {
    return this.stmt("UPDATE requests SET status = 'pending', error = NULL WHERE request_id = ? AND round = ? AND status = 'done'").run(requestId, round).changes === 1;
  }

  /** Counts of stored rows per table (health detail, retention tests). */
  counts(): { requests: number; ownPartials: number; reports: number; batchPartials: number } {
    const c = (t: string): number => Number((this.stmt(`SELECT COUNT(*) AS c FROM ${t}`).get() as Row).c);
    return { requests: c('requests'), ownPartials: c('own_partials'), reports: c('reports'), batchPartials: c('batch_partials') };
  }

  /**
   * Retention: deletes finished (done or failed) requests and combined reports received before
   * `before` (unix ms), then the oldest of them beyond `maxRows` per table. Unfinished requests are never
   * deleted. The double-signing guard (own partials, batch roots) is kept for every epoch from
   * `keepGuardFromEpoch` on (the node passes the previous epoch: the active and the previous epoch's rows
   * stay), whatever its age, and for every unfinished request: a member must never sign a second report
   * for a (request id, round, epoch) while the epoch's evidence can still slash it. Handover signatures
   * (one row per epoch) are never pruned.
   */
  prune(o: { before: number; maxRows: number; keepGuardFromEpoch: number }): { requests: number; reports: number; ownPartials: number; batchPartials: number; rangeGuards: number } {
    return this.db.transaction(() => {
      const finished = "status IN ('done', 'failed')";
      let requests = this.stmt(`DELETE FROM requests WHERE ${finished} AND received_at < ?`).run(o.before).changes;
      requests += this.stmt(
        `DELETE FROM requests WHERE ${finished} AND rowid IN (SELECT rowid FROM requests WHERE ${finished} ORDER BY received_at DESC LIMIT -1 OFFSET ?)`,
      ).run(o.maxRows).changes;
      let reports = this.stmt('DELETE FROM reports WHERE combined_at < ?').run(o.before).changes;
      reports += this.stmt('DELETE FROM reports WHERE rowid IN (SELECT rowid FROM reports ORDER BY combined_at DESC LIMIT -1 OFFSET ?)').run(o.maxRows).changes;
      const ownPartials = this.stmt(
        `DELETE FROM own_partials WHERE epoch < ? AND created_at < ?
           AND NOT EXISTS (SELECT 1 FROM requests q WHERE q.request_id = own_partials.request_id AND q.round = own_partials.round AND q.status IN ('pending', 'signed'))`,
      ).run(o.keepGuardFromEpoch, o.before).changes;
      const batchPartials = this.stmt('DELETE FROM batch_partials WHERE epoch < ? AND created_at < ?').run(o.keepGuardFromEpoch, o.before).changes;
      // Per-epoch range positions (`range-next:<stream>@<epoch>`, see RangeService): ranges of an old epoch
      // are never signed again, so their positions go with the epoch's other guard rows.
      const rangeGuards = this.stmt(
        `DELETE FROM meta WHERE key LIKE 'range-next:%@%' AND CAST(substr(key, instr(key, '@') + 1) AS INTEGER) < ?`,
      ).run(o.keepGuardFromEpoch).changes;
      return { requests, reports, ownPartials, batchPartials, rangeGuards };
    })();
  }

  // ---- own partials (double-signing guard) ---------------------------------------------------------

  /**
   * Reserves the digest this node will sign for (request id, round, epoch), before signing. Returns the
   * existing record when the same digest was reserved earlier in that epoch (re-sending after a restart
   * is safe); throws DoubleSignError when a different digest was. Another epoch is another slot: a chain
   * request still open at a handover is signed once more by the next committee.
   */
  reservePartial(p: { requestId: Uint8Array; round: number; epoch: number; digest: Uint8Array; report: Uint8Array }, opts: { durable?: boolean } = {}): OwnPartial {
    // durable: false only where the id fixes every byte of the report (on-demand ids, onDemandRequestId):
    // a row lost in a crash can then only be reserved again with the same digest.
    const run = opts.durable === false ? <T>(fn: () => T): T => this.db.transaction(fn).immediate() : <T>(fn: () => T): T => this.durable(fn);
    return run(() => {
      const existing = this.ownPartial(p.requestId, p.round, p.epoch);
      if (existing) {
        if (!eq(existing.digest, p.digest)) {
          throw new DoubleSignError(
            `refusing to sign a second report for request ${hex(p.requestId)} round ${p.round} epoch ${p.epoch}: already signed digest ${hex(existing.digest)}, asked to sign ${hex(p.digest)}`,
          );
        }
        return existing;
      }
      const createdAt = Date.now();
      this.stmt('INSERT INTO own_partials (request_id, round, epoch, digest, report, signature, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?)')
        .run(p.requestId, p.round, p.epoch, p.digest, p.report, createdAt);
      return { ...p, signature: null, createdAt };
    });
  }

  /** Stores the signature of the partial reserved for (request id, round, epoch); without epoch: the newest epoch's. */
  setPartialSignature(requestId: Uint8Array, round: number, signature: Uint8Array, epoch?: number): void {
    const e = epoch ?? this.ownPartial(requestId, round)?.epoch;
    if (e === undefined) return;
    this.stmt('UPDATE own_partials SET signature = ? WHERE request_id = ? AND round = ? AND epoch = ?').run(signature, requestId, round, e);
  }

  /** Stores the signature (of `epoch`'s partial; without epoch: the newest) and moves the request to 'signed', in one transaction. */
  markSigned(requestId: Uint8Array, round: number, signature: Uint8Array | null, epoch?: number): void {
    this.db.transaction(() => {
      if (signature) this.setPartialSignature(requestId, round, signature, epoch);
      this.setRequestStatus(requestId, round, 'signed');
    })();
  }

  /** The partial this node reserved for (request id, round) in `epoch`; without epoch: the newest epoch's. */
  ownPartial(requestId: Uint8Array, round: number, epoch?: number): OwnPartial | undefined {
    const row = (
      epoch === undefined
        ? this.stmt('SELECT * FROM own_partials WHERE request_id = ? AND round = ? ORDER BY epoch DESC LIMIT 1').get(requestId, round)
        : this.stmt('SELECT * FROM own_partials WHERE request_id = ? AND round = ? AND epoch = ?').get(requestId, round, epoch)
    ) as Row | undefined;
    if (!row) return undefined;
    return {
      requestId: u8(row.request_id as Buffer),
      round: Number(row.round),
      epoch: Number(row.epoch),
      digest: u8(row.digest as Buffer),
      report: u8(row.report as Buffer),
      signature: row.signature ? u8(row.signature as Buffer) : null,
      createdAt: Number(row.created_at),
    };
  }

  /**
   * True if this node itself computed (and committed to) a report with this leaf for this request id
   * (in `epoch`, when given: a batch of one epoch holds only that epoch's reports).
   */
  hasOwnLeaf(requestId: Uint8Array, digest: Uint8Array, epoch?: number): boolean {
    const row =
      epoch === undefined
        ? this.stmt('SELECT 1 FROM own_partials WHERE request_id = ? AND digest = ?').get(requestId, digest)
        : this.stmt('SELECT 1 FROM own_partials WHERE request_id = ? AND digest = ? AND epoch = ?').get(requestId, digest, epoch);
    return row !== undefined;
  }

  // ---- handover signatures (double-signing guard for committee handovers) --------------------------

  /**
   * Records, durably and before signing, that this node signs `handoverHash` as the handover out of
   * `oldEpoch`. Returns true when first recorded, false when this same hash was recorded before (signing
   * it again is safe); throws DoubleSignError when a different hash was: one handover per epoch.
   */
  reserveHandoverSignature(oldEpoch: number, handoverHash: Uint8Array): boolean {
    return this.durable(() => {
      const row = this.stmt('SELECT handover_hash FROM handover_signatures WHERE old_epoch = ?').get(oldEpoch) as Row | undefined;
      if (row) {
        const signed = u8(row.handover_hash as Buffer);
        if (!eq(signed, handoverHash)) {
          throw new DoubleSignError(`refusing to sign a second handover out of epoch ${oldEpoch}: already signed ${hex(signed)}, asked to sign ${hex(handoverHash)}`);
        }
        return false;
      }
      this.stmt('INSERT INTO handover_signatures (old_epoch, handover_hash, created_at) VALUES (?, ?, ?)').run(oldEpoch, handoverHash, Date.now());
      return true;
    });
  }

  /** The handover hash this node signed out of `oldEpoch`, if any. */
  handoverSignature(oldEpoch: number): Uint8Array | undefined {
    const row = this.stmt('SELECT handover_hash FROM handover_signatures WHERE old_epoch = ?').get(oldEpoch) as Row | undefined;
    return row ? u8(row.handover_hash as Buffer) : undefined;
  }

  countOwnPartials(): number {
    return Number((this.stmt('SELECT COUNT(*) AS c FROM own_partials').get() as Row).c);
  }

  /** Records a batch-root signature; a different root under the same batch id is refused. */
  recordBatchPartial(epoch: number, batchId: number, root: Uint8Array, sign: () => Uint8Array): Uint8Array {
    return this.durable(() => {
      const row = this.stmt('SELECT root, signature FROM batch_partials WHERE epoch = ? AND batch_id = ?').get(epoch, batchId) as Row | undefined;
      if (row) {
        if (!eq(u8(row.root as Buffer), root)) {
          throw new DoubleSignError(`batch ${batchId} of epoch ${epoch} was already signed with root ${hex(u8(row.root as Buffer))}; refusing root ${hex(root)}`);
        }
        return u8(row.signature as Buffer);
      }
      const signature = sign();
      this.stmt('INSERT INTO batch_partials (epoch, batch_id, root, signature, created_at) VALUES (?, ?, ?, ?, ?)').run(epoch, batchId, root, signature, Date.now());
      return signature;
    });
  }

  // ---- combined reports ----------------------------------------------------------------------------

  saveReport(r: StoredReport): void {
    this.stmt(
        `INSERT OR REPLACE INTO reports (request_id, round, epoch, report, root, signature, proof, signers, invalid, conflicting, latency_ms, combined_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.requestId,
        r.round,
        r.epoch,
        r.report,
        r.root,
        r.signature,
        packChunks(r.proof),
        JSON.stringify(r.signers),
        JSON.stringify(r.invalid),
        JSON.stringify(r.conflicting),
        r.latencyMs,
        r.combinedAt,
      );
  }

  /** The latest combined report for an id (highest round). */
  getReport(requestId: Uint8Array): StoredReport | undefined {
    const row = this.stmt('SELECT * FROM reports WHERE request_id = ? ORDER BY round DESC LIMIT 1').get(requestId) as Row | undefined;
    return row ? toReport(row) : undefined;
  }

  recentReports(limit: number): StoredReport[] {
    return (this.stmt('SELECT * FROM reports ORDER BY combined_at DESC LIMIT ?').all(limit) as Row[]).map(toReport);
  }

  // ---- key shares ----------------------------------------------------------------------------------

  saveKeyShare(k: KeyShareRecord): void {
    this.stmt(
        `INSERT OR REPLACE INTO key_shares (epoch, member_index, n, t, session, group_key, commitments, qualified, disqualified, keystore, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(k.epoch, k.memberIndex, k.n, k.t, k.session, k.groupKey, packChunks(k.commitments), JSON.stringify(k.qualified), JSON.stringify(k.disqualified), k.keystore, k.createdAt);
  }

  keyShare(epoch: number): KeyShareRecord | undefined {
    const row = this.stmt('SELECT * FROM key_shares WHERE epoch = ?').get(epoch) as Row | undefined;
    return row ? toKeyShare(row) : undefined;
  }

  latestKeyShare(): KeyShareRecord | undefined {
    const row = this.stmt('SELECT * FROM key_shares ORDER BY epoch DESC LIMIT 1').get() as Row | undefined;
    return row ? toKeyShare(row) : undefined;
  }
}

function toRequest(row: Row): StoredRequest {
  return {
    requestId: u8(row.request_id as Buffer),
    round: Number(row.round),
    source: String(row.source),
    kind: Number(row.kind),
    epoch: Number(row.epoch),
    model: String(row.model),
    input: u8(row.input as Buffer),
    timestamp: Number(row.timestamp),
    destination: u8(row.destination as Buffer),
    leader: row.leader === null ? null : Number(row.leader),
    status: row.status as RequestStatus,
    error: row.error === null ? null : String(row.error),
    receivedAt: Number(row.received_at),
  };
}

function toReport(row: Row): StoredReport {
  return {
    requestId: u8(row.request_id as Buffer),
    round: Number(row.round),
    epoch: Number(row.epoch),
    report: u8(row.report as Buffer),
    root: u8(row.root as Buffer),
    signature: u8(row.signature as Buffer),
    proof: unpackChunks(row.proof as Buffer, 32),
    signers: JSON.parse(String(row.signers)) as number[],
    invalid: JSON.parse(String(row.invalid)) as number[],
    conflicting: JSON.parse(String(row.conflicting)) as number[],
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    combinedAt: Number(row.combined_at),
  };
}

function toKeyShare(row: Row): KeyShareRecord {
  return {
    epoch: Number(row.epoch),
    memberIndex: Number(row.member_index),
    n: Number(row.n),
    t: Number(row.t),
    session: u8(row.session as Buffer),
    groupKey: u8(row.group_key as Buffer),
    commitments: unpackChunks(row.commitments as Buffer, 96),
    qualified: JSON.parse(String(row.qualified)) as number[],
    disqualified: JSON.parse(String(row.disqualified)) as { dealer: number; reason: string }[],
    keystore: String(row.keystore),
    createdAt: Number(row.created_at),
  };
}
