// Read-only views of the rounds for the dashboard / HTTP API.
import { toHex } from '@destra/protocol';
import type { NodeStore } from '../store/store.ts';
import type { RoundRecord } from './types.ts';

/** A stored round row as `recentRoundRows` reads it (the request joined with its combined result, if any). */
export type RoundRow = Record<string, unknown>;

/**
 * The most recent rounds' rows (newest first): the request's columns and its combined result's. One query
 * for every view of the rounds (the API's RoundRecord, the dashboard's richer row).
 */
export function recentRoundRows(store: NodeStore, limit: number): RoundRow[] {
  return store.db
    .prepare(
      `SELECT q.request_id, q.round, q.kind, q.source, q.destination, q.model, q.status, q.error, q.received_at,
              r.report, r.latency_ms, r.signers, r.invalid, r.conflicting
       FROM requests q LEFT JOIN reports r ON r.request_id = q.request_id AND r.round = q.round
       ORDER BY q.received_at DESC LIMIT ?`,
    )
    .all(limit) as RoundRow[];
}

const indexList = (v: unknown): number[] => (v ? (JSON.parse(String(v)) as number[]) : []);

/** The API's view of one round row. */
export function roundRecordOf(row: RoundRow): RoundRecord {
  return {
    requestId: toHex(new Uint8Array(row.request_id as Buffer)),
    round: Number(row.round),
    kind: Number(row.kind),
    model: String(row.model),
    status: String(row.status),
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    signers: indexList(row.signers),
    invalid: indexList(row.invalid),
    conflicting: indexList(row.conflicting),
    receivedAt: Number(row.received_at),
  };
}

/** The most recent rounds (newest first) with their combined result, if any. */
export function recentRounds(store: NodeStore, limit = 50): RoundRecord[] {
  return recentRoundRows(store, limit).map(roundRecordOf);
}
