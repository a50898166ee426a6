// The fixed-layout InferenceRequested decoder against viem's ABI decoder (the ABI is the source of truth):
// random events decode to the same fields both ways; malformed logs a hostile or broken RPC could return
// (dirty high bits, another offset, short or long data, non-zero padding, an oversized input, another
// event, missing topics) are refused with MalformedChainDataError.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { bytesToHex, decodeEventLog, encodeAbiParameters, encodeEventTopics, type Hex } from 'viem';
import { oracleRouterAbi } from '@destra/contracts';
import { MalformedChainDataError } from '../src/errors.ts';
import { decodeRequestedLog } from '../src/request-event.ts';

const params = [{ type: 'bytes32' }, { type: 'bytes' }, { type: 'uint32' }, { type: 'uint256' }, { type: 'uint64' }, { type: 'uint64' }] as const;
const word = (): Hex => bytesToHex(randomBytes(32));
const big = (bytes: number): bigint => BigInt(bytesToHex(randomBytes(bytes)));

function randomEvent(inputLength: number) {
  const args = { requestId: word(), requester: bytesToHex(randomBytes(20)), modelId: word() };
  const topics = encodeEventTopics({ abi: oracleRouterAbi, eventName: 'InferenceRequested', args }) as Hex[];
  const data = encodeAbiParameters(params, [word(), bytesToHex(randomBytes(inputLength)), Number(big(4)), big(32), big(8), big(8)]);
  return { topics, data };
}

describe('decodeRequestedLog', () => {
  it('decodes random events exactly as viem does', () => {
    for (const len of [0, 1, 16, 31, 32, 33, 64, 200, 4096]) {
      for (let i = 0; i < 5; i++) {
        const { topics, data } = randomEvent(len);
        const viem = decodeEventLog({ abi: oracleRouterAbi, eventName: 'InferenceRequested', topics: topics as [Hex, ...Hex[]], data, strict: true }).args;
        const mine = decodeRequestedLog(topics, data);
        expect({ ...mine, input: bytesToHex(mine.input) }).toEqual(viem);
      }
    }
  });

  it('refuses malformed logs', () => {
    const { topics, data } = randomEvent(40);
    const body = data.slice(2);
    const setWord = (i: number, w: string): Hex => `0x${body.slice(0, i * 64)}${w}${body.slice((i + 1) * 64)}`;
    const bad: [string, readonly Hex[], Hex][] = [
      ['three topics', topics.slice(0, 3), data],
      ['another event', [word(), ...topics.slice(1)], data],
      ['a short topic', [topics[0]!, '0x01', topics[2]!, topics[3]!], data],
      ['requester above 160 bits', [topics[0]!, topics[1]!, `0x01${topics[2]!.slice(4)}`, topics[3]!], data],
      ['not hex', topics, `0x${'zz'.repeat(300)}` as Hex],
      ['short data', topics, `0x${body.slice(0, 6 * 64)}`],
      ['another offset', topics, setWord(1, (0xe0).toString(16).padStart(64, '0'))],
      ['callbackGasLimit above 32 bits', topics, setWord(2, `01${'0'.repeat(62)}`)],
      ['deadline above 64 bits', topics, setWord(4, `01${'0'.repeat(62)}`)],
      ['seq above 64 bits', topics, setWord(5, `01${'0'.repeat(62)}`)],
      ['length longer than the data', topics, setWord(6, (80).toString(16).padStart(64, '0'))],
      ['trailing data', topics, `${data}${'00'.repeat(32)}`],
      ['dirty padding', topics, `${data.slice(0, -2)}01` as Hex],
    ];
    for (const [what, t, d] of bad) expect(() => decodeRequestedLog(t, d), what).toThrow(MalformedChainDataError);
    const huge = encodeAbiParameters(params, [word(), bytesToHex(new Uint8Array(4104)), 0, 1n, 1n, 0n]);
    expect(() => decodeRequestedLog(topics, huge)).toThrow(/4104 input bytes/);
  });
});
