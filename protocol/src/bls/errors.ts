import { DestraError } from '../errors.ts';

export type InvalidPointReason = 'length' | 'encoding' | 'not-on-curve' | 'not-in-subgroup' | 'identity';

/** Bytes that are not a usable BLS12-381 point. Never a crash and never a passing check. */
export class InvalidPointError extends DestraError {
  readonly reason: InvalidPointReason;
  readonly group: 'G1' | 'G2';
  constructor(group: 'G1' | 'G2', reason: InvalidPointReason, detail: string) {
    super('INVALID_POINT', `invalid ${group} point (${reason}): ${detail}`);
    this.name = 'InvalidPointError';
    this.reason = reason;
    this.group = group;
  }
}

/** A secret key or scalar outside 1..r-1, or of the wrong length. */
export class InvalidScalarError extends DestraError {
  constructor(message: string) {
    super('INVALID_SCALAR', message);
    this.name = 'InvalidScalarError';
  }
}
