// TEST FAULT INJECTION ONLY: the Byzantine behaviours a chaos-test node process can be started with
// (DESTRA_TEST_FAULT=<mode>, read by test/devnet/node-main.ts, which production never runs). Each wraps
// the node at its one edge to the aggregators, `host.sendDirect` on the partial protocol, with the
// member's real key share: the engine, store and signer stay the production code, and the hostile member
// is a real separate process on the real wire.
import { randomBytes } from 'node:crypto';
import { rootSigningMessage, signPartial } from '@destra/protocol';
import type { OracleNode } from '@destra/oracle-node';
import { BatchPartialCodec, PROTOCOL_PARTIAL, PartialSignatureCodec, type BatchPartial, type PartialSignatureMsg } from '../../protocol/src/wire/index.ts';
import { conflictingPartial, installDoubleSignFault } from '../devnet/faults.ts';

export const BYZANTINE_MODES = [
  'wrong-output', // a validly signed partial for a report with another output, instead of the honest one
  'invalid-partial', // the honest report with a signature that does not verify (signed over another digest)
  'other-report', // the partial of an earlier report sent under this request's id and round
  'equivocate', // the honest partial and a second, conflicting one (double-sign)
  'replay', // every earlier partial again with each new one (old epochs and rounds included)
  'oversized', // a frame over the 2 MiB wire limit instead of the partial
  'malformed', // random bytes of a partial's size instead of the partial
  'flood', // 50 copies of the partial and 50 random frames, instead of one partial
  'withhold', // nothing at all
] as const;
export type ByzantineMode = (typeof BYZANTINE_MODES)[number];

/** The modes whose fault an aggregator can prove (signed evidence naming the member). */
export const PROVABLE_MODES: readonly ByzantineMode[] = ['equivocate', 'invalid-partial'];

/** The modes the registry can slash: only a double-sign (two different reports for one id, round and kind,
 *  each with the member's valid partial) is provable on chain; an invalid partial proves nothing there. */
export const SLASHABLE_MODES: readonly ByzantineMode[] = ['equivocate'];

export function isByzantineMode(m: string): m is ByzantineMode {
  return (BYZANTINE_MODES as readonly string[]).includes(m);
}

export function installByzantine(node: OracleNode, mode: string): void {
  if (!isByzantineMode(mode)) throw new Error(`DESTRA_TEST_FAULT=${mode} is not a Byzantine mode (${BYZANTINE_MODES.join(', ')}, or double-sign)`);
  if (mode === 'equivocate') installDoubleSignFault(node); // single-report partials; batch partials below
  const host = node.host;
  const send = host.sendDirect.bind(host);
  const sent: Uint8Array[] = [];
  let previous: PartialSignatureMsg | undefined;
  let previousBatch: BatchPartial | undefined;
  const quietly = (p: Promise<void>) => p.catch(() => undefined);
  host.sendDirect = async (peerId, protocol, frame) => {
    let p: PartialSignatureMsg | undefined;
    if (protocol === PROTOCOL_PARTIAL) {
      try {
        p = PartialSignatureCodec.decode(frame);
      } catch {
        /* batch partials, range commits: passed on */
      }
    }
    const key = node.currentKey(); // the epoch manager's share on chain-driven nodes (activeKey is the static-committee one)
    // Chain requests are signed in batches (a partial over the Merkle root the aggregator proposed).
    let b: BatchPartial | undefined;
    if (!p && protocol === PROTOCOL_PARTIAL) {
      try {
        b = BatchPartialCodec.decode(frame);
      } catch {
        /* range commits: passed on */
      }
    }
    if (b && key) return batchFault(b, frame);
    if (!p || !key || mode === 'equivocate') return send(peerId, protocol, frame);
    const last = previous;
    previous = p;
    return reportFault(p, frame);

    async function batchFault(b: BatchPartial, frame: Uint8Array): Promise<void> {
      const signOver = (root: Uint8Array) => signPartial(key!.share, rootSigningMessage(root)).signature;
      const otherRoot = Uint8Array.from(b.root, (x, i) => (i === 0 ? x ^ 0xff : x));
      const lastBatch = previousBatch;
      previousBatch = b;
      switch (mode) {
        case 'wrong-output': // a valid signature over another root, claimed for this batch's root
        case 'invalid-partial':
          return send(peerId, protocol, BatchPartialCodec.encode({ ...b, signature: signOver(otherRoot) }));
        case 'other-report':
          if (!lastBatch) return undefined;
          return send(peerId, protocol, BatchPartialCodec.encode({ ...lastBatch, batchId: b.batchId, epoch: b.epoch }));
        case 'equivocate':
          await send(peerId, protocol, frame);
          return quietly(send(peerId, protocol, BatchPartialCodec.encode({ ...b, root: otherRoot, signature: signOver(otherRoot) })));
        default:
          return generic(frame);
      }
    }

    async function reportFault(p: PartialSignatureMsg, frame: Uint8Array): Promise<void> {
      const key = node.currentKey()!;
      switch (mode) {
        default:
          return generic(frame);
      case 'wrong-output':
        return send(peerId, protocol, PartialSignatureCodec.encode(conflictingPartial(key.share, p)));
      case 'invalid-partial': {
        const wrongDigest = Uint8Array.from(p.digest, (b, i) => (i === 0 ? b ^ 0xff : b));
        return send(peerId, protocol, PartialSignatureCodec.encode({ ...p, signature: signPartial(key.share, rootSigningMessage(wrongDigest)).signature }));
      }
      case 'other-report':
        if (!last) return undefined; // nothing earlier to pass off yet: withhold
        return send(peerId, protocol, PartialSignatureCodec.encode({ ...last, requestId: p.requestId, round: p.round, epoch: p.epoch }));
      }
    }

    async function generic(frame: Uint8Array): Promise<void> {
      switch (mode) {
      case 'replay':
        for (const old of sent) await quietly(send(peerId, protocol, old));
        sent.push(frame);
        if (sent.length > 20) sent.shift();
        return send(peerId, protocol, frame);
      case 'oversized':
        return quietly(send(peerId, protocol, randomBytes(2 * 1024 * 1024 + 1024)));
      case 'malformed':
        return quietly(send(peerId, protocol, randomBytes(frame.length)));
      case 'flood':
        for (let i = 0; i < 50; i++) {
          await quietly(send(peerId, protocol, frame));
          await quietly(send(peerId, protocol, randomBytes(64 + (i % 7) * 100)));
        }
        return undefined;
      default: // withhold
        return undefined;
      }
    }
  };
}
