// JSON views shared by the HTTP API and the dashboard.
import { decodeReport, g1ToEip2537, g2ToEip2537, reportStatusName, toHex } from '@destra/protocol';
import type { StoredReport } from '../store/store.ts';

export interface ReportView {
  requestId: string;
  round: number;
  epoch: number;
  /** Report bytes (docs/report-format.md), hex. */
  report: string;
  /** Threshold signature, compressed G1 (48 bytes) hex. */
  signature: string;
  /** Same signature in the EIP-2537 precompile encoding (128 bytes) hex. */
  signatureEip2537: string;
  /** Signed root: the report leaf, or the batch root when batched. */
  root: string;
  /** Merkle proof from the report leaf to the root (empty when not batched). */
  proof: string[];
  /** Compressed G2 group key (96 bytes) hex. */
  groupKey: string;
  groupKeyEip2537: string;
  signers: number[];
  invalid: number[];
  conflicting: number[];
  latencyMs: number | null;
  decoded: { kind: number; timestamp: string; modelHash: string; inputHash: string; status: string; output: string[]; destChainType: number };
}

export function reportView(r: StoredReport, groupKey: Uint8Array): ReportView {
  const d = decodeReport(r.report);
  return {
    requestId: toHex(r.requestId),
    round: r.round,
    epoch: r.epoch,
    report: toHex(r.report),
    signature: toHex(r.signature),
    signatureEip2537: toHex(g1ToEip2537(r.signature)),
    root: toHex(r.root),
    proof: r.proof.map(toHex),
    groupKey: toHex(groupKey),
    groupKeyEip2537: toHex(g2ToEip2537(groupKey)),
    signers: r.signers,
    invalid: r.invalid,
    conflicting: r.conflicting,
    latencyMs: r.latencyMs,
    decoded: {
      kind: d.kind,
      timestamp: d.timestamp.toString(),
      modelHash: toHex(d.modelHash),
      inputHash: toHex(d.inputHash),
      /** OK, or the failure status of a failure report (docs/report-format.md §1.1): no outputs then. */
      status: reportStatusName(d.status ?? 0),
      output: d.output.map((v) => v.toString()),
      destChainType: d.destination.chainType,
    },
  };
}

export interface MemberView {
  index: number;
  operatorKey: string;
  peerId: string | null;
  connected: boolean;
  self: boolean;
  /** Public key share (compressed G2) once the DKG finished. */
  publicShare: string | null;
  qualified: boolean | null;
  /** Partials counted in combined signatures / found invalid / conflicting, over recent rounds. */
  partials: { combined: number; invalid: number; conflicting: number };
}

export interface CommitteeView {
  epoch: number;
  threshold: number;
  size: number;
  groupKey: string | null;
  members: MemberView[];
  aggregators: { index: number; operatorKey: string; peerId: string | null; connected: boolean }[];
}

export interface NodeStatus {
  /** `down`: fewer than threshold members reachable (quorum.ts); `degraded` also when exactly threshold. */
  status: 'ok' | 'starting' | 'degraded' | 'down';
  network: string;
  index: number;
  peerId: string;
  epoch: number;
  hasKeyShare: boolean;
  dkg: { phase: string; error: string | null };
  peers: { members: number; aggregators: number };
  uptimeSeconds: number;
  /** Why the status is not `ok` (absent when it is). */
  reasons?: string[];
  /** Members reachable from here against the threshold (members holding a key share; see quorum.ts). */
  quorum?: { state: 'ok' | 'degraded' | 'down'; reachable: number; threshold: number; size: number };
}
