// Typed errors of the Ethereum adapter. `code` is stable for programs; `message` says what was wrong and
// what to do about it.
import { DestraError } from '@destra/protocol';

export class EthereumAdapterError extends DestraError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message);
    this.name = 'EthereumAdapterError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Bad constructor options or arguments (a programming/configuration mistake, never retried). */
export class AdapterConfigError extends EthereumAdapterError {
  constructor(message: string) {
    super('ETH_CONFIG', message);
    this.name = 'AdapterConfigError';
  }
}

/** A checkpoint file or record that cannot be read back or written. */
export class CheckpointError extends EthereumAdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ETH_CHECKPOINT', message, options);
    this.name = 'CheckpointError';
  }
}

/** A log or chain response that does not have the shape the router ABI promises. */
export class MalformedChainDataError extends EthereumAdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ETH_MALFORMED_CHAIN_DATA', message, options);
    this.name = 'MalformedChainDataError';
  }
}

/** A signature that is neither a 48/96-byte ZCash G1 point nor a 128-byte EIP-2537 G1 point. */
export class SignatureEncodingError extends EthereumAdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ETH_SIGNATURE_ENCODING', message, options);
    this.name = 'SignatureEncodingError';
  }
}

/**
 * The contract rejected the transaction for a reason retrying cannot fix (bad signature, wrong epoch,
 * unknown request...). `errorName` is the Solidity custom error when the revert data decoded.
 */
export class TransactionRejectedError extends EthereumAdapterError {
  readonly errorName: string | undefined;
  readonly errorArgs: readonly unknown[] | undefined;
  readonly txHash: `0x${string}` | undefined;
  constructor(message: string, details: { errorName?: string; errorArgs?: readonly unknown[]; txHash?: `0x${string}`; cause?: unknown } = {}) {
    super('ETH_TX_REJECTED', message, { cause: details.cause });
    this.name = 'TransactionRejectedError';
    this.errorName = details.errorName;
    this.errorArgs = details.errorArgs;
    this.txHash = details.txHash;
  }
}

/** Transient failures (RPC down, timeouts, nonce races) persisted through every retry. */
export class SubmissionFailedError extends EthereumAdapterError {
  readonly attempts: number;
  constructor(message: string, attempts: number, options?: { cause?: unknown }) {
    super('ETH_SUBMISSION_FAILED', message, options);
    this.name = 'SubmissionFailedError';
    this.attempts = attempts;
  }
}

/** waitForResult ran out of time before the request was fulfilled on chain. */
export class ResultTimeoutError extends EthereumAdapterError {
  readonly requestId: `0x${string}`;
  constructor(requestId: `0x${string}`, timeoutMs: number) {
    super(
      'ETH_RESULT_TIMEOUT',
      `request ${requestId} was not fulfilled within ${timeoutMs} ms: check that oracle nodes and an aggregator are running for this router, or wait longer / call refund() after the deadline`,
    );
    this.name = 'ResultTimeoutError';
    this.requestId = requestId;
  }
}

/** The request was fulfilled, but its report could not be recovered from the fulfilling transaction. */
export class ResultUnavailableError extends EthereumAdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ETH_RESULT_UNAVAILABLE', message, options);
    this.name = 'ResultUnavailableError';
  }
}

/** A node's HTTP API answered with an error status or a body that is not a valid signed report. */
export class NodeResponseError extends EthereumAdapterError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('ETH_NODE_RESPONSE', message, options);
    this.name = 'NodeResponseError';
    this.status = status;
  }
}
