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

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte address (0x + 40 hex digits)');

const memberSchema = peerSchema.extend({
  /** The member's operator (Ethereum) address: with every member's, the evidence path checks them against the epoch's membersRoot. */
  operatorAddress: address.optional(),
});

const passwordSource = z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })], {
  error: "expected { \"env\": \"VAR\" } or { \"file\": \"path\" }",
});

/** The Ethereum relayer account: a V3 keystore with its password source, or a raw key in an environment variable. */
const ethSigner = z.union([z.strictObject({ keystore: z.string().min(1), password: passwordSource }), z.strictObject({ keyEnv: z.string().min(1) })], {
  error: "expected { \"keystore\": \"path\", \"password\": { \"env\" | \"file\" } } or { \"keyEnv\": \"VAR\" }",
});

const httpUrl = z.string().regex(/^https?:\/\/\S+$/, 'expected an http(s) URL');

export const ethereumChainSchema = z.strictObject({
  rpcUrl: httpUrl,
  /** Read from the endpoint at start when absent. */
  chainId: z.number().int().positive().optional(),
  router: address,
  feeds: address.optional(),
  /** CommitteeRegistry: with evidence.submit, equivocation evidence is submitted to it for slashing. */
  registry: address.optional(),
  relayer: ethSigner,
  /** Extra gas over the estimate, in basis points (default 2000). */
  gasMarginBps: z.number().int().min(0).max(100_000).optional(),
});

export const solanaChainSchema = z.strictObject({
  rpcUrl: httpUrl,
  /** The destra_oracle program id (base58). */
  programId: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'expected a base58 public key'),
  /** Pays for post_report: a Solana CLI keypair file (JSON array of 64 bytes). */
  payer: z.strictObject({ keypairFile: z.string().min(1) }),
});

export type EthereumChainConfig = z.output<typeof ethereumChainSchema>;
export type SolanaChainConfig = z.output<typeof solanaChainSchema>;

export const aggregatorConfigSchema = z.strictObject({
  network: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'),
  /** This aggregator's registry index (1..256) and rank for relay staggering (index - 1). */
  index: z.number().int().min(1).max(256),
  dataDir: z.string().min(1),
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']),
  operatorKeystore: z.string().min(1),
  password: passwordSource,
  committee: z
    .strictObject({
      epoch: z.number().int().nonnegative(),
      /** Summed Feldman commitments of the DKG (compressed G2 hex); their count is the threshold t.
       *  Optional: without them the caller passes the sharing (e.g. rebuilt from nodes' public shares). */
      commitments: z.array(hexBytes(96)).min(1).max(256).optional(),
      members: z.array(memberSchema).min(1).max(256),
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
  /** Chain sinks built at start (unless the caller passes its own); each key enables one, see docs/aggregator.md. */
  chains: z
    .strictObject({
      ethereum: ethereumChainSchema.optional(),
      solana: solanaChainSchema.optional(),
    })
    .default({}),
  /** HTTP status endpoint on 127.0.0.1, GET /health and /metrics (0 = ephemeral port, absent = off). */
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
  const eth = c.chains.ethereum;
  if (eth && 'keystore' in eth.relayer) {
    eth.relayer = { keystore: abs(eth.relayer.keystore), password: 'file' in eth.relayer.password ? { file: abs(eth.relayer.password.file) } : eth.relayer.password };
  }
  if (c.chains.solana) c.chains.solana.payer = { keypairFile: abs(c.chains.solana.payer.keypairFile) };
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
