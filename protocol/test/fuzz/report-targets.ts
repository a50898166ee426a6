// Fuzz targets for the signed byte formats of docs/report-format.md: reports (decodeReport), committee
// handovers (decodeHandover) and Merkle proofs of arbitrary shape (verifyMerkleProof). Reports and
// handovers are canonical, so an accepted input must re-encode to exactly the same bytes.
import * as fc from 'fast-check';
import {
  ChainType,
  HANDOVER_LENGTH,
  MAX_PROOF_DEPTH,
  MAX_REPORT_LENGTH,
  MerkleProofError,
  ReportFormatError,
  ReportKind,
  ReportStatus,
  anyDestination,
  buildMerkleTree,
  decodeHandover,
  decodeReport,
  encodeHandover,
  encodeReport,
  evmDestination,
  merkleProof,
  rootFromProof,
  svmDestination,
  verifyMerkleProof,
  type Report,
} from '../../src/report/index.ts';
import { equalBytes, target, verdict, type FuzzTarget } from './harness.ts';
import { mutatedBytes } from './mutators.ts';

const b = (n: number, fill: number) => new Uint8Array(n).fill(fill);

// ---- Field-aware mutations of fixed-layout formats -------------------------------------------------------

interface Field {
  name: string;
  offset: number;
  length: number;
}

type FieldOp = { kind: 'swap'; a: number; b: number } | { kind: 'fill'; field: number; byte: number } | { kind: 'random'; field: number; bytes: Uint8Array } | { kind: 'int'; field: number; value: bigint };

/** Replaces / swaps whole fields (the swap moves bytes even between fields of different lengths). */
function applyFieldOp(input: Uint8Array, fields: readonly Field[], op: FieldOp): Uint8Array {
  const field = (i: number) => fields[i % fields.length]!;
  const out = input.slice();
  switch (op.kind) {
    case 'swap': {
      const [x, y] = [field(op.a), field(op.b)].sort((p, q) => p.offset - q.offset) as [Field, Field];
      if (x === y || y.offset + y.length > input.length) return out;
      const parts = [input.subarray(0, x.offset), input.subarray(y.offset, y.offset + y.length), input.subarray(x.offset + x.length, y.offset), input.subarray(x.offset, x.offset + x.length), input.subarray(y.offset + y.length)];
      const swapped = new Uint8Array(input.length);
      let o = 0;
      for (const p of parts) {
        swapped.set(p, o);
        o += p.length;
      }
      return swapped;
    }
    case 'fill': {
      const f = field(op.field);
      out.fill(op.byte, f.offset, f.offset + f.length);
      return out;
    }
    case 'random': {
      const f = field(op.field);
      out.set(op.bytes.subarray(0, Math.max(0, Math.min(f.length, input.length - f.offset))), f.offset);
      return out;
    }
    case 'int': {
      // Big-endian value truncated to the field: oversized counts, u64 edges, unknown enum values.
      const f = field(op.field);
      let v = op.value;
      for (let i = f.offset + f.length - 1; i >= f.offset; i--, v >>= 8n) if (i < out.length) out[i] = Number(v & 0xffn);
      return out;
    }
  }
}

function fieldMutations(seeds: readonly Uint8Array[], fields: readonly Field[]): fc.Arbitrary<Uint8Array> {
  const op: fc.Arbitrary<FieldOp> = fc.oneof(
    fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant('fill' as const), field: fc.nat(), byte: fc.constantFrom(0x00, 0xff, 0x80, 0x7f) }),
    fc.record({ kind: fc.constant('random' as const), field: fc.nat(), bytes: fc.uint8Array({ minLength: 192, maxLength: 192 }) }),
    fc.record({
      kind: fc.constant('int' as const),
      field: fc.nat(),
      value: fc.oneof(fc.constantFrom(0n, 1n, 2n, 3n, 4n, 63n, 64n, 65n, 255n, 256n, 257n, 0xffffn, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    }),
  );
  return fc.tuple(fc.nat(seeds.length - 1), fc.array(op, { minLength: 1, maxLength: 3 })).map(([i, ops]) => ops.reduce((bytes, o) => applyFieldOp(bytes, fields, o), seeds[i]!));
}

// ---- Reports -----------------------------------------------------------------------------------------------

const REPORT_FIELDS: readonly Field[] = [
  { name: 'version', offset: 0, length: 1 },
  { name: 'kind', offset: 1, length: 1 },
  { name: 'domain', offset: 2, length: 32 },
  { name: 'epoch', offset: 34, length: 8 },
  { name: 'destChainType', offset: 42, length: 1 },
  { name: 'destChainId', offset: 43, length: 32 },
  { name: 'destContract', offset: 75, length: 32 },
  { name: 'id', offset: 107, length: 32 },
  { name: 'modelHash', offset: 139, length: 32 },
  { name: 'inputHash', offset: 171, length: 32 },
  { name: 'timestamp', offset: 203, length: 8 },
  { name: 'round', offset: 211, length: 8 },
  { name: 'status', offset: 219, length: 1 },
  { name: 'outputCount', offset: 220, length: 2 },
  { name: 'output[0]', offset: 222, length: 8 },
];

const report = (kind: Report['kind'], destination: Report['destination'], outputs: number, status: Report['status'] = ReportStatus.Ok): Report => ({
  kind,
  domain: b(32, 1),
  epoch: 7n,
  destination,
  id: b(32, 2),
  modelHash: b(32, 3),
  inputHash: b(32, 4),
  timestamp: 1_700_000_000n,
  round: 3n,
  status,
  output: Array.from({ length: outputs }, (_, i) => BigInt(i) * -123_456_789n),
});

export const REPORT_SEEDS: readonly Uint8Array[] = [
  encodeReport(report(ReportKind.Request, evmDestination(1n, b(20, 9)), 1)),
  encodeReport(report(ReportKind.Feed, anyDestination(), 3)),
  encodeReport(report(ReportKind.OnDemand, svmDestination(b(32, 5), b(32, 6)), 64)),
  encodeReport(report(ReportKind.Request, svmDestination(b(32, 5), b(32, 6)), 0, ReportStatus.InputRange)),
];

const reportTarget = target<Uint8Array>({
  name: 'report decodeReport',
  typedError: ReportFormatError,
  arbitrary: fc.oneof(mutatedBytes(REPORT_SEEDS, { limit: MAX_REPORT_LENGTH }), fieldMutations(REPORT_SEEDS, REPORT_FIELDS)),
  check: (bytes) =>
    verdict(ReportFormatError, () => decodeReport(bytes), (r) => {
      if (bytes.length > MAX_REPORT_LENGTH) return `accepted a ${bytes.length}-byte report over the ${MAX_REPORT_LENGTH}-byte limit`;
      if (r.destination.chainType !== ChainType.Any && r.destination.chainType !== ChainType.Evm && r.destination.chainType !== ChainType.Svm) return 'accepted an unknown chain type';
      if (r.status !== ReportStatus.Ok && (r.output.length !== 0 || r.kind !== ReportKind.Request)) return 'accepted a failure report with outputs or of a kind other than request';
      if (r.status === ReportStatus.Ok && r.output.length === 0) return 'accepted an ok report without outputs';
      return equalBytes(encodeReport(r), bytes) ? undefined : 'accepted bytes that do not re-encode identically (non-canonical report)';
    }),
});

// ---- Handovers -----------------------------------------------------------------------------------------

const HANDOVER_FIELDS: readonly Field[] = [
  { name: 'version', offset: 0, length: 1 },
  { name: 'domain', offset: 1, length: 32 },
  { name: 'oldEpoch', offset: 33, length: 8 },
  { name: 'newEpoch', offset: 41, length: 8 },
  { name: 'threshold', offset: 49, length: 2 },
  { name: 'committeeSize', offset: 51, length: 2 },
  { name: 'groupKey', offset: 53, length: 192 },
  { name: 'sharesRoot', offset: 245, length: 32 },
  { name: 'membersRoot', offset: 277, length: 32 },
  { name: 'payoutsRoot', offset: 309, length: 32 },
];

export const HANDOVER_SEEDS: readonly Uint8Array[] = [
  encodeHandover({ domain: b(32, 1), oldEpoch: 4n, newEpoch: 5n, threshold: 3, committeeSize: 4, groupKey: b(192, 2), sharesRoot: b(32, 3), membersRoot: b(32, 4), payoutsRoot: b(32, 5) }),
  encodeHandover({ domain: b(32, 9), oldEpoch: (1n << 64n) - 2n, newEpoch: (1n << 64n) - 1n, threshold: 256, committeeSize: 256, groupKey: b(192, 7), sharesRoot: b(32, 8), membersRoot: b(32, 6), payoutsRoot: b(32, 0) }),
];

const handoverTarget = target<Uint8Array>({
  name: 'report decodeHandover',
  typedError: ReportFormatError,
  arbitrary: fc.oneof(mutatedBytes(HANDOVER_SEEDS, { limit: HANDOVER_LENGTH }), fieldMutations(HANDOVER_SEEDS, HANDOVER_FIELDS)),
  check: (bytes) =>
    verdict(ReportFormatError, () => decodeHandover(bytes), (h) => {
      if (bytes.length !== HANDOVER_LENGTH) return `accepted a ${bytes.length}-byte handover (exactly ${HANDOVER_LENGTH} allowed)`;
      return equalBytes(encodeHandover(h), bytes) ? undefined : 'accepted bytes that do not re-encode identically (non-canonical handover)';
    }),
});

// ---- Merkle proofs of arbitrary shape ---------------------------------------------------------------------

interface ProofInput {
  leaf: unknown;
  proof: unknown;
  root: unknown;
  /** Known answer: true for an untouched proof, false after a bit flip (a keccak collision otherwise). */
  expect?: boolean;
}

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** What a decoded JSON/CBOR proof element can be instead of a 32-byte hash. */
const notAHash: fc.Arbitrary<unknown> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.array(fc.integer({ min: -1, max: 300 }), { minLength: 32, maxLength: 32 }),
  fc.string({ minLength: 32, maxLength: 32 }),
  fc.constantFrom<unknown>(null, undefined, 0, 32, '', {}, { length: 32 }, new Uint16Array(32), new ArrayBuffer(32)),
);

const anyShape: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: hash32 }, { weight: 2, arbitrary: notAHash });

const randomProof: fc.Arbitrary<ProofInput> = fc.record({
  leaf: anyShape,
  proof: fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 6, arbitrary: hash32 }, { weight: 1, arbitrary: notAHash }), { maxLength: MAX_PROOF_DEPTH + 4 }) },
    { weight: 1, arbitrary: fc.sparseArray(hash32, { maxLength: MAX_PROOF_DEPTH + 2 }) },
    { weight: 1, arbitrary: anyShape },
  ),
  root: anyShape,
});

type ProofMutation = 'none' | 'flip-leaf' | 'flip-sibling' | 'flip-root' | 'drop' | 'extra' | 'replace' | 'swap';

/** A real proof from a random tree, untouched or with one mutation. */
const treeProof: fc.Arbitrary<ProofInput> = fc
  .record({
    leaves: fc.array(hash32, { minLength: 1, maxLength: 40 }),
    index: fc.nat(),
    mutation: fc.constantFrom<ProofMutation>('none', 'none', 'flip-leaf', 'flip-sibling', 'flip-root', 'drop', 'extra', 'replace', 'swap'),
    at: fc.nat(),
    bit: fc.nat(255),
    junk: notAHash,
  })
  .map(({ leaves, index, mutation, at, bit, junk }): ProofInput => {
    const tree = buildMerkleTree(leaves);
    const i = index % leaves.length;
    const leaf = leaves[i]!.slice();
    const proof: unknown[] = merkleProof(tree, i);
    const root = tree.root.slice();
    const flip = (h: Uint8Array) => {
      h[bit >> 3]! ^= 1 << (bit & 7);
    };
    switch (mutation) {
      case 'none':
        return { leaf, proof, root, expect: true };
      case 'flip-leaf':
        flip(leaf);
        return { leaf, proof, root, expect: false };
      case 'flip-root':
        flip(root);
        return { leaf, proof, root, expect: false };
      case 'flip-sibling':
        if (proof.length === 0) return { leaf, proof, root, expect: true };
        proof[at % proof.length] = (proof[at % proof.length] as Uint8Array).slice();
        flip(proof[at % proof.length] as Uint8Array);
        return { leaf, proof, root, expect: false };
      case 'drop':
        proof.splice(at % (proof.length + 1), 1);
        return { leaf, proof, root };
      case 'extra':
        proof.splice(at % (proof.length + 1), 0, root);
        return { leaf, proof, root };
      case 'replace':
        if (proof.length > 0) proof[at % proof.length] = junk;
        return { leaf, proof, root };
      case 'swap':
        if (proof.length > 1) [proof[0], proof[at % proof.length]] = [proof[at % proof.length], proof[0]];
        return { leaf, proof, root };
    }
  });

const merkleTarget = target<ProofInput>({
  name: 'merkle verifyMerkleProof',
  typedError: MerkleProofError,
  arbitrary: fc.oneof(treeProof, randomProof),
  check: ({ leaf, proof, root, expect }) =>
    verdict(
      MerkleProofError,
      () => verifyMerkleProof(leaf as Uint8Array, proof as Uint8Array[], root as Uint8Array),
      (ok) => {
        if (typeof ok !== 'boolean') return `returned ${typeof ok}, not a boolean`;
        if (expect !== undefined && ok !== expect) return `returned ${ok} for a proof that should ${expect ? '' : 'not '}verify`;
        if (!ok) return undefined;
        // Accepted: every part must be a real 32-byte hash and the proof within the depth limit.
        const parts = [leaf, root, ...(Array.isArray(proof) ? proof : [proof])];
        if (!Array.isArray(proof) || proof.length > MAX_PROOF_DEPTH) return 'accepted a proof that is not an array of at most 16 hashes';
        if (parts.some((p) => !(p instanceof Uint8Array) || p.length !== 32)) return 'accepted a proof with a part that is not 32 bytes';
        return equalBytes(rootFromProof(leaf as Uint8Array, proof as Uint8Array[]), root as Uint8Array) ? undefined : 'accepted, but the proof folds to another root';
      },
    ),
});

export const reportTargets: readonly FuzzTarget<unknown>[] = [reportTarget, handoverTarget, merkleTarget];
