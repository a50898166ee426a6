// viem's webSocket transport takes its WebSocket class from `isows`, which prefers the global one. Node 20
// has no global WebSocket, and in this workspace isows' fallback resolves to ws@7 (hoisted for Solana
// deps), whose ESM shape isows cannot use. Installing ws@8's spec-compatible class as the global (only
// when none exists; Node 22+ has its own) makes webSocket() work on every supported Node.
import { createPublicClient, webSocket, type Chain, type PublicClient } from 'viem';
import WsWebSocket from 'ws';

export function ensureWebSocketGlobal(): void {
  const g = globalThis as { WebSocket?: unknown };
  if (typeof g.WebSocket === 'undefined') g.WebSocket = WsWebSocket;
}

/** A public client on a webSocket transport (for RequestWatcher's subscription). */
export function createWebSocketPublicClient(url: string, chain: Chain, opts: { pollingIntervalMs?: number; retryCount?: number } = {}): PublicClient {
  ensureWebSocketGlobal();
  return createPublicClient({
    chain,
    transport: webSocket(url, { retryCount: opts.retryCount ?? 3, reconnect: { attempts: 5, delay: 500 } }),
    pollingInterval: opts.pollingIntervalMs ?? 1000,
  }) as PublicClient;
}

/** Closes the socket behind a webSocket-transport client (no-op for other transports). */
export async function closeWebSocketClient(client: PublicClient): Promise<void> {
  const transport = client.transport as { getRpcClient?: () => Promise<{ close(): void }> };
  if (!transport.getRpcClient) return;
  try {
    (await transport.getRpcClient()).close();
  } catch {
    /* never connected: nothing to close */
  }
}
