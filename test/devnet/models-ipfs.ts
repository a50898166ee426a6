// Devnet nodes that follow ModelRegistry and get registered models by CID (node config models.ipfs,
// docs/models.md): configs patched after they are written, some nodes with an empty model store, and the
// count of packages nodes fetched from their peers, read from their /metrics.
import { readFileSync, writeFileSync } from 'node:fs';

/** The devnet node that starts without models (the fourth, or the last when there are fewer). */
export const emptyStoreNode = (n: number): number => Math.min(4, n);

/** Adds models.ipfs (follow `registry`) to every node config; `emptyStores` (1-based) start with no models. */
export function enableModelsOverIpfs(configPaths: readonly string[], registry: string, pollIntervalMs: number, emptyStores: readonly number[]): void {
  configPaths.forEach((path, i) => {
    const config = JSON.parse(readFileSync(path, 'utf8')) as { models?: Record<string, unknown> };
    const seed = !emptyStores.includes(i + 1);
    config.models = { ...(config.models ?? {}), ipfs: { registry, pollIntervalMs, seed, retryMs: 500, fetchTimeoutMs: 20_000 } };
    writeFileSync(path, JSON.stringify(config, null, 2));
  });
}

/** destra_models_fetched_total{from="peers"} of a node's /metrics (0 when it has none). */
export async function modelsFetchedFromPeers(api: string): Promise<number> {
  const text = await fetch(`${api}/metrics`).then((r) => r.text());
  const m = /^destra_models_fetched_total\{from="peers"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Sum over nodes of the packages they fetched from peers (verified and served). */
export async function modelsFetchedOverIpfs(apis: readonly string[]): Promise<number> {
  const counts = await Promise.all(apis.map((a) => modelsFetchedFromPeers(a).catch(() => 0)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Waits until the node serves at least `count` registered models (destra_models_served). */
export async function waitModelsServed(api: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await fetch(`${api}/metrics`).then((r) => r.text()).catch(() => '');
    const m = /^destra_models_served (\d+)/m.exec(text);
    if (m && Number(m[1]) >= count) return;
    if (Date.now() > deadline) throw new Error(`node at ${api} serves ${m?.[1] ?? 0} registered model(s) after ${timeoutMs} ms, expected ${count} (see its log: 'model package not obtained')`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
