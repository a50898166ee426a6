// Where each round was relayed, for the dashboard: nodes do not relay, aggregators do, and each serves what
// its relayers did on its status port (GET /v1/relays, aggregator/src/app/relays-api.ts). This reader
// polls the aggregators named in config.dashboard.relayStatus (cached like stake.ts: view() answers at once
// and starts a read when the last is older than ttlMs), pages forward by each one's cursor, and keeps a
// bounded index by request id. Answers are hostile input: size-capped, schema-checked, and an unreachable
// or malformed aggregator is shown as 'relay status unavailable', never thrown.
// joinRelays (pure) picks, per round and chain, the most telling record across aggregators.
import { z } from 'zod';

export const RELAY_STATUSES = ['pending', 'confirmed', 'verified', 'already-fulfilled', 'failed'] as const;
export type RelayStatus = (typeof RELAY_STATUSES)[number];

/** One aggregator's record of one relay (the fields the dashboard uses). */
export interface RelayEntry {
  /** Which configured aggregator status URL it came from (0-based). */
  source: number;
  id: number;
  chain: 'ethereum' | 'solana';
  kind: 'report' | 'range';
  status: RelayStatus;
  requestIds: string[];
  txs: string[];
  attempts: number;
  error?: string | undefined;
  updatedAt: number;
}

/** A round's relay to one chain, as the dashboard shows it. */
export interface RoundRelay {
  chain: 'ethereum' | 'solana';
  status: RelayStatus;
  /** The transaction (hash or signature) that landed it; null when none is known. */
  tx: string | null;
  /** `tx` in the configured explorer pattern; null without one. */
  txUrl: string | null;
  /** Further transactions of the same relay (a range landed in chunks). */
  moreTxs: number;
  attempts: number;
  /** Why it failed (or, pending, why the last attempt failed). */
  error: string | null;
}

export interface RelaySourceView {
  /** 'none': no aggregator status URL is configured (config.dashboard.relayStatus). */
  source: 'aggregators' | 'none';
  /** Unix ms of the last read that reached at least one aggregator. */
  updatedAt?: number;
  /** Per aggregator that did not answer usably: "relay status unavailable from <url>: <why>". */
  errors: string[];
}

export type TxLinks = Partial<Record<'ethereum' | 'solana', string>>;

/** What the API reads (AggregatorRelayReader). */
export interface RelaySource {
  view(): RelaySourceView;
  lookup(requestId: string): RelayEntry[];
  readonly links: TxLinks;
}

export const NO_RELAY_SOURCE: RelaySourceView = { source: 'none', errors: [] };

/** The aggregator's RELAY_TX: an Ethereum tx hash, a Solana signature in base58 or as 128 hex digits. */
const TX = /^(0x[0-9a-fA-F]{64}|[0-9a-fA-F]{128}|[1-9A-HJ-NP-Za-km-z]{64,88})$/;
const recordSchema = z.object({
  id: z.number().int().nonnegative(),
  chain: z.enum(['ethereum', 'solana']),
  kind: z.enum(['report', 'range']),
  status: z.enum(RELAY_STATUSES),
  requestIds: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/)).max(65_536),
  txs: z.array(z.string().regex(TX)).max(4096),
  attempts: z.number().int().nonnegative(),
  error: z.string().max(2000).optional(),
  updatedAt: z.number().int().nonnegative(),
});
const pageSchema = z.object({
  instance: z.string().min(1).max(64),
  cursor: z.number().int().nonnegative(),
  more: z.boolean(),
  relays: z.array(recordSchema).max(1000),
});
export type RelayPageAnswer = z.infer<typeof pageSchema>;

/** Holds an aggregator's /v1/relays answer to the schema; throws naming the first wrong field. */
export function parseRelayPage(raw: unknown): RelayPageAnswer {
  const r = pageSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`malformed /v1/relays answer: field '${i.path.join('.')}': ${i.message}`);
  }
  return r.data;
}

/** Most telling first: a landed transaction, a view-call verification, landed by someone else, still trying, given up. */
const RANK: Record<RelayStatus, number> = { confirmed: 0, verified: 1, 'already-fulfilled': 2, pending: 3, failed: 4 };

/** `pattern` with {tx} replaced, or null (patterns are checked as http(s) URLs by the node config). */
export const txUrlOf = (pattern: string | undefined, tx: string): string | null => (pattern ? pattern.split('{tx}').join(encodeURIComponent(tx)) : null);

/** Per chain, the best record of the request across aggregators (see RANK; then the latest). */
export function relaysForRequest(entries: readonly RelayEntry[], links: TxLinks = {}): RoundRelay[] {
  const best = new Map<string, RelayEntry>();
  for (const e of entries) {
    const cur = best.get(e.chain);
    if (!cur || RANK[e.status] < RANK[cur.status] || (RANK[e.status] === RANK[cur.status] && e.updatedAt > cur.updatedAt)) best.set(e.chain, e);
  }
  return [...best.values()]
    .sort((a, b) => a.chain.localeCompare(b.chain))
    .map((e) => ({
      chain: e.chain,
      status: e.status,
      tx: e.txs[0] ?? null,
      txUrl: e.txs[0] ? txUrlOf(links[e.chain], e.txs[0]) : null,
      moreTxs: Math.max(0, e.txs.length - 1),
      attempts: e.attempts,
      error: e.error ?? null,
    }));
}

/** Rounds with their relays joined on the request id (pure: the dashboard's join). */
export function joinRelays<R extends { requestId: string }>(rounds: readonly R[], lookup: (requestId: string) => readonly RelayEntry[], links: TxLinks = {}): (R & { relays: RoundRelay[] })[] {
  return rounds.map((r) => ({ ...r, relays: relaysForRequest(lookup(r.requestId.toLowerCase()), links) }));
}

export interface RelayReaderOptions {
  /** Aggregator status server base URLs. */
  urls: readonly string[];
  links?: TxLinks;
  ttlMs?: number;
  timeoutMs?: number;
  /** Largest answer read (bytes). */
  maxBytes?: number;
  /** Records kept (the oldest go first). */
  maxRecords?: number;
  /** Pages read per aggregator per refresh. */
  maxPages?: number;
  fetch?: typeof fetch;
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new Error(`answer of ${declared} bytes is over the ${maxBytes}-byte limit`);
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`answer is over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class AggregatorRelayReader {
  private readonly records = new Map<string, RelayEntry>();
  private readonly byRequest = new Map<string, Set<string>>();
  private readonly cursors: ({ instance: string; cursor: number } | undefined)[];
  private readonly errors: (string | undefined)[];
  private updatedAt: number | undefined;
  private readAt = 0;
  private inflight: Promise<void> | undefined;
  readonly links: TxLinks;

  constructor(private readonly o: RelayReaderOptions) {
    this.cursors = o.urls.map(() => undefined);
    this.errors = o.urls.map(() => undefined);
    this.links = o.links ?? {};
  }

  /** The last read's state (starts a new read when it is older than ttlMs). */
  view(): RelaySourceView {
    if (Date.now() - this.readAt >= (this.o.ttlMs ?? 2_000)) void this.refresh();
    return { source: 'aggregators', ...(this.updatedAt !== undefined ? { updatedAt: this.updatedAt } : {}), errors: this.errors.filter((e): e is string => e !== undefined) };
  }

  /** Every record of a request (lowercase 0x-hex id) from every aggregator. */
  lookup = (requestId: string): RelayEntry[] => [...(this.byRequest.get(requestId) ?? [])].map((k) => this.records.get(k)!).filter(Boolean);

  /** One read of every aggregator (shared while in flight); never rejects. */
  refresh(): Promise<void> {
    this.inflight ??= this.readAll().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async readAll(): Promise<void> {
    this.readAt = Date.now();
    const ok = await Promise.all(this.o.urls.map((_, i) => this.readOne(i)));
    if (ok.some(Boolean)) this.updatedAt = Date.now();
  }

  private async readOne(i: number): Promise<boolean> {
    const base = this.o.urls[i]!.replace(/\/+$/, '');
    const doFetch = this.o.fetch ?? fetch;
    try {
      for (let page = 0; page < (this.o.maxPages ?? 4); page++) {
        const at = this.cursors[i];
        const url = `${base}/v1/relays?limit=1000${at ? `&since=${at.cursor}` : ''}`;
        const res = await doFetch(url, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 3_000), redirect: 'error' });
        const text = await readCapped(res, this.o.maxBytes ?? 4 * 1024 * 1024);
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          throw new Error('answer is not JSON');
        }
        const p = parseRelayPage(raw);
        if (at && at.instance !== p.instance) {
          // the aggregator restarted: its cursors start over; read its newest records again
          this.cursors[i] = undefined;
          continue;
        }
        for (const r of [...p.relays].sort((a, b) => a.updatedAt - b.updatedAt)) this.put({ ...r, source: i });
        this.cursors[i] = { instance: p.instance, cursor: p.cursor };
        if (!p.more || !at) break;
      }
      this.errors[i] = undefined;
      return true;
    } catch (err) {
      this.errors[i] = `relay status unavailable from ${base}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200)}`;
      return false;
    }
  }

  private put(e: RelayEntry): void {
    const key = `${e.source}:${e.id}`;
    const old = this.records.get(key);
    if (old) {
      this.unindex(key, old);
      this.records.delete(key); // re-inserted below: the newest change is the last to go
    } else if (this.records.size >= (this.o.maxRecords ?? 8192)) {
      const [oldest, rec] = this.records.entries().next().value!;
      this.records.delete(oldest);
      this.unindex(oldest, rec);
    }
    this.records.set(key, e);
    for (const id of e.requestIds) {
      const k = id.toLowerCase();
      const set = this.byRequest.get(k) ?? new Set<string>();
      set.add(key);
      this.byRequest.set(k, set);
    }
  }

  private unindex(key: string, e: RelayEntry): void {
    for (const id of e.requestIds) {
      const set = this.byRequest.get(id.toLowerCase());
      set?.delete(key);
      if (set && set.size === 0) this.byRequest.delete(id.toLowerCase());
    }
  }
}
