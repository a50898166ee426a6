// `destra report verify`, the pure part: parse a saved signed report (the /v1/infer response, or one
// result of a batch job: report + Merkle proof + root + root signature + epoch) and check it step by step
// with the protocol package's functions, so each failure names exactly what failed. No I/O here.
import {
  DestraError, ReportKind, decodeG1, decodeG2, decodeReport, fromHex, g1FromEip2537, g2FromEip2537, hashPair, reportLeaf, reportStatusName,
  rootSigningMessage, toHex, verify, MAX_PROOF_DEPTH, type G1Point, type G2Point, type Report,
} from '@destra/protocol';

/** What failed; stable for scripts (`--json` prints it). */
export type CheckFailure = 'unreadable' | 'malformed' | 'epoch-mismatch' | 'leaf' | 'proof' | 'epoch-unknown' | 'epoch-retired' | 'key-source' | 'signature';

export class ReportCheckError extends DestraError {
  constructor(readonly failure: CheckFailure, message: string) {
    super(`REPORT_${failure.toUpperCase().replace('-', '_')}`, message);
    this.name = 'ReportCheckError';
  }
}

/** A signed report file is a few KiB; anything far larger is not one (and is not read into memory). */
export const MAX_REPORT_FILE_BYTES = 1 << 20;

export interface SignedReportFile {
  report: Uint8Array;
  decoded: Report;
  /** The root signature as a checked G1 point (from `signature`, or `signatureEip2537`). */
  signature: G1Point;
  /** The signed root the file names; absent: the root the proof leads to. */
  root?: Uint8Array;
  proof: Uint8Array[];
  /** The file's own `epoch` field (a batch result names the epoch its root was signed in). */
  epoch?: bigint;
  /** The file's `leaf`, when it names one. */
  leaf?: Uint8Array;
  /** Position of the report in its batch (`leaf` as a number, `index`, `leafIndex`), informational. */
  index?: number;
  /** The key the file carries (`groupKey` / `groupKeyEip2537`): used only with --trust-embedded-key. */
  groupKey?: G2Point;
}

const malformed = (field: string, what: string): ReportCheckError => new ReportCheckError('malformed', `field '${field}': ${what}`);

function hexField(o: Record<string, unknown>, field: string, lengths?: readonly number[]): Uint8Array | undefined {
  const v = o[field];
  return v === undefined || v === null ? undefined : hexValue(v, field, lengths);
}

function hexValue(v: unknown, field: string, lengths?: readonly number[]): Uint8Array {
  if (typeof v !== 'string') throw malformed(field, `expected a hex string, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  let bytes: Uint8Array;
  try {
    bytes = fromHex(v, field);
  } catch {
    throw malformed(field, 'expected even-length hex (0x…)');
  }
  if (lengths && !lengths.includes(bytes.length)) throw malformed(field, `expected ${lengths.join(' or ')} bytes, got ${bytes.length}`);
  return bytes;
}

function point<T>(field: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    throw malformed(field, `not a valid curve point: ${(e as Error).message}`);
  }
}

function epochField(o: Record<string, unknown>): bigint | undefined {
  const v = o.epoch;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  throw malformed('epoch', `expected a non-negative integer, got ${JSON.stringify(v).slice(0, 40)}`);
}

/** Parses the JSON text of a signed report file; throws ReportCheckError('malformed') naming the field. */
export function parseSignedReportFile(text: string): SignedReportFile {
  if (text.length > MAX_REPORT_FILE_BYTES) throw malformed('(file)', `${text.length} bytes, at most ${MAX_REPORT_FILE_BYTES}: not a signed report`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw malformed('(file)', `not JSON (${(e as Error).message}); expected the object /v1/infer returns or one batch result`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed('(file)', 'expected a JSON object {report, signature, root, proof, epoch, …}');
  const o = raw as Record<string, unknown>;
  const report = hexField(o, 'report');
  if (!report) throw malformed('report', 'missing: the report bytes as hex');
  let decoded: Report;
  try {
    decoded = decodeReport(report);
  } catch (e) {
    // ReportFormatError names the report field; its message starts with that name.
    const field = (e as { field?: string }).field ?? 'report';
    throw malformed(field === 'report' ? 'report' : `report.${field}`, (e as Error).message.replace(`${field}: `, ''));
  }
  const sigBytes = hexField(o, 'signature', [48, 96]);
  const sigEip = hexField(o, 'signatureEip2537', [128]);
  if (!sigBytes && !sigEip) throw malformed('signature', 'missing: the root signature (48-byte compressed G1, or signatureEip2537)');
  const signature = sigBytes ? point('signature', () => decodeG1(sigBytes)) : point('signatureEip2537', () => g1FromEip2537(sigEip!));
  if (sigBytes && sigEip && !point('signatureEip2537', () => g1FromEip2537(sigEip)).equals(signature)) {
    throw malformed('signatureEip2537', 'is another point than signature: the file contradicts itself');
  }
  const proofRaw = o.proof ?? [];
  if (!Array.isArray(proofRaw)) throw malformed('proof', 'expected an array of 32-byte hashes');
  if (proofRaw.length > MAX_PROOF_DEPTH) throw malformed('proof', `${proofRaw.length} levels, at most ${MAX_PROOF_DEPTH}`);
  const proof: Uint8Array[] = [];
  // Index loop: a sparse array's holes are refused, not skipped.
  for (let i = 0; i < proofRaw.length; i++) proof.push(hexValue(proofRaw[i], `proof[${i}]`, [32]));
  const gk = hexField(o, 'groupKey', [96, 192]);
  const gkEip = hexField(o, 'groupKeyEip2537', [256]);
  // A batch result names the leaf's index as `leaf` (a number; NDJSON of /v1/infer/batch), `index` or
  // `leafIndex`; a `leaf` string is the leaf hash itself.
  const indexField = typeof o.leaf === 'number' ? 'leaf' : o.index !== undefined ? 'index' : 'leafIndex';
  const index = o[indexField];
  if (index !== undefined && (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)) throw malformed(indexField, 'expected a non-negative integer');
  const file: SignedReportFile = { report, decoded, signature, proof };
  const root = hexField(o, 'root', [32]);
  if (root) file.root = root;
  const epoch = epochField(o);
  if (epoch !== undefined) file.epoch = epoch;
  const leaf = typeof o.leaf === 'number' ? undefined : hexField(o, 'leaf', [32]);
  if (leaf) file.leaf = leaf;
  if (typeof index === 'number') file.index = index;
  if (gk) file.groupKey = point('groupKey', () => decodeG2(gk));
  else if (gkEip) file.groupKey = point('groupKeyEip2537', () => g2FromEip2537(gkEip));
  return file;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The checks that need no key: the file's epoch is the report's, its leaf is keccak(0x00 ‖ report), the
 * proof leads from that leaf to the root. Returns the leaf and the root the signature must cover.
 */
export function checkStructure(f: SignedReportFile): { leaf: Uint8Array; root: Uint8Array } {
  if (f.epoch !== undefined && f.epoch !== f.decoded.epoch) {
    throw new ReportCheckError('epoch-mismatch', `the report names epoch ${f.decoded.epoch} but the file's (batch) epoch is ${f.epoch}: a root signed in one epoch cannot carry another epoch's report`);
  }
  const leaf = reportLeaf(f.report);
  if (f.leaf && !eq(f.leaf, leaf)) {
    throw new ReportCheckError('leaf', `leaf ${toHex(f.leaf)} ≠ keccak256(0x00 ‖ report) = ${toHex(leaf)}: the leaf is not this report's`);
  }
  const scratch = new Uint8Array(65);
  let node = leaf;
  let reachedAt: number | undefined;
  for (let k = 0; k < f.proof.length; k++) {
    if (f.root && eq(node, f.root)) reachedAt ??= k;
    node = hashPair(node, f.proof[k]!, scratch);
  }
  if (!f.root) return { leaf, root: node };
  if (!eq(node, f.root)) {
    const where = reachedAt !== undefined ? ` (it reached the root at level ${reachedAt} and went on for ${f.proof.length - reachedAt} more)` : '';
    throw new ReportCheckError('proof', f.proof.length === 0
      ? `proof is empty, so the root must be the leaf, but root ${toHex(f.root)} ≠ leaf ${toHex(leaf)}`
      : `proof does not lead to root: after all ${f.proof.length} levels it gives ${toHex(node)}, the file's root is ${toHex(f.root)}${where}`);
  }
  return { leaf, root: node };
}

/** BLS check of the root signature under `groupKey` (epoch `epoch`'s key from `source`). */
export function checkSignature(f: SignedReportFile, root: Uint8Array, groupKey: G2Point, source: string): void {
  if (!verify(groupKey, rootSigningMessage(root), f.signature)) {
    throw new ReportCheckError('signature', `signature invalid under epoch ${f.decoded.epoch}'s group key ${toHex(groupKey.toBytes(true)).slice(0, 18)}… (${source})`);
  }
}

const KIND_NAMES: Record<number, string> = { [ReportKind.Request]: 'request answer', [ReportKind.Feed]: 'feed', [ReportKind.OnDemand]: 'on-demand' };
const CHAIN_NAMES = ['any', 'evm', 'svm'] as const;

/** The decoded fields as printed (and as --json emits them). */
export function describeReport(r: Report): Record<string, string | string[]> {
  const d = r.destination;
  const chainId = BigInt(toHex(d.chainId));
  const destination =
    d.chainType === 0 ? 'any chain'
      : d.chainType === 1 ? `evm chain ${chainId}, contract 0x${toHex(d.contract).slice(26)}`
        : `svm cluster ${toHex(d.chainId)}, program ${toHex(d.contract)}`;
  const ts = Number(r.timestamp);
  return {
    kind: `${r.kind} (${KIND_NAMES[r.kind] ?? 'unknown'})`,
    epoch: r.epoch.toString(),
    timestamp: `${r.timestamp}${Number.isSafeInteger(ts) && ts * 1000 <= 8.64e15 ? ` (${new Date(ts * 1000).toISOString()})` : ''}`,
    modelHash: toHex(r.modelHash),
    inputHash: toHex(r.inputHash),
    status: reportStatusName(r.status ?? 0),
    outputs: r.output.map((v) => v.toString()),
    destination: `${destination} [${CHAIN_NAMES[d.chainType] ?? d.chainType}]`,
    id: toHex(r.id),
    round: r.round.toString(),
    domain: toHex(r.domain),
  };
}
