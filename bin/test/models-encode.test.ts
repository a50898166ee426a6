// `destra models encode` and `eth request --values`: feature values in manifest order become the bytes
// chains carry. Checked against an independent encoding (int64 big-endian of round(value · scale)), the
// node's codec decoding them back, and the inputHash a report carries.
import { describe, expect, it } from 'vitest';
import { inputHash, toHex } from '@destra/protocol';
import { loadModels } from '@destra/models';
import { decodeInputValues, planFor } from '../../oracle-node/src/inference/codec.ts';
import { buildProgram } from '../cli.ts';
import { inProcessProgram } from './cli-harness.ts';

/** Values inside each feature's range, on the scale's grid (no rounding ties), and their canonical ints. */
function sampleValues(model: string): { values: number[]; ints: bigint[] } {
  const m = loadModels(undefined, [model])[0]!.manifest;
  const values: number[] = [];
  const ints: bigint[] = [];
  for (const inp of m.inputs) {
    inp.features.forEach((f, j) => {
      const lo = Math.ceil(f.min * inp.scale);
      const hi = Math.floor(f.max * inp.scale);
      const n = lo + Math.floor(((hi - lo) * (j + 1)) / (inp.features.length + 2));
      ints.push(BigInt(n));
      values.push(n / inp.scale);
    });
  }
  return { values, ints };
}

const bigEndian = (ints: bigint[]): string => {
  const b = new Uint8Array(8 * ints.length);
  ints.forEach((n, i) => new DataView(b.buffer).setBigInt64(8 * i, n, false));
  return toHex(b);
};

describe('destra models encode', () => {
  for (const model of ['liquidation-risk', 'tx-anomaly-int8', 'proposal-classifier']) {
    it(`${model}: hex for chains = int64 BE of round(value × scale); the node's codec decodes it back; inputHash = keccak256(input)`, async () => {
      const { values, ints } = sampleValues(model);
      const r = await inProcessProgram(buildProgram, ['models', 'encode', '--model', model, '--values', values.join(','), '--json']);
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out) as { input: string; inputHash: string; bytes: number; api: { model: string; input: number[] }; features: string[] };
      expect(out.input).toBe(bigEndian(ints));
      expect(out.bytes).toBe(8 * ints.length);
      const bytes = Uint8Array.from(Buffer.from(out.input.slice(2), 'hex'));
      expect(decodeInputValues(planFor(loadModels(undefined, [model])[0]!.manifest), bytes)).toEqual(values);
      expect(out.inputHash).toBe(toHex(inputHash(bytes)));
      expect(out.api).toEqual({ model, input: values }); // the /v1/infer body: the same values
      expect(out.features.length).toBe(values.length);
    });
  }

  it('refuses an unknown model, a wrong count and out-of-range values in one line naming what to do', async () => {
    const { values } = sampleValues('liquidation-risk');
    const cases: [string[], RegExp][] = [
      [['--model', 'no-such-model', '--values', '1'], /^destra models encode: model\(s\) no-such-model not found .*available: .*liquidation-risk/],
      [['--model', 'liquidation-risk', '--values', '1,2'], /^destra models encode: model 'liquidation-risk' takes 7 values in this order: features\.health_factor, /],
      [['--model', 'liquidation-risk', '--values', [1e6, ...values.slice(1)].join(',')], /^destra models encode: .*health_factor.*outside the manifest range/],
      [['--model', 'liquidation-risk', '--values', '1,NaN'], /^destra models encode: option '--values <list>' argument .* is invalid\. 'NaN' is not a finite number/],
    ];
    for (const [args, re] of cases) {
      const r = await inProcessProgram(buildProgram, ['models', 'encode', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(re);
      expect(r.err.split('\n')).toHaveLength(1);
    }
  });
});

describe('destra eth request --values', () => {
  const chain = ['--rpc', 'http://127.0.0.1:1', '--router', `0x${'11'.repeat(20)}`];
  it('sends the bytes models encode prints (the adapter receives --input as if given)', async () => {
    const { values, ints } = sampleValues('liquidation-risk');
    let seen: string | undefined;
    const build = () => {
      const p = buildProgram();
      // the adapter's action replaced by a probe: this checks the wiring, not the chain
      p.commands.find((c) => c.name() === 'eth')!.commands.find((c) => c.name() === 'request')!.action((o: { input: string }) => {
        seen = o.input;
      });
      return p;
    };
    const r = await inProcessProgram(build, ['eth', 'request', ...chain, '--model', 'liquidation-risk', '--values', values.join(',')]);
    expect(r.code, r.err).toBe(0);
    expect(seen).toBe(bigEndian(ints));
  });

  it('without an input names both ways and the encoder command; both at once are refused', async () => {
    const none = await inProcessProgram(buildProgram, ['eth', 'request', ...chain, '--model', 'liquidation-risk']);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/^destra eth request: give the request input: --values .* or --input 0x… .*destra models encode --model liquidation-risk --values/);
    const both = await inProcessProgram(buildProgram, ['eth', 'request', ...chain, '--model', 'liquidation-risk', '--values', '1', '--input', '0x00']);
    expect(both.err).toMatch(/^destra eth request: give --input .* or --values .*, not both/);
  });
});
