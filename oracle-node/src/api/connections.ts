// Connection admission for the HTTP API. A client that opens thousands of connections and never finishes
// its headers (slowloris) must not exhaust the node's file handles, and /health must keep answering.
// Open connections are capped; when the cap is reached, the oldest connection with no request in progress
// (half-sent headers, or an idle keep-alive) is closed to admit the new one. Connections serving a request
// are never evicted; if every connection is busy, the new one is refused.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this long (default 30 s). */
  keepAliveTimeoutMs?: number;
}

export interface ConnectionStats {
  open: number;
  evicted: number;
  refused: number;
}

/** Options for http.createServer: the timeouts are only honoured when given at creation. */
export function serverTimeouts(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    // Well past clients' own idle limit (undici/fetch: 4 s), so the client always drops an idle connection
    // first. At Node's 5 s a client whose event loop lagged a second reused a connection the node had just
    // closed, and its POST failed with "other side closed" (not retried: it is not idempotent). Idle
    // connections cost nothing here: the cap above evicts the oldest idle one when full.
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? 30_000,
    // The timeouts are checked on this interval; the default (30 s) lets a stalled client stay that long.
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    maxHeaderSize: 16 * 1024,
  };
}

export function guardConnections(server: Server, limits: ConnectionLimits, onDrop?: (why: 'evicted' | 'refused') => void): () => ConnectionStats {
  server.maxHeadersCount = 100;

  // Insertion order = age: the first idle entry is the oldest idle connection.
  const open = new Map<Socket, { busy: number }>();
  const stats = { evicted: 0, refused: 0 };

  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      let victim: Socket | undefined;
      for (const [s, st] of open) {
        if (st.busy === 0) {
          victim = s;
          break;
        }
      }
      if (!victim) {
        stats.refused++;
        onDrop?.('refused');
        socket.destroy();
        return;
      }
      open.delete(victim);
      stats.evicted++;
      onDrop?.('evicted');
      victim.destroy();
    }
    open.set(socket, { busy: 0 });
    socket.once('close', () => open.delete(socket));
  });

  server.on('request', (req, res) => {
    const st = open.get(req.socket);
    if (!st) return;
    st.busy++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      st.busy--;
      // Re-insert at the end: a connection that just served a request is the youngest idle one.
      if (open.delete(req.socket)) open.set(req.socket, st);
    };
    res.once('finish', finish);
    res.once('close', finish);
  });

  return () => ({ open: open.size, ...stats });
}
