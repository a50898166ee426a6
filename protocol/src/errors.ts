// Typed errors shared by every protocol module. `code` is stable for programs; `message` says what was
// wrong and what to do.
export class DestraError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DestraError';
    this.code = code;
  }
}

/** Not enough, duplicate or out-of-range shares / partial signatures for a threshold operation. */
export class ThresholdError extends DestraError {
  constructor(message: string) {
    super('THRESHOLD', message);
    this.name = 'ThresholdError';
  }
}

/** A DKG message or step that breaks the protocol; `dealer`/`from` name the culprit when known. */
export class DkgError extends DestraError {
  constructor(message: string, code = 'DKG') {
    super(code, message);
    this.name = 'DkgError';
  }
}

/** An EIP-2335 keystore that is malformed, uses unsupported parameters, or does not open with the password. */
export class KeystoreError extends DestraError {
  readonly field: string | undefined;
  constructor(message: string, code = 'KEYSTORE', field?: string) {
    super(code, message);
    this.name = 'KeystoreError';
    this.field = field;
  }
}
