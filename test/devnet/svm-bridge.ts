// Read-only HTTP bridge to the devnet's in-process LiteSVM, so node processes can watch Solana requests.
// Two faces, both bound to 127.0.0.1 with a 64 KiB body limit:
// - POST /account {address} and POST /program-accounts {programId, filters} (BridgeTransport below);
// - POST / with Solana JSON-RPC 2.0 (single or batch): the subset a node's `chains.solana` watcher uses
//   through web3.js (RpcTransport and getBlockTime): getAccountInfo, getProgramAccounts (memcmp and
//   dataSize filters), getSlot, getBlockTime. Anything that writes (sendTransaction, ...) is refused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublicKey, type Keypair, type TransactionInstruction } from '@solana/web3.js';
import { LiteSvmTransport, type AccountData, type BytesFilter, type SentTransaction, type SolanaTransport } from '@destra/adapter-solana';

const MAX_BODY = 64 * 1024;

interface WireAccount {
  address: string;
  owner: string;
  lamports: string;
  data: string; // base64
  executable: boolean;
}

const toWire = (a: AccountData): WireAccount => ({
  address: a.address.toBase58(),
  owner: a.owner.toBase58(),
  lamports: a.lamports.toString(),
  data: Buffer.from(a.data).toString('base64'),
  executable: a.executable,
});

const fromWire = (a: WireAccount): AccountData => ({
  address: new PublicKey(a.address),
  owner: new PublicKey(a.owner),
  lamports: BigInt(a.lamports),
  data: new Uint8Array(Buffer.from(a.data, 'base64')),
  executable: a.executable,
});

/** The SVM's clock (LiteSVM's Clock sysvar). */
export interface SvmClock {
  slot: bigint;
  unixTimestamp: bigint;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58Decode(str: string): Uint8Array {
  let n = 0n;
  for (const ch of str) {
    const v = BASE58.indexOf(ch);
    if (v < 0) throw new Error('not base58');
    n = n * 58n + BigInt(v);
  }
  const body: number[] = [];
  for (; n > 0n; n >>= 8n) body.unshift(Number(n & 0xffn));
  let zeros = 0;
  while (str[zeros] === '1') zeros++;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

const WRITES = new Set(['sendTransaction', 'simulateTransaction', 'requestAirdrop']);

/**
 * Slot → unix time as getBlockTime answers it. LiteSVM keeps only the current Clock, so the bridge
 * notes (slot, unix_timestamp) whenever it serves a call and answers a past slot with the time of the
 * first noted slot at or after it. An answer never changes once given (later notes are at later slots),
 * so every node asking about the same slot gets the same time.
 */
class SlotClock {
  private readonly slots: bigint[] = [];
  private readonly times = new Map<bigint, number>();
  constructor(private readonly read: () => SvmClock) {}

  now(): SvmClock {
    const c = this.read();
    if (!this.times.has(c.slot)) {
      this.times.set(c.slot, Number(c.unixTimestamp));
      // slots normally only grow; a clock set back is inserted in order
      let i = this.slots.length;
      while (i > 0 && this.slots[i - 1]! > c.slot) i--;
      this.slots.splice(i, 0, c.slot);
    }
    return c;
  }

  blockTime(slot: bigint): number {
    const c = this.now();
    if (slot > c.slot) throw new RpcError(-32004, `Block not available for slot ${slot}`);
    let lo = 0;
    let hi = this.slots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.slots[mid]! >= slot) hi = mid;
      else lo = mid + 1;
    }
    return this.times.get(this.slots[lo]!)!;
  }
}

function clockOf(svm: SolanaTransport): (() => SvmClock) | undefined {
  if (!(svm instanceof LiteSvmTransport)) return undefined;
  return () => {
    const c = svm.svm.getClock();
    return { slot: c.slot, unixTimestamp: c.unixTimestamp };
  };
}

type Params = unknown[];
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function pubkeyParam(params: Params, i: number, what: string): PublicKey {
  const v = params[i];
  try {
    if (typeof v !== 'string') throw new Error('not a string');
    return new PublicKey(v);
  } catch {
    throw new RpcError(-32602, `Invalid param: ${what} is not a base58 public key`);
  }
}

function encodingOf(config: Record<string, unknown>): void {
  const e = config.encoding ?? 'base64';
  // web3.js asks for base64; jsonParsed falls back to it on a real node for accounts it cannot parse
  if (e !== 'base64' && e !== 'jsonParsed') throw new RpcError(-32602, `Invalid param: this bridge serves account data as base64 only, not ${String(e)}`);
}

function sliceOf(config: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const s = config.dataSlice as { offset?: unknown; length?: unknown } | undefined;
  if (!s) return data;
  if (!Number.isInteger(s.offset) || !Number.isInteger(s.length) || (s.offset as number) < 0 || (s.length as number) < 0) throw new RpcError(-32602, 'Invalid param: dataSlice');
  return data.subarray(s.offset as number, (s.offset as number) + (s.length as number));
}

const rpcAccount = (a: AccountData, config: Record<string, unknown>) => ({
  data: [Buffer.from(sliceOf(config, a.data)).toString('base64'), 'base64'],
  executable: a.executable,
  lamports: Number(a.lamports),
  owner: a.owner.toBase58(),
  rentEpoch: 0,
  space: a.data.length,
});

/** getProgramAccounts filters: memcmp (base58 by default, or base64) and dataSize. */
function filtersOf(config: Record<string, unknown>): { bytes: BytesFilter[]; dataSize: number[] } {
  const raw = config.filters ?? [];
  if (!Array.isArray(raw) || raw.length > 4) throw new RpcError(-32602, 'Invalid param: filters must be an array of at most 4 filters');
  const bytes: BytesFilter[] = [];
  const dataSize: number[] = [];
  for (const f of raw.map(obj)) {
    if ('dataSize' in f) {
      if (!Number.isInteger(f.dataSize) || (f.dataSize as number) < 0) throw new RpcError(-32602, 'Invalid param: dataSize');
      dataSize.push(f.dataSize as number);
    } else if ('memcmp' in f) {
      const m = obj(f.memcmp);
      if (!Number.isInteger(m.offset) || (m.offset as number) < 0 || typeof m.bytes !== 'string') throw new RpcError(-32602, 'Invalid param: memcmp needs offset and bytes');
      const enc = m.encoding ?? 'base58';
      let b: Uint8Array;
      if (enc === 'base64') b = new Uint8Array(Buffer.from(m.bytes, 'base64'));
      else if (enc === 'base58') {
        try {
          if (m.bytes.length > 175) throw new Error('too long');
          b = base58Decode(m.bytes);
        } catch {
          throw new RpcError(-32602, 'Invalid param: memcmp bytes are not base58');
        }
      } else throw new RpcError(-32602, `Invalid param: memcmp encoding ${String(enc)}`);
      if (b.length > 128) throw new RpcError(-32602, 'Invalid param: memcmp bytes longer than 128');
      bytes.push({ offset: m.offset as number, bytes: b });
    } else throw new RpcError(-32602, 'Invalid param: unknown filter (memcmp and dataSize are served)');
  }
  return { bytes, dataSize };
}

async function rpcCall(svm: SolanaTransport, clock: SlotClock | undefined, method: string, params: Params): Promise<unknown> {
  const slot = clock ? Number(clock.now().slot) : 0;
  const context = { slot };
  switch (method) {
    case 'getAccountInfo': {
      const config = obj(params[1]);
      encodingOf(config);
      const a = await svm.getAccount(pubkeyParam(params, 0, 'account'));
      return { context, value: a ? rpcAccount(a, config) : null };
    }
    case 'getProgramAccounts': {
      const config = obj(params[1]);
      encodingOf(config);
      const f = filtersOf(config);
      const list = (await svm.getProgramAccounts(pubkeyParam(params, 0, 'program id'), f.bytes))
        .filter((a) => f.dataSize.every((n) => a.data.length === n))
        .map((a) => ({ pubkey: a.address.toBase58(), account: rpcAccount(a, config) }));
      return config.withContext === true ? { context, value: list } : list;
    }
    case 'getSlot':
      if (!clock) throw new RpcError(-32601, 'this SVM has no clock');
      return slot;
    case 'getBlockTime': {
      if (!clock) throw new RpcError(-32601, 'this SVM has no clock');
      const s = params[0];
      if (!Number.isSafeInteger(s) || (s as number) < 0) throw new RpcError(-32602, 'Invalid param: slot');
      return clock.blockTime(BigInt(s as number));
    }
    default:
      if (WRITES.has(method)) throw new RpcError(-32601, `${method} is refused: the devnet SVM bridge is read-only (transactions go through the devnet process)`);
      throw new RpcError(-32601, `Method not found: ${method} (this bridge serves getAccountInfo, getProgramAccounts, getSlot, getBlockTime)`);
  }
}

async function jsonRpc(svm: SolanaTransport, clock: SlotClock | undefined, body: unknown): Promise<unknown> {
  const one = async (m: unknown) => {
    const r = obj(m);
    const id = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
    try {
      if (r.jsonrpc !== '2.0' || typeof r.method !== 'string') throw new RpcError(-32600, 'Invalid Request');
      if (r.params !== undefined && !Array.isArray(r.params)) throw new RpcError(-32602, 'Invalid params: expected an array');
      return { jsonrpc: '2.0', id, result: await rpcCall(svm, clock, r.method, (r.params as Params | undefined) ?? []) };
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError(-32603, `Internal error: ${(err as Error).message}`);
      return { jsonrpc: '2.0', id, error: { code: e.code, message: e.message } };
    }
  };
  if (Array.isArray(body)) {
    if (body.length === 0 || body.length > 32) return { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: a batch holds 1..32 calls' } };
    return Promise.all(body.map(one));
  }
  return one(body);
}

/**
 * Serves `svm` read-only on 127.0.0.1. `clock` (default: LiteSVM's Clock sysvar when `svm` is a
 * LiteSvmTransport) answers getSlot and getBlockTime.
 */
export async function startSvmBridge(svm: SolanaTransport, opts: { clock?: () => SvmClock } = {}): Promise<{ url: string; rpcUrl: string; close(): Promise<void> }> {
  const read = opts.clock ?? clockOf(svm);
  const clock = read ? new SlotClock(read) : undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method === 'POST' && path === '/') {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await jsonRpc(svm, clock, body)));
          return;
        }
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
          let out: unknown;
          clock?.now();
          if (req.method === 'POST' && req.url === '/account') {
            const a = await svm.getAccount(new PublicKey(String(body.address)));
            out = a ? toWire(a) : null;
          } else if (req.method === 'POST' && req.url === '/program-accounts') {
            const filters = ((body.filters as { offset: number; bytes: string }[] | undefined) ?? []).map((f) => ({ offset: f.offset, bytes: new Uint8Array(Buffer.from(f.bytes, 'base64')) }));
            out = (await svm.getProgramAccounts(new PublicKey(String(body.programId)), filters)).map(toWire);
          } else {
            res.writeHead(404).end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return { url, rpcUrl: `${url}/`, close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeIdleConnections(); // web3.js keeps connections alive
      }),
  };
}

/** SolanaTransport over the bridge: reads only (nodes never send Solana transactions). */
export class BridgeTransport implements SolanaTransport {
  constructor(private readonly url: string) {}

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (!res.ok) throw new Error(`SVM bridge ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async send(_ixs: TransactionInstruction[], _signers: Keypair[]): Promise<SentTransaction> {
    throw new Error('the devnet SVM bridge is read-only; transactions go through the devnet process');
  }

  async getAccount(address: PublicKey): Promise<AccountData | null> {
    const a = await this.post<WireAccount | null>('/account', { address: address.toBase58() });
    return a ? fromWire(a) : null;
  }

  async getProgramAccounts(programId: PublicKey, filters: BytesFilter[] = []): Promise<AccountData[]> {
    const list = await this.post<WireAccount[]>('/program-accounts', {
      programId: programId.toBase58(),
      filters: filters.map((f) => ({ offset: f.offset, bytes: Buffer.from(f.bytes).toString('base64') })),
    });
    return list.map(fromWire);
  }
}
