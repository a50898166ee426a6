// The HTTP API under a hostile client, on a one-member committee with no aggregator (so rounds time out):
// a timed-out round names its request id, oversized arrays are refused after one cheap pass, and
// thousands of half-sent connections neither exhaust the node nor keep /health from answering.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type OracleNode } from '../src/node.ts';
import { MAX_INFER_BODY_BYTES, precheckInferBody } from '../src/api/server.ts';
import { ArithmeticModel, PASSWORD, makeCommittee } from './fixtures.ts';
import { captureLog } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-limits-'));
let node: OracleNode;

beforeAll(async () => {
  process.env.DESTRA_TEST_PASSWORD = PASSWORD;
  const fx = await makeCommittee(dir, 1, 1);
  const cfg = fx.configs[0]!;
  node = await startNode(
    { ...cfg, rounds: { maxSkewSeconds: 30, timeoutMs: 300 }, api: { host: '127.0.0.1', port: 0, maxConnections: 64, headersTimeoutMs: 1000, requestTimeoutMs: 2000 } },
    { inference: new ArithmeticModel(), log: captureLog('warn').log },
  );
  await node.ready();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (body: string) => fetch(`${node.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('HTTP API limits', () => {
  it('a 504 carries the request id, and the round is on record under it', async () => {
    const res = await post(JSON.stringify({ model: 'arith', input: '0x0102' }));
    expect(res.status).toBe(504);
    const body = (await res.json()) as { error: string; message: string; requestId: string };
    expect(body.error).toBe('TIMEOUT');
    expect(body.requestId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(body.message).toContain(`/v1/reports/${body.requestId}`);
    const rounds = (await (await fetch(`${node.url}/v1/rounds?limit=5`)).json()) as { requestId: string }[];
    expect(rounds.map((r) => r.requestId)).toContain(body.requestId);
  });

  it('refuses a huge array of wrong elements after one pass that stops at the first one', async () => {
    // ~2 MiB of strings: under the body limit, so it reaches the pre-check (not the 413).
    const n = Math.floor((MAX_INFER_BODY_BYTES - 100) / 4);
    const body = `{"model":"arith","input":[${Array.from({ length: n }, () => '"a"').join(',')}]}`;
    expect(body.length).toBeLessThan(MAX_INFER_BODY_BYTES);
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe("field 'input.0': expected a finite number, got string");
    expect(precheckInferBody({ model: 'x', input: [1, 2, 'x'] })).toMatch(/input\.2/);
    expect(precheckInferBody({ model: 'x', input: new Array(2 * 1024 * 1024).fill(0) })).toMatch(/1\.\.\d+ values/);
    expect(precheckInferBody([1])).toMatch(/JSON object/);
    expect(precheckInferBody({ model: 'x', input: [1, 2] })).toBeUndefined();
    const tooBig = await post(`{"model":"arith","input":"0x${'00'.repeat(MAX_INFER_BODY_BYTES / 2)}"}`);
    expect(tooBig.status).toBe(413);
  });

  it('keeps /health answering while far more half-sent connections than its cap are open, and times them out', async () => {
    const port = node.api.port;
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    // 4x the cap of 64: each holds a connection with headers never finished (slowloris).
    for (let i = 0; i < 256; i++) {
      const s = connect(port, '127.0.0.1');
      const idx = sockets.length;
      closed.push(false);
      s.on('error', () => undefined);
      s.resume(); // read the 408 the server answers with, so its close reaches us
      s.on('close', () => (closed[idx] = true));
      s.on('connect', () => s.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(3000) });
      // Answered (503 'degraded' here only because this test runs no aggregator: no relay path).
      expect(((await res.json()) as { hasKeyShare: boolean }).hasKeyShare).toBe(true);
    }
    const stats = node.api.connections();
    expect(stats.open).toBeLessThanOrEqual(64);
    expect(stats.evicted).toBeGreaterThanOrEqual(256 - 64);
    // The header timeout (1 s) closes whatever is left of them.
    await new Promise((r) => setTimeout(r, 3000));
    expect(closed.filter((c) => !c).length).toBe(0);
    for (const s of sockets) s.destroy();
  }, 20_000);
});
