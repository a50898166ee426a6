// Drives the protocol's pure DkgParticipant over gossipsub. Time is ours: each phase ends when every
// expected message is in or its deadline passes. Our own messages are re-broadcast until shortly after
// we finish (duplicates are idempotent in the participant), messages of a phase we have not reached yet
// are buffered and replayed, and late deals and complaints are still handed in (a late complaint against
// us is answered with a further justification), so members that advance at different speeds converge.
import { DkgError, DkgParticipant, type DkgMessage, type DkgOutgoing, type DkgResult } from '@destra/protocol';
import type { Logger } from 'pino';
import { DkgEnvelopeCodec, type DkgEnvelope } from '../wire.ts';
import type { PeerInfo } from '../p2p/host.ts';
import { DestraNodeError } from '../errors.ts';

export interface DkgTransport {
  publish(data: Uint8Array): Promise<number>;
  /** Member indices currently admitted and subscribed to the DKG topic. */
  readyMembers(): number[];
}

export interface DkgRunnerOptions {
  epoch: number;
  /** Retry number of this epoch's ceremony (chain-driven epochs); messages of other attempts are ignored. */
  attempt?: number;
  /** The sender's index in this ceremony's committee (default: a member's registration index). */
  memberIndexOf?: (from: PeerInfo) => number | undefined;
  index: number;
  n: number;
  t: number;
  session: Uint8Array;
  encryptionKey: Uint8Array;
  peerEncryptionKeys: Uint8Array[];
  phaseTimeoutMs: number;
  rebroadcastMs?: number;
  transport: DkgTransport;
  log: Logger;
}

const PHASE_ORDER: Record<string, number> = { init: 0, deal: 1, complaint: 2, justification: 3, done: 4 };
const MESSAGE_PHASE: Record<DkgMessage['type'], number> = { deal: 1, complaint: 2, justification: 3 };

export class DkgRunner {
  readonly participant: DkgParticipant;
  private readonly sent: DkgMessage[] = [];
  private readonly buffered: DkgMessage[] = [];
  private wake: (() => void) | undefined;
  private rebroadcastTimer: NodeJS.Timeout | undefined;
  private aborted = false;

  constructor(private readonly opts: DkgRunnerOptions) {
    this.participant = new DkgParticipant({
      session: opts.session,
      index: opts.index,
      n: opts.n,
      t: opts.t,
      encryptionKey: opts.encryptionKey,
      peerEncryptionKeys: opts.peerEncryptionKeys,
    });
  }

  get phase(): string {
    return this.participant.phase;
  }

  /** Feeds one envelope from the DKG topic (the transport has already checked admission). */
  receive(env: DkgEnvelope, from: PeerInfo): void {
    if (env.epoch !== this.opts.epoch || (env.attempt ?? 0) !== (this.opts.attempt ?? 0)) return;
    const index = from.role !== 'member' ? undefined : this.opts.memberIndexOf ? this.opts.memberIndexOf(from) : from.index;
    const msg = env.message as unknown as DkgMessage;
    // The transport authenticated the envelope's sender; the message inside names its own author (a deal's
    // or a justification's dealer, a complaint's complainer), and both must be that sender. Otherwise one
    // member could forge a second deal or a contradicting answer "from" an honest dealer and get it
    // disqualified everywhere.
    const author = msg?.type === 'complaint' ? msg.from : (msg as { dealer?: unknown } | undefined)?.dealer;
    if (index !== env.from || author !== env.from) {
      this.opts.log.warn({ from, claimed: env.from, author }, 'DKG message from a member speaking for another index dropped');
      return;
    }
    this.deliver(msg);
  }

  private deliver(msg: DkgMessage): void {
    const mine = PHASE_ORDER[this.participant.phase]!;
    const theirs = MESSAGE_PHASE[msg.type];
    if (theirs === undefined) return;
    if (theirs > mine) {
      if (this.buffered.length < 4 * this.opts.n) this.buffered.push(msg);
      return;
    }
    // Late deals and complaints still count (the qualified set must not depend on our deadlines); other
    // messages of a phase we closed are re-broadcasts that can no longer change anything.
    if (!this.participant.accepts(msg.type)) return;
    try {
      const out = this.participant.handle(msg);
      if (out.length > 0) void this.broadcast(out);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, type: msg.type }, 'DKG message rejected');
    }
    this.wake?.();
  }

  private async broadcast(out: DkgOutgoing[]): Promise<void> {
    for (const o of out) {
      this.sent.push(o.message);
      await this.publish(o.message);
    }
  }

  private async publish(message: DkgMessage): Promise<void> {
    const env: DkgEnvelope = {
      type: 'dkg',
      v: 1,
      epoch: this.opts.epoch,
      ...(this.opts.attempt !== undefined ? { attempt: this.opts.attempt } : {}),
      from: this.opts.index,
      message: message as unknown as Record<string, unknown>,
    };
    await this.opts.transport.publish(DkgEnvelopeCodec.encode(env)).catch((err) => this.opts.log.debug({ err: (err as Error).message }, 'DKG publish failed'));
  }

  private replayBuffered(): void {
    const msgs = this.buffered.splice(0);
    for (const m of msgs) this.deliver(m);
  }

  /** Waits until `done()` holds or the phase deadline passes. */
  private async waitPhase(done: () => boolean): Promise<void> {
    const deadline = Date.now() + this.opts.phaseTimeoutMs;
    while (!done() && Date.now() < deadline && !this.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now())));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (this.aborted) throw new DestraNodeError('DKG_ABORTED', `DKG for epoch ${this.opts.epoch} was stopped`);
  }

  /** Runs the ceremony to completion. Throws DkgError if too few members qualify. */
  async run(): Promise<DkgResult> {
    const { log, transport, n, index } = this.opts;
    // Give the committee a chance to connect: every other member ready, or one phase timeout.
    await this.waitPhase(() => transport.readyMembers().filter((i) => i !== index).length >= n - 1);
    log.info({ epoch: this.opts.epoch, ready: transport.readyMembers() }, 'DKG starting');
    this.rebroadcastTimer = setInterval(() => {
      for (const m of this.sent) void this.publish(m);
    }, this.opts.rebroadcastMs ?? 1000);
    this.rebroadcastTimer.unref();
    try {
      await this.broadcast(this.participant.start());
      this.replayBuffered();
      await this.waitPhase(() => this.participant.hasAllDeals());
      await this.broadcast(this.participant.onDealPhaseEnd());
      this.replayBuffered();
      await this.waitPhase(() => this.participant.hasAllComplaints());
      await this.broadcast(this.participant.onComplaintPhaseEnd());
      this.replayBuffered();
      // Ending early needs every member's complaints too: a complaint still on its way could name a dealer
      // whose answer the others will wait for (and we, finished, could no longer give ours).
      await this.waitPhase(() => this.participant.hasAllComplaints() && this.participant.hasAllJustifications());
      const result = this.participant.onJustificationPhaseEnd();
      log.info({ epoch: this.opts.epoch, qualified: result.qualified, disqualified: result.disqualified }, 'DKG complete');
      // Keep re-broadcasting briefly so slower members still receive our last messages.
      setTimeout(() => this.stopRebroadcast(), 3 * (this.opts.rebroadcastMs ?? 1000)).unref();
      return result;
    } catch (err) {
      this.stopRebroadcast();
      if (err instanceof DkgError) log.error({ err: err.message, code: err.code }, 'DKG failed');
      throw err;
    }
  }

  private stopRebroadcast(): void {
    if (this.rebroadcastTimer) clearInterval(this.rebroadcastTimer);
    this.rebroadcastTimer = undefined;
  }

  stop(): void {
    this.aborted = true;
    this.stopRebroadcast();
    this.wake?.();
  }
}
