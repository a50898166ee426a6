// TEST FAULT INJECTION ONLY: hostile behaviours a node process can be started with (DESTRA_TEST_FAULT),
// so fault tests exercise a real separate process over the real wire. Never set by operators.
import { decodeReport, encodeReport, reportLeaf, rootSigningMessage, signPartial, type KeyShare } from '@destra/protocol';
import type { OracleNode } from '@destra/oracle-node';
import { PROTOCOL_PARTIAL, PartialSignatureCodec, type PartialSignatureMsg as PartialSignature } from '../../protocol/src/wire/index.ts';

/**
 * Every partial this node sends is followed by a second one for the same request and round: another
 * output, signed with its own key share, bypassing its double-signing guard. What a hostile committee
 * member would do; aggregators must name it and submit the evidence for slashing.
 */
export function installDoubleSignFault(node: OracleNode): void {
  const host = node.host;
  const send = host.sendDirect.bind(host);
  host.sendDirect = async (peerId, protocol, frame) => {
    await send(peerId, protocol, frame);
    const key = node.currentKey(); // chain-driven nodes keep their share in the epoch manager
    if (protocol !== PROTOCOL_PARTIAL || !key) return;
    let p;
    try {
      p = PartialSignatureCodec.decode(frame);
    } catch {
      return; // another message on the partial protocol (batch partials, range commits)
    }
    await send(peerId, protocol, PartialSignatureCodec.encode(conflictingPartial(key.share, p)));
  };
}

/** The same request and round with another output (first value + 1), signed with `share`. */
export function conflictingPartial(share: KeyShare, p: PartialSignature): PartialSignature {
  const r = decodeReport(p.report);
  const report = encodeReport({ ...r, output: r.output.map((v, i) => (i === 0 ? v + 1n : v)) });
  const digest = reportLeaf(report);
  return { ...p, report, digest, signature: signPartial(share, rootSigningMessage(digest)).signature };
}
