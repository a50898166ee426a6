// TCP forwarders on the bridge's gateway address to services bound to 127.0.0.1 in the root namespace
// (anvil, the SVM bridge): node processes in their own namespaces reach the chain through them, and the
// services keep binding loopback only.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Forwarder {
  /** `http://<gateway>:<port>` for `http://127.0.0.1:<target port>`. */
  url: string;
  close(): Promise<void>;
}

export async function forward(targetUrl: string, host: string): Promise<Forwarder> {
  const target = new URL(targetUrl);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error(`forward: ${targetUrl} is not a loopback URL`);
  const port = Number(target.port);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      // A peer partitioned away never sends its FIN: keep-alive probes find the dead connection once the
      // link is back (the peer's kernel answers RST); one side closing closes the other (below), so no
      // pair of descriptors outlives its connection.
      s.setKeepAlive(true, 15_000);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy()); // nobody left to answer
    upstream.on('close', () => client.end()); // what was piped is flushed first
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('forward: no port');
  return {
    url: `${target.protocol}//${host}:${addr.port}${target.pathname === '/' ? '' : target.pathname}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
