// State and helpers the round engine's parts share: the options, which key / member index applies to an
// epoch, rounds in flight, re-send bookkeeping and the callers waiting for a result.
import { toHex } from '@destra/protocol';
import { RoundError } from '../errors.ts';
import type { PeerInfo } from '../p2p/host.ts';
import type { StoredReport } from '../store/store.ts';
import type { ActiveKey } from './keys.ts';
import type { RoundEngineOptions } from './types.ts';

/** The map key of a (request id, round). */
export const roundKey = (id: Uint8Array, round: number): string => `${toHex(id)}:${round}`;
export const KIND_NAME: Record<number, string> = { 1: 'request', 2: 'feed', 3: 'on-demand' };
export const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Callers (the leader's HTTP requests) waiting for the threshold signature of a (request id, round). */
export class Waiters {
  private readonly map = new Map<string, { resolve: (r: StoredReport) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly timeoutMs: number) {}

  wait(requestId: Uint8Array, round: number): Promise<StoredReport> {
    return new Promise((resolve, reject) => {
      const k = roundKey(requestId, round);
      const timer = setTimeout(() => {
        this.map.delete(k);
        reject(
          new RoundError('TIMEOUT', `no threshold signature within ${this.timeoutMs} ms; the round may still complete: fetch GET /v1/reports/${toHex(requestId)} later`, 504, {
            requestId: toHex(requestId),
          }),
        );
      }, this.timeoutMs);
      this.map.set(k, { resolve, reject, timer });
    });
  }

  /** True if someone waits for any round of this request id. */
  waitingFor(requestId: Uint8Array): boolean {
    const prefix = `${toHex(requestId)}:`;
    for (const k of this.map.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  resolve(k: string, report: StoredReport): void {
    const w = this.map.get(k);
    if (!w) return;
    clearTimeout(w.timer);
    this.map.delete(k);
    w.resolve(report);
  }

  reject(k: string, err: Error): void {
    const w = this.map.get(k);
    if (!w) return;
    clearTimeout(w.timer);
    this.map.delete(k);
    w.reject(err);
  }

  rejectAll(err: Error): void {
    for (const k of [...this.map.keys()]) this.reject(k, err);
  }
}

export class RoundContext {
  /** When each unfinished (request id, round) was last sent, and how often (re-send backoff). */
  readonly lastSent = new Map<string, { at: number; attempts: number }>();
  readonly inflight = new Map<string, Promise<void>>();
  readonly waiters: Waiters;
  stopped = false;

  constructor(readonly o: RoundEngineOptions) {
    this.waiters = new Waiters(o.timeoutMs);
  }

  activeKey(): ActiveKey | undefined {
    return this.o.activeKey();
  }

  requireKey(): ActiveKey {
    const k = this.o.activeKey();
    if (!k) throw new RoundError('NO_KEY_SHARE', 'this node has no key share yet (DKG not finished); retry shortly', 503);
    return k;
  }

  /** The key this node holds for `epoch` (keyForEpoch, else the active key when it is that epoch's). */
  keyFor(epoch: number): ActiveKey | undefined {
    const k = this.o.keyForEpoch?.(epoch);
    if (k && k.epoch === epoch) return k;
    const active = this.o.activeKey();
    return active && active.epoch === epoch ? active : undefined;
  }

  /** The member index of peer `from` in `epoch`'s committee, or undefined when it is not a member. */
  memberIndexOf(epoch: number, from: PeerInfo): number | undefined {
    if (from.role !== 'member') return undefined;
    return this.o.memberIndexOf ? this.o.memberIndexOf(epoch, from) : from.index;
  }

  /**
   * This node's member index in `epoch`: the index of its key share for that epoch (also from the
   * stored share metadata once the key is gone), the configured index as the last resort.
   */
  ownIndex(epoch: number): number {
    return this.keyFor(epoch)?.index ?? this.o.store.keyShare(epoch)?.memberIndex ?? this.o.index;
  }

  reject(from: PeerInfo, reason: string, detail: string): void {
    this.o.metrics.rejected.inc({ reason });
    this.o.log.warn({ from, reason, detail }, 'message rejected');
  }
}
