// Who may join the network: committee members and aggregators, each bound to a registered operator BLS
// key (and, when the registration names one, a libp2p peer id).
import type { PeerRole } from '../wire.ts';

export interface Registration {
  role: PeerRole;
  /** Committee index (members) or aggregator index, 1..256. */
  index: number;
  /** Compressed G2 operator public key. */
  operatorKey: Uint8Array;
  /** Registered libp2p peer id (base58), when the registration carries one. */
  peerId?: string;
}

export class Registry {
  private readonly byKey = new Map<string, Registration>();

  constructor(readonly registrations: readonly Registration[]) {
    for (const r of registrations) this.byKey.set(`${r.role}:${r.index}`, r);
  }

  lookup = (role: PeerRole, index: number): Uint8Array | undefined => this.byKey.get(`${role}:${index}`)?.operatorKey;

  get(role: PeerRole, index: number): Registration | undefined {
    return this.byKey.get(`${role}:${index}`);
  }

  /** If some registration names a peer id, that peer id may only be used by that registration. */
  registeredPeerIds(): Set<string> {
    return new Set(this.registrations.flatMap((r) => (r.peerId ? [r.peerId] : [])));
  }

  members(): Registration[] {
    return this.registrations.filter((r) => r.role === 'member').sort((a, b) => a.index - b.index);
  }

  aggregators(): Registration[] {
    return this.registrations.filter((r) => r.role === 'aggregator').sort((a, b) => a.index - b.index);
  }
}
