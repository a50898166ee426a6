// Off-chain verification of a signed report: leaf → proof → root → BLS verify over `0x01 ‖ root` under
// the epoch's group key, exactly what the router's verifyReport does on chain.
import { decodeG2, g1FromEip2537, g2FromEip2537, reportLeaf, rootFromProof, rootSigningMessage, verify, decodeReport, MAX_PROOF_DEPTH } from '@destra/protocol';
import { hexToBytes, type Hex } from 'viem';
import { SignatureEncodingError } from './errors.ts';
import { bytesOf, toEip2537Signature } from './signature.ts';

/** Accepts a group key as 96/192-byte ZCash G2 or 256-byte EIP-2537 G2 (as CommitteeRegistry stores it). */
export function groupKeyPoint(groupKey: Uint8Array | Hex) {
  const bytes = bytesOf(groupKey, 'groupKey');
  try {
    if (bytes.length === 256) return g2FromEip2537(bytes);
    return decodeG2(bytes);
  } catch (e) {
    throw new SignatureEncodingError(`groupKey is not a valid G2 point (96, 192 or 256 bytes): ${(e as Error).message}`, { cause: e });
  }
}

/**
 * True when `signature` is the group signature over the root that `report` and `proof` lead to. Returns
 * false for a well-formed but wrong signature/proof; throws typed errors for malformed bytes.
 */
export function verifyReportOffchain(
  report: Uint8Array | Hex,
  signature: Uint8Array | Hex,
  proof: readonly (Uint8Array | Hex)[],
  groupKey: Uint8Array | Hex,
  expectedRoot?: Uint8Array | Hex,
): boolean {
  const reportBytes = bytesOf(report, 'report');
  decodeReport(reportBytes); // structural check: throws ReportFormatError naming the bad field
  if (proof.length > MAX_PROOF_DEPTH) throw new SignatureEncodingError(`proof has ${proof.length} hashes (max ${MAX_PROOF_DEPTH})`);
  const root = rootFromProof(reportLeaf(reportBytes), proof.map((p, i) => {
    const b = bytesOf(p, `proof[${i}]`);
    if (b.length !== 32) throw new SignatureEncodingError(`proof[${i}] must be 32 bytes, got ${b.length}`);
    return b;
  }));
  if (expectedRoot !== undefined && Buffer.compare(Buffer.from(bytesOf(expectedRoot, 'root')), Buffer.from(root)) !== 0) return false;
  const sig = hexToBytes(toEip2537Signature(signature)); // validates the point in any encoding
  return verify(groupKeyPoint(groupKey), rootSigningMessage(root), g1FromEip2537(sig));
}
