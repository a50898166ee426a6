// The member side of batched signing (runs inside a committee node): remember the leaves of reports this
// member computed, announce them to the aggregators, and sign a proposed batch root only when every leaf
// is one of them. One root signature per batch instead of one per report.
import { signingMessage, SigningPurpose, signPartial, type KeyShare, type MerkleTree } from '@destra/protocol';
/** latin1 is a 1:1 byte↔char mapping: a cheap exact map key for 32-byte leaves. */
const leafKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
import { decodeWire, encodeWire, PROTOCOL_PARTIAL, type BatchProposal, type RangeCertificate } from '../wire.ts';
import { MAX_ANNOUNCE_ENTRIES, PROTOCOL_ANNOUNCE, ReportAnnouncementCodec } from '../net/announce.ts';

export interface MemberHost {
  sendDirect(peerId: string, protocol: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: { role: string; index: number; peerId: string }) => void): void;
}

/** Frames on the batches topic from aggregators, decoded; malformed ones are reported, not thrown. */
export function subscribeBatches(
  host: MemberHost,
  topic: string,
  onMessage: (msg: BatchProposal | RangeCertificate, from: { peerId: string }) => void,
  onMalformed: (reason: string) => void,
): void {
  host.subscribe(topic, (data, from) => {
    if (from.role !== 'aggregator') return;
    let msg;
    try {
      msg = decodeWire(data, ['batch-proposal', 'range-certificate']) as BatchProposal | RangeCertificate;
    } catch (err) {
      return onMalformed((err as Error).message);
    }
    onMessage(msg, from);
  });
}

export interface ComputedReport {
  requestId: Uint8Array;
  report: Uint8Array;
  leaf: Uint8Array;
}

export interface BatchMemberOptions {
  host: MemberHost;
  share: KeyShare;
  epoch: number;
  n: number;
  t: number;
  /** libp2p peer ids of the aggregators to announce to and answer. */
  aggregators: () => string[];
  batchesTopic: string;
  buildTree: (leaves: readonly Uint8Array[]) => MerkleTree;
  /** How long a computed leaf stays signable. */
  ttlMs?: number;
  /** Entries per announcement frame (≤ MAX_ANNOUNCE_ENTRIES); small frames stay within one yamux window. */
  frameEntries?: number;
  onRefused?: (batchId: number, reason: string) => void;
}

export class BatchMember {
  private known = new Map<string, number>();
  private readonly carriesReports: boolean;
  readonly stats = { announced: 0, signedBatches: 0, refusedBatches: 0 };

  constructor(private readonly opts: BatchMemberOptions) {
    // Members 1..n−t+1 carry report bytes: any t announcers include at least one of them, so the
    // aggregator always has the bytes to relay while most members send only 64 bytes per report.
    this.carriesReports = opts.share.index <= opts.n - opts.t + 1;
    subscribeBatches(
      opts.host,
      opts.batchesTopic,
      (msg, from) => {
        if (msg.type === 'batch-proposal') void this.answer(msg, from.peerId); // certificates are RangeMember's
      },
      (reason) => opts.onRefused?.(-1, `malformed proposal: ${reason}`),
    );
  }

  /** Records computed reports and announces them (in frames of at most MAX_ANNOUNCE_ENTRIES). */
  async announce(reports: readonly ComputedReport[]): Promise<void> {
    const now = Date.now();
    for (const r of reports) this.known.set(leafKey(r.leaf), now);
    const per = Math.min(MAX_ANNOUNCE_ENTRIES, Math.max(1, this.opts.frameEntries ?? 256));
    for (let i = 0; i < reports.length; i += per) {
      const chunk = reports.slice(i, i + per);
      const frame = ReportAnnouncementCodec.encode({
        type: 'report-announce',
        v: 1,
        epoch: this.opts.epoch,
        index: this.opts.share.index,
        requestIds: chunk.map((r) => r.requestId),
        leaves: chunk.map((r) => r.leaf),
        reports: this.carriesReports ? chunk.map((r) => r.report) : [],
      });
      await Promise.all(this.opts.aggregators().map((peer) => this.opts.host.sendDirect(peer, PROTOCOL_ANNOUNCE, frame)));
      this.stats.announced += chunk.length;
    }
    this.prune(now);
  }

  private async answer(p: BatchProposal, aggregatorPeer: string): Promise<void> {
    if (p.epoch !== this.opts.epoch) return this.refuse(p.batchId, `epoch ${p.epoch} is not ours`);
    for (const leaf of p.leaves) {
      if (!this.known.has(leafKey(leaf))) return this.refuse(p.batchId, 'proposal contains a report this member did not compute');
    }
    const root = this.opts.buildTree(p.leaves).root;
    const signature = signPartial(this.opts.share, signingMessage(SigningPurpose.ReportRoot, root)).signature;
    const frame = encodeWire({ type: 'batch-partial', v: 1, epoch: p.epoch, batchId: p.batchId, index: this.opts.share.index, root, signature });
    await this.opts.host.sendDirect(aggregatorPeer, PROTOCOL_PARTIAL, frame).catch((err) => this.refuse(p.batchId, `could not answer: ${(err as Error).message}`));
    this.stats.signedBatches++;
  }

  private refuse(batchId: number, reason: string): void {
    this.stats.refusedBatches++;
    this.opts.onRefused?.(batchId, reason);
  }

  private prune(now: number): void {
    const ttl = this.opts.ttlMs ?? 60_000;
    for (const [k, at] of this.known) {
      if (now - at < ttl) break;
      this.known.delete(k);
    }
  }
}
