// HTTP API of the node (hono on @hono/node-server, bound to 127.0.0.1 only).
import type { ModelsHealth } from '../inference/selfcheck.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { DestraError } from '@destra/protocol';
import { RoundError } from '../errors.ts';
import type { NodeMetrics } from '../metrics.ts';
import type { RoundEngine } from '../round/engine.ts';
import type { NodeStore } from '../store/store.ts';
import { MAX_INPUT_BYTES } from '../wire.ts';
import { registerBatchRoutes, type BatchApiDeps } from './batch.ts';
import { registerFeedRoutes } from '../feeds/api.ts';
import type { FeedService } from '../feeds/service.ts';
import { guardConnections, serverTimeouts, type ConnectionLimits, type ConnectionStats } from './connections.ts';
import { DASHBOARD_CSP, dashboardAsset, renderDashboard, type DashboardData } from './dashboard.ts';
import { dashboardRounds } from './dashboard/rounds.ts';
import { NO_CHAIN_STAKE, type StakeView } from './dashboard/stake.ts';
import { joinRelays, NO_RELAY_SOURCE, type RelaySource } from './dashboard/relays.ts';
import { MetricsHistory } from '../metrics-history.ts';
import { healthHttpCode, withQuorum } from './quorum.ts';
import { openApiDocument } from './openapi.ts';
import { reportView, type CommitteeView, type NodeStatus } from './views.ts';

export interface ApiDeps {
  engine: Pick<RoundEngine, 'submitOnDemand' | 'recentRounds'>;
  store: NodeStore;
  metrics: NodeMetrics;
  status(): NodeStatus;
  committee(): CommitteeView;
  /** Chain-driven epochs: the chain's epoch, this node's DKG, its DKG result and signed handovers. */
  epochs?(): unknown;
  /** The group key of `epoch` (default: the epoch this node signs in now), when this node knows it. */
  groupKey(epoch?: number): Uint8Array | undefined;
  /** Turns `input: number[]` into the model's canonical input bytes (default: the numbers are bytes). */
  encodeInput?(model: string, values: number[]): Uint8Array;
  /** Batch jobs over the range protocol (POST /v1/infer/batch, /v1/jobs, /v1/ranges); 503 without. */
  batch?(): BatchApiDeps | undefined;
  /** Feeds defined on chain (GET /v1/feeds, /v1/feeds/blocks/...); 404 without. */
  feeds?(): FeedService | undefined;
  /** /health `models`: hardware family, served models, models refused by the self-check. */
  models?(): ModelsHealth;
  /** Chart history (GET /v1/history); default: one sampled from `store` here, every 5 s. */
  history?: MetricsHistory;
  /** Stake and rewards of the committee's operators (chain-driven nodes); default: "no chain". */
  stake?(): StakeView;
  /** The aggregators' relay logs (config.dashboard.relayStatus): each round's relay transaction. */
  relays?: RelaySource;
}

const inferBody = z.strictObject({
  model: z.string().min(1).max(128),
  input: z.union([
    z.string().regex(/^(0x)?([0-9a-fA-F]{2})+$/, 'input hex must be non-empty, even-length hex').max(2 * MAX_INPUT_BYTES + 2),
    z.array(z.number().finite()).min(1).max(MAX_INPUT_BYTES),
  ]),
});

/** The largest /v1/infer body: the input as hex plus room for the model name and JSON punctuation. */
export const MAX_INFER_BODY_BYTES = 2 * MAX_INPUT_BYTES + 4096;

/**
 * Cheap structural checks before schema validation, each stopping at the first fault: a body of a
 * million wrong array elements costs one pass that ends at element 0, never a million schema issues.
 * Returns a message naming what is wrong, or undefined when the schema may look at it.
 */
export function precheckInferBody(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return "field '(body)': must be a JSON object {\"model\": \"...\", \"input\": \"0x...\" | [numbers]}";
  const input = (raw as Record<string, unknown>).input;
  if (Array.isArray(input)) {
    if (input.length === 0 || input.length > MAX_INPUT_BYTES) return `field 'input': a number array must hold 1..${MAX_INPUT_BYTES} values, got ${input.length}`;
    for (let i = 0; i < input.length; i++) {
      const v = input[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) return `field 'input.${i}': expected a finite number, got ${typeof v === 'number' ? String(v) : typeof v}`;
    }
  }
  return undefined;
}

function fail(c: Context, status: number, error: string, message: string, details: Readonly<Record<string, string | number>> = {}): Response {
  return c.json({ ...details, error, message }, status as 400);
}

function bytesFromNumbers(values: number[]): Uint8Array {
  if (!values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new RoundError('BAD_INPUT', 'input as a number array must hold bytes (integers 0..255) for this model; send hex otherwise');
  }
  return Uint8Array.from(values);
}

export function buildApi(deps: ApiDeps): Hono {
  const app = new Hono();
  // Started on the first dashboard or history request (buildApi alone, e.g. to list routes, starts nothing).
  let history = deps.history;
  const historyOf = (): MetricsHistory => (history ??= new MetricsHistory({ store: deps.store, registry: deps.metrics.registry }).start());

  app.onError((err, c) => {
    if (err instanceof RoundError) return fail(c, err.status, err.code, err.message, err.details);
    if (err instanceof DestraError) return fail(c, 400, err.code, err.message);
    return fail(c, 500, 'INTERNAL', err.message);
  });
  app.notFound((c) => fail(c, 404, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}; see /openapi.json`));

  app.get('/', (c) => {
    c.header('content-security-policy', DASHBOARD_CSP);
    return c.html(renderDashboard(dashboardData(deps, 50), historyOf().view()));
  });
  app.get('/assets/:file', (c) => {
    const a = dashboardAsset(c.req.param('file'));
    if (!a) return fail(c, 404, 'NOT_FOUND', `no asset ${c.req.param('file')}`);
    return c.body(a.body, 200, { 'content-type': a.type, 'cache-control': 'max-age=300' });
  });
  app.get('/health', (c) => {
    // Quorum rule (quorum.ts): degraded with exactly t members reachable (still 200), down below t (503).
    const base = deps.status();
    const s = withQuorum(base, deps.committee());
    const models = deps.models?.();
    return c.json(models ? { ...s, models } : s, healthHttpCode(base, s));
  });
  app.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.text(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument()));

  app.post(
    '/v1/infer',
    bodyLimit({ maxSize: MAX_INFER_BODY_BYTES, onError: (c) => fail(c, 413, 'BODY_TOO_LARGE', `request body exceeds ${MAX_INFER_BODY_BYTES} bytes`) }),
    async (c) => {
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        return fail(c, 400, 'BAD_JSON', 'body must be JSON: {"model": "...", "input": "0x..." | [numbers]}');
      }
      const pre = precheckInferBody(raw);
      if (pre) return fail(c, 400, 'BAD_REQUEST', pre);
      const parsed = inferBody.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return fail(c, 400, 'BAD_REQUEST', `field '${issue.path.join('.') || '(body)'}': ${issue.message}`);
      }
      const { model, input } = parsed.data;
      const bytes =
        typeof input === 'string'
          ? new Uint8Array(Buffer.from(input.replace(/^0x/, ''), 'hex'))
          : deps.encodeInput
            ? deps.encodeInput(model, input)
            : bytesFromNumbers(input);
      if (bytes.length > MAX_INPUT_BYTES) return fail(c, 413, 'INPUT_TOO_LARGE', `input is ${bytes.length} bytes, limit ${MAX_INPUT_BYTES}`);
      const stored = await deps.engine.submitOnDemand(model, bytes);
      return c.json(reportView(stored, deps.groupKey(stored.epoch) ?? deps.groupKey()!));
    },
  );

  app.get('/v1/reports/:id', (c) => {
    const id = c.req.param('id');
    if (!/^0x[0-9a-fA-F]{64}$/.test(id)) return fail(c, 400, 'BAD_ID', 'id must be 0x followed by 64 hex digits');
    const stored = deps.store.getReport(new Uint8Array(Buffer.from(id.slice(2), 'hex')));
    if (!stored) return fail(c, 404, 'NOT_FOUND', `no threshold-signed report for ${id}`);
    // The key it verifies under is its own epoch's (a report of an earlier epoch, or one an observer stored).
    const gk = deps.groupKey(stored.epoch);
    if (!gk) return fail(c, 404, 'NOT_FOUND', `report ${id} is of epoch ${stored.epoch}, whose group key this node no longer knows`);
    return c.json(reportView(stored, gk));
  });

  app.get('/v1/committee', (c) => c.json(deps.committee()));
  app.get('/v1/epochs', (c) => (deps.epochs ? c.json(deps.epochs() as object) : c.json({ error: 'this node has a fixed committee (no chain-driven epochs)', code: 'NO_EPOCHS' }, 404)));
  app.get('/v1/rounds', (c) => {
    const limit = Number(c.req.query('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return fail(c, 400, 'BAD_LIMIT', 'limit must be an integer 1..500');
    return c.json(deps.engine.recentRounds(limit));
  });
  app.get('/v1/dashboard', (c) => c.json(dashboardData(deps, 50)));
  app.get('/v1/history', (c) => c.json(historyOf().view()));
  registerBatchRoutes(app, () => deps.batch?.());
  registerFeedRoutes(app, () => deps.feeds?.(), (epoch) => deps.groupKey(epoch));
  return app;
}

function dashboardData(deps: ApiDeps, limit: number): DashboardData {
  const committee = deps.committee();
  return {
    status: withQuorum(deps.status(), committee),
    committee,
    rounds: joinRelays(dashboardRounds(deps.store, limit), (id) => deps.relays?.lookup(id) ?? [], deps.relays?.links),
    relays: deps.relays?.view() ?? NO_RELAY_SOURCE,
    models: deps.models?.() ?? null,
    stake: deps.stake?.() ?? NO_CHAIN_STAKE,
  };
}

export interface ApiServer {
  url: string;
  port: number;
  connections(): ConnectionStats;
  close(): Promise<void>;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

export async function startApi(app: Hono, port: number, limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS, onDrop?: (why: 'evicted' | 'refused') => void): Promise<ApiServer> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port, serverOptions: serverTimeouts(limits) }, () => resolve(s));
  });
  const connections = guardConnections(server as Server, limits, onDrop);
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    port: addr.port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
