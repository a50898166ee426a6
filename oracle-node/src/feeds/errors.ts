// Typed errors of the feed service.
import { DestraNodeError } from '../errors.ts';

/** A feed's input cannot be built (malformed chain data, a value outside what the model takes). */
export class FeedInputError extends DestraNodeError {
  constructor(message: string) {
    super('FEED_INPUT', message);
    this.name = 'FeedInputError';
  }
}

/** A feed defined on chain cannot run on this node (model not served here, or served with another hash). */
export class FeedUnavailableError extends DestraNodeError {
  constructor(message: string) {
    super('FEED_UNAVAILABLE', message);
    this.name = 'FeedUnavailableError';
  }
}
