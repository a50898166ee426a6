// `destra report verify FILE|-`: checks a saved signed report (what /v1/infer returns, or one batch result)
// against the group key of its epoch — from the chain by default, or a node, or a given key — and prints
// its decoded fields. Exit 0 when valid; otherwise one line saying exactly what failed, exit 1.
import { Command, InvalidArgumentError } from 'commander';
import type { Address } from 'viem';
import { addressArg, isAddress } from '@destra/adapter-ethereum/cli';
import { createReadStream } from 'node:fs';
import { DestraError, toHex } from '@destra/protocol';
import {
  MAX_REPORT_FILE_BYTES, ReportCheckError, checkSignature, checkStructure, describeReport, parseSignedReportFile, type CheckFailure, type SignedReportFile,
} from './report-check.ts';
import type { KeySource } from './report-keys.ts';

// The key sources (viem clients, the registry reader) load when a report is checked.
const keySources = () => import('./report-keys.ts');

interface VerifyOpts {
  rpc?: string;
  registry?: Address;
  node?: string;
  groupKey?: string;
  trustEmbeddedKey?: boolean;
  json?: boolean;
}

/** The file's text, or stdin's for '-'; refuses more than a signed report can be. */
async function readInput(path: string): Promise<string> {
  const stream = path === '-' ? process.stdin : createReadStream(path);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > MAX_REPORT_FILE_BYTES) {
        if (path !== '-') (stream as ReturnType<typeof createReadStream>).destroy();
        throw new ReportCheckError('malformed', `field '(file)': more than ${MAX_REPORT_FILE_BYTES} bytes: not a signed report`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    if (e instanceof ReportCheckError) throw e;
    throw new ReportCheckError('unreadable', `cannot read ${path === '-' ? 'stdin' : path}: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Exactly one key source; the chain (flags or DESTRA_RPC_URL + DESTRA_REGISTRY) when none is named. */
async function keySource(o: VerifyOpts, file: SignedReportFile): Promise<KeySource> {
  const named = [o.rpc || o.registry ? '--rpc/--registry' : '', o.node ? '--node' : '', o.groupKey ? '--group-key' : '', o.trustEmbeddedKey ? '--trust-embedded-key' : ''].filter(Boolean);
  if (named.length > 1) throw new ReportCheckError('key-source', `give one group key source, not ${named.join(' and ')}`);
  const { chainKeySource, embeddedKeySource, givenKeySource, nodeKeySource } = await keySources();
  if (o.node) return nodeKeySource(o.node);
  if (o.groupKey) return givenKeySource(o.groupKey);
  if (o.trustEmbeddedKey) return embeddedKeySource(file);
  const rpc = o.rpc ?? process.env.DESTRA_RPC_URL;
  const registry = o.registry ?? process.env.DESTRA_REGISTRY;
  if (!rpc || !registry) {
    throw new ReportCheckError('key-source', rpc || registry
      ? `the chain key source needs both --rpc and --registry (or DESTRA_RPC_URL and DESTRA_REGISTRY)`
      : 'no group key source: give --rpc URL --registry ADDR (CommitteeRegistry; or DESTRA_RPC_URL and DESTRA_REGISTRY), --node URL, --group-key HEX, or --trust-embedded-key');
  }
  if (!isAddress(registry)) throw new ReportCheckError('key-source', `registry ${JSON.stringify(registry)} is not a 20-byte 0x address`);
  return chainKeySource(rpc, registry);
}

interface Outcome {
  valid: boolean;
  failure?: CheckFailure;
  message: string;
  shape?: string;
  decoded?: Record<string, string | string[]>;
  leaf?: string;
  root?: string;
  keySource?: string;
  note?: string;
}

export async function verifyReportFile(path: string, o: VerifyOpts): Promise<Outcome> {
  const out: Outcome = { valid: false, message: '' };
  try {
    const file = parseSignedReportFile(await readInput(path));
    out.decoded = describeReport(file.decoded);
    out.shape = file.proof.length === 0 && file.index === undefined
      ? 'single report (the signed root is its leaf)'
      : `batch leaf${file.index !== undefined ? ` ${file.index}` : ''} (Merkle proof of ${file.proof.length} level${file.proof.length === 1 ? '' : 's'})`;
    const { leaf, root } = checkStructure(file);
    out.leaf = toHex(leaf);
    out.root = toHex(root);
    const key = await (await keySource(o, file)).keyFor(file.decoded.epoch);
    out.keySource = key.source;
    if (key.note) out.note = key.note;
    checkSignature(file, root, key.key, key.source);
    out.valid = true;
    out.message = `signature verifies under epoch ${file.decoded.epoch}'s group key ${toHex(key.key.toBytes(true)).slice(0, 18)}… (${key.source})`;
  } catch (e) {
    if (e instanceof ReportCheckError) out.failure = e.failure;
    else if (!(e instanceof DestraError)) out.failure = 'key-source';
    else out.failure = 'malformed';
    out.message = (e as Error).message;
  }
  return out;
}

function printText(r: Outcome): void {
  const lines: string[] = [];
  if (r.shape) lines.push(`report:      ${r.shape}`);
  if (r.decoded) {
    const d = r.decoded;
    lines.push(
      `kind:        ${d.kind}`, `epoch:       ${d.epoch}`, `timestamp:   ${d.timestamp}`, `model hash:  ${d.modelHash}`, `input hash:  ${d.inputHash}`,
      `status:      ${d.status}`, `outputs:     [${(d.outputs as string[]).join(', ')}]`, `destination: ${d.destination}`, `id:          ${d.id}`, `round:       ${d.round}`,
      `domain:      ${d.domain}`,
    );
  }
  if (r.leaf) lines.push(`leaf:        ${r.leaf}`);
  if (r.root) lines.push(`root:        ${r.root}`);
  if (r.note) lines.push(`note:        ${r.note}`);
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  if (r.valid) process.stdout.write(`valid: ${r.message}\n`);
  // nothing was checked: a usage problem, in the one CLI error style (bin/errors.ts)
  else if (r.failure === 'unreadable') process.stderr.write(`destra report verify: ${r.message.replace(/\.$/, '')}. Check the path, or give '-' to read stdin.\n`);
  else if (r.failure === 'key-source') process.stderr.write(`destra report verify: ${r.message}\n`);
  else process.stderr.write(`invalid (${r.failure}): ${r.message}\n`);
}

export function register(program: Command): void {
  const report = program.command('report').description('signed reports: verify one saved from /v1/infer or a batch job');
  report
    .command('verify')
    .description("verify a saved signed report against its epoch's group key (default: from CommitteeRegistry); prints its fields; exit 1 saying what failed")
    .argument('<file>', "JSON file: the /v1/infer response or one batch result {report, proof, root, signature, epoch}; '-' reads stdin")
    .option('--rpc <url>', 'Ethereum JSON-RPC URL of the CommitteeRegistry (default $DESTRA_RPC_URL)')
    .option('--registry <address>', 'CommitteeRegistry address (default $DESTRA_REGISTRY)', addressArg)
    .option('--node <url>', "take the key from a node's API (/v1/committee; earlier epochs from /v1/epochs)")
    .option('--group-key <hex>', 'take this key (96/192-byte G2, or 256-byte EIP-2537) as the epoch\'s')
    .option('--trust-embedded-key', "use the file's own groupKey (shows only that the file is self-consistent)")
    .option('--json', 'print one JSON object: {valid, failure?, message, decoded, leaf, root, keySource}')
    .action(async (path: string, o: VerifyOpts) => {
      const r = await verifyReportFile(path, o);
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else printText(r);
      process.exitCode = r.valid ? 0 : 1;
    });
}
