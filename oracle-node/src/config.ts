// Node configuration: one JSON file, validated with zod at start. Errors name the offending field.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ethereumSourceSchema } from './chains/ethereum.ts';
import { solanaSourceSchema } from './chains/solana.ts';
import { controlSchema } from './epoch/chain-control.ts';
import { ConfigError } from './errors.ts';
import { splitModelsConfig } from './models/config.ts';
import { batchConfigSchema } from './range/config.ts';
import { dashboardConfigSchema } from './api/dashboard/config.ts';

const hexBytes = (len: number) =>
  z
    .string()
    .regex(new RegExp(`^(0x)?[0-9a-fA-F]{${len * 2}}$`), `expected ${len} bytes as hex`)
    .transform((s) => new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex')));
const hexAny = z
  .string()
  .regex(/^(0x)?([0-9a-fA-F]{2})*$/, 'expected even-length hex')
  .transform((s) => new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex')));

const memberSchema = z.strictObject({
  index: z.number().int().min(1).max(256),
  /** Compressed G2 operator key (96 bytes hex). */
  operatorKey: hexBytes(96),
  /** X25519 DKG encryption key (32 bytes hex), see `dkgEncryptionKeyPair`. */
  encryptionKey: hexBytes(32),
  peerId: z.string().min(1).optional(),
  /** Multiaddrs to dial (with /p2p/<peerId>). */
  addrs: z.array(z.string()).default([]),
});

const aggregatorSchema = z.strictObject({
  index: z.number().int().min(1).max(256),
  operatorKey: hexBytes(96),
  peerId: z.string().min(1).optional(),
  addrs: z.array(z.string()).default([]),
});

const feedSchema = z.strictObject({
  name: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  input: hexAny,
  intervalMs: z.number().int().min(1000),
});

export const nodeConfigSchema = z.strictObject({
  network: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'),
  /** Directory for node.db (SQLite), libp2p.key and share keystores; relative paths resolve against the config file. */
  dataDir: z.string().min(1),
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']),
  api: z
    .strictObject({
      host: z.literal('127.0.0.1').default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(0),
      /** Open connections at most; beyond it the oldest connection without a request in progress is closed. */
      maxConnections: z.number().int().min(8).max(65_536).default(1024),
      /** A client must send its complete request headers within this time. */
      headersTimeoutMs: z.number().int().min(500).max(120_000).default(10_000),
      /** ... and its complete request (headers and body) within this time. */
      requestTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
    })
    .prefault({}),
  /** EIP-2335 keystore of the operator BLS key. */
  operatorKeystore: z.string().min(1),
  password: z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })]),
  /**
   * The chain that governs the network (CommitteeRegistry): committee, epochs and peers are read from it
   * and followed live. Give either this or a fixed `committee` (private deployments, tests).
   */
  control: controlSchema.optional(),
  /** Aggregators this node sends partials to and takes results from (with `control`; a fixed committee lists them in `committee.aggregators`). */
  aggregators: z.array(aggregatorSchema).default([]),
  committee: z
    .strictObject({
      epoch: z.number().int().nonnegative(),
      threshold: z.number().int().min(1),
      members: z.array(memberSchema).min(1).max(256),
      aggregators: z.array(aggregatorSchema).default([]),
    })
    .refine((c) => c.threshold <= c.members.length, { message: 'threshold exceeds the committee size', path: ['threshold'] })
    .refine((c) => new Set(c.members.map((m) => m.index)).size === c.members.length, { message: 'duplicate member index', path: ['members'] })
    .refine((c) => c.members.every((m, i) => m.index === i + 1), { message: 'member indices must be 1..n in order', path: ['members'] })
    .optional(),
  /**
   * Passed to the inference engine (model registry directory etc.). With `ipfs` (models/config.ts) the
   * node serves the models ModelRegistry names, fetched by CID from its peers; `dir` then only seeds its store.
   */
  models: z.record(z.string(), z.unknown()).default({}),
  feeds: z.array(feedSchema).default([]),
  /** Chain watchers; each key enables one (see docs/node.md). */
  chains: z
    .strictObject({
      ethereum: ethereumSourceSchema.optional(),
      solana: solanaSourceSchema.optional(),
    })
    .default({}),
  dkg: z.strictObject({ phaseTimeoutMs: z.number().int().min(100).default(15_000) }).default({ phaseTimeoutMs: 15_000 }),
  rounds: z
    .strictObject({
      maxSkewSeconds: z.number().int().min(1).default(30),
      timeoutMs: z.number().int().min(100).default(30_000),
    })
    .default({ maxSkewSeconds: 30, timeoutMs: 30_000 }),
  /** KDF for the share keystores this node writes (scrypt n=2^18 by default, as EIP-2335 suggests). */
  shareKdf: z
    .union([
      z.strictObject({ function: z.literal('scrypt'), n: z.number().int().min(2).optional() }),
      z.strictObject({ function: z.literal('pbkdf2'), c: z.number().int().min(1).optional() }),
    ])
    .default({ function: 'scrypt' }),
  /** What the node keeps of finished work (requests, results); unfinished work is never deleted. */
  retention: z
    .strictObject({
      maxAgeHours: z.number().min(1).max(24 * 365).default(168),
      maxRows: z.number().int().min(1000).default(1_000_000),
      intervalMs: z.number().int().min(1000).default(60_000),
    })
    .prefault({}),
  /** Batch jobs (POST /v1/infer/batch) and the range protocol: limits and range size (range/config.ts). */
  batch: batchConfigSchema,
  /** The dashboard's relay column: aggregator status URLs and explorer links (api/dashboard/config.ts). */
  dashboard: dashboardConfigSchema,
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
})
  .refine((c) => (c.control === undefined) !== (c.committee === undefined), {
    message: "give either 'control' (follow the committee on chain) or a fixed 'committee', not both or neither",
    path: ['control'],
  });

export type NodeConfigInput = z.input<typeof nodeConfigSchema>;
export type NodeConfig = z.output<typeof nodeConfigSchema>;

const PARSED = Symbol('destra.parsedNodeConfig');

/** True for the output of parseNodeConfig (so startNode does not parse it twice). */
export function isParsedNodeConfig(c: unknown): c is NodeConfig {
  return typeof c === 'object' && c !== null && (c as Record<symbol, unknown>)[PARSED] === true;
}

/** Validates a config object; `baseDir` resolves relative paths. Throws ConfigError naming the field. */
export function parseNodeConfig(raw: unknown, baseDir = process.cwd()): NodeConfig {
  if (isParsedNodeConfig(raw)) return raw;
  const r = nodeConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(root)';
    throw new ConfigError(issue.message, field);
  }
  const c = r.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  c.dataDir = abs(c.dataDir);
  c.operatorKeystore = abs(c.operatorKeystore);
  if ('file' in c.password) c.password = { file: abs(c.password.file) };
  const ipfs = splitModelsConfig(c.models).ipfs; // models.ipfs checked here (ConfigError naming the field)
  if (ipfs?.storeDir) c.models = { ...c.models, ipfs: { ...(c.models.ipfs as object), storeDir: abs(ipfs.storeDir) } };
  Object.defineProperty(c, PARSED, { value: true, enumerable: false });
  return c;
}

export function loadNodeConfig(path: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseNodeConfig(raw, dirname(resolve(path)));
}
