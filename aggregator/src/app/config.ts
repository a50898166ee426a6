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
  /** CommitteeRegistry: with evidence.submit, equivocation evidence is submitted to it for slashing; with
   *  chain-driven epochs (see `epochs.source`), the committees and keys of every epoch are read from it. */
  registry: address.optional(),
  /** FeedRegistry: certified feed batches are relayed to FeedStore, BlockScores and Solana feed accounts
   *  (each feed's destinations read from it). */
  feedRegistry: address.optional(),
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

/** Sharings known out of band (e.g. the genesis DKG's commitments): used only when they match the registry. */
const knownSharing = z.strictObject({
  epoch: z.number().int().min(1),
  commitments: z.array(hexBytes(96)).min(1).max(256),
});

export const epochsSchema = z.strictObject({
  /** 'config': the fixed `committee` (one epoch). 'chain': follow CommitteeRegistry (chains.ethereum.registry).
   *  Default: 'config' when `committee` is given, else 'chain'. */
  source: z.enum(['config', 'chain']).optional(),
  /** Between registry polls (current epoch, committees). */
  pollIntervalMs: z.number().int().min(50).max(3_600_000).default(5_000),
  /** Between operator directory reads (admission, dialling) when the epoch does not change. */
  directoryRefreshMs: z.number().int().min(50).max(86_400_000).default(60_000),
  known: z.array(knownSharing).max(16).default([]),
  /** Partials / announcements of an epoch whose sharing is not known yet: held up to this many frames… */
  maxHeld: z.number().int().min(0).max(1_000_000).default(4096),
  /** …each for at most this long, then dropped with a warning. */
  holdMs: z.number().int().min(0).max(600_000).default(30_000),
  /** Relay the committee's signed handovers (epochs gossip topic) to the configured chains. */
  relayHandovers: z.boolean().default(true),
  /** With both chains: first Ethereum block followed for handovers to carry to Solana (default: 10,000 blocks back). */
  followFromBlock: z.number().int().nonnegative().optional(),
});

export type EpochsConfig = z.output<typeof epochsSchema>;

export const aggregatorConfigSchema = z.strictObject({
  network: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'),
  /** This aggregator's registry index (1..256) and rank for relay staggering (index - 1). */
  index: z.number().int().min(1).max(256),
  dataDir: z.string().min(1),
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']),
  operatorKeystore: z.string().min(1),
  password: passwordSource,
  /** A fixed committee (epochs.source 'config'); with chain-driven epochs optional: its aggregators are
   *  admitted and its commitments (or the caller's sharing) seed `committee.epoch`, checked against the registry. */
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
    .refine((c) => c.members.every((m, i) => m.index === i + 1), { message: 'member indices must be 1..n in order', path: ['members'] })
    .optional(),
  /** Other aggregators admitted to the network (with chain-driven epochs; a fixed committee lists them in committee.aggregators). */
  aggregators: z.array(peerSchema).default([]),
  /** How epochs are followed (fixed committee or CommitteeRegistry) and what is done while an epoch's sharing is unknown. */
  epochs: epochsSchema.prefault({}),
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
  evidence: z
    .strictObject({
      submit: z.boolean().default(true),
      /** With chain-driven epochs: the account evidence is sent from, on its own nonce sequence (default: the
       *  relayer's). Also how an aggregator started with its caller's chain sinks (in-process networks)
       *  submits evidence, since it then builds no relayer connection of its own. */
      account: ethSigner.optional(),
    })
    .prefault({}),
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
}).superRefine((c, ctx) => {
  const source = c.epochs?.source ?? (c.committee ? 'config' : 'chain');
  if (source === 'config' && !c.committee) {
    ctx.addIssue({ code: 'custom', path: ['committee'], message: "required with epochs.source 'config' (or set epochs.source 'chain' and chains.ethereum.registry)" });
  }
  if (source === 'chain' && !c.chains?.ethereum?.registry) {
    ctx.addIssue({
      code: 'custom',
      path: ['chains', 'ethereum', 'registry'],
      message: `chain-driven epochs${c.epochs?.source ? '' : " (no 'committee' given)"} read every committee from CommitteeRegistry: set its address (or give a fixed 'committee')`,
    });
  }
});

/** Where the aggregator's committees come from: the fixed config committee or CommitteeRegistry. */
export function epochSource(c: AggregatorConfig): 'config' | 'chain' {
  return c.epochs.source ?? (c.committee ? 'config' : 'chain');
}

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
  const ev = c.evidence.account;
  if (ev && 'keystore' in ev) c.evidence.account = { keystore: abs(ev.keystore), password: 'file' in ev.password ? { file: abs(ev.password.file) } : ev.password };
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
