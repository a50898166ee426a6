// Results: Combined broadcasts from aggregators, verified under the group key of the epoch they name
// (so results of the previous epoch still land after a handover), stored with their Merkle proofs, and
// handed to whoever waits for them.
import { buildMerkleTree, decodeReport, merkleProof, reportLeaf, rootSigningMessage } from '@destra/protocol';
import { RoundError } from '../errors.ts';
import type { PeerInfo } from '../p2p/host.ts';
import type { StoredReport } from '../store/store.ts';
import { CombinedCodec, type Combined } from '../wire.ts';
import { KIND_NAME, eq, roundKey, type RoundContext } from './context.ts';
import { verifyGroupSignature } from './keys.ts';

/**
 * Combined results nobody here waits for are verified in batches, this long after the first arrives: one
 * multi-message check over a few rounds instead of a pairing check per round, and out of the way of the
 * rounds in progress (at 100 ms it landed in the middle of the next on-demand round on every member).
 */
const COMBINED_BATCH_MS = 400;

export class ResultHandler {
  /** Combined results waiting for the batched check, with their arrival time (round latency). */
  private queue: { msg: Combined; from: PeerInfo; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly c: RoundContext) {}

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  onCombinedFrame(data: Uint8Array, from: PeerInfo): void {
    if (from.role !== 'aggregator') return this.c.reject(from, 'role', 'Combined results are accepted from aggregators only');
    let msg: Combined;
    try {
      msg = CombinedCodec.decode(data);
    } catch (err) {
      return this.c.reject(from, 'malformed', (err as Error).message);
    }
    // A result someone here waits for (the leader's HTTP caller) is checked and delivered at once. The
    // others only update local state, so they are checked a little later in one multi-message batch,
    // off the critical path of the rounds in progress.
    const awaited = msg.entries.some((e) => this.c.waiters.waitingFor(e.requestId));
    if (!awaited) {
      this.queue.push({ msg, from, at: Date.now() });
      this.timer ??= setTimeout(() => this.flush(), COMBINED_BATCH_MS);
      return;
    }
    try {
      this.acceptCombined(msg);
    } catch (err) {
      this.c.reject(from, 'combined-invalid', (err as Error).message);
    }
  }

  /** Verifies the queued Combined results together (one multi-message check per epoch), then stores each one that verified. */
  private flush(): void {
    this.timer = undefined;
    const queue = this.queue;
    this.queue = [];
    // Without any key (DKG not finished) nothing can be checked: dropped quietly, as nothing waits for it.
    if (this.c.stopped || !this.c.activeKey()) return;
    const byEpoch = new Map<number, number[]>();
    queue.forEach(({ msg }, i) => byEpoch.set(msg.epoch, [...(byEpoch.get(msg.epoch) ?? []), i]));
    const ok: (boolean | undefined)[] = new Array(queue.length).fill(undefined);
    for (const [epoch, idx] of byEpoch) {
      const k = this.c.keyFor(epoch);
      if (!k) continue; // left undefined: refused below as of an epoch without a key here
      const res = k.groupVerifier.verifyMany(idx.map((i) => ({ msg: rootSigningMessage(queue[i]!.msg.root), partial: { index: 1, signature: queue[i]!.msg.signature } })));
      idx.forEach((i, j) => (ok[i] = res[j] ?? false));
    }
    queue.forEach(({ msg, from, at }, i) => {
      try {
        if (ok[i] === undefined) throw this.epochError(msg.epoch);
        if (!ok[i]) throw new RoundError('SIGNATURE', `Combined signature does not verify under the group key of epoch ${msg.epoch}`);
        this.acceptCombined(msg, true, at);
      } catch (err) {
        this.c.reject(from, 'combined-invalid', (err as Error).message);
      }
    });
  }

  private epochError(epoch: number): RoundError {
    return new RoundError('EPOCH', `Combined for epoch ${epoch}: this node holds no key of that epoch (active epoch ${this.c.activeKey()?.epoch ?? 'none'})`);
  }

  /**
   * Verifies a Combined result against the group key of the epoch it names (unless the caller just did)
   * and stores every report in it.
   */
  acceptCombined(msg: Combined, signatureVerified = false, receivedAt = Date.now()): void {
    const { o, lastSent, waiters } = this.c;
    const k = this.c.keyFor(msg.epoch);
    if (!k) throw this.epochError(msg.epoch);
    const leaves = msg.entries.map((e) => reportLeaf(e.report));
    const tree = buildMerkleTree(leaves);
    if (!eq(tree.root, msg.root)) throw new RoundError('ROOT', 'Combined root does not match its reports');
    if (!signatureVerified && !verifyGroupSignature(k, rootSigningMessage(msg.root), msg.signature)) {
      throw new RoundError('SIGNATURE', `Combined signature does not verify under the group key of epoch ${msg.epoch}`);
    }
    const now = receivedAt; // round latency ends when the result arrived, not when a batched check ran
    const resolved: [string, StoredReport][] = [];
    o.store.batch(() =>
      msg.entries.forEach((e, i) => {
        const rep = decodeReport(e.report);
        if (!eq(rep.id, e.requestId)) throw new RoundError('ENTRY', `entry ${i} request id differs from its report id`);
        const round = Number(rep.round);
        const req = o.store.getRequest(e.requestId, round);
        const latencyMs = req ? now - req.receivedAt : null;
        const stored: StoredReport = {
          requestId: e.requestId,
          round,
          epoch: msg.epoch,
          report: e.report,
          root: msg.root,
          signature: msg.signature,
          proof: msg.entries.length === 1 ? [] : merkleProof(tree, i),
          signers: msg.signers,
          invalid: msg.invalid,
          conflicting: msg.conflicting,
          latencyMs,
          combinedAt: now,
        };
        o.store.saveReport(stored);
        if (req && req.status !== 'done') {
          o.store.setRequestStatus(e.requestId, round, 'done');
          lastSent.delete(roundKey(e.requestId, round));
          const kind = KIND_NAME[req.kind] ?? 'unknown';
          o.metrics.rounds.inc({ kind, outcome: 'combined' });
          if (latencyMs !== null) o.metrics.roundLatency.observe({ kind }, latencyMs / 1000);
        }
        resolved.push([roundKey(e.requestId, round), stored]);
      }),
    );
    for (const [k, stored] of resolved) waiters.resolve(k, stored);
  }
}
