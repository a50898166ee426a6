// The block trees this node scored, kept (bounded) to serve any transaction's score with its proof. A
// block signed again under a newer epoch after a handover can end up certified twice (both epochs reached
// t); BlockScores keeps the first root that lands, so every certified tree is kept and the one whose root
// the chain holds is served.
import { toHex } from '@destra/protocol';
import { withProof, type FeedBatch, type ScoredBlock } from './batches.ts';
import type { Certificate } from './committer.ts';

export interface KeptBlock {
  feed: { id: string; name: string };
  block: ScoredBlock;
  /** The tree signed most recently (what a re-sign after a handover replaces). */
  batch: FeedBatch;
  /** Certified trees by root. */
  certified: Map<string, { batch: FeedBatch; cert: Certificate }>;
}

/** GET /v1/feeds/blocks/:number/tx/:hash answers this. */
export interface TxScoreProof {
  feed: { id: string; name: string };
  block: string;
  blockHash: string;
  txHash: string;
  txIndex: number;
  /** The transaction's feature row (canonical input bytes). */
  input: string;
  report: string;
  proof: string[];
  root: string;
  epoch: number;
  /** The committee's signature over the root, once certified (null before). */
  signature: string | null;
  signers: number[];
  score: string[];
}

export class ScoredBlocks {
  private readonly kept = new Map<string, KeptBlock>();

  constructor(private readonly max = 256) {}

  add(feed: { id: string; name: string }, block: ScoredBlock, batch: FeedBatch): void {
    this.kept.set(`${feed.id}:${block.number}`, { feed, block, batch, certified: new Map() });
    while (this.kept.size > this.max) this.kept.delete(this.kept.keys().next().value!);
  }

  /** The kept block whose current or certified tree has this stream. */
  byStream(stream: Uint8Array): KeptBlock | undefined {
    const s = toHex(stream);
    for (const k of this.kept.values()) if (toHex(k.batch.stream) === s) return k;
    return undefined;
  }

  /** Kept blocks whose current tree is `batch` and that have no certified tree yet (re-sign candidates). */
  uncertified(batch: FeedBatch): KeptBlock | undefined {
    for (const k of this.kept.values()) if (k.batch === batch && k.certified.size === 0) return k;
    return undefined;
  }

  /** Records a certificate for one of the block's trees. True when the batch is a kept block's. */
  certify(batch: FeedBatch, cert: Certificate): boolean {
    const k = this.byStream(batch.stream);
    if (!k) return false;
    k.certified.set(toHex(batch.tree.root), { batch, cert });
    return true;
  }

  /** The block of `feed` (name or id; any block feed when absent) holding the transaction, if kept. */
  find(block: bigint, txHash: string, feed?: string): { kept: KeptBlock; index: number } | undefined {
    const want = txHash.toLowerCase();
    for (const k of this.kept.values()) {
      if (k.block.number !== block) continue;
      if (feed !== undefined && feed !== k.feed.name && feed.toLowerCase() !== k.feed.id) continue;
      const index = k.block.txHashes.findIndex((h) => toHex(h).toLowerCase() === want);
      if (index >= 0) return { kept: k, index };
    }
    return undefined;
  }

  /**
   * Transaction `index` of a kept block with its proof: from the certified tree whose root the chain holds
   * (`chainRoot`), else any certified tree, else the tree signed (not certified yet).
   */
  proof(k: KeptBlock, index: number, chainRoot?: string): TxScoreProof {
    const certified = [...k.certified.values()];
    const pick = certified.find((c) => chainRoot !== undefined && toHex(c.batch.tree.root).toLowerCase() === chainRoot.toLowerCase()) ?? certified[0];
    const batch = pick?.batch ?? k.batch;
    const { report, proof } = withProof(batch, index);
    return {
      feed: k.feed, block: k.block.number.toString(), blockHash: toHex(k.block.hash), txHash: toHex(k.block.txHashes[index]!), txIndex: index,
      input: toHex(k.block.rows[index]!), report: toHex(report), proof: proof.map(toHex), root: toHex(batch.tree.root), epoch: pick?.cert.epoch ?? batch.epoch,
      signature: pick ? toHex(pick.cert.signature) : null, signers: pick?.cert.signers ?? [], score: k.block.outputs[index]!.map(String),
    };
  }
}
