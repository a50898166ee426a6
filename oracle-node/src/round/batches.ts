// Batch signing (announce mode): an aggregator proposes a batch of leaves; this node signs its root with
// the key of the epoch the batch names, and only when every leaf is a report it computed itself in that
// epoch for that request id.
import { merkleRoot, rootSigningMessage, signPartial, toHex } from '@destra/protocol';
import { RoundError } from '../errors.ts';
import type { PeerInfo } from '../p2p/host.ts';
import { BatchPartialCodec, PROTOCOL_PARTIAL, decodeWire, type BatchProposal, type RangeCertificate } from '../wire.ts';
import type { RoundContext } from './context.ts';

export class BatchSigner {
  constructor(private readonly c: RoundContext) {}

  onBatchFrame(data: Uint8Array, from: PeerInfo): void {
    if (from.role !== 'aggregator') return this.c.reject(from, 'role', 'BatchProposals are accepted from aggregators only');
    let msg: BatchProposal | RangeCertificate;
    try {
      msg = decodeWire(data, ['batch-proposal', 'range-certificate']) as BatchProposal | RangeCertificate;
    } catch (err) {
      return this.c.reject(from, 'malformed', (err as Error).message);
    }
    if (msg.type === 'range-certificate') return; // for range members (aggregator/src/member/range-member.ts)
    void this.signBatch(msg, from).catch((err) => this.c.reject(from, 'batch-refused', (err as Error).message));
  }

  /** Signs a batch root iff every leaf is a report this node computed itself for that request id in the batch's epoch. */
  async signBatch(msg: BatchProposal, from: PeerInfo): Promise<void> {
    const { o } = this.c;
    const k = this.c.keyFor(msg.epoch);
    if (!k) throw new RoundError('EPOCH', `batch for epoch ${msg.epoch}, active epoch ${this.c.activeKey()?.epoch ?? 'none'}: no key of that epoch here`);
    for (let i = 0; i < msg.leaves.length; i++) {
      if (!o.store.hasOwnLeaf(msg.requestIds[i]!, msg.leaves[i]!, msg.epoch)) {
        throw new RoundError('FOREIGN_LEAF', `batch ${msg.batchId} leaf ${i} is not a report this node computed for request ${toHex(msg.requestIds[i]!)} in epoch ${msg.epoch}`);
      }
    }
    const root = merkleRoot(msg.leaves);
    const signature = o.store.recordBatchPartial(msg.epoch, msg.batchId, root, () => signPartial(k.share, rootSigningMessage(root)).signature);
    const frame = BatchPartialCodec.encode({ type: 'batch-partial', v: 1, epoch: msg.epoch, batchId: msg.batchId, index: k.index, root, signature });
    await o.host.sendDirect(from.peerId, PROTOCOL_PARTIAL, frame);
    o.metrics.batchPartials.inc();
  }
}
