// Polls for pending inference requests so an oracle node can pick them up; each request is reported once.
import type { InferenceRequestAccount, OracleClient } from './client.ts';

export interface RequestWatcher {
  /** one poll: new pending requests since the last poll */
  poll(): Promise<InferenceRequestAccount[]>;
  stop(): void;
}

export function watchRequests(
  client: OracleClient,
  onRequest: (r: InferenceRequestAccount) => void | Promise<void>,
  opts: { intervalMs?: number; onError?: (e: unknown) => void } = {},
): RequestWatcher {
  const seen = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const poll = async (): Promise<InferenceRequestAccount[]> => {
    const fresh = (await client.listPendingRequests()).filter((r) => !seen.has(r.address.toBase58()));
    for (const r of fresh) {
      seen.add(r.address.toBase58());
      await onRequest(r);
    }
    return fresh;
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
