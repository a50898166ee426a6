// Destination <-> the 65-byte form stored in SQLite (chainType ‖ chainId ‖ contract).
import type { ChainType, Destination } from '@destra/protocol';

export function packDestination(d: Destination): Uint8Array {
  const out = new Uint8Array(65);
  out[0] = d.chainType;
  out.set(d.chainId, 1);
  out.set(d.contract, 33);
  return out;
}

export function unpackDestination(b: Uint8Array): Destination {
  return { chainType: b[0] as ChainType, chainId: b.slice(1, 33), contract: b.slice(33, 65) };
}
