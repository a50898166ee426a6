// The CLI's start-up-light argument checks agree with viem's (the reference) on every input tried.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatUnits, getAddress, isAddress as viemIsAddress, parseUnits } from 'viem';
import { formatDsync, parseDsync } from '../src/staking-values.ts';
import { hexArg, isAddress } from '../src/cli-args.ts';

describe('CLI argument checks without viem', () => {
  it('DSYNC amounts: format and parse as formatUnits / parseUnits with 18 decimals', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (v) => formatDsync(v) === formatUnits(v, 18)));
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 30n }), (v) => parseDsync(formatUnits(v, 18)) === parseUnits(formatUnits(v, 18), 18)));
    expect(parseDsync('1_000.5')).toBe(1000_500000000000000000n);
    expect(() => parseDsync('0.0')).toThrow(/greater than zero/);
    expect(() => parseDsync(`1.${'1'.repeat(19)}`)).toThrow(/more than 18 decimals/);
  });

  it('addresses: EIP-55 checksums as viem isAddress (one flipped letter case is refused)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 39 }), (b, i) => {
        const a = getAddress(`0x${Buffer.from(b).toString('hex')}`);
        const ch = a[2 + i]!;
        const flipped = a.slice(0, 2 + i) + (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) + a.slice(3 + i);
        return isAddress(a) && isAddress(a.toLowerCase()) && isAddress(flipped) === viemIsAddress(flipped);
      }),
      { numRuns: 2000 },
    );
    for (const bad of ['0x1234', `0x${'g'.repeat(40)}`, `${'1'.repeat(40)}`, `0x${'1'.repeat(41)}`]) expect(isAddress(bad), bad).toBe(false);
  });

  it('hex arguments: 0x-prefixed, even length', () => {
    expect(hexArg('0x00ff')).toBe('0x00ff');
    for (const bad of ['00ff', '0x0', '0xzz']) expect(() => hexArg(bad), bad).toThrow(/even-length hex/);
  });
});
