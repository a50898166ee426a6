// A complete local network for the e2e tests: both chains (anvil + LiteSVM), n in-process oracle nodes
// with chain watchers, one aggregator relaying to both chains, genesis and a registered model.
import { pino } from 'pino';
import { toHex, type Report } from '@destra/protocol';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import type { Evidence, ResultEvent } from '@destra/aggregator';
import { startChains, CLUSTER_ID, type Chains } from '../devnet/chains.ts';
import { startLocalCluster, type LocalCluster } from '../devnet/cluster.ts';
import { EthereumRequestSource, SolanaRequestSource } from '../devnet/sources.ts';
import type { BenchModel } from '../bench/inference.ts';
import { testFaultWrongOutput } from './fault.ts';

export interface E2eNetwork {
  chains: Chains;
  cluster: LocalCluster;
  model: BenchModel;
  modelHash: Uint8Array;
  results: ResultEvent[];
  evidence: Evidence[];

  /** Polls until `check` is truthy or throws after timeoutMs. */
  until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startE2eNetwork(o: { n: number; t: number; model: BenchModel; faulty?: number[]; network?: string }): Promise<E2eNetwork> {
  const network = o.network ?? 'e2e';
  const probe = await o.model.inference.infer(o.model.model, o.model.input(0));
  const modelHash = probe.modelHash;
  const models = new Map([[toHex(modelHash).toLowerCase(), o.model.model]]);
  const chains = await startChains({ network, n: o.n, modelName: o.model.model });
  let cluster: LocalCluster | undefined;
  try {

    const log = pino({ level: process.env.DESTRA_E2E_LOG ?? 'silent' });
    cluster = await startLocalCluster({
      network,
      n: o.n,
      t: o.t,
      log,
      models: o.model.models,
      inference: (i) => (o.faulty?.includes(i) ? testFaultWrongOutput(o.model.inference) : o.model.inference),
      sources: () => [
        new EthereumRequestSource({ rpcUrl: chains.anvil.rpcUrl, chainId: chains.anvil.chainId, router: chains.deployed.addresses.router, models, pollMs: 100 }),
        new SolanaRequestSource({ transport: chains.svm, programId: ORACLE_PROGRAM_ID, clusterId: CLUSTER_ID, models, pollMs: 100 }),
      ],
      sinks: [chains.ethSink, chains.solSink],
      onDemandTargets: ['ethereum', 'solana'],
    });
    await chains.stake(cluster.committee.operators.slice(1));
    await chains.genesis(cluster.sharing);
    await chains.registerModel(o.model.model, modelHash);
    const results: ResultEvent[] = [];
    const evidence: Evidence[] = [];
    cluster.aggregator.service.on('result', (r) => results.push(r));
    cluster.aggregator.service.on('misbehaviour', (e) => evidence.push(e));
    const c = cluster;
    return {
      chains,
      cluster: c,
      model: o.model,
      modelHash,
      results,
      evidence,
      async until(what, check, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const v = await check();
          if (v) return v as never;
          if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async stop() {
        await c.stop();
        await chains.stop();
      },
    };
  } catch (err) {
    await cluster?.stop();
    await chains.stop();
    throw err;
  }
}

export type { Report };
