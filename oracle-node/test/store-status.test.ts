// NodeStore rules: a request's status only moves forward, and retention prunes finished work only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeStore } from '../src/store/store.ts';

let dir: string;
let store: NodeStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'destra-store-'));
  store = new NodeStore(join(dir, 'node.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const id = (n: number) => new Uint8Array(32).fill(n);
const add = (n: number, receivedAt = Date.now(), epoch = 1) =>
  store.addRequest({ requestId: id(n), round: 0, source: 'http', kind: 3, epoch, model: 'arith', input: new Uint8Array([n]), timestamp: 1, destination: new Uint8Array(65), leader: 1, receivedAt });
const reserve = (n: number, epoch = 1) => store.reservePartial({ requestId: id(n), round: 0, epoch, digest: new Uint8Array(32).fill(n), report: new Uint8Array(10) });
const status = (n: number) => store.getRequest(id(n), 0)?.status;

describe('request status', () => {
  it('a member outside the first t signers stays done when its own signature is recorded after the result', () => {
    add(1);
    reserve(1);
    expect(store.setRequestStatus(id(1), 0, 'done')).toBe(true);
    store.markSigned(id(1), 0, new Uint8Array(48).fill(1));
    expect(status(1)).toBe('done');
    expect(store.ownPartial(id(1), 0)?.signature).not.toBeNull(); // the signature itself is still kept
    expect(store.setRequestStatus(id(1), 0, 'failed', 'late')).toBe(false);
    expect(status(1)).toBe('done');
    expect(store.unfinishedRequests()).toHaveLength(0);
  });

  it('reopens only a done request (answered in an older epoch, still pending on its chain)', () => {
    add(7);
    expect(store.reopenRequest(id(7), 0)).toBe(false); // pending: nothing to reopen
    expect(store.setRequestStatus(id(7), 0, 'failed', 'x')).toBe(true);
    expect(store.reopenRequest(id(7), 0)).toBe(false); // failed stays failed
    expect(store.setRequestStatus(id(7), 0, 'done')).toBe(true);
    expect(store.reopenRequest(id(7), 0)).toBe(true);
    expect(status(7)).toBe('pending');
    expect(store.unfinishedRequests().map((r) => r.requestId[0])).toContain(7);
  });

  it('moves pending → signed → done, and failed → done, never backwards', () => {
    add(2);
    expect(store.setRequestStatus(id(2), 0, 'signed')).toBe(true);
    expect(store.setRequestStatus(id(2), 0, 'pending')).toBe(false);
    expect(store.setRequestStatus(id(2), 0, 'failed', 'timeout')).toBe(true);
    expect(store.setRequestStatus(id(2), 0, 'signed')).toBe(false);
    expect(store.setRequestStatus(id(2), 0, 'done')).toBe(true);
    expect(store.getRequest(id(2), 0)).toMatchObject({ status: 'done' });
  });
});

describe('retention', () => {
  it('prunes finished requests and reports by age and by count; keeps unfinished work and the signing guard of recent epochs', () => {
    const old = Date.now() - 10 * 86_400_000;
    for (let n = 1; n <= 6; n++) add(n, old + n, n <= 3 ? 1 : 3);
    for (let n = 1; n <= 6; n++) reserve(n, n <= 3 ? 1 : 3);
    store.setRequestStatus(id(1), 0, 'done');
    store.setRequestStatus(id(2), 0, 'failed', 'x');
    store.setRequestStatus(id(4), 0, 'done');
    // 3, 5, 6 stay pending/signed
    store.setRequestStatus(id(5), 0, 'signed');
    const pruned = store.prune({ before: Date.now() + 1000, maxRows: 1000, keepGuardFromEpoch: 2 });
    expect(pruned.requests).toBe(3);
    expect([1, 2, 3, 4, 5, 6].map((n) => status(n))).toEqual([undefined, undefined, 'pending', undefined, 'signed', 'pending']);
    // Guard rows: epoch-1 rows of finished requests go, the unfinished one (3) stays; epoch-3 rows stay.
    expect([1, 2, 3, 4, 5, 6].map((n) => store.ownPartial(id(n), 0) !== undefined)).toEqual([false, false, true, true, true, true]);
  });

  it('caps finished rows at maxRows, oldest first', () => {
    const now = Date.now();
    for (let n = 1; n <= 20; n++) {
      add(n, now - 1000 + n);
      store.setRequestStatus(id(n), 0, 'done');
    }
    add(21, now - 5000); // unfinished and oldest: never pruned
    store.prune({ before: 0, maxRows: 5, keepGuardFromEpoch: 0 });
    expect(store.counts().requests).toBe(6);
    expect([16, 17, 18, 19, 20, 21].every((n) => status(n) !== undefined)).toBe(true);
  });
});
