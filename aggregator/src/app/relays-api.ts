// GET /v1/relays on the aggregator's status server: what its relayers did (relay/relay-log.ts).
//   GET /v1/relays?limit=N&since=CURSOR&requestId=0x…   {instance, cursor, more, relays: RelayRecord[]}
//       limit 1..1000 (default 100); without `since` the newest changes first; with it the records changed
//       after that cursor (a previous answer's `cursor`), oldest change first, so a poller pages forward;
//       `instance` changes when the aggregator restarts (its cursors start over)
//   GET /v1/relays/0x<request id>                        {requestId, relays} (404 when none is recorded)
// Bad input answers 400 {error: 'bad-request', parameter, message}; unknown and repeated parameters too.
import type { Context, Hono } from 'hono';
import type { RelayPage, RelayQuery } from '../relay/relay-log.ts';

export const MAX_RELAYS_LIMIT = 1000;
export const DEFAULT_RELAYS_LIMIT = 100;
const REQUEST_ID = /^0x[0-9a-fA-F]{64}$/;
const UINT = /^\d{1,16}$/;
const PARAMS = new Set(['limit', 'since', 'requestId']);

/** What the routes read (RelayLog). */
export interface RelaysSource {
  list(q: RelayQuery): RelayPage;
}

export class RelayQueryError extends Error {
  constructor(readonly parameter: string, message: string) {
    super(message);
    this.name = 'RelayQueryError';
  }
}

/** The query string as a RelayQuery; throws RelayQueryError naming the parameter that is wrong. */
export function parseRelayQuery(params: Record<string, string[]>): RelayQuery {
  for (const [k, v] of Object.entries(params)) {
    if (!PARAMS.has(k)) throw new RelayQueryError(k, `unknown query parameter '${k.slice(0, 64)}': use limit, since or requestId`);
    if (v.length > 1) throw new RelayQueryError(k, `query parameter '${k}' is given ${v.length} times: give it once`);
  }
  const one = (k: string): string | undefined => params[k]?.[0];
  const limitText = one('limit');
  let limit = DEFAULT_RELAYS_LIMIT;
  if (limitText !== undefined) {
    limit = UINT.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_RELAYS_LIMIT)) throw new RelayQueryError('limit', `limit must be an integer 1..${MAX_RELAYS_LIMIT}, got '${limitText.slice(0, 32)}'`);
  }
  const sinceText = one('since');
  let since: number | undefined;
  if (sinceText !== undefined) {
    since = UINT.test(sinceText) ? Number(sinceText) : NaN;
    if (!Number.isSafeInteger(since)) throw new RelayQueryError('since', `since must be a non-negative integer cursor (a previous answer's 'cursor'), got '${sinceText.slice(0, 32)}'`);
  }
  const requestId = one('requestId');
  if (requestId !== undefined && !REQUEST_ID.test(requestId)) throw new RelayQueryError('requestId', `requestId must be 0x followed by 64 hex digits, got '${requestId.slice(0, 80)}'`);
  return { limit, ...(since !== undefined ? { since } : {}), ...(requestId !== undefined ? { requestId } : {}) };
}

const badRequest = (c: Context, err: RelayQueryError) => c.json({ error: 'bad-request', parameter: err.parameter, message: err.message }, 400);

export function registerRelayRoutes(app: Hono, relays: RelaysSource | undefined): void {
  const none = (c: Context) => c.json({ error: 'not-relaying', message: 'this aggregator relays nothing: no chain sink is configured (config.chains)' }, 404);
  app.get('/v1/relays', (c) => {
    if (!relays) return none(c);
    try {
      return c.json(relays.list(parseRelayQuery(c.req.queries())));
    } catch (err) {
      if (err instanceof RelayQueryError) return badRequest(c, err);
      throw err;
    }
  });
  app.get('/v1/relays/:requestId', (c) => {
    if (!relays) return none(c);
    const id = c.req.param('requestId');
    if (!REQUEST_ID.test(id)) return badRequest(c, new RelayQueryError('requestId', `the path's requestId must be 0x followed by 64 hex digits, got '${id.slice(0, 80)}'`));
    if (Object.keys(c.req.queries()).length > 0) return badRequest(c, new RelayQueryError(Object.keys(c.req.queries())[0]!, 'GET /v1/relays/<request id> takes no query parameters'));
    const page = relays.list({ limit: MAX_RELAYS_LIMIT, requestId: id });
    if (page.relays.length === 0) return c.json({ error: 'not-found', message: `no relay of request ${id} is recorded here (this aggregator keeps its latest relays in memory)` }, 404);
    return c.json({ requestId: id.toLowerCase(), relays: page.relays });
  });
}
