// Chain requests signed in ranges: the cut rule (one block per range, split at maxRangeSize and by report
// length), and ChainRequestStream against an in-memory chain (requests with sequence numbers in blocks,
// the counter at each block's end): ranges committed in order, a watcher that dropped a request recovers
// it from the chain, a restart mid-block neither re-signs nor misaligns, failure reports, the round path
// for what a range cannot take, report bytes sent only by members 1..n−t+1.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { decodeReport, evmDestination, rangeId, requestStream, ReportStatus, toHex } from '@destra/protocol';
import { decodeRangeReports, PROTOCOL_RANGE_REPORTS } from '@destra/aggregator/range-reports';
import { ChainRequestStream, type RangeCommitter } from '../src/chains/chain-stream.ts';
import { cutRanges, equalLengthRuns, StreamBuffer, type SequencedRequest } from '../src/chains/request-stream.ts';
import type { ActiveKey } from '../src/round/keys.ts';
import type { ChainRequest } from '../src/round/types.ts';
import { ArithmeticModel } from './fixtures.ts';
import { TEST_DOMAIN } from './helpers.ts';

const destination = evmDestination(31337n, new Uint8Array(20).fill(0xaa));
const stream = requestStream(destination);

function req(seq: number, block: bigint, input = new Uint8Array([seq % 250, 1])): SequencedRequest {
  const requestId = new Uint8Array(32);
  new DataView(requestId.buffer).setUint32(28, seq + 1);
  return { source: 'ethereum:31337', requestId, model: 'arith', input, timestamp: 1_700_000_000 + Number(block), destination, seq, block };
}

describe('cut rule', () => {
  it('one range per block, split every maxRangeSize from the block start', () => {
    const rs = [req(0, 5n), req(1, 5n), req(2, 5n), req(3, 7n), req(4, 8n), req(5, 8n)];
    expect(cutRanges(rs, 10).map((r) => [r.start, r.requests.length])).toEqual([[0, 3], [3, 1], [4, 2]]);
    expect(cutRanges(rs, 2).map((r) => [r.start, r.requests.length])).toEqual([[0, 2], [2, 1], [3, 1], [4, 2]]);
    expect(() => cutRanges([req(0, 5n), req(2, 5n)], 10)).toThrow(/follows/);
    expect(() => cutRanges([req(0, 5n)], 0)).toThrow(/maxRangeSize/);
  });

  it('splits by report length into runs', () => {
    expect(equalLengthRuns([230, 230, 222, 230, 230, 230])).toEqual([{ offset: 0, count: 2, length: 230 }, { offset: 2, count: 1, length: 222 }, { offset: 3, count: 3, length: 230 }]);
  });

  it('a buffer hands out only complete spans and names what is missing', () => {
    const b = new StreamBuffer(3);
    b.add(req(1, 1n)); // already cut: ignored
    b.add(req(3, 2n));
    b.add(req(5, 2n));
    expect(b.take(6)).toEqual({ missing: [4] });
    b.add(req(4, 2n));
    const got = b.take(6);
    expect('ready' in got && got.ready.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(b.next).toBe(6);
  });
});

/** An in-memory chain: requests in blocks, and what a reader of it answers. */
class Chain {
  readonly requests: SequencedRequest[] = [];
  head = 0n;
  /** requestsIn reads are counted (gap recovery). */
  rereads = 0;
  mine(count: number, input?: (seq: number) => Uint8Array): SequencedRequest[] {
    this.head++;
    const out: SequencedRequest[] = [];
    for (let i = 0; i < count; i++) {
      const r = req(this.requests.length, this.head);
      if (input) r.input = input(r.seq);
      this.requests.push(r);
      out.push(r);
    }
    return out;
  }
  reader = {
    nextSeqAfter: async (block: bigint) => this.requests.filter((r) => r.block <= block).length,
    requestsIn: async (from: bigint, to: bigint) => {
      this.rereads++;
      return this.requests.filter((r) => r.block >= from && r.block <= to);
    },
  };
}

class Committer implements RangeCommitter {
  commits: { start: number; count: number; reports: Uint8Array[]; epoch?: number }[] = [];
  private waiting = new Map<string, (r: unknown) => void>();
  guardNext = 0;
  async commitRange(s: Uint8Array, start: number, reports: Uint8Array, reportLength: number, epoch?: number): Promise<Uint8Array> {
    expect(toHex(s)).toBe(toHex(stream));
    if (start < this.guardNext) throw new Error(`guard: committed up to ${this.guardNext}`);
    const count = reports.length / reportLength;
    this.guardNext = start + count;
    this.commits.push({ start, count, reports: Array.from({ length: count }, (_, i) => reports.slice(i * reportLength, (i + 1) * reportLength)), ...(epoch !== undefined ? { epoch } : {}) });
    return new Uint8Array(32);
  }
  onCertified(id: Uint8Array | string, cb: (r: unknown) => void): () => void {
    const key = typeof id === 'string' ? id : toHex(id);
    this.waiting.set(key, cb);
    return () => this.waiting.delete(key);
  }
  certify(start: number, count: number): void {
    this.waiting.get(toHex(rangeId(stream, start, count)))?.({ start, count });
  }
  nextSeq(): number {
    return this.guardNext;
  }
}

function setup(o: { index?: number; certifyTimeoutMs?: number; maxRangeSize?: number; committer?: Committer; chain?: Chain } = {}) {
  const chain = o.chain ?? new Chain();
  const committer = o.committer ?? new Committer();
  const fallback: ChainRequest[] = [];
  const sent: { peer: string; protocol: string; data: Uint8Array }[] = [];
  const key = { epoch: 2, index: o.index ?? 1, n: 4, t: 3 } as ActiveKey;
  const s = new ChainRequestStream({
    stream,
    reader: chain.reader,
    ranges: committer,
    inference: new ArithmeticModel(),
    domain: TEST_DOMAIN,
    activeKey: () => key,
    host: { sendDirect: async (peer, protocol, data) => void sent.push({ peer, protocol, data }), peersWithRole: () => [{ peerId: 'agg-1' }] },
    fallback: (r) => void fallback.push(r),
    maxRangeSize: o.maxRangeSize ?? 100,
    certifyTimeoutMs: o.certifyTimeoutMs ?? 60_000,
    log: pino({ level: process.env.DEBUG_STREAM ? 'debug' : 'silent' }),
  });
  const deliver = async (rs: SequencedRequest[], block: bigint) => {
    for (const r of rs) s.add(r);
    await s.synced(block);
  };
  return { chain, committer, fallback, sent, s, deliver };
}

describe('ChainRequestStream', () => {
  it('commits one range per block in sequence order, reports built like the round path, bytes sent by carriers', async () => {
    const { chain, committer, sent, s, deliver } = setup();
    await deliver(chain.mine(3), 1n);
    await deliver([], 2n); // an empty block: nothing
    await deliver(chain.mine(2), 3n);
    expect(committer.commits.map((c) => [c.start, c.count, c.epoch])).toEqual([[0, 3, 2], [3, 2, 2]]);
    const r = decodeReport(committer.commits[0]!.reports[1]!);
    expect(r).toMatchObject({ epoch: 2n, round: 0n, timestamp: 1_700_000_001n, status: ReportStatus.Ok });
    expect(toHex(r.id)).toBe(toHex(chain.requests[1]!.requestId));
    expect(sent.map((x) => x.protocol)).toEqual([PROTOCOL_RANGE_REPORTS, PROTOCOL_RANGE_REPORTS]);
    expect(decodeRangeReports(sent[1]!.data)).toMatchObject({ epoch: 2, index: 1, start: 3 });
    expect(s.stats).toMatchObject({ ranges: 2, requests: 5, gapsRecovered: 0 });
    // member 3 of a 3-of-4 committee does not carry bytes (members 1..2 do)
    const other = setup({ index: 3, chain });
    await other.deliver(chain.requests, 3n);
    expect(other.committer.commits).toHaveLength(2);
    expect(other.sent).toHaveLength(0);
  });

  it('recovers a request the watcher dropped by reading the blocks again, including the last of a block', async () => {
    const { chain, committer, s, deliver } = setup();
    const b1 = chain.mine(4);
    await deliver([b1[0]!, b1[1]!, b1[3]!], 1n); // seq 2 dropped mid-block
    expect(committer.commits.map((c) => [c.start, c.count])).toEqual([[0, 4]]);
    const b2 = chain.mine(3);
    await deliver([b2[0]!, b2[1]!], 2n); // the last of the block dropped: only the chain's counter shows it
    expect(committer.commits.map((c) => [c.start, c.count])).toEqual([[0, 4], [4, 3]]);
    expect(s.stats.gapsRecovered).toBe(2);
    expect(chain.rereads).toBe(2);
  });

  it('waits while a gap cannot be re-read, then cuts once it can', async () => {
    const { chain, committer, s, deliver } = setup();
    const b1 = chain.mine(2);
    const reads = chain.reader.requestsIn;
    chain.reader.requestsIn = async () => []; // an RPC that keeps missing it
    await deliver([b1[0]!], 1n);
    expect(committer.commits).toHaveLength(0);
    expect(s.stats.gapsOpen).toBe(1);
    chain.reader.requestsIn = reads;
    await deliver(chain.mine(1), 2n);
    expect(committer.commits.map((c) => [c.start, c.count])).toEqual([[0, 2], [2, 1]]);
  });

  it('retries an open gap on a timer when no new block comes (the last block of a burst)', async () => {
    const { chain, committer, s, deliver } = setup();
    const b1 = chain.mine(3);
    const reads = chain.reader.requestsIn;
    let misses = 2;
    chain.reader.requestsIn = async (from, to) => (misses-- > 0 ? [] : reads(from, to)); // the RPC misses it twice
    await deliver([b1[0]!], 1n);
    expect(committer.commits).toHaveLength(0);
    // No further block: the stream retries by itself (gapRetryMs, 1 s by default).
    const until = Date.now() + 5000;
    while (committer.commits.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(committer.commits.map((c) => [c.start, c.count])).toEqual([[0, 3]]);
    expect(s.stats).toMatchObject({ gapsOpen: 2, gapsRecovered: 1 });
    s.stop();
  }, 10_000);

  it('after a restart mid-block: starts at the block boundary and leaves ranges committed before the restart alone', async () => {
    const chain = new Chain();
    const first = setup({ chain });
    await first.deliver(chain.mine(3), 1n);
    const b2 = chain.mine(4);
    // restarted: the guard says 3 were committed; the watcher resumes inside block 2 (after seq 4)
    const committer = new Committer();
    committer.guardNext = 3;
    const again = setup({ chain, committer });
    await again.deliver([b2[2]!, b2[3]!], 2n);
    expect(committer.commits.map((c) => [c.start, c.count])).toEqual([[3, 4]]);
  });

  it('answers requests the committee refuses with failure reports, splitting the range by report length', async () => {
    const { chain, committer, deliver, fallback: fb } = setup();
    const { ARITH_MODEL_HASH } = await import('./fixtures.ts');
    const rs = chain.mine(6, (seq) => (seq === 2 || seq === 4 ? new Uint8Array(0) : new Uint8Array([seq, 7])));
    for (const r of rs) r.modelHash = ARITH_MODEL_HASH; // as the router's event names it
    rs[1]!.model = 'no-such-model';
    rs[1]!.modelHash = new Uint8Array(32).fill(9);
    delete rs[4]!.modelHash; // a source without the chain's model hash: refused, not signable
    const { fallback } = await deliverWith(rs);
    expect(committer.commits.map((c) => [c.start, c.count])).toEqual([[0, 1], [1, 2], [3, 1], [5, 1]]);
    const failures = committer.commits[1]!.reports.map((b) => decodeReport(b));
    expect(failures.map((f) => f.status)).toEqual([ReportStatus.UnknownModel, ReportStatus.InputLength]);
    expect(toHex(failures[0]!.modelHash)).toBe(toHex(new Uint8Array(32).fill(9)));
    expect(toHex(failures[1]!.modelHash)).toBe(toHex(ARITH_MODEL_HASH));
    expect(fallback.map((r) => toHex(r.requestId))).toEqual([toHex(rs[4]!.requestId)]);

    async function deliverWith(x: SequencedRequest[]) {
      await deliver(x, 1n);
      return { fallback: fb };
    }
  });

  it('hands a range that is not certified in time to the round path; a certified one is left alone', async () => {
    const { chain, committer, fallback, s, deliver } = setup({ certifyTimeoutMs: 200 });
    await deliver(chain.mine(2), 1n);
    await deliver(chain.mine(3), 2n);
    committer.certify(0, 2);
    await new Promise((r) => setTimeout(r, 400));
    expect(fallback.map((r) => toHex(r.requestId))).toEqual(chain.requests.slice(2).map((r) => toHex(r.requestId)));
    expect(s.stats).toMatchObject({ certifiedRanges: 1, certifiedRequests: 2, fallbackRequests: 3 });
    s.stop();
  });
});

describe('ChainRequestStream with the ONNX engine', () => {
  it('the batch path (one inferBatch, batch Keccak, template encoding) commits the same bytes as the row-by-row path', async () => {
    const { createInferenceEngine } = await import('../src/inference/index.ts');
    const engine = await createInferenceEngine({ models: ['liquidation-risk'], maxBatch: 1024, batchWindowMs: 0.5 });
    try {
      const { loadModels } = await import('@destra/models');
      const features = loadModels(undefined, ['liquidation-risk'])[0]!.manifest.inputs.flatMap((i) => i.features);
      const input = (v: number) => engine.encodeInput('liquidation-risk', features.map((f, j) => f.min + (f.max - f.min) * (((v + 1) * 0.618 + j * 0.414) % 1)));
      const run = async (inference: typeof engine | Omit<typeof engine, 'inferBatch'>) => {
        const chain = new Chain();
        const committer = new Committer();
        const rs = chain.mine(40, input);
        for (const r of rs) {
          r.model = 'liquidation-risk';
          r.modelHash = engine.modelHash('liquidation-risk');
        }
        const s = new ChainRequestStream({
          stream, reader: chain.reader, ranges: committer, inference: inference as never, domain: TEST_DOMAIN, activeKey: () => ({ epoch: 1, index: 1, n: 4, t: 3 }) as ActiveKey,
          host: { sendDirect: async () => undefined, peersWithRole: () => [] }, fallback: () => undefined, log: pino({ level: 'silent' }),
        });
        for (const r of rs) s.add(r);
        await s.synced(1n);
        return committer.commits;
      };
      let batches = 0;
      const counting = Object.assign(Object.create(engine) as typeof engine, { inferBatch: (m: string, rows: Uint8Array) => (batches++, engine.inferBatch(m, rows)) });
      const fast = await run(counting);
      expect(batches).toBe(1);
      const rowByRow = await run({ validate: (m: string, i: Uint8Array) => engine.validate(m, i), infer: (m: string, i: Uint8Array) => engine.infer(m, i), modelHash: (m: string) => engine.modelHash(m) } as never);
      expect(fast).toHaveLength(1);
      expect(fast[0]!.count).toBe(40);
      expect(fast[0]!.reports.map((r) => toHex(r))).toEqual(rowByRow[0]!.reports.map((r) => toHex(r)));
    } finally {
      await engine.close();
    }
  }, 60_000);
});
