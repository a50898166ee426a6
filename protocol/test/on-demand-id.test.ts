// onDemandRequestId: every field of an on-demand report's content moves the id (so one id can only mean
// one report), and malformed content is refused with the field named.
import { describe, expect, it } from 'vitest';
import { ReportFormatError, domainTag, inputHash, onDemandRequestId, toHex, type OnDemandContent } from '../src/index.ts';

const base: OnDemandContent = { domain: domainTag('devnet'), epoch: 3, leader: 2, model: 'liquidation-risk', inputHash: inputHash(new Uint8Array([1, 2, 3])), timestamp: 1_700_000_000, round: 0, nonce: new Uint8Array(16).fill(7) };

describe('onDemandRequestId', () => {
  it('is fixed for fixed content and changes with every field', () => {
    const id = toHex(onDemandRequestId(base));
    expect(toHex(onDemandRequestId({ ...base }))).toBe(id);
    const variants: Partial<OnDemandContent>[] = [
      { domain: domainTag('other') },
      { epoch: 4 },
      { leader: 3 },
      { model: 'liquidation-risk2' },
      { inputHash: inputHash(new Uint8Array([1, 2, 4])) },
      { timestamp: 1_700_000_001 },
      { round: 1 },
      { nonce: new Uint8Array(16).fill(8) },
    ];
    const ids = variants.map((v) => toHex(onDemandRequestId({ ...base, ...v })));
    expect(new Set([id, ...ids]).size).toBe(variants.length + 1);
  });

  it('refuses malformed content, naming the field', () => {
    const bad: [Partial<OnDemandContent>, string][] = [
      [{ domain: new Uint8Array(31) }, 'domain'],
      [{ inputHash: new Uint8Array(33) }, 'inputHash'],
      [{ nonce: new Uint8Array(15) }, 'nonce'],
      [{ epoch: -1 }, 'epoch'],
      [{ leader: 2 ** 32 }, 'leader'],
      [{ timestamp: 1.5 }, 'timestamp'],
      [{ round: Number.MAX_SAFE_INTEGER + 1 }, 'round'],
    ];
    for (const [v, field] of bad) {
      let err: unknown;
      try {
        onDemandRequestId({ ...base, ...v });
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(ReportFormatError);
      expect((err as ReportFormatError).message).toContain(field);
    }
  });
});
