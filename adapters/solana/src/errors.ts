import { DestraError } from '@destra/protocol';

/** A transaction the cluster (or the in-process SVM) rejected; `programError` is the custom code when known. */
export class SolanaTransactionError extends DestraError {
  readonly logs: string[];
  readonly programError: number | undefined;
  readonly programErrorName: string | undefined;
  constructor(message: string, logs: string[], programError?: number, programErrorName?: string) {
    super('SOLANA_TX', message);
    this.name = 'SolanaTransactionError';
    this.logs = logs;
    this.programError = programError;
    this.programErrorName = programErrorName;
  }
}

/** Account bytes that do not decode as the expected Destra account. */
export class SolanaAccountError extends DestraError {
  constructor(message: string) {
    super('SOLANA_ACCOUNT', message);
    this.name = 'SolanaAccountError';
  }
}
