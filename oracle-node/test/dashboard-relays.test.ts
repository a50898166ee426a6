// The dashboard's relay column: the pure join of rounds with the aggregators' relay records (which record
// of a chain wins, links, several chains), and the reader of aggregators' GET /v1/relays against a local
// HTTP server playing an aggregator — an honest one paging by cursor and restarting, and hostile or broken
// ones: an oversized answer, a malformed record (markup for a transaction hash), an error status, one that
// never answers, one that is down. The reader reports each as 'relay status unavailable' and never throws.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AggregatorRelayReader, joinRelays, parseRelayPage, relaysForRequest, type RelayEntry } from '../src/api/dashboard/relays.ts';
import { dashboardConfigSchema } from '../src/api/dashboard/config.ts';

const id = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(32)}`;
const tx = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(32)}`;
const SIG = '5'.repeat(40) + 'A'.repeat(48);
const entry = (over: Partial<RelayEntry>): RelayEntry => ({ source: 0, id: 1, chain: 'ethereum', kind: 'report', status: 'confirmed', requestIds: [id(1)], txs: [tx(0xaa)], attempts: 1, updatedAt: 1, ...over });

describe('joinRelays (pure)', () => {
  it("per chain picks a landed transaction over another aggregator's already-fulfilled, pending or failed record", () => {
    const entries = [
      entry({ source: 1, status: 'already-fulfilled', txs: [], updatedAt: 9 }),
      entry({ source: 0, status: 'confirmed', txs: [tx(0xaa)], updatedAt: 5 }),
      entry({ source: 2, status: 'failed', txs: [], error: 'gave up', updatedAt: 10 }),
      entry({ chain: 'solana', status: 'confirmed', txs: [SIG, SIG], updatedAt: 3 }),
    ];
    expect(relaysForRequest(entries, { ethereum: 'https://etherscan.io/tx/{tx}' })).toEqual([
      { chain: 'ethereum', status: 'confirmed', tx: tx(0xaa), txUrl: `https://etherscan.io/tx/${tx(0xaa)}`, moreTxs: 0, attempts: 1, error: null },
      { chain: 'solana', status: 'confirmed', tx: SIG, txUrl: null, moreTxs: 1, attempts: 1, error: null },
    ]);
    expect(relaysForRequest([entry({ status: 'failed', txs: [], error: 'rejected: BadSignature()' }), entry({ status: 'pending', txs: [], error: 'rpc timeout' })])).toEqual([
      { chain: 'ethereum', status: 'pending', tx: null, txUrl: null, moreTxs: 0, attempts: 1, error: 'rpc timeout' },
    ]);
  });

  it('joins on the request id (any case) and gives rounds nobody relayed an empty list', () => {
    const byId = new Map([[id(1), [entry({})]]]);
    const rounds = joinRelays([{ requestId: id(1).toUpperCase().replace('0X', '0x') }, { requestId: id(2) }], (r) => byId.get(r) ?? []);
    expect(rounds[0]!.relays.map((r) => r.tx)).toEqual([tx(0xaa)]);
    expect(rounds[1]!.relays).toEqual([]);
  });

  it('config: explorer patterns must be http(s) URLs with {tx}; status URLs plain http(s) bases', () => {
    expect(dashboardConfigSchema.parse(undefined)).toEqual({ relayStatus: [], txLinks: {}, relayPollMs: 2000 });
    expect(() => dashboardConfigSchema.parse({ txLinks: { ethereum: 'javascript:alert(1)//{tx}' } })).toThrow(/\{tx\}/);
    expect(() => dashboardConfigSchema.parse({ txLinks: { ethereum: 'https://x.io/tx/' } })).toThrow(/\{tx\}/);
    expect(() => dashboardConfigSchema.parse({ relayStatus: ['ftp://127.0.0.1:1'] })).toThrow(/http/);
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
});
async function serve(h: Handler): Promise<string> {
  const s = createServer(h);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}
const json = (res: ServerResponse, body: unknown, code = 200) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const record = (n: number, over: Record<string, unknown> = {}) => ({ id: n, version: n, kind: 'report', chain: 'ethereum', requestIds: [id(n)], status: 'confirmed', txs: [tx(n)], attempts: 1, startedAt: 1, updatedAt: n, ...over });

describe('AggregatorRelayReader over HTTP', () => {
  it('pages forward by cursor, starts over when the aggregator restarts, and indexes by request id', async () => {
    let instance = 'a';
    const log = [record(1), record(2), record(3)];
    const asked: string[] = [];
    const url = await serve((req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams;
      asked.push(q.get('since') ?? '-');
      const since = q.has('since') ? Number(q.get('since')) : undefined;
      const changed = log.filter((r) => since === undefined || r.version > since).sort((a, b) => a.version - b.version);
      const rows = since === undefined ? changed.reverse() : changed.slice(0, 2);
      const more = since !== undefined && log.filter((r) => r.version > since).length > 2;
      json(res, { instance, cursor: rows.length ? Math.max(...rows.map((r) => r.version)) : (since ?? 3), more, relays: rows });
    });
    const reader = new AggregatorRelayReader({ urls: [url] });
    await reader.refresh();
    expect(reader.lookup(id(2)).map((e) => e.txs[0])).toEqual([tx(2)]);
    log.push(record(4), record(5), record(6, { status: 'failed', txs: [], error: 'deadline passed' }));
    log[0] = record(7, { id: 1, requestIds: [id(1)], status: 'failed', txs: [], error: 'changed' });
    await reader.refresh();
    expect(asked).toEqual(['-', '3', '5']);
    expect(reader.lookup(id(6))[0]).toMatchObject({ status: 'failed', error: 'deadline passed' });
    expect(reader.lookup(id(1))).toMatchObject([{ status: 'failed', error: 'changed' }]); // a record's change replaces it
    instance = 'b'; // restarted: versions begin again
    log.splice(0, log.length, record(1, { requestIds: [id(9)], txs: [tx(9)] }));
    await reader.refresh();
    expect(reader.lookup(id(9)).map((e) => e.txs[0])).toEqual([tx(9)]);
    expect(reader.view()).toMatchObject({ source: 'aggregators', errors: [] });
  });

  it('reports hostile and broken aggregators as unavailable, keeps the honest one, and never throws', async () => {
    const honest = await serve((_req, res) => json(res, { instance: 'h', cursor: 1, more: false, relays: [record(1)] }));
    const huge = await serve((_req, res) => json(res, { instance: 'x', cursor: 1, more: false, relays: [], pad: 'x'.repeat(2_000_000) }));
    const markup = await serve((_req, res) => json(res, { instance: 'm', cursor: 1, more: false, relays: [record(2, { txs: ['<img src=x onerror=alert(1)>'] })] }));
    const erroring = await serve((_req, res) => json(res, { error: 'not-relaying' }, 404));
    const silent = await serve(() => undefined);
    const down = await serve(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    const reader = new AggregatorRelayReader({ urls: [honest, huge, markup, erroring, silent, down], maxBytes: 1_000_000, timeoutMs: 500 });
    await reader.refresh();
    const errors = reader.view().errors;
    expect(errors).toHaveLength(5);
    for (const e of errors) expect(e).toMatch(/^relay status unavailable from http:\/\/127\.0\.0\.1:\d+: /);
    expect(errors[0]).toMatch(/over the 1000000-byte limit/);
    expect(errors[1]).toMatch(/malformed \/v1\/relays answer: field 'relays\.0\.txs\.0'/);
    expect(errors[2]).toMatch(/HTTP 404/);
    expect(errors[3]).toMatch(/abort|timeout/i);
    expect(reader.lookup(id(1))).toHaveLength(1);
    expect(reader.lookup(id(2))).toEqual([]);
  });

  it('parseRelayPage names the wrong field', () => {
    expect(() => parseRelayPage({ instance: 'a', cursor: -1, more: false, relays: [] })).toThrow(/field 'cursor'/);
    expect(() => parseRelayPage([])).toThrow(/malformed/);
    // Solana signatures come in base58 (RPC) or 128 hex digits (LiteSVM); anything else is refused
    const page = parseRelayPage({ instance: 'a', cursor: 2, more: false, relays: [record(1, { chain: 'solana', txs: ['ab'.repeat(64), SIG] })] });
    expect(page.relays[0]!.txs).toEqual(['ab'.repeat(64), SIG]);
    expect(() => parseRelayPage({ instance: 'a', cursor: 2, more: false, relays: [record(1, { txs: ['ab'.repeat(63)] })] })).toThrow(/txs\.0/);
  });

  it('stays bounded: the oldest records go first', async () => {
    const url = await serve((_req, res) => json(res, { instance: 'a', cursor: 5, more: false, relays: [1, 2, 3, 4, 5].map((n) => record(n)) }));
    const reader = new AggregatorRelayReader({ urls: [url], maxRecords: 3 });
    await reader.refresh();
    expect([1, 2, 3, 4, 5].map((n) => reader.lookup(id(n)).length)).toEqual([0, 0, 1, 1, 1]);
  });
});
