// Typed aggregator errors: `code` is stable for programs, the message says what was wrong and what to do.
import { DestraError } from '@destra/protocol';

/** A partial, leaf announcement or batch partial whose shape is wrong (lengths, member index). */
export class MalformedInputError extends DestraError {
  constructor(message: string) {
    super('AGG_MALFORMED_INPUT', message);
    this.name = 'MalformedInputError';
  }
}

/** Aggregator configuration that cannot work (threshold, committee size, batch policy bounds). */
export class AggregatorConfigError extends DestraError {
  constructor(message: string) {
    super('AGG_CONFIG', message);
    this.name = 'AggregatorConfigError';
  }
}

/** A relay attempt that failed for a reason other than "someone already landed it". */
export class RelayError extends DestraError {
  readonly chain: string;
  constructor(chain: string, message: string) {
    super('AGG_RELAY', `${chain}: ${message}`);
    this.name = 'RelayError';
    this.chain = chain;
  }
}

/** A member asked to commit to a range it already signed a root for (it signs one root per range). */
export class RangeCommitError extends DestraError {
  constructor(message: string) {
    super('AGG_RANGE_COMMIT', message);
    this.name = 'RangeCommitError';
  }
}

/** A range-reports frame (member → aggregator report bytes of a range) that is malformed or oversized. */
export class RangeReportsError extends DestraError {
  readonly field: string;
  constructor(field: string, why: string) {
    super('AGG_RANGE_REPORTS', `range reports frame: ${field}: ${why}`);
    this.name = 'RangeReportsError';
    this.field = field;
  }
}
