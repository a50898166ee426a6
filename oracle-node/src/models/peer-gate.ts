// The node's libp2p as bitswap sees it: only peers this gate allows exist. Bitswap shares the node's
// libp2p host (same identity, port and connections as rounds and DKG), whose connection gater and Hello
// admission already keep out peers that are not registered; the gate narrows that to the peers allowed to
// exchange model blocks (admitted committee/registered operators by default, minus peers refused for
// sending junk). Bitswap's inbound streams from other peers are aborted, its wantlists never go to them,
// and it learns of peers only once they are admitted. Helia's start/stop leave the shared host alone.
import type { Connection, Libp2p, PeerId, Stream, Topology } from '@libp2p/interface';

export interface PeerGate {
  /** The libp2p view to hand to Helia and bitswap. */
  readonly libp2p: Libp2p;
  /** Call when `allow(peer)` may have changed (admitted, refused, disconnected). */
  refresh(peer: PeerId | string): void;
}

/**
 * Wraps `libp2p` so bitswap only talks to peers for which `allow(peerId)` is true. Registered
 * topologies hear of a peer when it becomes allowed (refresh) and lose it when it stops being allowed.
 */
export function gatePeers(libp2p: Libp2p, allow: (peerId: string) => boolean): PeerGate {
  const topologies: Topology[] = [];
  const told = new Map<string, PeerId>();
  const connected = (id: string): PeerId | undefined => libp2p.getConnections().find((c) => c.remotePeer.toString() === id && c.status === 'open')?.remotePeer;

  const refresh = (peer: PeerId | string): void => {
    const id = peer.toString();
    const pid = typeof peer === 'string' ? connected(id) ?? told.get(id) : peer;
    const ok = allow(id) && connected(id) !== undefined;
    if (ok && !told.has(id) && pid) {
      told.set(id, pid);
      for (const t of topologies) t.onConnect?.(pid, undefined as never);
    } else if (!ok && told.has(id)) {
      const was = told.get(id)!;
      told.delete(id);
      for (const t of topologies) t.onDisconnect?.(was);
    }
  };
  libp2p.addEventListener('peer:disconnect', (evt) => refresh(evt.detail));

  const view = new Proxy(libp2p, {
    get(target, prop, receiver) {
      switch (prop) {
        case 'start':
        case 'stop':
          return async () => undefined; // the node owns the host's lifecycle
        case 'handle':
          return (protocols: string | string[], handler: (stream: Stream, connection: Connection) => void | Promise<void>, opts?: object) =>
            target.handle(
              protocols,
              (stream: Stream, connection: Connection) => {
                if (!allow(connection.remotePeer.toString())) {
                  stream.abort(new Error('not allowed to exchange model blocks'));
                  return;
                }
                return handler(stream, connection);
              },
              opts,
            );
        case 'register':
          return async (protocol: string, topology: Topology) => {
            topologies.push(topology);
            for (const c of target.getConnections()) refresh(c.remotePeer);
            return `destra-models-gate-${protocol}-${topologies.length}`;
          };
        case 'unregister':
          return () => undefined;
        case 'getConnections':
          return (peer?: PeerId) => target.getConnections(peer).filter((c) => allow(c.remotePeer.toString()));
        case 'dialProtocol':
          return async (peer: PeerId, protocols: string | string[], opts?: object) => {
            if (!allow(peer.toString())) throw new Error(`peer ${peer.toString()} is not allowed to exchange model blocks`);
            return target.dialProtocol(peer, protocols, opts);
          };
        case 'dial':
          return async (peer: PeerId, opts?: object) => {
            if (!allow(peer.toString())) throw new Error(`peer ${peer.toString()} is not allowed to exchange model blocks`);
            return target.dial(peer, opts);
          };
        case 'isDialable':
          return async () => false; // bitswap only uses connections the node already has
        default: {
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
      }
    },
  });
  return { libp2p: view, refresh };
}
