// Polls for pending inference requests so an oracle node can pick them up; each request is reported once,
// in sequence order (InferenceRequestAccount.seq: the request's position in the program's request stream).
import type { InferenceRequestAccount, OracleClient } from './client.ts';

export interface RequestWatcher {
  /** one poll: new pending requests since the last poll */
  poll(): Promise<InferenceRequestAccount[]>;
  stop(): void;
}

export function watchRequests(
  client: OracleClient,
  onRequest: (r: InferenceRequestAccount) => void | Promise<void>,
  opts: {
    intervalMs?: number;
    onError?: (e: unknown) => void;
    /**
     * Deliver a request again when it is still pending this long after its last delivery (a node then
     * re-signs an answer the program refused, e.g. one of the previous epoch). Default: never.
     */
    redeliverAfterMs?: number;
  } = {},
): RequestWatcher {
  const seen = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const poll = async (): Promise<InferenceRequestAccount[]> => {
    const now = Date.now();
    // in request-stream order (the program numbers requests as they execute), so a consumer sees them as
    // every other node does
    const pending = (await client.listPendingRequests()).sort((a, b) => (a.seq! < b.seq! ? -1 : a.seq! > b.seq! ? 1 : 0));
    const live = new Set(pending.map((r) => r.address.toBase58()));
    for (const k of seen.keys()) if (!live.has(k)) seen.delete(k); // answered or refunded: forget it
    const due = pending.filter((r) => {
      const last = seen.get(r.address.toBase58());
      return last === undefined || (opts.redeliverAfterMs !== undefined && now - last >= opts.redeliverAfterMs);
    });
    for (const r of due) {
      seen.set(r.address.toBase58(), now);
      await onRequest(r);
    }
    return due;
  };
  const loop = (): void => {
    if (stopped) return;
    poll().catch((e) => opts.onError?.(e)).finally(() => {
      if (!stopped) timer = setTimeout(loop, opts.intervalMs ?? 2000);
    });
  };
  if (opts.intervalMs !== undefined) loop();
  return { poll, stop: () => { stopped = true; if (timer) clearTimeout(timer); } };
}
