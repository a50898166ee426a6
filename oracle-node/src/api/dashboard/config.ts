// config.dashboard: where the dashboard reads each round's relay transaction (the aggregators' status
// endpoints, GET /v1/relays) and how it links a transaction to a block explorer.
import { z } from 'zod';

const statusUrl = z
  .string()
  .url()
  .regex(/^https?:\/\/[^\s?#]+$/, 'an http(s) base URL of an aggregator status server (statusPort), without query or fragment, e.g. http://127.0.0.1:9464');
const linkPattern = z
  .string()
  .max(512)
  .regex(/^https?:\/\/[^\s"'<>`]*\{tx\}[^\s"'<>`]*$/, "an http(s) URL containing '{tx}', e.g. https://etherscan.io/tx/{tx}");

export const dashboardConfigSchema = z
  .strictObject({
    /** Aggregator status servers whose relay log (GET /v1/relays) the dashboard joins to its rounds. */
    relayStatus: z.array(statusUrl).max(16).default([]),
    /** Explorer link patterns per chain ({tx}: the hash / signature); without one the transaction is plain text. */
    txLinks: z.strictObject({ ethereum: linkPattern.optional(), solana: linkPattern.optional() }).default({}),
    /** How old the relay status shown may get before the next read (each aggregator answers one request per read). */
    relayPollMs: z.number().int().min(500).max(60_000).default(2_000),
  })
  .prefault({});

export type DashboardConfig = z.infer<typeof dashboardConfigSchema>;
