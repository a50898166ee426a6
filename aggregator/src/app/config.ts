// Aggregator configuration: one JSON file validated with zod; errors name the offending field.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { AggregatorConfigError } from '../errors.ts';

const hexBytes = (len: number) =>
  z
    .string()
    .regex(new RegExp(`^(0x)?[0-9a-fA-F]{${len * 2}}$`), `expected ${len} bytes as hex`)
    .transform((s) => new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex')));

const peerSchema = z.strictObject({
  index: z.number().int().min(1).max(256),
  operatorKey: hexBytes(96),
  peerId: z.string().min(1).optional(),
  addrs: z.array(z.string()).default([]),
});

export const aggregatorConfigSchema = z.strictObject({
  network: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'),
  /** This aggregator's registry index (1..256) and rank for relay staggering (index - 1). */
  index: z.number().int().min(1).max(256),
  dataDir: z.string().min(1),
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']),
  operatorKeystore: z.string().min(1),
  password: z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })]),
  committee: z
    .strictObject({
      epoch: z.number().int().nonnegative(),
      /** Summed Feldman commitments of the DKG (compressed G2 hex); their count is the threshold t.
       *  Optional: without them the caller passes the sharing (e.g. rebuilt from nodes' public shares). */
      commitments: z.array(hexBytes(96)).min(1).max(256).optional(),
      members: z.array(peerSchema).min(1).max(256),
      aggregators: z.array(peerSchema).default([]),
    })
    .refine((c) => (c.commitments?.length ?? 0) <= c.members.length, { message: 'more commitments (threshold) than members', path: ['commitments'] })
    .refine((c) => c.members.every((m, i) => m.index === i + 1), { message: 'member indices must be 1..n in order', path: ['members'] }),
  batch: z
    .strictObject({
      maxSize: z.number().int().min(1).max(65536).default(1024),
      maxDelayMs: z.number().min(0).default(20),
      highLoadPerSecond: z.number().positive().default(200),
    })
    .default({ maxSize: 1024, maxDelayMs: 20, highLoadPerSecond: 200 }),
  relay: z
    .strictObject({
      staggerMs: z.number().int().min(0).default(500),
      maxAttempts: z.number().int().min(1).max(20).default(4),
      /** Chains on-demand (chain-agnostic) reports are relayed to. */
      onDemandTargets: z.array(z.enum(['ethereum', 'solana'])).default([]),
    })
    .default({ staggerMs: 500, maxAttempts: 4, onDemandTargets: [] }),
  /** Equivocation evidence (a member's two different partials for one id/round): submitted on chain for
   *  slashing when an evidence sink is given (e.g. the Ethereum adapter's EvidenceSubmitter). */
  evidence: z.strictObject({ submit: z.boolean().default(true) }).prefault({}),
  /** Chain sinks; each key enables one (settings passed to the adapter, see docs/aggregator.md). */
  chains: z
    .strictObject({
      ethereum: z.record(z.string(), z.unknown()).optional(),
      solana: z.record(z.string(), z.unknown()).optional(),
    })
    .default({}),
  /** Optional HTTP status endpoint on 127.0.0.1 (0 = ephemeral port, absent = off). */
  statusPort: z.number().int().min(0).max(65535).optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type AggregatorConfigInput = z.input<typeof aggregatorConfigSchema>;
export type AggregatorConfig = z.output<typeof aggregatorConfigSchema>;

export function parseAggregatorConfig(raw: unknown, baseDir = process.cwd()): AggregatorConfig {
  const r = aggregatorConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(root)';
    throw new AggregatorConfigError(`config field '${field}': ${issue.message}`);
  }
  const c = r.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  c.dataDir = abs(c.dataDir);
  c.operatorKeystore = abs(c.operatorKeystore);
  if ('file' in c.password) c.password = { file: abs(c.password.file) };
  return c;
}

export function loadAggregatorConfig(path: string): AggregatorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AggregatorConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AggregatorConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseAggregatorConfig(raw, dirname(resolve(path)));
}
