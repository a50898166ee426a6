// End to end: a member of a live committee double-signs a request it already answered (a second report,
// another output, under its own key share, sent over the ordinary partial protocol). The aggregator names
// it, builds the on-chain evidence and submits it; the registry slashes that member and no one else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLogs } from 'viem';
import { committeeRegistryAbi } from '@destra/contracts';
import { toHex } from '@destra/protocol';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { testFaultDoubleSign } from './fault.ts';
import { startE2eNetwork, type E2eNetwork } from './network.ts';

describe('e2e: equivocation is slashed on chain', () => {
  let net: E2eNetwork;
  let model: BenchModel;
  beforeAll(async () => {
    model = await loadBenchModel();
    net = await startE2eNetwork({ n: 4, t: 3, model, slashing: true, network: 'slash' });
  }, 150_000);
  afterAll(async () => {
    await net?.stop();
    await model?.close();
  }, 60_000);

  const slashedEvents = async () => {
    const logs = await net.chains.clients.publicClient.getLogs({ address: net.chains.deployed.addresses.registry, fromBlock: 0n });
    return parseEventLogs({ abi: committeeRegistryAbi, logs, eventName: 'Slashed' });
  };

  it('a member that signs a second report for an answered request is slashed; honest members are not', async () => {
    const id = await net.chains.ethRequest(model.input(3));
    await net.until('the request to be fulfilled', () => net.chains.ethFulfilled(id));
    expect(await slashedEvents()).toHaveLength(0);

    const offender = net.cluster.nodes.get(4)!;
    await net.until('member 4 to hold its partial', () => offender.store.ownPartial(id, 0) !== undefined);
    await testFaultDoubleSign(offender, id);

    await net.until('the aggregator to name the equivocation', () => net.evidence.some((e) => e.kind === 'equivocation' && e.member === 4));
    const [ev] = await net.until('the Slashed event', async () => {
      const evs = await slashedEvents();
      return evs.length > 0 ? evs : undefined;
    }, 60_000);
    expect(ev!.args.operator).toBe(net.slasher!.committee.members[3]);
    expect(ev!.args.epoch).toBe(1n);
    expect(toHex(Uint8Array.from(Buffer.from(ev!.args.requestId.slice(2), 'hex')))).toBe(toHex(id));
    expect(ev!.args.amount).toBeGreaterThan(0n);
    // Sending the same double-sign again changes nothing: the evidence was used once.
    await testFaultDoubleSign(offender, id);
    await new Promise((r) => setTimeout(r, 1000));
    const all = await slashedEvents();
    expect(all).toHaveLength(1);
    expect(await net.slasher!.submitter.submitEquivocation({ epoch: 1n, index: 4, ...pairFrom(net, 4) }, net.slasher!.committee)).toMatchObject({ status: 'already-fulfilled' });
  }, 120_000);
});

function pairFrom(net: E2eNetwork, member: number) {
  const e = net.evidence.find((x) => x.kind === 'equivocation' && x.member === member)!;
  return { reportA: e.counter!.report!, signatureA: e.counter!.signature, reportB: e.offending.report!, signatureB: e.offending.signature };
}
