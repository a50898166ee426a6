// Binds the model exchange to the node's libp2p host: which peers may exchange model blocks follows the
// host's admission (Hello against the registry). 'operators' (default): admitted registered operators
// (role member); 'any': every peer connected to the host (aggregators included; strangers are still kept
// out by the host's gater — a public endpoint is `publicListen`, see public-server.ts).
import type { Logger } from 'pino';
import type { DestraHost } from '../p2p/host.ts';
import { ModelExchange } from './exchange.ts';
import type { ModelStore } from './store.ts';

export type ServePolicy = 'operators' | 'any';

export async function startHostExchange(host: DestraHost, store: ModelStore, serve: ServePolicy, log: Logger): Promise<ModelExchange> {
  const ex = await ModelExchange.start({
    store,
    libp2p: host.libp2p as never,
    allowPeer: (id) => (serve === 'any' ? true : host.admitted.get(id)?.role === 'member'),
    log,
  });
  const refresh = (p: { peerId: string }): void => ex.refreshPeer(p.peerId);
  host.on('admitted', refresh);
  host.on('disconnected', refresh);
  host.on('refused', refresh);
  for (const id of host.admitted.keys()) ex.refreshPeer(id);
  const stop = ex.stop.bind(ex);
  ex.stop = async () => {
    host.off('admitted', refresh);
    host.off('disconnected', refresh);
    host.off('refused', refresh);
    await stop();
  };
  return ex;
}
