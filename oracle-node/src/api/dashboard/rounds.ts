// Round rows for the dashboard: what each round was (kind, source, destination), how it ended (status,
// latency, signers, bad partials) and why it failed (the node's recorded error, or the failure status the
// committee signed). Read straight from the node's store, newest first.
import { ChainType, decodeReport, reportStatusName, toHex } from '@destra/protocol';
import type { NodeStore } from '../../store/store.ts';
import { recentRoundRows, roundRecordOf } from '../../round/views.ts';

export interface DashboardRound {
  requestId: string;
  round: number;
  kind: string;
  /** Where the request came from (ethereum, solana, http, feed:<name>, …). */
  source: string;
  /** The chain and contract the answer is for, as text ("any", "evm 31337 0xabc…", "svm <cluster> <program>"). */
  destination: string;
  model: string;
  status: string;
  latencyMs: number | null;
  signers: number[];
  invalid: number[];
  conflicting: number[];
  /** Why it did not answer: the node's error for a failed round, or the failure status signed in the report. */
  failure: string | null;
  receivedAt: number;
}

const KIND_NAMES: Record<number, string> = { 1: 'request', 2: 'feed', 3: 'on-demand' };

/** The 65-byte stored destination (chainType ‖ chainId ‖ contract, round/destination.ts) as text. */
export function destinationText(b: Uint8Array): string {
  if (b.length !== 65) return `malformed (${b.length} bytes)`;
  const chainId = b.subarray(1, 33);
  const contract = b.subarray(33, 65);
  switch (b[0]) {
    case ChainType.Any:
      return 'any';
    case ChainType.Evm:
      return `evm ${BigInt(toHex(chainId)).toString()} ${toHex(contract.subarray(12))}`;
    case ChainType.Svm:
      return `svm ${toHex(chainId)} ${toHex(contract)}`;
    default:
      return `chain type ${b[0]}`;
  }
}

function signedFailure(report: Buffer | null): string | null {
  if (!report) return null;
  try {
    const d = decodeReport(new Uint8Array(report));
    return d.status ? reportStatusName(d.status) : null;
  } catch {
    return 'stored report does not decode';
  }
}

export function dashboardRounds(store: NodeStore, limit: number): DashboardRound[] {
  return recentRoundRows(store, limit).map((row) => {
    const r = roundRecordOf(row);
    return {
      ...r,
      kind: KIND_NAMES[r.kind] ?? `kind ${r.kind}`,
      source: String(row.source),
      destination: destinationText(new Uint8Array(row.destination as Buffer)),
      failure: row.error === null ? signedFailure(row.report as Buffer | null) : String(row.error),
    };
  });
}
