// TEST FAULT INJECTION ONLY: wraps a node's inference so that node reports a wrong output (first value
// + 1). Used by the e2e tests to check that the committee still answers correctly and names the node.
import { decodeReport, encodeReport, reportLeaf, rootSigningMessage, signPartial, toHex } from '@destra/protocol';
import type { Inferencer, OracleNode } from '@destra/oracle-node';
import { PROTOCOL_PARTIAL, PartialSignatureCodec } from '../../protocol/src/wire/index.ts';

export function testFaultWrongOutput(inner: Inferencer): Inferencer {
  return {
    validate: (model, input) => inner.validate(model, input),
    modelHash: (model) => inner.modelHash(model),
    async infer(model, input) {
      const r = await inner.infer(model, input);
      return { ...r, output: r.output.map((v, i) => (i === 0 ? v + 1n : v)) };
    },
  };
}

/**
 * A member that double-signs: for a request it already answered, it signs a second report with another
 * output under its own key share and sends that partial to every connected aggregator over the ordinary
 * partial protocol, bypassing its node's double-signing guard. What a hostile member of the committee
 * would do; the aggregator must name it and submit the evidence for slashing.
 */
export async function testFaultDoubleSign(node: OracleNode, requestId: Uint8Array): Promise<Uint8Array> {
  const key = node.activeKey;
  const own = node.store.ownPartial(requestId, 0);
  if (!key || !own) throw new Error(`node ${node.index} holds no partial for ${toHex(requestId)}`);
  const r = decodeReport(own.report);
  const report = encodeReport({ ...r, output: r.output.map((v, i) => (i === 0 ? v + 1n : v)) });
  const digest = reportLeaf(report);
  const signature = signPartial(key.share, rootSigningMessage(digest)).signature;
  const frame = PartialSignatureCodec.encode({ type: 'partial', v: 1, epoch: Number(r.epoch), requestId, round: 0, index: node.index, report, digest, signature });
  for (const a of node.host.peersWithRole('aggregator')) await node.host.sendDirect(a.peerId, PROTOCOL_PARTIAL, frame);
  return report;
}
