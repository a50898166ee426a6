import { describe, expect, it } from 'vitest';
import { dealShares, g2Compressed, G2 } from '@destra/protocol';
import { sharingFromPublicShares } from '../src/index.ts';

describe('sharingFromPublicShares', () => {
  it('rebuilds the exact commitments (and group key) from any t public shares', () => {
    const { sharing } = dealShares(3, 5);
    const shares = sharing.publicShares().map((pk, i) => ({ index: i + 1, publicShare: g2Compressed(pk) }));
    const rebuilt = sharingFromPublicShares(shares.slice(2), 3, 5);
    expect(rebuilt.commitmentBytes().map((b) => Buffer.from(b).toString('hex'))).toEqual(sharing.commitmentBytes().map((b) => Buffer.from(b).toString('hex')));
    expect(g2Compressed(rebuilt.groupKey)).toEqual(g2Compressed(sharing.groupKey));
  });

  it('refuses too few, duplicate, out-of-range or inconsistent shares', () => {
    const { sharing } = dealShares(2, 3);
    const shares = sharing.publicShares().map((pk, i) => ({ index: i + 1, publicShare: pk }));
    expect(() => sharingFromPublicShares(shares.slice(0, 1), 2, 3)).toThrow(/at least 2/);
    expect(() => sharingFromPublicShares([shares[0]!, shares[0]!], 2, 3)).toThrow(/duplicate/);
    expect(() => sharingFromPublicShares([{ index: 4, publicShare: G2.BASE }], 2, 3)).toThrow(/outside/);
    expect(() => sharingFromPublicShares([...shares.slice(0, 2), { index: 3, publicShare: G2.BASE }], 2, 3)).toThrow(/inconsistent/);
  });
});
