// The report trees the committee signs for feeds (docs/report-format.md §6): one per window of timed
// feeds (one report per due feed, ordered by feed id) and one per scored block (one report per
// transaction, in block order). Pure: the I/O side supplies model outputs and chain data.
import {
  ReportKind, TIMED_FEEDS_SCOPE, anyDestination, blockTxInputHash, buildMerkleTree, encodeReport, feedBatchStream, inputHash, merkleProof, reportLeaf,
  type Destination, type MerkleTree,
} from '@destra/protocol';

export interface FeedBatch {
  stream: Uint8Array;
  /** The round every report in it carries (window start, or block number). */
  round: bigint;
  epoch: number;
  reports: Uint8Array[];
  tree: MerkleTree;
}

export interface Common {
  domain: Uint8Array;
  epoch: number;
}

export interface TimedEntry {
  id: Uint8Array;
  modelHash: Uint8Array;
  input: Uint8Array;
  output: readonly bigint[];
}

const batch = (stream: Uint8Array, round: bigint, epoch: number, reports: Uint8Array[]): FeedBatch => ({
  stream, round, epoch, reports, tree: buildMerkleTree(reports.map(reportLeaf)),
});

/** A window's tree: entries must come ordered by feed id (FeedScheduler.timedFeeds order). */
export function timedWindowBatch(c: Common, windowStart: bigint, entries: readonly TimedEntry[]): FeedBatch {
  const reports = entries.map((e) =>
    encodeReport({
      kind: ReportKind.Feed, domain: c.domain, epoch: BigInt(c.epoch), destination: anyDestination(), id: e.id, modelHash: e.modelHash,
      inputHash: inputHash(e.input), timestamp: windowStart, round: windowStart, output: [...e.output],
    }),
  );
  return batch(feedBatchStream(TIMED_FEEDS_SCOPE, windowStart), windowStart, c.epoch, reports);
}

export interface ScoredBlock {
  number: bigint;
  hash: Uint8Array;
  timestamp: bigint;
  txHashes: readonly Uint8Array[];
  /** Canonical feature row per transaction (same order). */
  rows: readonly Uint8Array[];
  /** Model output per transaction (same order). */
  outputs: readonly (readonly bigint[])[];
}

/** A block's tree: leaf i is transaction i's score, addressed to BlockScores (destination). */
export function blockBatch(c: Common, feedId: Uint8Array, modelHash: Uint8Array, destination: Destination, b: ScoredBlock): FeedBatch {
  const reports = b.txHashes.map((tx, i) =>
    encodeReport({
      kind: ReportKind.Feed, domain: c.domain, epoch: BigInt(c.epoch), destination, id: feedId, modelHash,
      inputHash: blockTxInputHash(b.number, b.hash, tx, b.rows[i]!), timestamp: b.timestamp, round: b.number, output: [...b.outputs[i]!],
    }),
  );
  return batch(feedBatchStream(feedId, b.number), b.number, c.epoch, reports);
}

/** Report i of a batch with its proof to the root. */
export function withProof(b: FeedBatch, i: number): { report: Uint8Array; proof: Uint8Array[] } {
  return { report: b.reports[i]!, proof: merkleProof(b.tree, i) };
}

/**
 * The same batch as signed under another epoch: every report with its epoch field replaced (the only
 * field that differs), the tree rebuilt. A member that signed a block under a newer epoch than the
 * committee certified it in recognises the certificate by this.
 */
export function withEpoch(b: FeedBatch, epoch: number): FeedBatch {
  const reports = b.reports.map((r) => {
    const copy = r.slice();
    new DataView(copy.buffer, copy.byteOffset).setBigUint64(REPORT_EPOCH_OFFSET, BigInt(epoch));
    return copy;
  });
  return batch(b.stream, b.round, epoch, reports);
}

/** Offset of the u64 `epoch` in report bytes (docs/report-format.md §1). */
const REPORT_EPOCH_OFFSET = 34;
