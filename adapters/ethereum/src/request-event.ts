// The typed request object the watcher emits, built from a decoded `InferenceRequested` log.
import { getAbiItem, getAddress, toEventSelector, type Address, type Hex, type Log } from 'viem';
import { oracleRouterAbi } from '@destra/contracts';
import { MalformedChainDataError } from './errors.ts';

/** InferenceRequested's fields as the log carries them. */
export interface DecodedRequest {
  requestId: Hex;
  requester: Address;
  modelId: Hex;
  modelHash: Hex;
  /** Canonical input bytes (int64 big-endian fixed point, manifest order). */
  input: Uint8Array;
  callbackGasLimit: number;
  fee: bigint;
  /** Unix seconds after which the requester may refund. */
  deadline: bigint;
  /**
   * The request's position in the router's request stream: consecutive from 0 per router, in execution
   * order (nodes sign consecutive ranges of it; docs/ethereum.md "Request stream").
   */
  seq: bigint;
}

/** A request as the watcher emits it: the event's fields and where the chain put it. */
export interface OracleRequest extends DecodedRequest {
  blockNumber: bigint;
  blockHash: Hex;
  /** Unix seconds of the block that holds the request. */
  blockTimestamp: bigint;
  transactionHash: Hex;
  logIndex: number;
  chainId: number;
  router: Address;
}

/** Max input the router accepts (OracleRouter.MAX_INPUT_BYTES); larger data in a log is not ours. */
const MAX_INPUT_BYTES = 8 * 512;

/** Decodes one raw router log into an OracleRequest; throws MalformedChainDataError on anything else. */
export function parseRequestLog(log: Log, ctx: { chainId: number; router: Address; blockTimestamp: bigint }): OracleRequest {
  if (log.blockNumber === null || log.blockHash === null || log.transactionHash === null || log.logIndex === null) {
    throw new MalformedChainDataError('InferenceRequested log is pending (no block number/hash/log index); only mined logs can be processed');
  }
  if (log.address.toLowerCase() !== ctx.router.toLowerCase()) {
    throw new MalformedChainDataError(`log from ${log.address} is not from the router ${ctx.router}`);
  }
  let a: DecodedRequest;
  try {
    a = decodeRequestedLog(log.topics as readonly Hex[], log.data);
  } catch (e) {
    throw new MalformedChainDataError(`log ${log.transactionHash}#${log.logIndex} is not a well-formed InferenceRequested event: ${(e as Error).message}`, { cause: e });
  }
  return {
    ...a,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    blockTimestamp: ctx.blockTimestamp,
    transactionHash: log.transactionHash,
    logIndex: log.logIndex,
    chainId: ctx.chainId,
    router: ctx.router,
  };
}

const REQUESTED_TOPIC = toEventSelector(getAbiItem({ abi: oracleRouterAbi, name: 'InferenceRequested' }));
const WORD = 32;
const HEAD_WORDS = 6; // modelHash, input offset, callbackGasLimit, fee, deadline, seq
const TOPIC_RE = /^0x[0-9a-fA-F]{64}$/;

/** Hex (0x…) to bytes; undefined when it is not even-length hex (Buffer.from stops at the first bad pair). */
function hexToBuffer(h: string): Buffer | undefined {
  if (typeof h !== 'string' || !h.startsWith('0x') || h.length % 2 !== 0) return undefined;
  const b = Buffer.from(h.slice(2), 'hex');
  return b.length * 2 === h.length - 2 ? b : undefined;
}

function zero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** Word `i`'s low `bytes` (the rest must be zero: Solidity never writes dirty high bits). */
function narrow(b: Buffer, i: number, bytes: number, what: string): bigint {
  if (!zero(b, i * WORD, (i + 1) * WORD - bytes)) throw new MalformedChainDataError(`${what} has bits above ${8 * bytes}`);
  return bytes <= 6 ? BigInt(b.readUIntBE((i + 1) * WORD - bytes, bytes)) : b.readBigUInt64BE((i + 1) * WORD - 8);
}

/** EIP-55 form of a 40-hex-digit address; requesters repeat, so the Keccak is remembered (bounded). */
const checksums = new Map<string, Address>();
function checksummed(hex40: string): Address {
  const k = hex40.toLowerCase();
  let a = checksums.get(k);
  if (a === undefined) {
    if (checksums.size >= 4096) checksums.clear();
    checksums.set(k, (a = getAddress(`0x${k}`)));
  }
  return a;
}

/**
 * InferenceRequested(bytes32 indexed requestId, address indexed requester, bytes32 indexed modelId,
 * bytes32 modelHash, bytes input, uint32 callbackGasLimit, uint256 fee, uint64 deadline, uint64 seq),
 * decoded at its fixed ABI layout: the head's six words, then the input's length word and its bytes padded
 * to a word. A node decodes every request log of a burst, and viem's generic decoder (ABI walk, cursor,
 * per-field hex conversions) cost ~0.3 ms a log on the shared machine. Strict: the event's topic, exactly
 * four topics, the one offset Solidity writes (0xc0), zero high bits in every narrow field and in the
 * input's padding, the data exactly as long as the input needs, the input at most MAX_INPUT_BYTES.
 * The ABI stays the source of truth: a test decodes random events with viem and this and compares.
 */
export function decodeRequestedLog(topics: readonly Hex[], data: Hex): DecodedRequest {
  if (topics.length !== 4) throw new MalformedChainDataError(`expected 4 topics (event, requestId, requester, modelId), got ${topics.length}`);
  for (const t of topics) if (typeof t !== 'string' || !TOPIC_RE.test(t)) throw new MalformedChainDataError(`topic ${String(t).slice(0, 80)} is not a 32-byte word`);
  if (topics[0]!.toLowerCase() !== REQUESTED_TOPIC) throw new MalformedChainDataError(`topic ${topics[0]} is not InferenceRequested`);
  if (!topics[2]!.startsWith('0x000000000000000000000000')) throw new MalformedChainDataError(`requester topic ${topics[2]} has bits above an address`);
  const b = hexToBuffer(data);
  if (!b) throw new MalformedChainDataError('log data is not even-length hex');
  if (b.length < (HEAD_WORDS + 1) * WORD) throw new MalformedChainDataError(`log data is ${b.length} bytes, shorter than the event's head`);
  if (!zero(b, WORD, 2 * WORD - 1) || b[2 * WORD - 1] !== HEAD_WORDS * WORD) throw new MalformedChainDataError(`input offset is 0x${b.subarray(WORD, 2 * WORD).toString('hex').replace(/^0+/, '')}, expected 0xc0`);
  if (!zero(b, HEAD_WORDS * WORD, (HEAD_WORDS + 1) * WORD - 4)) throw new MalformedChainDataError(`input length 0x${b.subarray(HEAD_WORDS * WORD, (HEAD_WORDS + 1) * WORD).toString('hex').replace(/^0+/, '')} is beyond any input`);
  const n = b.readUInt32BE((HEAD_WORDS + 1) * WORD - 4);
  if (n > MAX_INPUT_BYTES) throw new MalformedChainDataError(`request ${topics[1]} carries ${n} input bytes (max ${MAX_INPUT_BYTES})`);
  const at = (HEAD_WORDS + 1) * WORD;
  const padded = Math.ceil(n / WORD) * WORD;
  if (b.length !== at + padded) throw new MalformedChainDataError(`log data is ${b.length} bytes; an input of ${n} bytes needs ${at + padded}`);
  if (!zero(b, at + n, at + padded)) throw new MalformedChainDataError('input padding is not zero');
  return {
    requestId: topics[1]!,
    requester: checksummed(topics[2]!.slice(26)),
    modelId: topics[3]!,
    modelHash: `0x${b.toString('hex', 0, WORD)}`,
    input: new Uint8Array(b.buffer.slice(b.byteOffset + at, b.byteOffset + at + n)),
    callbackGasLimit: Number(narrow(b, 2, 4, 'callbackGasLimit')),
    fee: BigInt(`0x${b.toString('hex', 3 * WORD, 4 * WORD)}`),
    deadline: narrow(b, 4, 8, 'deadline'),
    seq: narrow(b, 5, 8, 'seq'),
  };
}
