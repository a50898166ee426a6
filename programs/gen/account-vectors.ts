// Writes test/vectors/solana/accounts.json: ReportResult accounts and request_inference instruction data
// encoded by the IDL's Anchor coder (the TypeScript client's source of truth), for the Rust client crate's
// tests (programs/client). Run: npx tsx programs/gen/account-vectors.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import BN from 'bn.js';
import { oracleCoder } from '../../adapters/solana/src/idl.ts';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
const fill = (seed: number): number[] => Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff);

interface ResultCase { name: string; kind: number; outputs: bigint[]; status: number; round: bigint; timestamp: bigint; postedSlot: bigint; seed: number }
const cases: ResultCase[] = [
  { name: 'feed answer', kind: 2, outputs: [731_000n, -5n], status: 0, round: 42n, timestamp: 1_760_000_000n, postedSlot: 1_000n, seed: 1 },
  { name: 'request answer', kind: 1, outputs: [1n, 2n, 3n], status: 0, round: 0n, timestamp: 1_760_000_100n, postedSlot: 2_000n, seed: 2 },
  { name: 'failure report', kind: 1, outputs: [], status: 2, round: 0n, timestamp: 1_760_000_200n, postedSlot: 3_000n, seed: 3 },
  { name: 'extreme outputs', kind: 2, outputs: [-(1n << 63n), (1n << 63n) - 1n, ...Array.from({ length: 62 }, (_, i) => BigInt(i))], status: 0, round: (1n << 64n) - 1n, timestamp: 0n, postedSlot: 7n, seed: 4 },
];

const results = await Promise.all(cases.map(async (c) => {
  const outputs = [...c.outputs, ...Array(64 - c.outputs.length).fill(0n)].map((v) => new BN(v.toString()));
  const fields = {
    id: fill(c.seed), kind: c.kind, epoch: new BN(3), model_hash: fill(c.seed + 10), input_hash: fill(c.seed + 20),
    timestamp: new BN(c.timestamp.toString()), round: new BN(c.round.toString()), output_count: c.outputs.length, outputs,
    posted_slot: new BN(c.postedSlot.toString()), report_leaf: fill(c.seed + 30), bump: 254, status: c.status,
  };
  const data = await oracleCoder.accounts.encode('ReportResult', fields);
  return {
    name: c.name, data: hex(data), id: hex(Uint8Array.from(fields.id)), kind: c.kind, epoch: '3', modelHash: hex(Uint8Array.from(fields.model_hash)),
    inputHash: hex(Uint8Array.from(fields.input_hash)), timestamp: c.timestamp.toString(), round: c.round.toString(),
    outputs: c.outputs.map(String), postedSlot: c.postedSlot.toString(), reportLeaf: hex(Uint8Array.from(fields.report_leaf)), status: c.status,
  };
}));

const requests = [
  { nonce: 7n, input: Uint8Array.from(Buffer.from('00000000000f424000000000000186a0', 'hex')), seed: 5 },
  { nonce: (1n << 64n) - 1n, input: new Uint8Array(512).map((_, i) => i & 0xff), seed: 6 },
].map((r) => {
  const data = oracleCoder.instruction.encode('request_inference', { nonce: new BN(r.nonce.toString()), model_hash: fill(r.seed), input: Buffer.from(r.input) });
  return { nonce: r.nonce.toString(), modelHash: hex(Uint8Array.from(fill(r.seed))), input: hex(r.input), data: hex(data) };
});

const out = fileURLToPath(new URL('../../test/vectors/solana/accounts.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({
  description: 'Oracle ReportResult accounts and request_inference instruction data encoded by the Anchor coder from programs/idl/destra_oracle.json (programs/gen/account-vectors.ts); the Rust client crate (programs/client) decodes and encodes the same bytes.',
  results, requests,
}, null, 2)}\n`);
console.log(`wrote ${out}`);
