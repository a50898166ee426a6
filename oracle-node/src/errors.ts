// Typed errors of the oracle node. `code` is stable for programs; the message says what was wrong and
// what to do about it.
import { DestraError } from '@destra/protocol';

export class DestraNodeError extends DestraError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'DestraNodeError';
  }
}

/** The node config file is missing, unreadable or fails validation; `field` names the offending path. */
export class ConfigError extends DestraError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super('CONFIG', field ? `config field '${field}': ${message}` : message);
    this.name = 'ConfigError';
    this.field = field;
  }
}

/** Refusal to sign a second, different report for a request id this node already signed. */
export class DoubleSignError extends DestraError {
  constructor(message: string) {
    super('DOUBLE_SIGN', message);
    this.name = 'DoubleSignError';
  }
}

/** A round could not be run (unknown model, epoch without a key share, skewed timestamp, ...). */
export class RoundError extends DestraError {
  readonly status: number;
  /** Extra fields for the HTTP error body (e.g. the request id of a round that timed out). */
  readonly details: Readonly<Record<string, string | number>>;
  constructor(code: string, message: string, status = 400, details: Record<string, string | number> = {}) {
    super(code, message);
    this.name = 'RoundError';
    this.status = status;
    this.details = details;
  }
}
