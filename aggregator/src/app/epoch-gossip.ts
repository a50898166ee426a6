// The epochs gossip topic as the aggregator reads it (topics(network).epochs):
//   dkg-result       the next committee's DKG outcome: its commitments are offered to the EpochBook, which
//                    accepts them only when they match what the registry installs for the epoch
//                    (authored by the sending operator: its operator-key signature is checked first)
//   handover-signed  the outgoing committee's signed handover: checked against the group key of the epoch
//                    it hands over from (the registry's), then relayed to every chain (HandoverRelay)
//   handover-partial ignored (the committee combines its own)
import type { Logger } from 'pino';
import { keccak256 } from 'viem';
import { decodeHandover, fromHex, handoverSigningMessage, verify, verifyDkgResult, type Handover } from '@destra/protocol';
import type { EpochBook } from '../core/epochs.ts';
import { hexKey } from '../core/hex.ts';
import type { PeerInfo } from '../net/service.ts';
import { HandoverRelayError, type HandoverRelay } from '../relay/handover.ts';
import { decodeWire, type DkgResultMsg, type SignedHandoverMsg } from '../wire.ts';

export interface EpochGossipOptions {
  book: EpochBook;
  /** Relays valid signed handovers; absent: they are checked and logged only. */
  relay?: HandoverRelay;
  /** Reads the registry again (e.g. ChainEpochFollower.refresh): before judging a handover from an epoch the book has not seen, and after one landed. */
  refresh?: () => Promise<void>;
  log: Logger;
}

/** Counters for /metrics. */
export interface EpochGossipCounters {
  dkg_results_total: number;
  dkg_results_invalid_total: number;
  handovers_seen_total: number;
  handovers_invalid_total: number;
  handovers_relayed_total: number;
  handovers_failed_total: number;
}

/** Distinct messages remembered to skip repeats (members re-publish until the chain moves on). */
const MAX_SEEN = 4096;

export class EpochGossip {
  readonly counters: EpochGossipCounters = {
    dkg_results_total: 0, dkg_results_invalid_total: 0, handovers_seen_total: 0, handovers_invalid_total: 0, handovers_relayed_total: 0, handovers_failed_total: 0,
  };
  private readonly seen = new Set<string>();
  private handovers: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly o: EpochGossipOptions) {}

  /** The topic handler (host.subscribe(topics.epochs, gossip.onMessage)). */
  readonly onMessage = (data: Uint8Array, from: PeerInfo): void => {
    let msg;
    try {
      msg = decodeWire(data, ['dkg-result', 'handover-partial', 'handover-signed']);
    } catch (err) {
      this.o.log.warn({ from, err: (err as Error).message }, 'epochs message rejected');
      return;
    }
    if (msg.type === 'dkg-result') this.track(this.onDkgResult(msg, from));
    else if (msg.type === 'handover-signed') this.track(this.onSignedHandover(msg, from));
  };

  /** Resolves when every message being handled has been (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch((err) => this.o.log.error({ err: (err as Error).message }, 'epochs message handling failed')).finally(() => this.pending.delete(t));
    this.pending.add(t);
  }

  private remember(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(key);
    return true;
  }

  private async onDkgResult(msg: DkgResultMsg, from: PeerInfo): Promise<void> {
    if (this.o.book.mode === 'fixed') return; // the config fixes the sharing
    const key = `dkg:${from.operatorKey}:${hexKey(msg.signature)}`;
    if (!this.remember(key)) return;
    this.counters.dkg_results_total++;
    if (from.role !== 'member' || !from.operatorKey) {
      this.counters.dkg_results_invalid_total++;
      return this.o.log.warn({ from, epoch: msg.epoch }, 'dkg-result from a peer that is not an operator ignored');
    }
    if (!verifyDkgResult(fromHex(from.operatorKey), msg.attempt, msg.handover, msg.commitments, msg.signature)) {
      this.counters.dkg_results_invalid_total++;
      return this.o.log.warn({ from, epoch: msg.epoch }, "dkg-result ignored: its signature is not the sending operator's");
    }
    const source = `operator ${from.operatorKey}`;
    const r = await this.o.book.offer(msg.epoch, msg.commitments, source);
    if (r.status === 'accepted') this.o.log.info({ epoch: msg.epoch, from: from.operatorKey, index: msg.index, attempt: msg.attempt }, 'epoch sharing learnt from a dkg-result');
    else if (r.status === 'held') this.o.log.debug({ epoch: msg.epoch, from: from.operatorKey, reason: r.reason }, 'dkg-result kept until the registry has the epoch');
    else if (r.status === 'refused') {
      this.seen.delete(key); // judged again when re-published (the book remembers sharings the registry refuted)
      this.o.log.debug({ epoch: msg.epoch, from: from.operatorKey, reason: r.reason }, 'dkg-result not used');
    }
  }

  private onSignedHandover(msg: SignedHandoverMsg, from: PeerInfo): Promise<void> {
    // one at a time: a handover waits for the one before it (relaying them in order)
    const run = this.handovers.then(() => this.handleHandover(msg, from));
    this.handovers = run.catch(() => undefined);
    return run;
  }

  private async handleHandover(msg: SignedHandoverMsg, from: PeerInfo): Promise<void> {
    const key = `ho:${keccak256(msg.handover)}:${hexKey(msg.signature)}`;
    if (!this.remember(key)) return;
    this.counters.handovers_seen_total++;
    let h: Handover;
    try {
      h = decodeHandover(msg.handover);
    } catch (err) {
      this.counters.handovers_invalid_total++;
      return this.o.log.warn({ from, err: (err as Error).message }, 'signed handover ignored: it does not decode');
    }
    const oldEpoch = Number(h.oldEpoch);
    const book = this.o.book;
    if ((book.current === undefined || oldEpoch > book.current || !book.groupKey(oldEpoch)) && this.o.refresh) await this.o.refresh();
    const current = book.current;
    if (current !== undefined && h.newEpoch <= BigInt(current)) {
      return this.o.log.debug({ newEpoch: Number(h.newEpoch), current }, 'signed handover already applied');
    }
    const groupKey = book.groupKey(oldEpoch);
    if (current === undefined || oldEpoch !== current || !groupKey) {
      this.seen.delete(key); // judged again when it comes back and the registry has caught up
      return this.o.log.warn({ from, oldEpoch, current }, 'signed handover ignored: it does not hand over from the current epoch (or its group key is not known yet)');
    }
    if (!verify(groupKey, handoverSigningMessage(msg.handover), msg.signature)) {
      this.counters.handovers_invalid_total++;
      return this.o.log.warn({ from, oldEpoch }, "signed handover ignored: the signature does not verify under the current epoch's group key");
    }
    const relay = this.o.relay;
    if (!relay) return this.o.log.info({ newEpoch: Number(h.newEpoch) }, 'valid signed handover seen (handover relaying is not configured)');
    try {
      const landed = await relay.relay({ handover: msg.handover, signature: msg.signature });
      this.counters.handovers_relayed_total++;
      this.o.log.info({ newEpoch: Number(h.newEpoch), ...landed }, 'handover relayed');
    } catch (err) {
      this.counters.handovers_failed_total++;
      const permanent = err instanceof HandoverRelayError && err.permanent;
      if (!permanent) this.seen.delete(key); // a later copy may try again
      this.o.log.error({ newEpoch: Number(h.newEpoch), permanent, err: (err as Error).message }, 'handover not relayed');
    }
    await this.o.refresh?.();
  }
}
