// Feed batches on the wire (docs/report-format.md §6). A member sends a FeedCommit to each aggregator over
// the direct protocol PROTOCOL_FEED_COMMIT: its partial signature over a feed batch root plus the reports
// the relay needs, each with its proof to the root (every report of a timed-feed window; the first
// transaction's report of a block, which names the block on chain). The aggregator combines t matching
// roots and answers on the batches topic with a RangeCertificate (start 0, count = the tree's leaves).
import { z } from 'zod';
import { MAX_REPORT_LENGTH } from '../report/report.ts';
import { MAX_BATCH_SIZE, MAX_PROOF_DEPTH } from '../report/merkle.ts';
import { defineMessage, type MessageCodec } from './codec.ts';
import { bytes32, bytesUpTo, g1Bytes, memberIndex, uint } from './fields.ts';

export const PROTOCOL_FEED_COMMIT = '/destra/feed-commit/1';
/** Most reports one FeedCommit carries (FeedRegistry.MAX_FEEDS). */
export const MAX_FEED_COMMIT_REPORTS = 256;

export interface FeedCommit {
  type: 'feed-commit';
  v: 1;
  /** The epoch whose key share signed the root. */
  epoch: number;
  /** Committing member's index in that epoch (must match the admitted connection). */
  index: number;
  /** feedBatchStream(scope, round): which window or block this root is for. */
  stream: Uint8Array;
  /** Leaves in the tree. */
  count: number;
  root: Uint8Array;
  /** Partial signature over signingMessage(0x01, root). */
  signature: Uint8Array;
  reports: Uint8Array[];
  /** Per report: sibling hashes from its leaf up to `root`. */
  proofs: Uint8Array[][];
}

export const FeedCommitCodec: MessageCodec<FeedCommit> = defineMessage<FeedCommit>(
  'feed-commit',
  1,
  MAX_FEED_COMMIT_REPORTS * (MAX_REPORT_LENGTH + 40 + MAX_PROOF_DEPTH * 34) + 1024,
  z
    .strictObject({
      type: z.literal('feed-commit'),
      v: z.literal(1),
      epoch: uint,
      index: memberIndex,
      stream: bytes32,
      count: z.number().int().min(1).max(MAX_BATCH_SIZE),
      root: bytes32,
      signature: g1Bytes,
      reports: z.array(bytesUpTo(MAX_REPORT_LENGTH, 1)).min(1).max(MAX_FEED_COMMIT_REPORTS),
      proofs: z.array(z.array(bytes32).max(MAX_PROOF_DEPTH)).max(MAX_FEED_COMMIT_REPORTS),
    })
    .refine((m) => m.proofs.length === m.reports.length, { message: 'one proof per report', path: ['proofs'] })
    .refine((m) => m.reports.length <= m.count, { message: 'more reports than leaves', path: ['reports'] }),
);
