// Node config section `batch`: limits of the batch API (POST /v1/infer/batch) and of the range protocol
// a node runs for batch jobs (as proposer and as member).
import { z } from 'zod';
import { MAX_BATCH_SIZE } from '@destra/protocol';

export const batchConfigSchema = z
  .strictObject({
    /** Rows one job may hold. */
    maxRowsPerJob: z.number().int().min(1).max(4_194_304).default(131_072),
    /** Largest request body of POST /v1/infer/batch (JSON or binary). */
    maxBodyBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
    /** Jobs one client (remote address) may have running at once. */
    maxJobsPerClient: z.number().int().min(1).max(4096).default(4),
    /** Jobs running on this node at once, all clients together. */
    maxJobs: z.number().int().min(1).max(65_536).default(32),
    /** Rows per range (one RangeProposal, one root signature); capped by the frame size for wide rows. */
    rangeRows: z.number().int().min(1).max(MAX_BATCH_SIZE).default(16_384),
    /** Rows this node has proposed and not yet seen certified or failed; further ranges wait (keeps members' queues short). */
    maxInflightRows: z.number().int().min(1).max(1 << 24).default(65_536),
    /** A range not certified this long after it was proposed counts as failed. */
    rangeTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    /** Finished jobs stay readable (GET /v1/jobs/:id) this long... */
    jobRetentionMs: z.number().int().min(1000).max(7 * 24 * 3_600_000).default(10 * 60_000),
    /** ...while all finished jobs together hold at most this many rows (oldest dropped first). */
    maxRetainedRows: z.number().int().min(1).max(1 << 26).default(2_097_152),
    /** Reports a member keeps per epoch to serve any certified result (GET /v1/ranges/...), whole ranges, oldest dropped first. */
    keepReports: z.number().int().min(1).max(1 << 26).default(1_048_576),
    /** Rows of other members' proposals waiting for inference here; beyond it proposals are refused (busy). */
    maxQueuedRows: z.number().int().min(1).max(1 << 24).default(1_048_576),
  })
  .prefault({});

export type BatchConfig = z.output<typeof batchConfigSchema>;
export const DEFAULT_BATCH_CONFIG: BatchConfig = batchConfigSchema.parse({});
