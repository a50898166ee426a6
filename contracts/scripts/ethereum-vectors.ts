// Builds test/vectors/ethereum/calldata.json: deterministic signed reports exactly as the Ethereum contracts
// receive them (EIP-2537 points, ABI-encoded fulfil/fulfillBatch/updateFeed calldata), so chain adapters can
// check their encoders byte for byte without a chain. The bls-verifier test checks the file against the
// Solidity verifier on anvil and against this builder.
// Usage: npx tsx contracts/scripts/ethereum-vectors.ts [--write]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeFunctionData, keccak256, stringToHex, toHex, type Hex } from 'viem';
import {
  R_ORDER, g1ToEip2537, g2ToEip2537, hashToG1, publicKeyOf, sign, type SecretKey,
} from '@destra/protocol';
import { feedStoreAbi, oracleRouterAbi } from '../src-ts/abi.ts';

const vectorsDir = new URL('../../test/vectors/', import.meta.url);
export const ETHEREUM_VECTORS_FILE = fileURLToPath(new URL('ethereum/calldata.json', vectorsDir));
const readVectors = (p: string) => JSON.parse(readFileSync(new URL(p, vectorsDir), 'utf8'));
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));

/** A fixed, public test key: never use it outside vectors. */
export const VECTOR_SECRET_KEY: SecretKey = (BigInt(keccak256(stringToHex('destra:ethereum-vector-key'))) % (R_ORDER - 1n)) + 1n;

function signed(message: Uint8Array) {
  const sig = sign(VECTOR_SECRET_KEY, message);
  return {
    signingMessage: toHex(message),
    hashToG1Eip2537: toHex(g1ToEip2537(hashToG1(message))),
    signature: toHex(sig),
    signatureEip2537: toHex(g1ToEip2537(sig)),
  };
}

export function buildEthereumVectors() {
  const reports = readVectors('report/reports.json');
  const batches = readVectors('report/batches.json');
  const pk = publicKeyOf(VECTOR_SECRET_KEY);
  const evm = reports.valid.find((v: any) => v.name === 'evm-request');
  const feed = reports.valid.find((v: any) => v.name === 'feed-any-chain');
  const one = signed(bytes(evm.signingMessage));
  const feedSig = signed(bytes(feed.signingMessage));
  const batch = batches.batches.find((b: any) => b.size === 5);
  const batchSig = signed(bytes(batch.signingMessage));
  const batchReports = batch.reports.map((r: any) => r.bytes as Hex);
  return {
    description:
      'Signed reports as the Ethereum contracts receive them (docs/report-format.md, docs/ethereum.md). Key: VECTOR_SECRET_KEY in contracts/scripts/ethereum-vectors.ts (public, test only). Regenerate with npx tsx contracts/scripts/ethereum-vectors.ts --write',
    groupKey: toHex(pk),
    groupKeyEip2537: toHex(g2ToEip2537(pk)),
    fulfill: {
      report: evm.bytes as Hex,
      ...one,
      calldata: encodeFunctionData({ abi: oracleRouterAbi, functionName: 'fulfill', args: [evm.bytes, toHex(g1ToEip2537(bytes(one.signature)))] }),
    },
    updateFeed: {
      report: feed.bytes as Hex,
      ...feedSig,
      calldata: encodeFunctionData({ abi: feedStoreAbi, functionName: 'updateFeed', args: [feed.bytes, feedSig.signatureEip2537] }),
    },
    fulfillBatch: {
      root: batch.root as Hex,
      reports: batchReports,
      proofs: batch.reports.map((r: any) => r.proof as Hex[]),
      ...batchSig,
      calldataWithProofs: encodeFunctionData({
        abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [batch.root, batchSig.signatureEip2537, batchReports, batch.reports.map((r: any) => r.proof)],
      }),
      calldataWholeBatch: encodeFunctionData({ abi: oracleRouterAbi, functionName: 'fulfillBatch', args: [batch.root, batchSig.signatureEip2537, batchReports, []] }),
    },
  };
}

export const serializeVectors = (v: ReturnType<typeof buildEthereumVectors>): string => `${JSON.stringify(v, null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = serializeVectors(buildEthereumVectors());
  if (process.argv.includes('--write')) {
    writeFileSync(ETHEREUM_VECTORS_FILE, text);
    console.log(`wrote ${ETHEREUM_VECTORS_FILE}`);
  } else {
    process.stdout.write(text);
  }
}
