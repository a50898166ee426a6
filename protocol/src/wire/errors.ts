import { DestraError } from '../errors.ts';

/**
 * A libp2p message that is oversized, not canonical CBOR, or fails its schema. `messageType` names the
 * expected message, `field` the offending field when known; receivers log the message and drop the frame.
 */
export class WireError extends DestraError {
  readonly messageType: string;
  readonly field: string | undefined;
  constructor(messageType: string, message: string, field?: string, code = 'WIRE_MALFORMED') {
    super(code, `${messageType}: ${field ? `field '${field}': ` : ''}${message}`);
    this.name = 'WireError';
    this.messageType = messageType;
    this.field = field;
  }
}
