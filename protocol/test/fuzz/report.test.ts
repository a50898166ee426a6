// Fuzz properties of the report, handover and Merkle-proof decoders (definitions in report-targets.ts,
// shared with `npm run bench -- fuzz`), plus the counterexamples fuzzing found as regression tests.
import { describe, expect, it } from 'vitest';
import { MerkleProofError, buildMerkleTree, merkleProof, rootFromProof, verifyMerkleProof } from '../../src/report/index.ts';
import { assertTarget } from './harness.ts';
import { reportTargets } from './report-targets.ts';

describe('fuzz: report, handover and Merkle-proof decoders throw only their typed errors', () => {
  for (const t of reportTargets) it(t.name, () => assertTarget(t, t.name.startsWith('merkle') ? 3000 : 4000));
});

describe('Merkle proof shape regressions', () => {
  const leaves = Array.from({ length: 5 }, (_, i) => new Uint8Array(32).fill(i + 1));
  const tree = buildMerkleTree(leaves);
  const proof = merkleProof(tree, 2);
  const expectProofError = (f: () => unknown, pattern: RegExp) => {
    expect(f).toThrow(MerkleProofError);
    expect(f).toThrow(pattern);
  };

  it('null, missing or non-byte parts are MerkleProofError, not TypeError', () => {
    expectProofError(() => rootFromProof(null as never, proof), /leaf is null/);
    expectProofError(() => rootFromProof(leaves[2]!, [null as never]), /proof\[0\] is null/);
    expectProofError(() => rootFromProof(leaves[2]!, 5 as never), /proof is a number, expected an array/);
    expectProofError(() => rootFromProof(leaves[2]!, { length: 1, 0: proof[0] } as never), /proof is an object/);
    expect(verifyMerkleProof(leaves[2]!, proof, null as never)).toBe(false);
    expect(verifyMerkleProof(leaves[2]!, proof, tree.root)).toBe(true);
  });

  it('32-element number arrays and 32-character strings are not hashes (they used to be hashed as truncated bytes)', () => {
    const asArray = [...proof[0]!].map((v) => v + 256); // same bytes modulo 256
    expectProofError(() => rootFromProof(leaves[2]!, [asArray as never, ...proof.slice(1)]), /proof\[0\] is an array/);
    expectProofError(() => rootFromProof('x'.repeat(32) as never, proof), /leaf is a string/);
  });

  it('holes in a sparse proof array are rejected, not skipped', () => {
    const sparse = [...proof];
    delete sparse[0];
    expectProofError(() => rootFromProof(leaves[2]!, sparse), /proof\[0\] is missing/);
  });
});
