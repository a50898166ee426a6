// Who may join the network: committee members and aggregators, each bound to a registered operator BLS
// key (and, when the registration names one, a libp2p peer id). Fixed for a configured committee;
// replaced whenever the chain's operator directory changes for a chain-driven one.
import { EventEmitter } from 'node:events';
import type { PeerRole } from '../wire.ts';

export interface Registration {
  role: PeerRole;
  /** Member index of a fixed committee, operator registry position (chain), or aggregator index; 1..65535. */
  index: number;
  /** Compressed G2 operator public key. */
  operatorKey: Uint8Array;
  /** Registered libp2p peer id (base58), when the registration carries one. */
  peerId?: string;
  /** Multiaddrs the peer listens on (chain node info or config). */
  addrs?: string[];
}

export class Registry extends EventEmitter<{ changed: [] }> {
  private byKey = new Map<string, Registration>();
  private peerIds = new Set<string>();
  private list: readonly Registration[] = [];

  constructor(registrations: readonly Registration[]) {
    super();
    this.replace(registrations);
  }

  get registrations(): readonly Registration[] {
    return this.list;
  }

  /** Installs a new registration set (the chain's directory changed); emits `changed`. */
  replace(registrations: readonly Registration[]): void {
    this.list = [...registrations];
    this.byKey = new Map(registrations.map((r) => [`${r.role}:${r.index}`, r]));
    this.peerIds = new Set(registrations.flatMap((r) => (r.peerId ? [r.peerId] : [])));
    this.emit('changed');
  }

  lookup = (role: PeerRole, index: number): Uint8Array | undefined => this.byKey.get(`${role}:${index}`)?.operatorKey;

  get(role: PeerRole, index: number): Registration | undefined {
    return this.byKey.get(`${role}:${index}`);
  }

  /** If some registration names a peer id, that peer id may only be used by that registration. */
  registeredPeerIds(): Set<string> {
    return this.peerIds;
  }

  members(): Registration[] {
    return this.list.filter((r) => r.role === 'member').sort((a, b) => a.index - b.index);
  }

  aggregators(): Registration[] {
    return this.list.filter((r) => r.role === 'aggregator').sort((a, b) => a.index - b.index);
  }
}
