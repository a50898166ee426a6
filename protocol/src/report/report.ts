// The signed report: exact bytes in docs/report-format.md §1. Pure encode/decode, no I/O.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { ByteReader, ByteWriter, I64_MAX, I64_MIN, U64_MAX, isZero, requireBytes, requireUint } from './bytes.ts';
import { ReportFormatError } from './errors.ts';

export const REPORT_VERSION = 2;
/** Offset of the 1-byte `status` field; `outputCount` follows it, then the output values. */
export const REPORT_STATUS_OFFSET = 219;
export const REPORT_HEADER_LENGTH = 222;
export const MAX_OUTPUTS = 64;
export const MAX_REPORT_LENGTH = REPORT_HEADER_LENGTH + 8 * MAX_OUTPUTS;

export const ReportKind = { Request: 1, Feed: 2, OnDemand: 3 } as const;
export type ReportKind = (typeof ReportKind)[keyof typeof ReportKind];

/**
 * Outcome of a request (docs/report-format.md §1.1). `Ok` carries 1..64 outputs; every other status is a
 * failure report: no outputs, request answers (kind 1) only.
 */
export const ReportStatus = { Ok: 0, UnknownModel: 1, InputLength: 2, InputRange: 3, OutputInvalid: 4 } as const;
export type ReportStatus = (typeof ReportStatus)[keyof typeof ReportStatus];

const STATUS_NAMES = ['OK', 'UNKNOWN_MODEL', 'INPUT_LENGTH', 'INPUT_RANGE', 'OUTPUT_INVALID'] as const;
export type ReportStatusName = (typeof STATUS_NAMES)[number];

/** `OK`, `UNKNOWN_MODEL`, `INPUT_LENGTH`, `INPUT_RANGE`, `OUTPUT_INVALID`; `UNKNOWN(<n>)` for anything else. */
export function reportStatusName(status: number): ReportStatusName | `UNKNOWN(${number})` {
  return STATUS_NAMES[status] ?? `UNKNOWN(${status})`;
}

export function isReportStatus(status: number): status is ReportStatus {
  return Number.isInteger(status) && status >= 0 && status < STATUS_NAMES.length;
}

export const ChainType = { Any: 0, Evm: 1, Svm: 2 } as const;
export type ChainType = (typeof ChainType)[keyof typeof ChainType];

/** Where a report may be consumed. `Any` carries zero chain id and contract. */
export interface Destination {
  chainType: ChainType;
  chainId: Uint8Array; // 32 bytes
  contract: Uint8Array; // 32 bytes
}

export interface Report {
  kind: ReportKind;
  domain: Uint8Array; // 32 bytes
  epoch: bigint;
  destination: Destination;
  id: Uint8Array; // 32 bytes
  modelHash: Uint8Array; // 32 bytes
  inputHash: Uint8Array; // 32 bytes
  timestamp: bigint; // unix seconds
  round: bigint;
  /** ReportStatus; omitted means `Ok`. A failure (non-zero) has no outputs and kind Request. */
  status?: ReportStatus;
  output: readonly bigint[]; // signed fixed-point int64 values
}

const ZERO32 = new Uint8Array(32);

/** `keccak256(utf8("destra:" + network))`: one verifier accepts exactly one deployment's reports. */
export function domainTag(network: string): Uint8Array {
  if (network.length === 0) throw new ReportFormatError('domain', 'network name must not be empty');
  return keccak_256(utf8ToBytes(`destra:${network}`));
}

export const anyDestination = (): Destination => ({ chainType: ChainType.Any, chainId: ZERO32, contract: ZERO32 });

/** EVM destination: chain id as u256, contract address left-padded to 32 bytes. */
export function evmDestination(chainId: bigint, contractAddress: Uint8Array): Destination {
  requireUint(chainId, 256, 'destChainId');
  requireBytes(contractAddress, 20, 'destContract');
  const id = new Uint8Array(32);
  new DataView(id.buffer).setBigUint64(24, chainId & U64_MAX);
  let high = chainId >> 64n;
  for (let i = 23; i >= 0 && high > 0n; i--, high >>= 8n) id[i] = Number(high & 0xffn);
  const contract = new Uint8Array(32);
  contract.set(contractAddress, 12);
  return { chainType: ChainType.Evm, chainId: id, contract };
}

/** SVM destination: the cluster id the program was initialised with, and the program id. */
export function svmDestination(clusterId: Uint8Array, programId: Uint8Array): Destination {
  return {
    chainType: ChainType.Svm,
    chainId: requireBytes(clusterId, 32, 'destChainId'),
    contract: requireBytes(programId, 32, 'destContract'),
  };
}

/** `keccak256(utf8(feedName))`. */
export function feedId(name: string): Uint8Array {
  if (name.length === 0) throw new ReportFormatError('id', 'feed name must not be empty');
  return keccak_256(utf8ToBytes(name));
}

export function reportLength(outputCount: number): number {
  return REPORT_HEADER_LENGTH + 8 * outputCount;
}

function checkDestination(kind: number, d: Destination): void {
  if (d.chainType !== ChainType.Any && d.chainType !== ChainType.Evm && d.chainType !== ChainType.Svm) {
    throw new ReportFormatError('destChainType', `unknown chain type ${d.chainType}`);
  }
  requireBytes(d.chainId, 32, 'destChainId');
  requireBytes(d.contract, 32, 'destContract');
  if (d.chainType === ChainType.Any) {
    if (!isZero(d.chainId)) throw new ReportFormatError('destChainId', 'must be zero when destChainType is 0 (any)');
    if (!isZero(d.contract)) throw new ReportFormatError('destContract', 'must be zero when destChainType is 0 (any)');
    if (kind === ReportKind.Request) {
      throw new ReportFormatError('destChainType', 'a request answer must name the chain the request came from');
    }
  }
}

function checkKind(kind: number): asserts kind is ReportKind {
  if (kind !== ReportKind.Request && kind !== ReportKind.Feed && kind !== ReportKind.OnDemand) {
    throw new ReportFormatError('kind', `unknown report kind ${kind}`);
  }
}

function checkStatus(kind: number, status: number): asserts status is ReportStatus {
  if (!isReportStatus(status)) throw new ReportFormatError('status', `unknown status ${status}`);
  if (status !== ReportStatus.Ok && kind !== ReportKind.Request) {
    throw new ReportFormatError('status', `a failure status (${status}) is only defined for request answers (kind 1), not kind ${kind}`);
  }
}

function checkOutputCount(status: number, k: number): void {
  if (status !== ReportStatus.Ok) {
    if (k !== 0) throw new ReportFormatError('outputCount', `a failure report carries no outputs, got ${k}`);
    return;
  }
  if (!Number.isInteger(k) || k < 1 || k > MAX_OUTPUTS) {
    throw new ReportFormatError('outputCount', `expected 1..${MAX_OUTPUTS} output values, got ${k}`);
  }
}

/** Encodes a report after validating every field; throws ReportFormatError naming the bad field. */
export function encodeReport(r: Report): Uint8Array {
  checkKind(r.kind);
  checkDestination(r.kind, r.destination);
  const status = r.status ?? ReportStatus.Ok;
  checkStatus(r.kind, status);
  checkOutputCount(status, r.output.length);
  requireBytes(r.domain, 32, 'domain');
  requireBytes(r.id, 32, 'id');
  requireBytes(r.modelHash, 32, 'modelHash');
  requireBytes(r.inputHash, 32, 'inputHash');
  requireUint(r.epoch, 64, 'epoch');
  requireUint(r.timestamp, 64, 'timestamp');
  requireUint(r.round, 64, 'round');
  const w = new ByteWriter(reportLength(r.output.length))
    .u8(REPORT_VERSION)
    .u8(r.kind)
    .raw(r.domain)
    .u64(r.epoch)
    .u8(r.destination.chainType)
    .raw(r.destination.chainId)
    .raw(r.destination.contract)
    .raw(r.id)
    .raw(r.modelHash)
    .raw(r.inputHash)
    .u64(r.timestamp)
    .u64(r.round)
    .u8(status)
    .u16(r.output.length);
  r.output.forEach((v, i) => {
    if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX) {
      throw new ReportFormatError(`output[${i}]`, 'expected a signed 64-bit integer');
    }
    w.i64(v);
  });
  return w.finish();
}

/** Decodes and validates report bytes from the network or a chain; rejects anything non-canonical. */
export function decodeReport(bytes: Uint8Array): Report {
  if (!(bytes instanceof Uint8Array)) throw new ReportFormatError('report', 'expected bytes');
  if (bytes.length < REPORT_HEADER_LENGTH || bytes.length > MAX_REPORT_LENGTH) {
    throw new ReportFormatError('report', `length ${bytes.length} outside ${REPORT_HEADER_LENGTH}..${MAX_REPORT_LENGTH}`);
  }
  const rd = new ByteReader(bytes);
  const version = rd.u8();
  if (version !== REPORT_VERSION) throw new ReportFormatError('version', `unsupported version ${version}`);
  const kind = rd.u8();
  checkKind(kind);
  const domain = rd.raw(32);
  const epoch = rd.u64();
  const chainType = rd.u8() as ChainType;
  const destination: Destination = { chainType, chainId: rd.raw(32), contract: rd.raw(32) };
  checkDestination(kind, destination);
  const id = rd.raw(32);
  const modelHash = rd.raw(32);
  const inputHash = rd.raw(32);
  const timestamp = rd.u64();
  const round = rd.u64();
  const status = rd.u8();
  checkStatus(kind, status);
  const k = rd.u16();
  checkOutputCount(status, k);
  if (bytes.length !== reportLength(k)) {
    throw new ReportFormatError('outputCount', `declares ${k} values (${reportLength(k)} bytes) but report has ${bytes.length} bytes`);
  }
  const output: bigint[] = [];
  for (let i = 0; i < k; i++) output.push(rd.i64());
  return { kind, domain, epoch, destination, id, modelHash, inputHash, timestamp, round, status, output };
}

/** Merkle leaf of a report: `keccak256(0x00 ‖ report)`. */
export function reportLeaf(reportBytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(reportBytes.length + 1);
  buf.set(reportBytes, 1);
  return keccak_256(buf);
}

/** `keccak256` of the canonical input bytes, as carried in `inputHash`. */
export function inputHash(inputBytes: Uint8Array): Uint8Array {
  return keccak_256(inputBytes);
}
