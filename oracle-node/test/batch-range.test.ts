// Batch jobs over the range protocol, four real nodes (ONNX liquidation-risk) and the real aggregator:
// a client posts a few thousand rows to one node and streams the results; every result verifies (proof,
// group signature, report id on the range's stream, which binds the job and the range's rows, input hash
// of its row); any member serves any result;
// a hostile client hits every limit; hostile members' proposals (not a member, impersonation, replay,
// oversized, unknown model, wrong row length) are refused before any work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { loadModels } from '@destra/models';
import { ReportKind, decodeReport, encodeBatchBody, fromHex, g1ToEip2537, jobRangeStream, merkleRoot, rangeId, reportLeaf, rootSigningMessage, streamRequestId, toHex, verify, verifyMerkleProof } from '@destra/protocol';
import type { AggregatorService } from '@destra/aggregator';
import { NodeResponseError, inferBatch } from '@destra/adapter-ethereum';
import { encodeInput, planFor } from '../src/inference/codec.ts';
import { PROTOCOL_RANGE_PROPOSAL, RangeProposalCodec, type RangeProposal } from '../src/wire.ts';
import type { OracleNode } from '../src/node.ts';
import { startCluster, startClusterAggregator, type Cluster } from './cluster.ts';

const MODEL = 'liquidation-risk';
const RANGE_ROWS = 512;
let cluster: Cluster;
let agg: AggregatorService;
let node1: OracleNode;
let node2: OracleNode;
let groupKey: Uint8Array;
let rows: Uint8Array[];
const plan = planFor(loadModels(undefined, [MODEL])[0]!.manifest);

const features = plan.inputs.flatMap((inp) => inp.fields.map((_, j) => ({ lo: inp.lo[j]! / inp.scale, hi: inp.hi[j]! / inp.scale })));
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const flat = (list: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(list));

/** Valid canonical rows: golden-ratio points spread over each feature's manifest range. */
function makeRows(n: number, salt = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    encodeInput(
      plan,
      features.map((f, j) => f.lo + (f.hi - f.lo) * (((i + 1 + salt) * 0.6180339887498949 + j * 0.4142135623730951) % 1)),
    ),
  );
}

type Line = Record<string, any>;
async function postBatch(node: OracleNode, body: Uint8Array | string, opts: { ndjson?: boolean; type?: string } = {}): Promise<Response> {
  return fetch(`${node.url}/v1/infer/batch`, {
    method: 'POST',
    headers: { 'content-type': opts.type ?? (typeof body === 'string' ? 'application/json' : 'application/octet-stream'), ...(opts.ndjson === false ? {} : { accept: 'application/x-ndjson' }) },
    body,
  });
}
async function lines(res: Response): Promise<Line[]> {
  return (await res.text())
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}
const metric = async (node: OracleNode, outcome: string): Promise<number> => {
  const m = await node.metrics.registry.getSingleMetric('destra_range_proposals_total')!.get();
  return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
};
const until = async (cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> => {
  const stop = Date.now() + ms;
  while (!(await cond()) && Date.now() < stop) await new Promise((r) => setTimeout(r, 25));
  return cond();
};

beforeAll(async () => {
  cluster = await startCluster(4, 3, {
    onnxModels: [MODEL],
    configure: (c) => ({ ...c, rounds: { maxSkewSeconds: 600, timeoutMs: 20_000 }, batch: { rangeRows: RANGE_ROWS, maxRowsPerJob: 10_000, maxBodyBytes: 1024 * 1024, maxJobsPerClient: 1, maxInflightRows: 2048, rangeTimeoutMs: 20_000 } }),
  });
  agg = await startClusterAggregator(cluster);
  [node1, node2] = cluster.nodes as [OracleNode, OracleNode];
  groupKey = (await node1.ready()).groupKey;
  await until(() => cluster.nodes.every((n) => n.host.peersWithRole('member').length === 3));
  rows = makeRows(3000);
}, 120_000);

afterAll(async () => {
  agg?.stop();
  await cluster?.stop();
});

let jobId: string;
let stream: Uint8Array;
/** The stream of a range of the job: the job stream and the range's content (model, timestamp, epoch, rows). */
const streamOf = (r: Uint8Array[], timestamp: number, epoch = 1): Uint8Array => jobRangeStream(stream, { model: MODEL, timestamp, epoch, rowLength: 56, rowsHash: keccak_256(flat(r)) });
/** Report timestamp of the range holding `row` (all reports of a range share it). */
const timestampOf = (row: number): number => Number(decodeReport(fromHex(results.find((x) => x.row === row)!.report)).timestamp);
let results: Line[];

describe('batch jobs on the range protocol', () => {
  it('a client posts 3000 rows (binary) to one node; the NDJSON stream carries every result and each verifies', async () => {
    const res = await postBatch(node1, encodeBatchBody(MODEL, rows));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const all = await lines(res);
    const head = all[0]!;
    expect(head.type).toBe('job');
    expect(head.rows).toBe(3000);
    jobId = head.id;
    stream = fromHex(head.stream);
    const done = all.at(-1)!;
    expect(done).toMatchObject({ type: 'done', rows: 3000, certified: 3000, failed: 0 });
    results = all.filter((l) => l.type === 'result');
    expect(results.length).toBe(3000);
    expect(new Set(results.map((r) => r.row)).size).toBe(3000);
    const roots = new Set<string>();
    const verified = new Map<string, boolean>();
    for (const r of results) {
      const report = fromHex(r.report);
      const d = decodeReport(report);
      expect(d.kind).toBe(ReportKind.OnDemand);
      expect(d.epoch).toBe(BigInt(r.epoch));
      // The range's stream is the job stream and the range's rows; the report id names it and the row.
      const first = r.row - r.leaf;
      expect(r.seq).toBe(r.row);
      expect(r.stream).toBe(toHex(streamOf(rows.slice(first, first + Math.min(RANGE_ROWS, 3000 - first)), Number(d.timestamp), r.epoch)));
      expect(equalBytes(d.id, streamRequestId(fromHex(r.stream), r.seq))).toBe(true);
      expect(equalBytes(d.inputHash, keccak_256(rows[r.row]!))).toBe(true);
      expect(d.output.length).toBeGreaterThan(0);
      expect(verifyMerkleProof(reportLeaf(report), r.proof.map(fromHex), fromHex(r.root))).toBe(true);
      const key = `${r.root}:${r.signature}`;
      if (!verified.has(key)) verified.set(key, verify(groupKey, rootSigningMessage(fromHex(r.root)), fromHex(r.signature)));
      expect(verified.get(key)).toBe(true);
      expect(r.signatureEip2537).toBe(toHex(g1ToEip2537(fromHex(r.signature))));
      expect(r.signers.length).toBeGreaterThanOrEqual(3);
      roots.add(r.root);
    }
    expect(roots.size).toBe(Math.ceil(3000 / RANGE_ROWS)); // one root signature per range
  }, 60_000);

  it('the job status and paged results are served by the node that took it', async () => {
    const page = (await (await fetch(`${node1.url}/v1/jobs/${jobId}?offset=2990&limit=20`)).json()) as Line;
    expect(page).toMatchObject({ id: jobId, status: 'done', rows: 3000, certified: 3000, failed: 0, pending: 0, offset: 2990, nextOffset: null });
    expect(page.results.length).toBe(10);
    expect(page.results[9]).toMatchObject({ type: 'result', row: 2999, report: results.find((r) => r.row === 2999)!.report });
    expect(page.ranges.length).toBe(Math.ceil(3000 / RANGE_ROWS));
    const again = await lines(await fetch(`${node1.url}/v1/jobs/${jobId}`, { headers: { accept: 'application/x-ndjson' } }));
    expect(again.filter((l) => l.type === 'result').length).toBe(3000);
    // The compact form: one line per range with its reports; the tree rebuilt from them gives the signed root.
    const compact = await lines(await fetch(`${node1.url}/v1/jobs/${jobId}?lines=ranges`, { headers: { accept: 'application/x-ndjson' } }));
    const ranges = compact.filter((l) => l.type === 'range');
    expect(ranges.length).toBe(Math.ceil(3000 / RANGE_ROWS));
    for (const r of ranges) {
      const all = fromHex(r.reports);
      const reports = Array.from({ length: r.count }, (_, i) => all.subarray(i * r.reportLength, (i + 1) * r.reportLength));
      expect(toHex(merkleRoot(reports.map((x) => reportLeaf(x))))).toBe(r.root);
      expect(verify(groupKey, rootSigningMessage(fromHex(r.root)), fromHex(r.signature))).toBe(true);
      expect(toHex(reports[0]!)).toBe(results.find((x) => x.row === r.fromRow)!.report);
    }
    expect((await fetch(`${node1.url}/v1/jobs/${jobId}?lines=bogus`)).status).toBe(400);
    expect((await fetch(`${node1.url}/v1/jobs/0x${'00'.repeat(16)}`)).status).toBe(404);
    expect(((await (await fetch(`${node1.url}/v1/jobs/nope`)).json()) as Line).error).toBe('BAD_ID');
  });

  it('any member serves any result of the job by range id and leaf index', async () => {
    for (const r of [results[0]!, results[1234]!, results[2999]!]) {
      for (const node of cluster.nodes) {
        const res = await fetch(`${node.url}/v1/ranges/${r.rangeId}/${r.leaf}`);
        expect(res.status, `node ${node.index}`).toBe(200);
        const got = (await res.json()) as Line;
        expect(got).toMatchObject({ report: r.report, root: r.root, seq: r.seq, leaf: r.leaf, epoch: r.epoch, groupKey: toHex(groupKey) });
        expect(verify(fromHex(got.groupKey), rootSigningMessage(fromHex(got.root)), fromHex(got.signature))).toBe(true);
      }
    }
    expect((await fetch(`${node2.url}/v1/ranges/${results[0]!.rangeId}/${RANGE_ROWS}`)).status).toBe(400);
    expect((await fetch(`${node2.url}/v1/ranges/0x${'ab'.repeat(32)}/0`)).status).toBe(404);
  });

  it('without Accept: application/x-ndjson the POST answers 202 with the job; JSON rows (hex and numbers) work too', async () => {
    const few = makeRows(5, 7);
    const values = features.map((f, j) => f.lo + ((f.hi - f.lo) * (j + 1)) / (features.length + 2));
    const res = await postBatch(node2, JSON.stringify({ model: MODEL, rows: [...few.map(toHex), values] }), { ndjson: false });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Line;
    expect(job).toMatchObject({ rows: 6, status: 'running', links: { status: `/v1/jobs/${job.id}` } });
    expect(await until(async () => ((await (await fetch(`${node2.url}/v1/jobs/${job.id}`)).json()) as Line).status === 'done')).toBe(true);
    const page = (await (await fetch(`${node2.url}/v1/jobs/${job.id}`)).json()) as Line;
    expect(page.certified).toBe(6);
    expect(equalBytes(decodeReport(fromHex(page.results[5].report)).inputHash, keccak_256(encodeInput(plan, values)))).toBe(true);
  });

  it('the SDK (inferBatch) posts rows, verifies every result by default and returns them in row order; a node that alters a result is caught', async () => {
    // Default lines: one per range (the tree rebuilt from the reports); `lines: 'results'` below.
    const mine = makeRows(1500, 11);
    const seen: number[] = [];
    const out = await inferBatch(node2.url, { model: MODEL, rows: mine }, { onResult: (r) => seen.push(r.row) });
    expect(out.failed).toEqual([]);
    expect(out.verified).toBe(1500);
    expect(seen.length).toBe(1500);
    out.results.forEach((r, i) => {
      expect(r!.row).toBe(i);
      expect(equalBytes(r!.decoded.inputHash, keccak_256(mine[i]!))).toBe(true);
    });
    out.results.forEach((r) => expect(verifyMerkleProof(reportLeaf(r!.report), r!.proof, r!.root)).toBe(true));
    // One line per result with its proof: the same results.
    const perResult = await inferBatch(node2.url, { model: MODEL, rows: mine.slice(0, 700) }, { lines: 'results' });
    expect(perResult.verified).toBe(700);
    perResult.results.forEach((r, i) => {
      expect(equalBytes(r!.decoded.inputHash, keccak_256(mine[i]!))).toBe(true);
      expect(verifyMerkleProof(reportLeaf(r!.report), r!.proof, r!.root)).toBe(true);
    });
    // Number rows go as JSON through the node's encoder; group key passed in.
    const nums = await inferBatch(node1.url, { model: MODEL, rows: [features.map((f) => (f.lo + f.hi) / 2)] }, { groupKey: () => groupKey });
    expect(nums.verified).toBe(1);
    // A node (or a man in the middle) that changes one byte of one report, or serves another row's result.
    /** A fetch that edits the sixth result line (or the second range line) of the batch stream. */
    const tamper = (edit: (line: string) => string): typeof fetch => async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/v1/infer/batch')) return res; // the committee's group key passes untouched
      const text = (await res.text()).split('\n');
      const at = text.map((l, i) => (l.includes('"type":"result"') || l.includes('"type":"range"') ? i : -1)).filter((i) => i >= 0);
      const i = at[text[at[0]!]!.includes('"type":"range"') ? 1 : 5]!;
      text[i] = edit(text[i]!);
      return new Response(text.join('\n'), { status: res.status, headers: res.headers });
    };
    // The last byte of the report is in its output: it still decodes, but no longer leads to the root.
    const flip = tamper((l) => l.replace(/("report":"0x[0-9a-f]*)([0-9a-f]{2})"/, (_, head: string, b: string) => `${head}${b === 'ff' ? 'fe' : 'ff'}"`));
    await expect(inferBatch(node1.url, { model: MODEL, rows: mine.slice(0, 50) }, { fetch: flip, lines: 'results' })).rejects.toThrow(/Merkle proof/);
    const swapRow = tamper((l) => l.replace(/"row":(\d+)/, (_, n: string) => `"row":${(Number(n) + 1) % 50}`));
    await expect(inferBatch(node1.url, { model: MODEL, rows: mine.slice(0, 50) }, { fetch: swapRow, lines: 'results' })).rejects.toThrow(/sequence number|input hash|twice/);
    const flipRange = tamper((l) => l.replace(/("reports":"0x[0-9a-f]*)([0-9a-f]{2})"/, (_, head: string, b: string) => `${head}${b === 'ff' ? 'fe' : 'ff'}"`));
    await expect(inferBatch(node1.url, { model: MODEL, rows: mine.slice(0, 1200) }, { fetch: flipRange })).rejects.toThrow(/do not build the signed root/);
    // A range line that moves its rows (fromRow) no longer matches the rows sent (stream / input hashes).
    const shiftRange = tamper((l) => l.replace(/"fromRow":(\d+)/, (_, n: string) => `"fromRow":${Number(n) - 1}`));
    await expect(inferBatch(node1.url, { model: MODEL, rows: mine.slice(0, 1200) }, { fetch: shiftRange })).rejects.toThrow(NodeResponseError);
    // Without verification the altered result is returned as sent.
    const loose = await inferBatch(node1.url, { model: MODEL, rows: mine.slice(0, 50) }, { fetch: flip, lines: 'results', verify: false });
    expect(loose.verified).toBe(0);
    expect(loose.results.filter(Boolean).length).toBe(50);
    await expect(inferBatch(node1.url, { model: MODEL, rows: [] })).rejects.toThrow(NodeResponseError);
    await expect(inferBatch(node1.url, { model: MODEL, rows: mine.slice(0, 5) }, { lines: 'bogus' as 'ranges' })).rejects.toThrow(/lines must be/);
  }, 60_000);

  it('a hostile client hits each limit and gets a clear 4xx JSON error; nothing is proposed', async () => {
    const before = node1.range!.service.stats.reduce((n, s) => n + s.committedRanges, 0);
    const expectError = async (res: Response, status: number, error: string) => {
      expect(res.status).toBe(status);
      const b = (await res.json()) as Line;
      expect(b.error).toBe(error);
      expect(typeof b.message).toBe('string');
      return b;
    };
    // Rows per job (binary header says 10,001 rows; the body carries them).
    const tooMany = encodeBatchBody(MODEL, { rows: new Uint8Array(10_001 * 8), rowLength: 8 });
    await expectError(await postBatch(node1, tooMany), 413, 'TOO_MANY_ROWS');
    await expectError(await postBatch(node1, JSON.stringify({ model: MODEL, rows: Array.from({ length: 10_001 }, () => '0x00') })), 413, 'TOO_MANY_ROWS');
    // Bytes per body.
    await expectError(await postBatch(node1, new Uint8Array(1024 * 1024 + 1)), 413, 'BODY_TOO_LARGE');
    // Malformed bodies.
    await expectError(await postBatch(node1, new Uint8Array([1, 2, 3])), 400, 'BAD_BODY');
    await expectError(await postBatch(node1, '{"model":'), 400, 'BAD_JSON');
    await expectError(await postBatch(node1, JSON.stringify({ model: MODEL, rows: ['0x00', [1, 'x']] })), 400, 'BAD_REQUEST');
    await expectError(await postBatch(node1, 'x', { type: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    // Model and rows the node refuses.
    await expectError(await postBatch(node1, encodeBatchBody('no-such-model', makeRows(2))), 400, 'UNKNOWN_MODEL');
    await expectError(await postBatch(node1, encodeBatchBody(MODEL, [new Uint8Array(48), new Uint8Array(48)])), 400, 'BAD_ROW_LENGTH');
    const bad = makeRows(10);
    bad[7] = new Uint8Array(56).fill(0x7f); // far outside every feature's range
    const refused = await expectError(await postBatch(node1, encodeBatchBody(MODEL, bad)), 400, 'INFERENCE_INPUT');
    expect(refused.row).toBe(7);
    expect(refused.message).toMatch(/row 7/);
    expect(node1.range!.service.stats.reduce((n, s) => n + s.committedRanges, 0)).toBe(before);
    // Concurrent jobs per client (batch.maxJobsPerClient = 1): a second job while the first runs.
    const first = await postBatch(node1, encodeBatchBody(MODEL, makeRows(8192, 3)));
    const reader = first.body!.getReader();
    const head = JSON.parse(Buffer.from((await reader.read()).value!).toString().split('\n')[0]!) as Line;
    expect(head.type).toBe('job');
    const running = ((await (await fetch(`${node1.url}/v1/jobs/${head.id}`)).json()) as Line).status;
    const second = await postBatch(node1, encodeBatchBody(MODEL, makeRows(4)));
    expect(running).toBe('running'); // 8192 rows in 512-row ranges, at most 2048 rows in flight: far from done
    await expectError(second, 429, 'TOO_MANY_JOBS');
    for (;;) if ((await reader.read()).done) break;
    expect(((await (await fetch(`${node1.url}/v1/jobs/${head.id}`)).json()) as Line).certified).toBe(8192);
    // Once it finished, the client may post again.
    expect((await postBatch(node1, encodeBatchBody(MODEL, makeRows(4)), { ndjson: false })).status).toBe(202);
  }, 60_000);

  it('hostile members and proposers are refused before any work: non-member, impersonation, replay, oversized, unknown model, wrong row length', async () => {
    const k1 = await node1.ready();
    const job = fromHex(jobId);
    const proposal = (over: Partial<RangeProposal>): Uint8Array =>
      RangeProposalCodec.encode({ type: 'range-proposal', v: 1, epoch: k1.epoch, proposer: k1.index, job, start: 0, model: MODEL, timestamp: Math.floor(Date.now() / 1000), rowLength: 56, rows: flat(makeRows(4)), ...over });
    const guardKey = (s: Uint8Array) => `${Buffer.from(s).toString('hex')}@1`; // a stream's position in epoch 1
    const last = 3000 - (3000 % RANGE_ROWS);
    const range0 = guardKey(streamOf(rows.slice(0, RANGE_ROWS), timestampOf(0)));
    const rangeLast = guardKey(streamOf(rows.slice(last), timestampOf(last)));
    expect([node2.store.rangeNext(range0), node2.store.rangeNext(rangeLast)]).toEqual([RANGE_ROWS, 3000]);
    const counts = async () => Object.fromEntries(await Promise.all(['not-member', 'impersonation', 'replay', 'oversized', 'unknown-model', 'row-length'].map(async (o) => [o, await metric(node2, o)] as const)));
    const before = await counts();
    // A peer that is not a committee member (the aggregator's own admitted host) proposes.
    await cluster.aggHost.sendDirect(node2.host.peerId, PROTOCOL_RANGE_PROPOSAL, proposal({ start: 5000 }));
    // Member 1 (its real connection) replays two ranges of its finished job (same rows, same start), claims
    // member 3's index, sends a range over the size limit, an unknown model, rows of the wrong length.
    const send = (frame: Uint8Array) => node1.host.sendDirect(node2.host.peerId, PROTOCOL_RANGE_PROPOSAL, frame);
    await send(proposal({ start: 0, rows: flat(rows.slice(0, RANGE_ROWS)), timestamp: timestampOf(0) }));
    await send(proposal({ start: last, rows: flat(rows.slice(last)), timestamp: timestampOf(last) }));
    await send(proposal({ start: 6000, proposer: 3 }));
    await send(proposal({ start: 7000, rows: flat(makeRows(RANGE_ROWS + 1)) }));
    await send(proposal({ start: 8000, model: 'no-such-model' }));
    await send(proposal({ start: 9000, rowLength: 8, rows: new Uint8Array(64) }));
    const want = { 'not-member': 1, impersonation: 1, replay: 2, oversized: 1, 'unknown-model': 1, 'row-length': 1 };
    expect(
      await until(async () => {
        const now = await counts();
        return Object.entries(want).every(([k, v]) => now[k]! - before[k]! === v);
      }),
    ).toBe(true);
    // Nothing was committed: the streams' positions are where the honest job left them.
    expect([node2.store.rangeNext(range0), node2.store.rangeNext(rangeLast)]).toEqual([RANGE_ROWS, 3000]);
    // The same member proposing new rows on its job, past the job's end, is accepted and committed: a new
    // range on the stream of the job and these rows.
    const fresh = makeRows(4, 99);
    const now = Math.floor(Date.now() / 1000);
    await send(proposal({ start: 3000, rows: flat(fresh), timestamp: now }));
    const freshKey = guardKey(streamOf(fresh, now));
    expect(await until(() => node2.store.rangeNext(freshKey) === 3004)).toBe(true);
  }, 30_000);

  it('a proposer that sends different rows to different members makes different ranges: honest members are never named as conflicting', async () => {
    const k1 = await node1.ready();
    const job = fromHex(jobId);
    const named: number[] = [];
    agg.on('misbehaviour', (e) => named.push(e.member));
    const [a, b] = [makeRows(3, 500), makeRows(3, 600)];
    const timestamp = Math.floor(Date.now() / 1000);
    const frame = (r: Uint8Array[], ts = timestamp) => RangeProposalCodec.encode({ type: 'range-proposal', v: 1, epoch: k1.epoch, proposer: k1.index, job, start: 4000, model: MODEL, timestamp: ts, rowLength: 56, rows: flat(r) });
    const [node3, node4] = [cluster.nodes[2]!, cluster.nodes[3]!];
    await node1.host.sendDirect(node2.host.peerId, PROTOCOL_RANGE_PROPOSAL, frame(a));
    await node1.host.sendDirect(node3.host.peerId, PROTOCOL_RANGE_PROPOSAL, frame(b));
    await node1.host.sendDirect(node4.host.peerId, PROTOCOL_RANGE_PROPOSAL, frame(b));
    const streamB = streamOf(b, timestamp);
    await node1.range!.intake.proposeLocal(RangeProposalCodec.decode(frame(b)), streamB); // the proposer signs b too: t = 3 agree on b
    const key = (r: Uint8Array[]) => `${Buffer.from(streamOf(r, timestamp)).toString('hex')}@1`;
    expect(await until(() => node2.store.rangeNext(key(a)) === 4003 && node3.store.rangeNext(key(b)) === 4003 && node4.store.rangeNext(key(b)) === 4003)).toBe(true);
    // b certifies (its own range); a is another range with one commit. With one range id for both row
    // sets, member 2 would be named for committing a root that differs from the certified one.
    expect(await until(() => node3.range!.service.certifiedRange(rangeId(streamB, 4000, 3)) !== undefined)).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // the aggregator has seen every commit
    expect(named).toEqual([]);
  });
});
