// Sorts an error from viem into what the submitter should do about it: stop (the contract rejects the
// call), count it as done (another relayer already landed it), resync the nonce, or back off and retry.
import {
  BaseError, ContractFunctionRevertedError, HttpRequestError, InternalRpcError, LimitExceededRpcError, NonceTooHighError,
  NonceTooLowError, ResourceUnavailableRpcError, SocketClosedError, TimeoutError, WaitForTransactionReceiptTimeoutError,
  WebSocketRequestError,
} from 'viem';

export type ErrorClass =
  | { kind: 'already-fulfilled'; errorName: string }
  | { kind: 'stale'; errorName: string }
  | { kind: 'revert'; errorName: string | undefined; errorArgs: readonly unknown[] | undefined; message: string }
  | { kind: 'nonce'; message: string }
  | { kind: 'transient'; message: string };

/** Contract errors meaning the work is already on chain (another relayer fulfilled the request, or used
 *  the same equivocation evidence): success, stop retrying. */
const DONE_ERRORS = new Set(['AlreadyFulfilled', 'AlreadySlashed']);
/** Feed rounds at or below the stored one: a newer round landed first. */
const STALE_ERRORS = new Set(['StaleRound']);

const NONCE_TEXT = /nonce too (low|high)|invalid nonce|nonce has already been used|replacement transaction underpriced|already known|transaction already imported/i;

export function classifyError(error: unknown): ErrorClass {
  const message = error instanceof Error ? (error instanceof BaseError ? error.shortMessage : error.message) : String(error);
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (reverted) {
      const errorName = reverted.data?.errorName;
      if (errorName && DONE_ERRORS.has(errorName)) return { kind: 'already-fulfilled', errorName };
      if (errorName && STALE_ERRORS.has(errorName)) return { kind: 'stale', errorName };
      return { kind: 'revert', errorName, errorArgs: reverted.data?.args, message: reverted.shortMessage };
    }
    if (error.walk((e) => e instanceof NonceTooLowError || e instanceof NonceTooHighError)) return { kind: 'nonce', message };
    const transient = error.walk(
      (e) =>
        e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof WebSocketRequestError || e instanceof SocketClosedError ||
        e instanceof LimitExceededRpcError || e instanceof ResourceUnavailableRpcError || e instanceof InternalRpcError ||
        e instanceof WaitForTransactionReceiptTimeoutError,
    );
    if (transient) return { kind: 'transient', message };
    const details = `${error.message} ${error.details ?? ''}`;
    if (NONCE_TEXT.test(details)) return { kind: 'nonce', message };
    if (/execution reverted|revert/i.test(details)) return { kind: 'revert', errorName: undefined, errorArgs: undefined, message };
    return { kind: 'transient', message };
  }
  const text = error instanceof Error ? `${error.message} ${(error as { cause?: { message?: string } }).cause?.message ?? ''}` : String(error);
  if (NONCE_TEXT.test(text)) return { kind: 'nonce', message };
  // Anything else (connection refused, resets, unknown RPC failures) is worth a bounded retry.
  return { kind: 'transient', message };
}
