// End to end with separate node processes: member 4 runs with DESTRA_TEST_FAULT=double-sign, so every
// partial it sends is followed by a second one for the same request and round with another output. The
// aggregator names it, builds the on-chain evidence and submits it to the registry on anvil (genesis set
// from this committee's DKG); the registry slashes member 4 once, and no honest member.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLogs, type Address } from 'viem';
import { EvidenceSubmitter, type EpochCommittee } from '@destra/adapter-ethereum';
import { committeeRegistryAbi, localClients } from '@destra/contracts';
import { startChains, type Chains } from '../devnet/chains.ts';
import { startProcessCluster, type ProcessCluster } from '../devnet/process-cluster.ts';

describe('e2e: a node process that double-signs is slashed on chain', () => {
  let chains: Chains;
  let cluster: ProcessCluster;
  let committee: EpochCommittee | undefined;
  let submitter: EvidenceSubmitter;
  let members: Address[];

  beforeAll(async () => {
    chains = await startChains({ network: 'slash', n: 4, modelName: 'tx-anomaly' });
    submitter = new EvidenceSubmitter({ ...localClients(chains.anvil.rpcUrl, chains.anvil.privateKeys.at(-2)!), registry: chains.deployed.addresses.registry });
    cluster = await startProcessCluster({
      network: 'slash',
      n: 4,
      t: 3,
      models: { models: ['tx-anomaly'] },
      nodeEnv: (i): Record<string, string> => (i === 4 ? { DESTRA_TEST_FAULT: 'double-sign' } : {}),
      // The committee the evidence is checked against exists once genesis is set (below).
      evidence: {
        submitEquivocation: (p) => {
          if (!committee) throw new Error('no genesis committee yet');
          return submitter.submitEquivocation(p, committee);
        },
      },
    });
    await chains.stake(cluster.committee.operators.slice(1));
    members = await chains.genesis(cluster.sharing);
    committee = { members, publicShares: cluster.sharing.publicShares().map((p) => p.toBytes(false)) };
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    await chains?.stop();
  }, 60_000);

  const slashed = async () => {
    const logs = await chains.clients.publicClient.getLogs({ address: chains.deployed.addresses.registry, fromBlock: 0n });
    return parseEventLogs({ abi: committeeRegistryAbi, logs, eventName: 'Slashed' });
  };

  it('an on-demand round is still answered; the double-signer alone is slashed, once', async () => {
    const misbehaviour: number[] = [];
    cluster.aggregator.service.on('misbehaviour', (e) => e.kind === 'equivocation' && misbehaviour.push(e.member));
    // Two rounds led by different members: member 4 double-signs in both; evidence lands once per round.
    for (const leader of [0, 1]) {
      const res = await fetch(`${cluster.nodes[leader]!.api}/v1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tx-anomaly', input: [0.5, -1, 2, 1, 0, 0.25, 3, -0.5, 1.5, 0] }),
      });
      expect(res.status).toBe(200);
    }
    const deadline = Date.now() + 60_000;
    let events = await slashed();
    while (events.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      events = await slashed();
    }
    expect(new Set(misbehaviour)).toEqual(new Set([4]));
    expect(events).toHaveLength(2);
    for (const ev of events) {
      expect(ev.args.operator).toBe(members[3]);
      expect(ev.args.epoch).toBe(1n);
      expect(ev.args.amount).toBeGreaterThan(0n);
    }
    // The same evidence again is no second slash: the registry answers AlreadySlashed, which is success.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await slashed()).toHaveLength(2);
  }, 120_000);
});
