// Writes test/vectors/solana/h2c_hints.json: hash-to-G1 hints (the program's input layout) for the shared
// BLS vectors' messages, with the expected hash point, so the Rust program tests check the same bytes.
// Run: npx tsx adapters/solana/gen/vectors.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { DESTRA_DST, g1Uncompressed, hashToG1, toHex, fromHex } from '@destra/protocol';
import { computeH2cHints, encodeH2cHints } from '../src/h2c/hints.ts';

const sigs = JSON.parse(readFileSync(new URL('../../../test/vectors/bls/signatures.json', import.meta.url), 'utf8')) as {
  hashToG1: { name: string; msg: string; dst: string }[];
};
const enc = new TextEncoder();
const vectors = sigs.hashToG1.filter((v) => v.dst === DESTRA_DST).map((v) => {
  const msg = fromHex(v.msg);
  const h = computeH2cHints(msg);
  return {
    name: v.name,
    msg: v.msg,
    hints: toHex(encodeH2cHints(h)),
    preCofactor: toHex(new Uint8Array([...bigBytes(h.x), ...bigBytes(h.yE)])),
    point: toHex(g1Uncompressed(hashToG1(msg))),
  };
});
function bigBytes(v: bigint): Uint8Array {
  return fromHex(`0x${v.toString(16).padStart(96, '0')}`);
}
void enc;
const out = fileURLToPath(new URL('../../../test/vectors/solana/h2c_hints.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({
  description: 'Hash-to-G1 hints for destra_oracle (adapters/solana/src/h2c/hints.ts layout: inv0, y0, inv1, y1, invDx, X, Y; 48-byte BE each, the inverses in Montgomery form v·2^406 mod p). preCofactor = (X, Y) on E; point = hash_to_curve(msg) uncompressed.',
  dst: DESTRA_DST,
  vectors,
}, null, 2)}\n`);
console.log(`wrote ${out} (${vectors.length} vectors)`);
