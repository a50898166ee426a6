// Relaying certified ranges of a router's request stream: the range-reports frame (members → aggregator),
// the relay glue (frames and certificates wait for each other; junk and impostors are never used), and
// RangeRelayer over the adapter's EthereumRangeSink on anvil (fulfillBatch whole or chunked, settled and
// expired requests in the range, durable through outages and restarts, refusals final).
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEventLog, hexToBytes, type Hex } from 'viem';
import { ReportKind, buildMerkleTree, domainTag, encodeReport, evmDestination, rangeId, reportLeaf, requestStream, rootSigningMessage, toHex } from '@destra/protocol';
import { oracleRouterAbi } from '@destra/contracts';
import { EthereumRangeSink, planRange } from '@destra/adapter-ethereum';
import { canonicalInput, requestReport, setupFixture, write, type Fixture } from '../../contracts/test/fixture.ts';
import {
  ChainRangeRelay, RangeRelayer, RangeReportsError, SqliteRelayJournal, decodeRangeReports, encodeRangeReports, type RangeEvent, type RangeSink, type SignedRange,
} from '../src/index.ts';

describe('range-reports frame', () => {
  const report = (len: number, fill: number) => new Uint8Array(len).fill(fill);
  const frame = { epoch: 3, index: 2, stream: new Uint8Array(32).fill(9), start: 4096, reports: [report(230, 1), report(222, 2), report(734, 3)] };

  it('round-trips reports of different lengths', () => {
    const back = decodeRangeReports(encodeRangeReports(frame));
    expect(back).toMatchObject({ epoch: 3, index: 2, start: 4096 });
    expect(back.reports.map((r) => r.length)).toEqual([230, 222, 734]);
    expect(back.reports[2]).toEqual(report(734, 3));
  });

  it('rejects malformed, truncated, padded and oversized frames, naming the field', () => {
    const good = encodeRangeReports(frame);
    const bad = (bytes: Uint8Array, field: RegExp) => {
      const e = (() => { try { decodeRangeReports(bytes); } catch (x) { return x; } })();
      expect(e).toBeInstanceOf(RangeReportsError);
      expect((e as Error).message).toMatch(field);
    };
    bad(good.slice(0, 20), /frame/);
    bad(good.slice(0, good.length - 1), /reports\[2\]/);
    bad(new Uint8Array([...good, 0]), /after the last report/);
    const v2 = good.slice();
    v2[0] = 2;
    bad(v2, /version/);
    const zero = good.slice();
    new DataView(zero.buffer).setUint32(51, 0);
    bad(zero, /count/);
    const short = good.slice();
    new DataView(short.buffer).setUint16(55, 100);
    bad(short, /reports\[0\]/);
    bad(new Uint8Array(9_000_000), /exceeds/);
    expect(() => encodeRangeReports({ ...frame, reports: [] })).toThrow(/count/);
    expect(() => encodeRangeReports({ ...frame, reports: [report(100, 1)] })).toThrow(/reports\[0\]/);
  });
});

describe('planRange', () => {
  const reports = Array.from({ length: 10 }, () => new Uint8Array(230));
  const open = (callbackGasLimit = 0) => ({ open: true, deadline: 0, callbackGasLimit });
  it('sends a range that fits one transaction whole; none when nothing is open', () => {
    const plan = planRange(reports, reports.map(() => open()));
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ whole: true, indices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(planRange(reports, reports.map(() => ({ open: false, deadline: 0, callbackGasLimit: 0 })))).toEqual([]);
  });
  it('cuts by gas (callbacks count at their limit) and leaves settled requests out of chunks', () => {
    const states = reports.map((_, i) => (i === 3 ? { open: false, deadline: 0, callbackGasLimit: 0 } : open(1_000_000)));
    const plan = planRange(reports, states, { maxGasPerTx: 3_000_000, maxCalldataBytes: 96_000 });
    expect(plan.length).toBeGreaterThan(3);
    expect(plan.every((c) => !c.whole && c.gas <= 3_000_000)).toBe(true);
    expect(plan.flatMap((c) => c.indices)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(planRange(reports, reports.map(() => open()), { maxGasPerTx: 12_000_000, maxCalldataBytes: 1000 }).length).toBeGreaterThan(1);
  });
});

/** The glue alone: a service stand-in that emits certificates and admits members by index. */
describe('ChainRangeRelay', () => {
  const destination = evmDestination(31337n, new Uint8Array(20).fill(0xaa));
  const stream = requestStream(destination);
  const answer = (v: number) => encodeReport({
    kind: ReportKind.Request, domain: domainTag('test'), epoch: 1n, destination, id: new Uint8Array(32).fill(v), modelHash: new Uint8Array(32),
    inputHash: new Uint8Array(32), timestamp: 1n, round: 0n, output: [BigInt(v)],
  });
  const reports = [answer(1), answer(2)];
  const root = buildMerkleTree(reports.map(reportLeaf)).root;
  const ev = (over: Partial<RangeEvent> = {}): RangeEvent => ({ stream, start: 10, count: 2, root, signature: new Uint8Array(48), signers: [1, 2, 3], latencyMs: 1, ...over });
  const member = (index: number) => ({ peerId: `peer-${index}`, role: 'member' as const, index });

  function setup() {
    const service = Object.assign(new EventEmitter(), { senderMismatch: (from: { index: number }, index: number) => (from.index === index ? undefined : `peer is member ${from.index}, not ${index}`) });
    const relayed: SignedRange[] = [];
    const relayer = { relay: async (r: SignedRange) => (relayed.push(r), { chain: 'ethereum' as const, status: 'submitted' as const, txs: ['0x1'], attempts: 1 }) } as unknown as RangeRelayer;
    const warnings: string[] = [];
    const log = { info: () => undefined, debug: () => undefined, warn: (o: object) => void warnings.push(JSON.stringify(o)) };
    let handler: (data: Uint8Array, from: ReturnType<typeof member>) => void = () => undefined;
    const host = { handleDirect: async (_p: string, _m: number, h: typeof handler) => void (handler = h) };
    const relay = new ChainRangeRelay({ host, service: service as never, relayer, streams: [stream], log });
    return { service, relayed, warnings, relay, send: (data: Uint8Array, from = member(1)) => handler(data, from) };
  }
  const frameOf = (rs: Uint8Array[], over: { index?: number; stream?: Uint8Array; start?: number } = {}) =>
    encodeRangeReports({ epoch: 1, index: over.index ?? 1, stream: over.stream ?? stream, start: over.start ?? 10, reports: rs });

  it('relays when the certificate and a matching frame have both arrived, in either order, once', async () => {
    const a = setup();
    await a.relay.start();
    a.send(frameOf(reports));
    expect(a.relayed).toHaveLength(0);
    a.service.emit('range', ev());
    a.service.emit('range', ev()); // a second certificate (another aggregator's) does nothing
    a.send(frameOf(reports)); // nor a late frame
    expect(a.relayed).toHaveLength(1);
    expect(toHex(a.relayed[0]!.root)).toBe(toHex(root));
    const b = setup();
    await b.relay.start();
    b.service.emit('range', ev());
    b.send(frameOf(reports));
    expect(b.relayed).toHaveLength(1);
    a.relay.stop();
    b.relay.stop();
  });

  it('never uses a frame whose reports do not hash to the certified root, from an impostor, or for a stream not relayed here', async () => {
    const a = setup();
    await a.relay.start();
    a.send(frameOf([reports[0]!, answer(7)])); // a member's wrong reports
    a.send(frameOf(reports, { index: 2 }), member(3)); // peer 3 claiming member 2
    a.send(frameOf(reports, { stream: new Uint8Array(32).fill(1) })); // a batch job's stream
    a.send(new Uint8Array([1, 2, 3])); // junk
    a.service.emit('range', ev());
    expect(a.relayed).toHaveLength(0);
    expect(a.relay.stats.framesRejected).toBe(3);
    a.send(frameOf(reports, { index: 2 }), member(2)); // the honest carrier's frame
    expect(a.relayed).toHaveLength(1);
    expect(a.relayed[0]!.reports).toEqual(reports);
    a.relay.stop();
  });
});

describe('RangeRelayer over EthereumRangeSink on anvil', () => {
  let f: Fixture;
  let sink: EthereumRangeSink;
  let dir: string;
  const router = () => f.deployed.addresses.router;
  const stream = () => requestStream(evmDestination(f.chainId, hexToBytes(router())));

  beforeAll(async () => {
    f = await setupFixture();
    const c = f.operators[0]!.clients;
    sink = new EthereumRangeSink({ publicClient: c.publicClient, walletClient: c.walletClient, router: router(), retries: 1, minRetryDelayMs: 10 });
    dir = mkdtempSync(join(tmpdir(), 'range-relay-'));
  }, 180_000);
  afterAll(async () => {
    await f?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function newRequests(count: number, callbackGasLimit = 0): Promise<{ id: Hex; input: Uint8Array; seq: bigint }[]> {
    const [value] = await f.clients.publicClient.readContract({ address: router(), abi: oracleRouterAbi, functionName: 'quote', args: [f.modelId, callbackGasLimit] });
    const out = [];
    for (let i = 0; i < count; i++) {
      const input = canonicalInput([BigInt(out.length + 1), BigInt(Date.now() % 1000)]);
      const receipt = await write(f.clients, router(), oracleRouterAbi, 'request', [f.modelId, toHex(input), callbackGasLimit], value);
      for (const log of receipt.logs) {
        try {
          const e = decodeEventLog({ abi: oracleRouterAbi, data: log.data, topics: log.topics });
          if (e.eventName === 'InferenceRequested') out.push({ id: e.args.requestId as Hex, input, seq: e.args.seq as bigint });
        } catch {
          /* another contract's log */
        }
      }
    }
    return out;
  }

  function signedRange(reqs: { id: Hex; input: Uint8Array; seq: bigint }[], sign = true): SignedRange {
    const reports = reqs.map((r, i) => requestReport(f, r.id, r.input, [BigInt(100 + i)]));
    const root = buildMerkleTree(reports.map(reportLeaf)).root;
    const signature = sign ? f.committee.signMessage(rootSigningMessage(root)) : f.committee.signMessage(rootSigningMessage(reportLeaf(reports[0]!)));
    return { epoch: 1, stream: stream(), start: Number(reqs[0]!.seq), reports, root, signature };
  }
  const fulfilled = (id: Hex) => f.clients.publicClient.readContract({ address: router(), abi: oracleRouterAbi, functionName: 'isFulfilled', args: [id] });

  it('lands a whole range in one fulfillBatch; one already answered by someone else is skipped; a second relay finds nothing open', async () => {
    // 40 callbacks at a 400k limit plan to 20M gas at worst (over the 15M bound); their real cost is
    // estimated and fits one transaction
    const reqs = await newRequests(40, 400_000);
    const range = signedRange(reqs);
    // another aggregator landed request 5 on its own
    await write(f.clients, router(), oracleRouterAbi, 'fulfill', [toHex(range.reports[5]!), f.committee.signRoot(reportLeaf(range.reports[5]!))]);
    const relayer = new RangeRelayer([sink], { baseDelayMs: 10 });
    const out = await relayer.relay(range);
    expect(out).toMatchObject({ chain: 'ethereum', status: 'submitted' });
    expect(out.status === 'submitted' && out.txs).toHaveLength(1);
    for (const r of reqs) expect(await fulfilled(r.id)).toBe(true);
    expect(await relayer.relay(range)).toMatchObject({ status: 'already-fulfilled', attempts: 1 });
  });

  it('cuts a range too large for one transaction into chunks with proofs, each verifying the same root', async () => {
    const reqs = await newRequests(12, 400_000);
    const c = f.operators[1]!.clients;
    // calldata bound: the whole range does not fit, so the plan (proofs, worst-case callback gas) applies
    const small = new EthereumRangeSink({ publicClient: c.publicClient, walletClient: c.walletClient, router: router(), limits: { maxGasPerTx: 1_500_000, maxCalldataBytes: 1_200 }, retries: 1 });
    const out = await new RangeRelayer([small], { baseDelayMs: 10 }).relay(signedRange(reqs));
    expect(out.status).toBe('submitted');
    expect(out.status === 'submitted' && out.txs.length).toBeGreaterThan(2);
    for (const r of reqs) expect(await fulfilled(r.id)).toBe(true);
  });

  it('refuses a range whose signature is not over its root at once (no retries)', async () => {
    const out = await new RangeRelayer([sink], { baseDelayMs: 10 }).relay(signedRange(await newRequests(3), false));
    expect(out).toMatchObject({ status: 'failed', attempts: 1 });
    expect(out.status === 'failed' && out.error.message).toMatch(/BadSignature/);
  });

  it('keeps trying through failed submissions with backoff, and resumes a journaled range after a restart', async () => {
    const reqs = await newRequests(4);
    const range = signedRange(reqs);
    let failures = 2;
    const flaky: RangeSink = {
      chain: 'ethereum', chainType: sink.chainType, stream: sink.stream,
      openCount: (r) => sink.openCount(r), deadlineOf: (r) => sink.deadlineOf(r), isPermanent: (e) => sink.isPermanent(e),
      submitRange: async (r) => {
        if (failures-- > 0) throw new Error('connect ECONNREFUSED 127.0.0.1:8545');
        return sink.submitRange(r);
      },
    };
    const delays: number[] = [];
    const out = await new RangeRelayer([flaky], { baseDelayMs: 100, random: () => 0.5, sleep: async (ms) => void delays.push(ms) }).relay(range);
    expect(out).toMatchObject({ status: 'submitted', attempts: 3 });
    expect(delays).toEqual([100, 200]);

    // a range journaled by a run that was killed before landing it is relayed by the next run
    const path = join(dir, 'relay.db');
    const pending = signedRange(await newRequests(3));
    const killed = new SqliteRelayJournal(path);
    killed.addRange('ethereum', pending);
    killed.close();
    const journal = new SqliteRelayJournal(path);
    expect(journal.pendingRanges().map((p) => toHex(p.range.root))).toEqual([toHex(pending.root)]);
    const resumed = await new RangeRelayer([sink], { journal, baseDelayMs: 10 }).resume();
    expect(resumed).toMatchObject([{ status: 'submitted' }]);
    expect(journal.pendingRanges()).toEqual([]);
    journal.close();
    // the range id is what the members committed to
    expect(toHex(rangeId(pending.stream, pending.start, pending.reports.length))).toMatch(/^0x[0-9a-f]{64}$/);
  });
});
