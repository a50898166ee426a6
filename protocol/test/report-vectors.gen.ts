// Deterministic generator for test/vectors/report/*.json — the byte-level contract that the
// TypeScript, Solidity and Rust decoders are all tested against. Run: npx tsx protocol/test/report-vectors.gen.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import {
  ReportKind, ReportStatus, anyDestination, buildMerkleTree, domainTag, encodeHandover, encodeReport, evmDestination,
  feedId, handoverSigningMessage, merkleProof, reportLeaf, rootSigningMessage, svmDestination, toHex, type Report,
} from '../src/report/index.ts';

const seed = (label: string) => keccak_256(utf8ToBytes(label));
const DOMAIN = domainTag('devnet');

export function sampleReports(): { name: string; report: Report }[] {
  const routerAddress = seed('router').slice(0, 20);
  return [
    {
      name: 'evm-request',
      report: {
        kind: ReportKind.Request, domain: DOMAIN, epoch: 1n, destination: evmDestination(31337n, routerAddress),
        id: seed('request-1'), modelHash: seed('model-risk'), inputHash: seed('input-1'),
        timestamp: 1_764_000_000n, round: 0n, output: [734_512n],
      },
    },
    {
      name: 'svm-request',
      report: {
        kind: ReportKind.Request, domain: DOMAIN, epoch: 3n, destination: svmDestination(seed('cluster'), seed('program')),
        id: seed('request-account'), modelHash: seed('model-vol'), inputHash: seed('input-2'),
        timestamp: 1_764_000_060n, round: 0n, output: [-1n, 0n, 1n, -9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
      },
    },
    {
      name: 'feed-any-chain',
      report: {
        kind: ReportKind.Feed, domain: DOMAIN, epoch: 2n, destination: anyDestination(),
        id: feedId('eth-usd-volatility-1h'), modelHash: seed('model-vol'), inputHash: seed('input-3'),
        timestamp: 1_764_003_600n, round: 42n, output: Array.from({ length: 64 }, (_, i) => BigInt(i * 1000 - 32000)),
      },
    },
    {
      name: 'on-demand',
      report: {
        kind: ReportKind.OnDemand, domain: DOMAIN, epoch: 1n, destination: anyDestination(),
        id: seed('on-demand-1'), modelHash: seed('model-proposal'), inputHash: seed('input-4'),
        timestamp: 1_764_000_123n, round: 0n, output: [250_000n, 750_000n],
      },
    },
    {
      // Failure reports (v2): status ≠ 0, no outputs, request answers only.
      name: 'evm-request-failed-input-range',
      report: {
        kind: ReportKind.Request, domain: DOMAIN, epoch: 1n, destination: evmDestination(31337n, routerAddress),
        id: seed('request-2'), modelHash: seed('model-risk'), inputHash: seed('input-5'),
        timestamp: 1_764_000_200n, round: 0n, status: ReportStatus.InputRange, output: [],
      },
    },
    {
      name: 'svm-request-failed-unknown-model',
      report: {
        kind: ReportKind.Request, domain: DOMAIN, epoch: 3n, destination: svmDestination(seed('cluster'), seed('program')),
        id: seed('request-account-2'), modelHash: seed('model-unknown'), inputHash: seed('input-6'),
        timestamp: 1_764_000_260n, round: 0n, status: ReportStatus.UnknownModel, output: [],
      },
    },
  ];
}

function jsonReport(r: Report) {
  return {
    kind: r.kind, domain: toHex(r.domain), epoch: r.epoch.toString(),
    destination: { chainType: r.destination.chainType, chainId: toHex(r.destination.chainId), contract: toHex(r.destination.contract) },
    id: toHex(r.id), modelHash: toHex(r.modelHash), inputHash: toHex(r.inputHash),
    timestamp: r.timestamp.toString(), round: r.round.toString(), status: r.status ?? ReportStatus.Ok, output: r.output.map(String),
  };
}

/**
 * Malformed report bytes every decoder must reject, with the field that is wrong. `valid` is a request
 * answer with one output, `failed` a failure report (status 3, no outputs) for the same chain.
 */
function invalidReports(valid: Uint8Array, failed: Uint8Array) {
  const mutate = (f: (b: Uint8Array) => void, from = valid) => {
    const b = from.slice();
    f(b);
    return toHex(b);
  };
  return [
    { name: 'version-1', field: 'version', bytes: mutate((b) => (b[0] = 1)) },
    { name: 'bad-version', field: 'version', bytes: mutate((b) => (b[0] = 3)) },
    { name: 'unknown-kind', field: 'kind', bytes: mutate((b) => (b[1] = 9)) },
    { name: 'unknown-chain-type', field: 'destChainType', bytes: mutate((b) => (b[42] = 7)) },
    { name: 'request-to-any-chain', field: 'destChainType', bytes: mutate((b) => { b[42] = 0; b.fill(0, 43, 107); }) },
    { name: 'unknown-status', field: 'status', bytes: mutate((b) => (b[219] = 5)) },
    { name: 'unknown-status-255', field: 'status', bytes: mutate((b) => (b[219] = 255), failed) },
    { name: 'zero-outputs', field: 'outputCount', bytes: mutate((b) => { b[220] = 0; b[221] = 0; }) },
    { name: 'ok-without-outputs', field: 'outputCount', bytes: mutate((b) => (b[219] = 0), failed) },
    { name: 'count-exceeds-bytes', field: 'outputCount', bytes: mutate((b) => (b[221] = 2)) },
    { name: 'too-many-outputs', field: 'outputCount', bytes: mutate((b) => (b[221] = 65)) },
    { name: 'failure-with-outputs', field: 'outputCount', bytes: mutate((b) => (b[219] = 3)) },
    { name: 'failure-with-declared-output', field: 'outputCount', bytes: mutate((b) => (b[221] = 1), failed) },
    { name: 'failure-for-feed', field: 'status', bytes: mutate((b) => (b[1] = 2), failed) },
    { name: 'failure-for-on-demand', field: 'status', bytes: mutate((b) => (b[1] = 3), failed) },
    { name: 'truncated', field: 'report', bytes: toHex(valid.slice(0, 100)) },
    { name: 'truncated-header', field: 'report', bytes: toHex(failed.slice(0, 221)) },
    { name: 'trailing-byte', field: 'outputCount', bytes: toHex(new Uint8Array([...valid, 0])) },
    { name: 'failure-trailing-byte', field: 'outputCount', bytes: toHex(new Uint8Array([...failed, 0])) },
  ];
}

export function generate() {
  const reports = sampleReports();
  const encoded = reports.map(({ name, report }) => {
    const bytes = encodeReport(report);
    const leaf = reportLeaf(bytes);
    return { name, report: jsonReport(report), bytes: toHex(bytes), leaf: toHex(leaf), signingMessage: toHex(rootSigningMessage(leaf)) };
  });
  const requestBytes = encodeReport(reports[0]!.report);
  const failedBytes = encodeReport(reports[4]!.report);

  // Batches of 1, 5 (odd carry-up) and 16 leaves; the larger ones mix answers and failure reports.
  const batches = [1, 5, 16].map((size) => {
    const items = Array.from({ length: size }, (_, i) => {
      const base = reports[i % reports.length]!.report;
      return encodeReport({ ...base, id: seed(`batch-${size}-${i}`) });
    });
    const leaves = items.map(reportLeaf);
    const tree = buildMerkleTree(leaves);
    return {
      size, root: toHex(tree.root), signingMessage: toHex(rootSigningMessage(tree.root)),
      reports: items.map((bytes, i) => ({ bytes: toHex(bytes), leaf: toHex(leaves[i]!), proof: merkleProof(tree, i).map(toHex) })),
    };
  });

  const groupKey = new Uint8Array(192).map((_, i) => (i * 7 + 1) & 0xff); // layout vector only, not a curve point
  const publicShares = [1, 2, 3, 4].map((k) => new Uint8Array(192).fill(k));
  const memberIds = [1, 2, 3, 4].map((k) => { const m = new Uint8Array(32); m[31] = k; return m; });
  // member 3 registered no Solana payout address: 32 zero bytes, its share stays in the vault
  const payouts = [
    { payee: seed('payout-1'), weight: 10_000n },
    { payee: seed('payout-2'), weight: 25_000n },
    { payee: new Uint8Array(32), weight: 12_345n },
    { payee: seed('payout-4'), weight: (1n << 64n) - 1n },
  ];
  // payee (32) ‖ weight (u64 big-endian) per member, written out here so the vector does not depend on the encoder
  const payoutTable = new Uint8Array(40 * payouts.length);
  payouts.forEach((p, i) => {
    payoutTable.set(p.payee, 40 * i);
    new DataView(payoutTable.buffer).setBigUint64(40 * i + 32, p.weight, false);
  });
  const handover = {
    domain: DOMAIN, oldEpoch: 1n, newEpoch: 2n, threshold: 3, committeeSize: 4, groupKey,
    sharesRoot: keccak_256(new Uint8Array(publicShares.flatMap((s) => [...s]))),
    membersRoot: keccak_256(new Uint8Array(memberIds.flatMap((m) => [...m]))),
    payoutsRoot: keccak_256(payoutTable),
  };
  const handoverBytes = encodeHandover(handover);

  return {
    'reports.json': {
      description: 'Report encodings (docs/report-format.md §1) with their Merkle leaf and 33-byte BLS signing message',
      domain: { network: 'devnet', tag: toHex(DOMAIN) },
      valid: encoded,
      invalid: invalidReports(requestBytes, failedBytes),
    },
    'batches.json': { description: 'Merkle batches (docs/report-format.md §2): root, signing message, per-report proofs', batches },
    'handover.json': {
      description: 'Committee handover encoding (docs/report-format.md §4). groupKey here is a layout pattern, not a curve point.',
      handover: {
        domain: toHex(handover.domain), oldEpoch: '1', newEpoch: '2', threshold: 3, committeeSize: 4,
        groupKey: toHex(groupKey), publicShares: publicShares.map(toHex), memberIds: memberIds.map(toHex),
        sharesRoot: toHex(handover.sharesRoot), membersRoot: toHex(handover.membersRoot),
        payouts: payouts.map((p) => ({ payee: toHex(p.payee), weight: p.weight.toString() })),
        payoutTable: toHex(payoutTable), payoutsRoot: toHex(handover.payoutsRoot),
      },
      bytes: toHex(handoverBytes), signingMessage: toHex(handoverSigningMessage(handoverBytes)),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('../../test/vectors/report/', import.meta.url);
  for (const [file, content] of Object.entries(generate())) {
    writeFileSync(new URL(file, dir), JSON.stringify(content, null, 2) + '\n');
  }
  console.log('wrote test/vectors/report/{reports,batches,handover}.json');
}
