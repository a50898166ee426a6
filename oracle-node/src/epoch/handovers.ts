// Handover signing for the epoch manager: the old committee's partial signatures over the handover to the
// next committee (one handover per old epoch and committee, ever: the store's guard), their collection
// and threshold combination, and the re-publishing of both until the chain moves on. The manager decides
// when to sign (the epoch state machine) and checks incoming frames against the chain; this keeps the
// partials and the combined signature.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { PartialVerifier, handoverSigningMessage, signPartial, toHex, type PartialSignature } from '@destra/protocol';
import type { Logger } from 'pino';
import type { DestraHost } from '../p2p/host.ts';
import type { ActiveKey } from '../round/keys.ts';
import type { NodeStore } from '../store/store.ts';
import { HandoverPartialCodec, SignedHandoverCodec, type Topics } from '../wire.ts';

interface HandoverCollection {
  oldEpoch: number;
  handover: Uint8Array;
  partials: Map<number, PartialSignature>;
  own?: Uint8Array;
  combined?: Uint8Array;
  lastPublished: number;
}

export interface HandoverSigningOptions {
  store: Pick<NodeStore, 'getMeta' | 'setMeta'>;
  host: Pick<DestraHost, 'publish'>;
  topics: Pick<Topics, 'epochs'>;
  /** This node's share of an epoch's key, when it holds one. */
  keyFor: (epoch: number) => ActiveKey | undefined;
  log: Logger;
}

/** How often our handover partial and the combined handover are re-sent while they matter. */
const REPUBLISH_MS = 3000;
const hex = (b: Uint8Array): string => toHex(b).toLowerCase();

export class HandoverSigning {
  private readonly collections = new Map<string, HandoverCollection>();
  private readonly verifiers = new Map<number, Promise<PartialVerifier>>();
  /** new epoch → the threshold-signed handover into it (ours or a relayed one), for /v1/epochs. */
  private readonly signedInto = new Map<number, { handover: Uint8Array; signature: Uint8Array }>();

  constructor(private readonly o: HandoverSigningOptions) {}

  /**
   * Signs the handover from `oldEpoch` with this node's share of it and publishes the partial. False when
   * nothing was signed: no share of that epoch, or a different handover for this epoch and committee was
   * signed before (two signed handovers for one epoch could put different keys on the two chains).
   */
  async sign(oldEpoch: number, handover: Uint8Array): Promise<boolean> {
    const k = this.o.keyFor(oldEpoch);
    if (!k) return false;
    const guardKey = `handover-signed:${oldEpoch}:${hex(handover.subarray(277, 309))}`;
    const h = hex(keccak_256(handover));
    const prior = this.o.store.getMeta(guardKey);
    if (prior && prior !== h) {
      this.o.log.error({ oldEpoch, prior, asked: h }, 'refusing to sign a second handover for this epoch and committee');
      return false;
    }
    this.o.store.setMeta(guardKey, h);
    const partial = signPartial(k.share, handoverSigningMessage(handover));
    const col = this.collection(oldEpoch, handover);
    col.own = HandoverPartialCodec.encode({ type: 'handover-partial', v: 1, epoch: oldEpoch, index: k.index, handover, signature: partial.signature });
    col.partials.set(k.index, partial);
    col.lastPublished = Date.now();
    this.o.log.info({ oldEpoch, newEpoch: oldEpoch + 1, handover: h.slice(0, 18) }, 'signed the handover to the next committee');
    await this.o.host.publish(this.o.topics.epochs, col.own).catch(() => undefined);
    return true;
  }

  /** Our partial is out: combine once t partials (ours included) verify. */
  async afterSigning(oldEpoch: number, handover: Uint8Array): Promise<void> {
    await this.tryCombine(this.collection(oldEpoch, handover));
  }

  /** A member's partial (its sender and the handover already checked against the chain by the caller). */
  async addPartial(oldEpoch: number, index: number, handover: Uint8Array, signature: Uint8Array): Promise<void> {
    const col = this.collection(oldEpoch, handover);
    col.partials.set(index, { index, signature });
    await this.tryCombine(col);
  }

  /** A threshold-signed handover into `newEpoch` seen on the network (checked against the chain by the caller). */
  noteSigned(newEpoch: number, handover: Uint8Array, signature: Uint8Array): void {
    this.signedInto.set(newEpoch, { handover, signature });
  }

  /** The signed handovers known here, by the epoch they lead into. */
  get signed(): ReadonlyMap<number, { handover: Uint8Array; signature: Uint8Array }> {
    return this.signedInto;
  }

  /** Re-sends our partial and the combined handover of epochs the chain has not moved past. */
  republish(currentEpoch: number, now = Date.now()): void {
    for (const [id, col] of this.collections) {
      if (col.oldEpoch < currentEpoch) {
        this.collections.delete(id);
        continue;
      }
      if (now - col.lastPublished < REPUBLISH_MS) continue;
      col.lastPublished = now;
      if (col.own) void this.o.host.publish(this.o.topics.epochs, col.own).catch(() => undefined);
      if (col.combined) void this.o.host.publish(this.o.topics.epochs, SignedHandoverCodec.encode({ type: 'handover-signed', v: 1, handover: col.handover, signature: col.combined })).catch(() => undefined);
    }
  }

  private collection(oldEpoch: number, handover: Uint8Array): HandoverCollection {
    const id = `${oldEpoch}:${hex(handover)}`;
    let col = this.collections.get(id);
    if (!col) {
      col = { oldEpoch, handover, partials: new Map(), lastPublished: 0 };
      this.collections.set(id, col);
    }
    return col;
  }

  private verifierFor(epoch: number, k: ActiveKey): Promise<PartialVerifier> {
    let v = this.verifiers.get(epoch);
    if (!v) {
      v = PartialVerifier.create(k.sharing);
      this.verifiers.set(epoch, v);
    }
    return v;
  }

  private async tryCombine(col: HandoverCollection): Promise<void> {
    const k = this.o.keyFor(col.oldEpoch);
    if (col.combined || !k || col.partials.size < k.t) return;
    const verifier = await this.verifierFor(col.oldEpoch, k);
    const msg = handoverSigningMessage(col.handover);
    const { valid, invalid } = verifier.verifyBatch(msg, [...col.partials.values()]);
    for (const i of invalid) {
      this.o.log.warn({ oldEpoch: col.oldEpoch, member: i }, 'invalid handover partial dropped');
      col.partials.delete(i);
    }
    if (valid.length < k.t) return;
    const signature = verifier.combine(valid);
    col.combined = signature;
    this.signedInto.set(col.oldEpoch + 1, { handover: col.handover, signature });
    this.o.log.info({ oldEpoch: col.oldEpoch, newEpoch: col.oldEpoch + 1, signers: valid.map((p) => p.index) }, 'handover threshold-signed; published for relaying');
    await this.o.host.publish(this.o.topics.epochs, SignedHandoverCodec.encode({ type: 'handover-signed', v: 1, handover: col.handover, signature })).catch(() => undefined);
  }
}
