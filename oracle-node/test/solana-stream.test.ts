// The Solana request stream as range signing reads it, against the real program in LiteSVM: the position
// after a slot (binary search over request numbers), and a span of slots' requests read back by number.
import { describe, expect, it } from 'vitest';
import { Keypair } from '@solana/web3.js';
import { domainTag, g2Uncompressed, publicKeyPoint, randomSecretKey } from '@destra/protocol';
import { createLocalDeployment } from '@destra/adapter-solana';
import { solanaStreamReader } from '../src/chains/solana-stream.ts';
import { chainRequestFromSolana } from '../src/chains/solana.ts';

describe('solanaStreamReader (LiteSVM)', () => {
  it('finds slot boundaries by request number and reads spans of slots back by number', async () => {
    const clusterId = new Uint8Array(32).fill(4);
    const d = await createLocalDeployment({ groupKey: g2Uncompressed(publicKeyPoint(randomSecretKey())), domain: domainTag('stream'), clusterId, requestFee: 1000n });
    const requester = Keypair.generate();
    d.transport.airdrop(requester.publicKey, 10_000_000_000n);
    const svm = d.transport.svm;
    const base = svm.getClock().slot;
    // slots base: 3 requests, base+2: 2, base+5: 4
    let nonce = 0n;
    const perSlot: [bigint, number][] = [[base, 3], [base + 2n, 2], [base + 5n, 4]];
    for (const [slot, count] of perSlot) {
      svm.warpToSlot(slot);
      for (let i = 0; i < count; i++) {
        const n = nonce++;
        await d.client.send([d.client.requestInferenceIx({ requester: requester.publicKey, nonce: n, modelHash: new Uint8Array(32).fill(1), input: new Uint8Array(8).fill(Number(n)) })], [requester]);
      }
    }
    const reader = solanaStreamReader({
      client: d.client,
      toRequest: async (r) => ({ ...chainRequestFromSolana(r, clusterId, d.client.programId.toBytes(), Number(r.createdSlot)), seq: Number(r.seq), block: r.createdSlot }),
    });
    expect(await reader.nextSeqAfter(base - 1n)).toBe(0);
    expect(await reader.nextSeqAfter(base)).toBe(3);
    expect(await reader.nextSeqAfter(base + 1n)).toBe(3);
    expect(await reader.nextSeqAfter(base + 2n)).toBe(5);
    expect(await reader.nextSeqAfter(base + 4n)).toBe(5);
    expect(await reader.nextSeqAfter(base + 5n)).toBe(9);
    expect(await reader.nextSeqAfter(base + 100n)).toBe(9);
    const span = await reader.requestsIn(base + 1n, base + 5n);
    expect(span.map((r) => [r.seq, r.block])).toEqual([[3, base + 2n], [4, base + 2n], [5, base + 5n], [6, base + 5n], [7, base + 5n], [8, base + 5n]]);
    expect(span[0]!.timestamp).toBe(Number(base + 2n));
  });
});
