// The aggregator's status endpoint (hono on @hono/node-server, bound to 127.0.0.1 only):
//   GET /health   {status, epoch?, members, threshold, chains: {<name>: {ok, lastError?}}, pendingRelays}
//                 200 when ok; 503 'degraded' when fewer than t members are connected, no configured
//                 chain answers its probe (Ethereum getBlockNumber, Solana getSlot; short timeout, cached)
//                 or the current epoch's sharing is not known
//   GET /metrics  the same figures in Prometheus text format, plus result/relay/handover counters
//   GET /v1/relays, /v1/relays/<request id>  what the relayers did: chain, status, transactions (relays-api.ts)
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { ChainName } from '../relay/relayer.ts';
import type { ChainProbe } from './chains.ts';
import { registerRelayRoutes, type RelaysSource } from './relays-api.ts';

export interface ChainHealth {
  ok: boolean;
  lastError?: string;
  /** Unix ms of the probe this answer comes from. */
  checkedAt: number;
}

/** Runs a chain's probe with a timeout and caches the answer for `ttlMs` (one probe in flight at a time). */
export class ProbeCache {
  private last: ChainHealth | undefined;
  private inflight: Promise<ChainHealth> | undefined;
  constructor(
    readonly probe: ChainProbe,
    private readonly o: { timeoutMs?: number; ttlMs?: number; now?: () => number } = {},
  ) {}

  get chain(): ChainName {
    return this.probe.chain;
  }

  check(): Promise<ChainHealth> {
    const now = (this.o.now ?? Date.now)();
    if (this.last && now - this.last.checkedAt < (this.o.ttlMs ?? 3_000)) return Promise.resolve(this.last);
    this.inflight ??= this.run().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async run(): Promise<ChainHealth> {
    const timeoutMs = this.o.timeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    let h: ChainHealth;
    try {
      await Promise.race([this.probe.probe(), timeout]);
      h = { ok: true, checkedAt: (this.o.now ?? Date.now)() };
    } catch (err) {
      h = { ok: false, lastError: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300), checkedAt: (this.o.now ?? Date.now)() };
    } finally {
      clearTimeout(timer);
    }
    this.last = h;
    return h;
  }
}

export interface HealthView {
  status: 'ok' | 'degraded';
  /** The current epoch (the registry's with chain-driven epochs, else the configured one). */
  epoch?: number;
  /** Epochs whose sharing is known (results of each still combine). */
  epochs?: number[];
  members: number;
  threshold: number;
  chains: Partial<Record<ChainName, { ok: boolean; lastError?: string }>>;
  pendingRelays: number;
  /** Why the status is degraded (absent when ok). */
  reasons?: string[];
}

export interface StatusDeps {
  /** Committee members connected (admitted libp2p peers of the current committee). */
  connectedMembers(): number;
  /** The current epoch's threshold and committee size (functions when epochs change). */
  threshold: number | (() => number);
  committeeSize: number | (() => number);
  /** The current epoch and the epochs whose sharing is known (absent: not reported). */
  epoch?(): { current: number | undefined; ready: number[] };
  probes: readonly ProbeCache[];
  /** Relays journaled and not finished. */
  pendingRelays(): number;
  counters?(): Record<string, number>;
  /** Gauges for /metrics (e.g. partials held for an epoch whose sharing is unknown). */
  gauges?(): Record<string, number>;
  /** The relay log (GET /v1/relays); absent: this aggregator relays nothing. */
  relays?: RelaysSource;
}

const valueOf = (v: number | (() => number)): number => (typeof v === 'function' ? v() : v);

export async function health(d: StatusDeps): Promise<HealthView> {
  const members = d.connectedMembers();
  const threshold = valueOf(d.threshold);
  const epochs = d.epoch?.();
  const checks = await Promise.all(d.probes.map(async (p) => [p.chain, await p.check()] as const));
  const chains: HealthView['chains'] = {};
  for (const [name, h] of checks) chains[name] = h.ok ? { ok: true } : { ok: false, ...(h.lastError ? { lastError: h.lastError } : {}) };
  const reasons: string[] = [];
  if (epochs && epochs.current === undefined) reasons.push('the committee registry has not been read yet');
  else if (epochs && !epochs.ready.includes(epochs.current!)) reasons.push(`the sharing of epoch ${epochs.current} is not known yet (waiting for a dkg-result that matches the registry)`);
  if (members < threshold) reasons.push(`${members} of ${valueOf(d.committeeSize)} members connected, threshold ${threshold}`);
  if (checks.length > 0 && checks.every(([, h]) => !h.ok)) reasons.push('no configured chain is reachable');
  return {
    status: reasons.length ? 'degraded' : 'ok',
    ...(epochs?.current !== undefined ? { epoch: epochs.current } : {}),
    ...(epochs ? { epochs: epochs.ready } : {}),
    members,
    threshold,
    chains,
    pendingRelays: d.pendingRelays(),
    ...(reasons.length ? { reasons } : {}),
  };
}

function metricsText(h: HealthView, d: StatusDeps): string {
  const lines = [
    '# HELP destra_aggregator_up 1 when /health is ok, 0 when degraded.',
    '# TYPE destra_aggregator_up gauge',
    `destra_aggregator_up ${h.status === 'ok' ? 1 : 0}`,
    '# TYPE destra_aggregator_members_connected gauge',
    `destra_aggregator_members_connected ${h.members}`,
    '# TYPE destra_aggregator_threshold gauge',
    `destra_aggregator_threshold ${h.threshold}`,
    '# TYPE destra_aggregator_pending_relays gauge',
    `destra_aggregator_pending_relays ${h.pendingRelays}`,
    '# TYPE destra_aggregator_chain_up gauge',
    ...Object.entries(h.chains).map(([c, v]) => `destra_aggregator_chain_up{chain="${c}"} ${v!.ok ? 1 : 0}`),
  ];
  if (h.epoch !== undefined) lines.push('# HELP destra_aggregator_epoch The current epoch.', '# TYPE destra_aggregator_epoch gauge', `destra_aggregator_epoch ${h.epoch}`);
  if (h.epochs) lines.push('# TYPE destra_aggregator_epochs_ready gauge', `destra_aggregator_epochs_ready ${h.epochs.length}`);
  for (const [name, v] of Object.entries(d.gauges?.() ?? {})) lines.push(`# TYPE destra_aggregator_${name} gauge`, `destra_aggregator_${name} ${v}`);
  for (const [name, v] of Object.entries(d.counters?.() ?? {})) lines.push(`# TYPE destra_aggregator_${name} counter`, `destra_aggregator_${name} ${v}`);
  return `${lines.join('\n')}\n`;
}

export interface StatusServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function statusApp(d: StatusDeps): Hono {
  const app = new Hono();
  app.get('/health', async (c) => {
    const h = await health(d);
    return c.json(h, h.status === 'ok' ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(metricsText(await health(d), d), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  registerRelayRoutes(app, d.relays);
  app.notFound((c) => c.json({ error: 'not-found', message: 'GET /health, /metrics, /v1/relays or /v1/relays/<request id>' }, 404));
  return app;
}

/** Listens on 127.0.0.1:`port` (0: an ephemeral port). */
export function startStatusServer(port: number, d: StatusDeps): Promise<StatusServer> {
  const app = statusApp(d);
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined;
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info: AddressInfo) => {
      const s = server!;
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((r) => {
            (s as { closeAllConnections?: () => void }).closeAllConnections?.();
            s.close(() => r());
          }),
      });
    });
    server.once('error', reject);
  });
}
