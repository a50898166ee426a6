// The oracle program's request stream for range signing (docs/solana.md "Request stream"): requests carry
// `seq` (the config's request_seq when made) and their slot. A slot is a range's "block": the position
// after a slot is the first sequence number created in a later slot, found by binary search over the
// request accounts by number (created slots grow with the number; an account's slot never changes, so
// probes are cached). Requests are read back by number whatever their status.
import type { InferenceRequestAccount, OracleClient } from '@destra/adapter-solana';
import type { StreamChainReader } from './chain-stream.ts';
import type { SequencedRequest } from './request-stream.ts';

export interface SolanaStreamOptions {
  client: OracleClient;
  /** The request as a sequenced chain request (timestamp from the slot time). */
  toRequest(r: InferenceRequestAccount): Promise<SequencedRequest>;
}

export function solanaStreamReader(o: SolanaStreamOptions): StreamChainReader & { slotOf(seq: number): Promise<bigint> } {
  const slots = new Map<number, bigint>();
  const slotOf = async (seq: number): Promise<bigint> => {
    const hit = slots.get(seq);
    if (hit !== undefined) return hit;
    const r = await o.client.requestBySeq(BigInt(seq));
    if (!r) throw new Error(`request ${seq} of the stream is not readable yet`);
    if (slots.size >= 65_536) slots.delete(slots.keys().next().value!);
    slots.set(seq, r.createdSlot);
    return r.createdSlot;
  };
  const nextSeqAfter = async (slot: bigint): Promise<number> => {
    const cfg = await o.client.fetchConfig();
    if (!cfg) return 0;
    let lo = 0;
    let hi = Number(cfg.requestSeq);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await slotOf(mid)) > slot) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  return {
    slotOf,
    nextSeqAfter,
    async requestsIn(from, to) {
      const lo = await nextSeqAfter(from - 1n);
      const hi = await nextSeqAfter(to);
      const out: SequencedRequest[] = [];
      for (let seq = lo; seq < hi; seq++) {
        const r = await o.client.requestBySeq(BigInt(seq));
        if (r) out.push(await o.toRequest(r));
      }
      return out;
    },
  };
}
