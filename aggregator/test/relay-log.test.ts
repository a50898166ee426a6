// The relay log behind GET /v1/relays: real Relayer / RangeRelayer runs recorded through the observer hook
// (pending → confirmed with the transaction, failed with the reason, already-fulfilled, the Ethereum sink's
// words that are not transactions), the ring's bound, and the endpoint's query validation against
// requesters sending junk (bad numbers, unknown and repeated parameters, malformed ids).
import { describe, expect, it } from 'vitest';
import { keccak256 } from 'viem';
import { parseRelayPage } from '@destra/oracle-node';
import {
  ChainType, combinePartials, dealShares, domainTag, encodeReport, evmDestination, g2Compressed, ReportKind, reportLeaf, requestStream, rootFromProof,
  signingMessage, SigningPurpose, signPartial, toHex, verify,
} from '@destra/protocol';
import { RangeRelayer, RelayLog, Relayer, hexKey, parseRelayQuery, RelayQueryError, startStatusServer, MAX_RELAYS_LIMIT, type ChainSink, type RangeSink, type SignedRange, type SignedReport, type StatusDeps } from '../src/index.ts';

const DEST = evmDestination(31337n, new Uint8Array(20).fill(1));
const { shares, sharing } = dealShares(2, 3);
const groupKey = g2Compressed(sharing.groupKey);

function signed(n: number): SignedReport {
  const id = new Uint8Array(32).fill(n);
  const report = encodeReport({ kind: ReportKind.Request, domain: domainTag('t'), epoch: 1n, destination: DEST, id, modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: 1n, round: 0n, output: [BigInt(n)] });
  const leaf = reportLeaf(report);
  const signature = combinePartials(shares.slice(0, 2).map((s) => signPartial(s, signingMessage(SigningPurpose.ReportRoot, leaf))), 2);
  return { requestId: id, report, root: leaf, proof: [], signature };
}

/** Verifies the group signature like the router does and lands each request once; a tx hash per landing. */
class LedgerSink implements ChainSink {
  readonly chain = 'ethereum' as const;
  readonly chainType = ChainType.Evm;
  readonly fulfilled = new Map<string, string>();
  failNext = 0;
  gate: Promise<void> | undefined;
  word: string | undefined;
  async isFulfilled(item: SignedReport) {
    return this.fulfilled.has(hexKey(item.requestId));
  }
  async submit(item: SignedReport) {
    await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('rpc timeout\nstack that must not be kept');
    }
    if (this.word) return this.word;
    if (!verify(groupKey, signingMessage(SigningPurpose.ReportRoot, rootFromProof(reportLeaf(item.report), item.proof)), item.signature)) throw new Error('BadSignature()');
    const tx = keccak256(item.report);
    this.fulfilled.set(hexKey(item.requestId), tx);
    return tx;
  }
  isPermanent(err: unknown) {
    return (err as Error).message.startsWith('BadSignature');
  }
}

const fast = { sleep: async () => {}, random: () => 0.5 };

describe('RelayLog recording real relays', () => {
  it('records a landed report as confirmed with its transaction, and the request can be looked up', async () => {
    const log = new RelayLog();
    const sink = new LedgerSink();
    const item = signed(1);
    await new Relayer([sink], { ...fast, observer: log }).relay(item);
    const page = log.list({ limit: 10, requestId: toHex(item.requestId) });
    expect(page.relays).toHaveLength(1);
    expect(page.relays[0]).toMatchObject({ kind: 'report', chain: 'ethereum', status: 'confirmed', txs: [sink.fulfilled.get(hexKey(item.requestId))], attempts: 1, requestIds: [toHex(item.requestId)] });
    expect(page.relays[0]!.error).toBeUndefined();
  });

  it('shows a relay as pending with the last attempt error while it retries, then confirmed', async () => {
    const log = new RelayLog();
    const sink = new LedgerSink();
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    sink.failNext = 1;
    const item = signed(2);
    let slept!: () => void;
    const retried = new Promise<void>((r) => (slept = r));
    let release!: () => void;
    const relaying = new Relayer([sink], { random: () => 0.5, sleep: () => (slept(), new Promise<void>((r) => (release = r))), observer: log }).relay(item);
    await new Promise((r) => setImmediate(r));
    expect(log.list({ limit: 10 }).relays[0]).toMatchObject({ status: 'pending', attempts: 0, txs: [] });
    open();
    await retried;
    expect(log.list({ limit: 10 }).relays[0]).toMatchObject({ status: 'pending', attempts: 1, error: 'rpc timeout' });
    release();
    await relaying;
    const rec = log.list({ limit: 10 }).relays[0]!;
    expect(rec).toMatchObject({ status: 'confirmed', attempts: 2 });
    expect(rec.error).toBeUndefined();
  });

  it('records a refused report as failed with the reason, and one another relayer landed as already-fulfilled', async () => {
    const log = new RelayLog();
    const sink = new LedgerSink();
    const forged = { ...signed(3), signature: signed(4).signature };
    const [out] = await new Relayer([sink], { ...fast, observer: log }).relay(forged);
    expect(out!.status).toBe('failed');
    expect(log.list({ limit: 1, requestId: toHex(forged.requestId) }).relays[0]).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringMatching(/rejected: BadSignature/) });
    const item = signed(5);
    await new Relayer([sink], fast).relay(item); // another aggregator (not recorded here)
    await new Relayer([sink], { ...fast, observer: log }).relay(item);
    expect(log.list({ limit: 1, requestId: toHex(item.requestId) }).relays[0]).toMatchObject({ status: 'already-fulfilled', txs: [] });
  });

  it("classifies the Ethereum sink's words: verified-by-view-call is verified, stale is already-fulfilled (no fake transaction)", async () => {
    const log = new RelayLog();
    const sink = new LedgerSink();
    sink.word = 'verified-by-view-call';
    await new Relayer([sink], { ...fast, observer: log }).relay(signed(6));
    sink.word = 'stale';
    await new Relayer([sink], { ...fast, observer: log }).relay(signed(7));
    expect(log.list({ limit: 10 }).relays.map((r) => [r.status, r.txs.length])).toEqual([['already-fulfilled', 0], ['verified', 0]]);
  });

  it('records a range relay with every request id of the range and its transactions', async () => {
    const log = new RelayLog();
    const items = [signed(8), signed(9)];
    const stream = requestStream(DEST);
    let open = 2;
    const txs = [keccak256(new Uint8Array([1]))];
    const sink: RangeSink = {
      chain: 'ethereum', chainType: ChainType.Evm, stream,
      openCount: async () => open,
      submitRange: async () => ((open = 0), txs),
      deadlineOf: async () => (open ? Date.now() + 60_000 : null),
    };
    const range: SignedRange = { epoch: 1, stream, start: 7, reports: items.map((i) => i.report), root: new Uint8Array(32), signature: new Uint8Array(48) };
    await new RangeRelayer([sink], { ...fast, observer: log }).relay(range);
    const rec = log.list({ limit: 1, requestId: toHex(items[1]!.requestId) }).relays[0]!;
    expect(rec).toMatchObject({ kind: 'range', status: 'confirmed', txs, requestIds: items.map((i) => toHex(i.requestId)), range: expect.stringMatching(/^1:[0-9a-f]{64}:7\+2$/) });
  });

  it('takes Solana signatures in base58 (RPC) and in hex (LiteSVM) as transactions', async () => {
    const log = new RelayLog();
    const sink = new LedgerSink();
    const hexSig = 'ab'.repeat(64);
    const b58Sig = '5'.repeat(40) + 'A'.repeat(48);
    for (const [n, word] of [[40, hexSig], [41, b58Sig]] as const) {
      sink.word = word;
      await new Relayer([sink], { ...fast, observer: log }).relay(signed(n));
    }
    expect(log.list({ limit: 10 }).relays.map((r) => [r.status, r.txs])).toEqual([['confirmed', [b58Sig]], ['confirmed', [hexSig]]]);
  });

  it('is bounded: the oldest relays go first and their request ids are forgotten', async () => {
    const log = new RelayLog({ capacity: 3 });
    const sink = new LedgerSink();
    const relayer = new Relayer([sink], { ...fast, observer: log });
    const items = [10, 11, 12, 13, 14].map(signed);
    for (const i of items) await relayer.relay(i);
    expect(log.size).toBe(3);
    expect(log.list({ limit: 10, requestId: toHex(items[0]!.requestId) }).relays).toEqual([]);
    expect(log.list({ limit: 10 }).relays.map((r) => r.requestIds[0])).toEqual(items.slice(2).reverse().map((i) => toHex(i.requestId)));
  });

  it('pages forward by cursor: changes after `since`, oldest first, with more when the limit cut them', async () => {
    const log = new RelayLog();
    const relayer = new Relayer([new LedgerSink()], { ...fast, observer: log });
    for (const n of [20, 21, 22]) await relayer.relay(signed(n));
    const first = log.list({ limit: 2, since: 0 });
    expect(first.more).toBe(true);
    const second = log.list({ limit: 2, since: first.cursor });
    expect(second.more).toBe(false);
    // each relay changed twice (started, finished): the last change of each is what a poller ends with
    const seen = new Map([...first.relays, ...second.relays].map((r) => [r.id, r.status]));
    expect(seen.size).toBeGreaterThanOrEqual(2);
    const all = log.list({ limit: 100, since: 0 });
    expect(all.relays.map((r) => r.status)).toEqual(['confirmed', 'confirmed', 'confirmed']);
    expect(log.list({ limit: 5, since: all.cursor })).toEqual({ instance: log.instance, cursor: all.cursor, more: false, relays: [] });
    expect(new RelayLog().instance).not.toBe(log.instance);
  });
});

describe('GET /v1/relays on the status server', () => {
  it('validates the query, naming the parameter, and serves records and single lookups', async () => {
    const log = new RelayLog();
    const item = signed(30);
    await new Relayer([new LedgerSink()], { ...fast, observer: log }).relay(item);
    const deps: StatusDeps = { connectedMembers: () => 3, threshold: 2, committeeSize: 3, probes: [], pendingRelays: () => 0, relays: log };
    const srv = await startStatusServer(0, deps);
    try {
      const get = async (path: string) => {
        const r = await fetch(`${srv.url}${path}`);
        return { code: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      const bad: [string, string][] = [
        ['/v1/relays?limit=0', 'limit'],
        ['/v1/relays?limit=abc', 'limit'],
        [`/v1/relays?limit=${MAX_RELAYS_LIMIT + 1}`, 'limit'],
        ['/v1/relays?limit=1e3', 'limit'],
        ['/v1/relays?since=-1', 'since'],
        ['/v1/relays?since=99999999999999999999', 'since'],
        ['/v1/relays?requestId=0x12', 'requestId'],
        ['/v1/relays?limit=1&limit=2', 'limit'],
        ['/v1/relays?<script>=1', '<script>'],
        ['/v1/relays/0xzz', 'requestId'],
      ];
      for (const [path, parameter] of bad) {
        const r = await get(path);
        expect(r.code, path).toBe(400);
        expect(r.body, path).toMatchObject({ error: 'bad-request', parameter });
        expect(String(r.body.message), path).toContain(parameter);
      }
      const list = await get(`/v1/relays?limit=5&requestId=${toHex(item.requestId)}`);
      expect(list.code).toBe(200);
      expect((list.body.relays as { status: string; txs: string[] }[])[0]).toMatchObject({ status: 'confirmed', txs: [keccak256(item.report)] });
      // the node dashboard's reader accepts what this endpoint serves (its copy of the answer's schema)
      expect(parseRelayPage(list.body).relays[0]!.requestIds).toEqual([toHex(item.requestId)]);
      const one = await get(`/v1/relays/${toHex(item.requestId)}`);
      expect(one).toMatchObject({ code: 200, body: { requestId: toHex(item.requestId), relays: [{ chain: 'ethereum', status: 'confirmed' }] } });
      expect((await get(`/v1/relays/0x${'ab'.repeat(32)}`)).code).toBe(404);
    } finally {
      await srv.close();
    }
    const none = await startStatusServer(0, { ...deps, relays: undefined });
    try {
      const r = await fetch(`${none.url}/v1/relays`);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ error: 'not-relaying' });
    } finally {
      await none.close();
    }
  });

  it('parseRelayQuery defaults and caps', () => {
    expect(parseRelayQuery({})).toEqual({ limit: 100 });
    expect(parseRelayQuery({ limit: ['1000'], since: ['7'] })).toEqual({ limit: 1000, since: 7 });
    expect(() => parseRelayQuery({ limit: ['1001'] })).toThrow(RelayQueryError);
  });
});
