import { describe, expect, it } from 'vitest';
import { ChainType, encodeReport, evmDestination, domainTag, ReportKind, reportLeaf, rootFromProof, signingMessage, SigningPurpose, verify, g2Compressed, anyDestination, dealShares, signPartial, combinePartials } from '@destra/protocol';
import { Relayer, hexKey, type ChainName, type ChainSink, type SignedReport } from '../src/index.ts';

// A ledger that checks what a verifier contract checks (group signature over the proven root, no
// replays), so relayer behaviour is tested against real verification rather than canned answers.
class LedgerSink implements ChainSink {
  readonly fulfilled = new Map<string, string>();
  failNext = 0;
  submits = 0;
  constructor(
    readonly chain: ChainName,
    readonly chainType: ChainType,
    private readonly groupKey: Uint8Array,
  ) {}
  async isFulfilled(item: SignedReport) {
    return this.fulfilled.has(hexKey(item.requestId));
  }
  async submit(item: SignedReport) {
    this.submits++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('rpc timeout');
    }
    const key = hexKey(item.requestId);
    if (this.fulfilled.has(key)) throw new Error('AlreadyFulfilled()');
    const root = rootFromProof(reportLeaf(item.report), item.proof);
    if (!verify(this.groupKey, signingMessage(SigningPurpose.ReportRoot, root), item.signature)) throw new Error('BadSignature()');
    const tx = `tx-${this.fulfilled.size + 1}`;
    this.fulfilled.set(key, tx);
    return tx;
  }
}

function signedReport(destination = evmDestination(31337n, new Uint8Array(20).fill(1)), kind: 1 | 3 = ReportKind.Request) {
  const { shares, sharing } = dealShares(2, 3);
  const id = new Uint8Array(32).fill(9);
  const report = encodeReport({ kind, domain: domainTag('t'), epoch: 1n, destination, id, modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: 1n, round: 0n, output: [3n] });
  const leaf = reportLeaf(report);
  const msg = signingMessage(SigningPurpose.ReportRoot, leaf);
  const signature = combinePartials(shares.slice(0, 2).map((s) => signPartial(s, msg)), 2);
  return { item: { requestId: id, report, root: leaf, proof: [], signature } satisfies SignedReport, groupKey: g2Compressed(sharing.groupKey) };
}

const noSleep = { sleep: async () => {}, random: () => 0.5 };

describe('Relayer', () => {
  it('lands a request report on the chain it came from', async () => {
    const { item, groupKey } = signedReport();
    const eth = new LedgerSink('ethereum', ChainType.Evm, groupKey);
    const sol = new LedgerSink('solana', ChainType.Svm, groupKey);
    const out = await new Relayer([eth, sol], noSleep).relay(item);
    expect(out).toEqual([{ chain: 'ethereum', status: 'submitted', tx: 'tx-1', attempts: 1 }]);
    expect(sol.submits).toBe(0);
  });

  it('sends an on-demand report to both chains when asked', async () => {
    const { item, groupKey } = signedReport(anyDestination(), ReportKind.OnDemand);
    const eth = new LedgerSink('ethereum', ChainType.Evm, groupKey);
    const sol = new LedgerSink('solana', ChainType.Svm, groupKey);
    const out = await new Relayer([eth, sol], noSleep).relay(item, ['ethereum', 'solana']);
    expect(out.map((o) => o.status)).toEqual(['submitted', 'submitted']);
  });

  it('backs off when another aggregator already landed it, before and on revert', async () => {
    const { item, groupKey } = signedReport();
    const eth = new LedgerSink('ethereum', ChainType.Evm, groupKey);
    const a = new Relayer([eth], noSleep);
    const b = new Relayer([eth], { ...noSleep, rank: 1 });
    const [ra, rb] = await Promise.all([a.relay(item), b.relay(item)]);
    expect(ra[0]!.status).toBe('submitted');
    expect(rb[0]!.status).toBe('already-fulfilled');
    expect(eth.submits).toBe(1);
  });

  it('retries transient failures and gives up with a typed error', async () => {
    const { item, groupKey } = signedReport();
    const eth = new LedgerSink('ethereum', ChainType.Evm, groupKey);
    eth.failNext = 2;
    const delays: number[] = [];
    const r = new Relayer([eth], { maxAttempts: 3, baseDelayMs: 100, random: () => 0.5, sleep: async (ms) => void delays.push(ms) });
    expect((await r.relay(item))[0]).toMatchObject({ status: 'submitted', attempts: 3 });
    expect(delays).toEqual([100, 200]);
    const eth2 = new LedgerSink('ethereum', ChainType.Evm, new Uint8Array(96));
    const bad = await new Relayer([eth2], { ...noSleep, maxAttempts: 2 }).relay(item);
    expect(bad[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(bad[0]!.status === 'failed' && bad[0]!.error.message).toMatch(/gave up after 2 attempts/);
  });

  it('refuses an on-demand target it has no sink for', async () => {
    const { item, groupKey } = signedReport(anyDestination(), ReportKind.OnDemand);
    const r = new Relayer([new LedgerSink('ethereum', ChainType.Evm, groupKey)], noSleep);
    await expect(r.relay(item, ['solana'])).rejects.toThrow(/no solana sink/);
  });
});
