// Free TCP ports on 127.0.0.1 for nodes whose addresses must be known before they start.
export { freePorts } from '../../scripts/free-port.ts';
