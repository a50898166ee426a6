// Read-only views of the rounds for the dashboard / HTTP API.
import { toHex } from '@destra/protocol';
import type { NodeStore } from '../store/store.ts';
import type { RoundRecord } from './types.ts';

/** The most recent rounds (newest first) with their combined result, if any. */
export function recentRounds(store: NodeStore, limit = 50): RoundRecord[] {
  const rows = store.db
    .prepare(
      `SELECT q.request_id, q.round, q.kind, q.model, q.status, q.received_at, r.latency_ms, r.signers, r.invalid, r.conflicting
       FROM requests q LEFT JOIN reports r ON r.request_id = q.request_id AND r.round = q.round
       ORDER BY q.received_at DESC LIMIT ?`,
    )
    .all(limit) as Record<string, unknown>[];
  return rows.map((row) => ({
    requestId: toHex(new Uint8Array(row.request_id as Buffer)),
    round: Number(row.round),
    kind: Number(row.kind),
    model: String(row.model),
    status: String(row.status),
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    signers: row.signers ? (JSON.parse(String(row.signers)) as number[]) : [],
    invalid: row.invalid ? (JSON.parse(String(row.invalid)) as number[]) : [],
    conflicting: row.conflicting ? (JSON.parse(String(row.conflicting)) as number[]) : [],
    receivedAt: Number(row.received_at),
  }));
}
