// The typed request object the watcher emits, built from a decoded `InferenceRequested` log.
import { decodeEventLog, type Address, type Hex, type Log } from 'viem';
import { oracleRouterAbi } from '@destra/contracts';
import { MalformedChainDataError } from './errors.ts';

export interface OracleRequest {
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
  let decoded;
  try {
    decoded = decodeEventLog({ abi: oracleRouterAbi, eventName: 'InferenceRequested', data: log.data, topics: log.topics, strict: true });
  } catch (e) {
    throw new MalformedChainDataError(`log ${log.transactionHash}#${log.logIndex} is not a well-formed InferenceRequested event: ${(e as Error).message}`, { cause: e });
  }
  const a = decoded.args;
  const inputHexLength = (a.input.length - 2) / 2;
  if (inputHexLength > MAX_INPUT_BYTES) {
    throw new MalformedChainDataError(`request ${a.requestId} carries ${inputHexLength} input bytes (max ${MAX_INPUT_BYTES})`);
  }
  return {
    requestId: a.requestId,
    requester: a.requester,
    modelId: a.modelId,
    modelHash: a.modelHash,
    input: hexBytes(a.input),
    callbackGasLimit: a.callbackGasLimit,
    fee: a.fee,
    deadline: a.deadline,
    seq: a.seq,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    blockTimestamp: ctx.blockTimestamp,
    transactionHash: log.transactionHash,
    logIndex: log.logIndex,
    chainId: ctx.chainId,
    router: ctx.router,
  };
}

function hexBytes(h: Hex): Uint8Array {
  return Uint8Array.from(Buffer.from(h.slice(2), 'hex'));
}
