// Handover relaying to real chains: anvil with the deployed protocol (contracts' fixture: three staked
// operators, a DKG genesis committee) and the destra_oracle program in LiteSVM initialised with the same
// domain, epoch and group key. A handover landed on Ethereum by anyone reaches Solana through
// followEthereum; relay() lands on both, is idempotent, retries an unfunded Solana payer until funded and
// gives up at once on a refused signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Keypair } from '@solana/web3.js';
import { hexToBytes, toHex, type Address } from 'viem';
import { decodeHandover, encodeHandover, handoverSigningMessage, membersRoot, payoutsRoot, sharesRoot } from '@destra/protocol';
import { LocalCommittee, committeeRegistryAbi, payoutTable } from '@destra/contracts';
import { CommitteeReader, HandoverSubmitter } from '@destra/adapter-ethereum';
import { createLocalDeployment, type LocalDeployment } from '@destra/adapter-solana';
import { memberId, setupFixture, write, type Fixture } from '../../contracts/test/fixture.ts';
import { ALREADY_APPLIED, HandoverRelay, HandoverRelayError } from '../src/index.ts';

const logger = pino({ level: 'silent' });
/** A transaction signature as the transport reports it (LiteSVM: hex; RPC: base58), never ALREADY_APPLIED. */
const SOLANA_TX = /^(?:[0-9a-f]{128}|[1-9A-HJ-NP-Za-km-z]{64,88})$/;
let f: Fixture;
let sol: LocalDeployment;
let payer: Keypair;
let registry: Address;
let reader: CommitteeReader;
/** The committee of the registry's current epoch (signs the next handover). */
let current: LocalCommittee;

beforeAll(async () => {
  f = await setupFixture({ operators: 3 });
  registry = f.deployed.addresses.registry;
  reader = new CommitteeReader(f.clients.publicClient, registry);
  sol = await createLocalDeployment({
    groupKey: f.committee.groupKeyUncompressed, domain: hexToBytes(f.deployed.domain), clusterId: new Uint8Array(32).fill(5),
    epoch: 1n, threshold: f.committee.t, committeeSize: f.committee.n,
  });
  payer = Keypair.generate();
  sol.transport.airdrop(payer.publicKey, 10_000_000_000n);
  current = f.committee;
}, 180_000);
afterAll(async () => f?.stop());

/** The next handover from the registry's current epoch to a fresh DKG key for today's top-n, signed (compressed) by `signer`. */
async function nextHandover(signer: LocalCommittee = current) {
  const oldEpoch = await reader.currentEpoch();
  const next = await LocalCommittee.create(f.committee.n, f.committee.t);
  const members = await reader.selectedCommittee(f.committee.n);
  const handover = encodeHandover({
    domain: hexToBytes(f.deployed.domain), oldEpoch, newEpoch: oldEpoch + 1n, threshold: next.t, committeeSize: next.n,
    groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(members.map(memberId)),
    payoutsRoot: payoutsRoot(await payoutTable(f.clients.publicClient, registry, members)),
  });
  return { next, handover, signature: signer.signMessage(handoverSigningMessage(handover)) };
}

const ethereumSubmitter = () => {
  const c = f.operators[1]!.clients; // any funded account may relay
  return new HandoverSubmitter({ publicClient: c.publicClient, walletClient: c.walletClient, registry, minRetryDelayMs: 10, maxRetryDelayMs: 50 });
};

async function until(cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('HandoverRelay', () => {
  it('followEthereum carries a handover someone landed on Ethereum over to Solana', async () => {
    const relay = new HandoverRelay({ solana: { client: sol.client, payer }, logger });
    const watch = relay.followEthereum({ client: f.clients.publicClient, registry, fromBlock: await f.clients.publicClient.getBlockNumber(), pollIntervalMs: 50 });
    try {
      const { next, handover } = await nextHandover();
      // landed directly on the registry (EIP-2537 signature), not through the relay
      await write(f.operators[2]!.clients, registry, committeeRegistryAbi, 'handover', [toHex(handover), current.signHandover(handover)]);
      expect(await reader.currentEpoch()).toBe(2n);
      await until(async () => (await sol.client.fetchConfig())!.epoch === 2n);
      const cfg = (await sol.client.fetchConfig())!;
      expect(cfg.groupKey).toEqual(next.groupKeyUncompressed);
      expect(cfg.sharesRoot).toEqual(sharesRoot(next.publicSharesUncompressed));
      expect(toHex(cfg.membersRoot)).toBe((await reader.epochInfo(2n)).membersRoot);
      current = next;
    } finally {
      await watch.stop();
    }
  });

  it('relay() lands a handover on both chains, and relaying it again is already applied on each', async () => {
    const relay = new HandoverRelay({ ethereum: ethereumSubmitter(), solana: { client: sol.client, payer }, logger, baseDelayMs: 10 });
    const { next, handover, signature } = await nextHandover();
    const first = await relay.relay({ handover, signature });
    expect(first.ethereum).toMatch(/^0x[0-9a-f]{64}$/);
    expect(first.solana).toMatch(SOLANA_TX);
    expect(await reader.currentEpoch()).toBe(3n);
    expect((await sol.client.fetchConfig())!.epoch).toBe(3n);
    expect(await reader.committeeOf(3n)).toEqual(await reader.selectedCommittee(f.committee.n));
    expect(await relay.relay({ handover, signature })).toEqual({ ethereum: ALREADY_APPLIED, solana: ALREADY_APPLIED });
    current = next;
  });

  it('retries an unfunded Solana payer until it is funded; a signature neither chain accepts fails at once', async () => {
    const { next, handover, signature } = await nextHandover();
    // signed by the retired committee: both chains refuse it, no retry
    const forged = f.committee.signMessage(handoverSigningMessage(handover));
    const both = new HandoverRelay({ ethereum: ethereumSubmitter(), solana: { client: sol.client, payer }, logger, baseDelayMs: 10 });
    const err = await both.relay({ handover, signature: forged }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandoverRelayError);
    const failures = (err as HandoverRelayError).failures;
    // Ethereum refuses it; Solana is then not even asked (it follows what Ethereum installs)
    // ... for good: Ethereum's refusal is final, so is Solana's copy (republished copies are not relayed again)
    expect(failures.map((x) => [x.chain, x.permanent])).toEqual([['ethereum', true], ['solana', true]]);
    expect((err as HandoverRelayError).permanent).toBe(true);
    expect(failures[0]!.message).toMatch(/BadSignature/);
    expect(failures[1]!.message).toMatch(/Ethereum did not take this handover/);
    expect((await sol.client.fetchConfig())!.epoch).toBe(3n);
    // Solana alone still checks the signature itself
    const solOnly = new HandoverRelay({ solana: { client: sol.client, payer }, logger, baseDelayMs: 10 });
    const solErr = (await solOnly.relay({ handover, signature: forged }).catch((e: unknown) => e)) as HandoverRelayError;
    expect(solErr.failures.map((x) => [x.chain, x.permanent])).toEqual([['solana', true]]);
    expect(solErr.failures[0]!.message).toMatch(/InvalidSignature/);
    // Solana only, from a payer without lamports: transient until the airdrop
    const broke = Keypair.generate();
    const solanaOnly = new HandoverRelay({ solana: { client: sol.client, payer: broke }, logger, baseDelayMs: 20, maxDelayMs: 50 });
    const relayed = solanaOnly.relay({ handover, signature });
    await new Promise((r) => setTimeout(r, 300));
    expect((await sol.client.fetchConfig())!.epoch).toBe(3n);
    sol.transport.airdrop(broke.publicKey, 1_000_000_000n);
    const out = await relayed;
    expect(out.solana).toMatch(SOLANA_TX);
    expect(out.ethereum).toBeUndefined();
    expect((await sol.client.fetchConfig())!.groupKey).toEqual(next.groupKeyUncompressed);
    // Ethereum was not asked: still one epoch behind until an Ethereum relay lands it
    expect(await reader.currentEpoch()).toBe(3n);
    const late = new HandoverRelay({ ethereum: ethereumSubmitter(), logger, baseDelayMs: 10 });
    expect(await late.relay({ handover, signature })).toEqual({ ethereum: expect.stringMatching(/^0x/) });
  });

  it('a committee that is no longer the selected one (a stake landed after signing): Ethereum refuses, Solana is not asked (no split)', async () => {
    const { handover } = await nextHandover();
    // the same handover naming the members in another order: what a ranking change after the DKG looks like
    const stale = encodeHandover({ ...decodeHandover(handover), membersRoot: membersRoot([...(await reader.selectedCommittee(f.committee.n))].reverse().map(memberId)) });
    const signature = current.signMessage(handoverSigningMessage(stale));
    const solBefore = (await sol.client.fetchConfig())!.epoch;
    const both = new HandoverRelay({ ethereum: ethereumSubmitter(), solana: { client: sol.client, payer }, logger, baseDelayMs: 10 });
    const err = (await both.relay({ handover: stale, signature }).catch((e: unknown) => e)) as HandoverRelayError;
    expect(err).toBeInstanceOf(HandoverRelayError);
    expect(err.failures[0]).toMatchObject({ chain: 'ethereum', permanent: true });
    expect(err.failures[0]!.message).toMatch(/HandoverWrongCommittee/);
    expect(err.failures[1]).toMatchObject({ chain: 'solana', permanent: true });
    // final: the aggregator keeps this handover's copies out of its queue, so the re-run DKG's handover is not starved behind them
    expect(err.permanent).toBe(true);
    // Solana, which cannot check the committee, stays where Ethereum is
    expect((await sol.client.fetchConfig())!.epoch).toBe(solBefore);
    expect(await reader.currentEpoch()).toBe(solBefore);
  });
});
