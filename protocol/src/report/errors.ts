import { DestraError } from '../errors.ts';

/** Bytes that do not follow docs/report-format.md. `field` names the offending field. */
export class ReportFormatError extends DestraError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('REPORT_FORMAT', `${field}: ${message}`);
    this.name = 'ReportFormatError';
    this.field = field;
  }
}

/** A Merkle batch or proof that is malformed or does not lead to the claimed root. */
export class MerkleProofError extends DestraError {
  constructor(message: string) {
    super('MERKLE_PROOF', message);
    this.name = 'MerkleProofError';
  }
}
