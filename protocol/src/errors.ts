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
