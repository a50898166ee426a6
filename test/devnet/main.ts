// `npm run devnet [-- --nodes N] [--once]`: a complete local destra network on 127.0.0.1.
// anvil + contracts, the oracle program in an in-process LiteSVM, n staked operators whose node processes
// follow CommitteeRegistry (no member list in any file): the genesis DKG over libp2p, genesis on both
// chains, then live epochs — an operator joins (epoch 2 has n+1 members), one unbonds (epoch 3 has n),
// each handover threshold-signed by the outgoing committee and relayed to both chains — while requests
// from the example consumers keep flowing; every one is checked on its chain.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, destination } from 'pino';
import { formatEther } from 'viem';
import { decodeReport, fromHex, toHex } from '@destra/protocol';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { HandoverSubmitter } from '@destra/adapter-ethereum';
import { localClients } from '@destra/contracts';
import { HandoverRelay, parseAggregatorConfig, startAggregator, type RunningAggregator, type SignedReport } from '@destra/aggregator';
import { loadBenchModel } from '../bench/inference.ts';
import { startChains, type Chains } from './chains.ts';
import { writeLocalCommittee } from './committee.ts';
import { spawnNode, writeNodeChainsFile, type NodeProcess } from './processes.ts';
import { info, step } from './progress.ts';
import { startSvmBridge } from './svm-bridge.ts';

const { values: args } = parseArgs({
  options: { nodes: { type: 'string', default: '4' }, once: { type: 'boolean', default: false }, dir: { type: 'string', default: '.devnet' } },
});
const n = Number(args.nodes);
if (!Number.isInteger(n) || n < 1 || n > 64) {
  process.stderr.write(`--nodes must be an integer in 1..64, got ${args.nodes}\n`);
  process.exit(2);
}
const t = Math.floor((2 * n) / 3) + 1 > n ? n : Math.floor((2 * n) / 3) + 1;
const network = 'devnet';
/** Governance's epoch length on the devnet: rotations every ~20 s plus the DKG and the handover. */
const EPOCH_SECONDS = 20;
const dir = resolve(args.dir!);

// Everything started is registered here and stopped in reverse order on exit or Ctrl-C.
const cleanups: (() => Promise<unknown>)[] = [];
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
  process.exit(code);
}
process.once('SIGINT', () => {
  process.stdout.write('\nstopping devnet…\n');
  void shutdown(130);
});
process.once('SIGTERM', () => void shutdown(143));

interface Sample {
  chain: 'ethereum' | 'solana' | 'on-demand';
  id: Uint8Array;
  input: Uint8Array;
  submittedAt: number;
  answeredAt?: number;
  verified?: boolean;
  detail?: string;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET /v1/epochs of a node process (chain-driven epochs). */
interface EpochsView {
  epoch: number;
  member: boolean;
  dkgResult: { epoch: number; handover: string } | null;
}
const epochsOf = (p: NodeProcess): Promise<EpochsView | undefined> => fetch(`${p.api}/v1/epochs`).then((r) => (r.ok ? (r.json() as Promise<EpochsView>) : undefined)).catch(() => undefined);

async function main(): Promise<void> {
  process.stdout.write(`destra devnet: ${n} operators (+1 joining, 1 leaving), epochs of ${EPOCH_SECONDS} s from CommitteeRegistry, data in ${dir}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const model = await step('load the inference model', () => loadBenchModel());
  const probe = await model.inference.infer(model.model, model.input(0));
  info(`model ${model.model}, hash ${toHex(probe.modelHash)}`);
  const chains: Chains = await step('start anvil, deploy contracts, load the Solana program into LiteSVM', () =>
    startChains({ network, n: n + 1, modelName: model.model, committeeSize: 16, epochLengthSec: EPOCH_SECONDS, handoverGraceSec: 120 }),
  );
  cleanups.push(() => chains.stop());
  info(`anvil ${chains.anvil.rpcUrl} (chain ${chains.anvil.chainId}), registry ${chains.deployed.addresses.registry}, router ${chains.deployed.addresses.router}, program ${ORACLE_PROGRAM_ID.toBase58()}`);
  const bridge = await step('start the read-only SVM bridge for node processes', () => startSvmBridge(chains.svm));
  cleanups.push(() => bridge.close());
  // n operators now and one that joins later; node configs hold only the node's own things and the
  // registry to follow: committee, epochs and peers come from the chain.
  const committee = await step(`create ${n + 1} operators (keystores, libp2p identities, configs without a member list)`, () =>
    writeLocalCommittee({
      dir, network, n: n + 1, t, models: model.models, logLevel: 'info', dkgPhaseTimeoutMs: 4000,
      control: { rpcUrl: chains.anvil.rpcUrl, registry: chains.deployed.addresses.registry, pollIntervalMs: 500 },
    }),
  );
  const chainsFile = join(dir, 'chains.json');
  writeNodeChainsFile(chainsFile, { chains, svmBridgeUrl: bridge.url, modelHash: probe.modelHash, modelName: model.model });
  await step(`register ${n} operators on Ethereum: BLS key + proof of possession, DSYNC self-bond, node info`, () =>
    chains.stake(committee.operators.slice(1, n + 1), committee.nodeInfo.slice(0, n)),
  );
  const aggregator: RunningAggregator = await step('start the aggregator (follows the registry, relays results and handovers to both chains)', async () => {
    const relayerKey = chains.anvil.privateKeys.at(-1)!;
    process.env.DESTRA_DEVNET_RELAYER_KEY = relayerKey;
    const { committee: fixed, ...base } = committee.aggregatorConfig;
    const cfg = parseAggregatorConfig({
      ...base,
      aggregators: fixed?.aggregators ?? [],
      epochs: { source: 'chain', pollIntervalMs: 500, directoryRefreshMs: 2000 },
      chains: {
        ethereum: {
          rpcUrl: chains.anvil.rpcUrl, router: chains.deployed.addresses.router, feeds: chains.deployed.addresses.feeds,
          registry: chains.deployed.addresses.registry, relayer: { keyEnv: 'DESTRA_DEVNET_RELAYER_KEY' },
        },
      },
      relay: { staggerMs: 0, maxAttempts: 8, onDemandTargets: ['ethereum', 'solana'] },
    });
    // Handovers go out from their own account, so their nonces never race the result relayer's.
    const handoverClients = localClients(chains.anvil.rpcUrl, chains.anvil.privateKeys[n + 2]!);
    const alog = pino({ level: 'info' }, destination(join(dir, 'aggregator.log')));
    const handoverRelay = new HandoverRelay({
      ethereum: new HandoverSubmitter({ publicClient: handoverClients.publicClient, walletClient: handoverClients.walletClient, registry: chains.deployed.addresses.registry }),
      solana: { client: chains.solana, payer: chains.solAdmin },
      logger: alog,
    });
    const a = await startAggregator(cfg, { sinks: [chains.ethSink, chains.solSink], handoverRelay, log: alog });
    cleanups.push(() => a.stop());
    return a;
  });
  const nodes: NodeProcess[] = await step(`start ${n} node processes (each reads the registry: epoch 0, genesis DKG among the ${n} staked operators)`, async () => {
    const list = await Promise.all(
      Array.from({ length: n }, async (_, k) => {
        const p = await spawnNode(k + 1, committee.nodeConfigPaths[k]!, chainsFile, dir);
        cleanups.push(() => p.stop());
        return p;
      }),
    );
    for (const p of list) info(`node ${p.index}: pid ${p.child.pid}, API ${p.api}, log ${p.logFile}`);
    return list;
  });
  const genesisRecord = await step('genesis DKG over libp2p; every node publishes the same record', () =>
    waitFor('the genesis DKG', async () => {
      const views = await Promise.all(nodes.map(epochsOf));
      const records = new Set(views.map((v) => (v?.dkgResult?.epoch === 1 ? v.dkgResult.handover : undefined)));
      if (records.size !== 1 || records.has(undefined)) return undefined;
      return [...records][0]!;
    }, 120_000),
  );
  await step('install genesis (group key, committee) on Ethereum and Solana', () => chains.genesisFromHandover(fromHex(genesisRecord)));
  await step(`register model ${model.model} on Ethereum`, () => chains.registerModel(model.model, probe.modelHash));
  await step('every node serves epoch 1', () =>
    waitFor('epoch 1 active on every node', async () => ((await Promise.all(nodes.map(epochsOf))).every((v) => v?.epoch === 1 && v.member) ? true : undefined), 60_000),
  );
  const delegator = await step('a holder delegates DSYNC to operator 1 (rewards per share, besides the self-bonds)', () => chains.delegate());
  info(`delegator ${delegator}`);
  aggregator.service.on('misbehaviour', (e) => info(`member ${e.member} named: ${e.kind} (request ${toHex(e.requestId).slice(0, 18)}…)`));
  const latencyOf = new Map<string, number>();
  const reportOf = new Map<string, Uint8Array>();
  aggregator.service.on('result', (r) => {
    latencyOf.set(toHex(r.signed.requestId), r.latencyMs);
    reportOf.set(toHex(r.signed.requestId), r.signed.report);
  });

  // ---- sample requests -------------------------------------------------------------------------
  const samples: Sample[] = [];
  await step('submit sample requests from the example consumers', async () => {
    for (let i = 0; i < 2; i++) {
      const input = model.input(100 + i);
      samples.push({ chain: 'ethereum', id: await chains.ethRequest(input), input, submittedAt: performance.now() });
      const sInput = model.input(200 + i);
      samples.push({ chain: 'solana', id: await chains.solRequest(probe.modelHash, sInput), input: sInput, submittedAt: performance.now() });
    }
  });
  const odInput = model.input(300);
  const odStart = performance.now();
  const od = await step('on-demand report from node 1 (POST /v1/infer), relayed to both chains', async () => {
    const res = await fetch(`${nodes[0]!.api}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: model.model, input: toHex(odInput) }) });
    if (!res.ok) throw new Error(`/v1/infer answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { requestId: string; report: string; signature: string; root: string; proof: string[] };
  });
  samples.push({ chain: 'on-demand', id: fromHex(od.requestId), input: odInput, submittedAt: odStart, answeredAt: performance.now() });

  // ---- live epochs: one operator joins, one leaves, requests flow on both chains all the while --------
  let traffic = true;
  let seq = 0;
  const loop = (async () => {
    while (traffic) {
      const i = seq++;
      const input = model.input(1000 + i);
      try {
        if (i % 2 === 0) samples.push({ chain: 'ethereum', id: await chains.ethRequest(input), input, submittedAt: performance.now() });
        else samples.push({ chain: 'solana', id: await chains.solRequest(probe.modelHash, input), input, submittedAt: performance.now() });
      } catch (err) {
        info(`request ${i} not submitted: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 1500));
    }
  })();
  const solEpoch = async (): Promise<number> => Number((await chains.solana.fetchConfig())?.epoch ?? 0n);
  const epochOnBoth = (epoch: number, size: number) => async (): Promise<true | undefined> => {
    const e = await chains.epoch();
    return e.epoch >= epoch && e.size === size && (await solEpoch()) >= epoch ? true : undefined;
  };
  await step(`operator ${n + 1} registers, stakes and starts its node (nobody restarts, no file edited)`, async () => {
    await chains.stake([committee.operators[n + 1]!], [committee.nodeInfo[n]!], n);
    const p = await spawnNode(n + 1, committee.nodeConfigPaths[n]!, chainsFile, dir);
    cleanups.push(() => p.stop());
    nodes.push(p);
    info(`node ${p.index}: pid ${p.child.pid}, API ${p.api}`);
  });
  const t0 = performance.now();
  await step(`epoch 2: ${n + 1} members run the DKG, epoch 1 threshold-signs the handover, relayed to Ethereum and Solana`, () => waitFor('epoch 2 on both chains', epochOnBoth(2, n + 1), 180_000));
  info(`epoch 1 → 2 in ${((performance.now() - t0) / 1000).toFixed(1)} s after the joiner staked`);
  await step('operator 1 unbonds its self-bond: it is not in the next committee', () => chains.unbond(0));
  const t1 = performance.now();
  await step(`epoch 3: ${n} members without operator 1`, () => waitFor('epoch 3 on both chains', epochOnBoth(3, n), 180_000));
  info(`epoch 2 → 3 in ${((performance.now() - t1) / 1000).toFixed(1)} s after the unbond`);
  traffic = false;
  await loop;
  await step('node 1 (left the committee) stops', () => nodes[0]!.stop());
  const rotations = (await chains.epoch()).epoch - 1;

  let lost = 0;
  await step(`wait for every request (${samples.length}) to be answered and verified`, async () => {
    await Promise.all(
      samples.map(async (s) => {
       try {
        const want = (await model.inference.infer(model.model, s.input)).output;
        if (s.chain === 'ethereum') {
          await waitFor(`Ethereum request ${toHex(s.id).slice(0, 18)}…`, async () => ((await chains.ethFulfilled(s.id)) ? true : undefined), 90_000);
          s.answeredAt = performance.now();
          // the report the router verified (combined in whichever epoch answered it)
          const report = await waitFor('the signed report', async () => reportOf.get(toHex(s.id)), 5_000);
          const got = decodeReport(report).output;
          s.verified = got.join() === want.join();
          s.detail = `callback delivered, verified by OracleRouter (BLS12-381 precompiles); output [${got.join(', ')}]`;
        } else if (s.chain === 'solana') {
          const r = await waitFor(`Solana request ${toHex(s.id).slice(0, 18)}…`, async () => (await chains.solana.fetchResult(s.id)) ?? undefined, 90_000);
          s.answeredAt = performance.now();
          s.verified = r.output.join() === want.join();
          s.detail = `result account written after in-program BLS verification; output [${r.output.join(', ')}]`;
        } else {
          const signed: SignedReport = { requestId: s.id, report: fromHex(od.report), root: fromHex(od.root), proof: od.proof.map((p) => fromHex(p)), signature: fromHex(od.signature) };
          const onEth = await chains.ethSink.verify(signed);
          const onSol = await waitFor('the on-demand report on Solana', async () => (await chains.solana.fetchResult(s.id)) ?? undefined, 60_000);
          s.verified = onEth && onSol.output.join() === want.join() && decodeReport(signed.report).output.join() === want.join();
          s.detail = `Ethereum verifyReport: ${onEth}; Solana result account: written; output [${decodeReport(signed.report).output.join(', ')}]`;
        }
       } catch (err) {
        lost++;
        s.verified = false;
        s.detail = `LOST: ${(err as Error).message}`;
       }
      }),
    );
  });
  await step('distribute the Solana request fees to the committee (distribute_fees, pro rata to stake)', async () => {
    const paid = await chains.distributeFees();
    for (const p of paid) info(`${p.payee.toBase58()}  weight ${p.weight} DSYNC  +${p.lamports} lamports`);
    if (paid.every((p) => p.lamports === 0n)) throw new Error('distribute_fees paid nothing');
  });
  process.stdout.write('\nresults\n');
  for (const s of samples) {
    const agg = latencyOf.get(toHex(s.id));
    process.stdout.write(
      `  ${s.chain.padEnd(9)} ${toHex(s.id).slice(0, 18)}…  ${s.verified ? 'verified ✓' : 'NOT verified ✗'}  ` +
        (s.answeredAt !== undefined ? `request→answer ${((s.answeredAt - s.submittedAt) / 1000).toFixed(2)} s` : 'not answered') +
        (agg !== undefined ? `, round ${agg.toFixed(1)} ms` : '') +
        `\n    ${s.detail}\n`,
    );
  }
  // request fees accrued to the pools: every operator and the delegator claim their ETH
  const econ = await step('claim staking rewards (operators and the delegator)', () => chains.economics(n + 1));
  const per = (c: Sample['chain']) => samples.filter((s) => s.chain === c);
  const rounds = [...latencyOf.values()].sort((a, b) => a - b);
  const econOk = econ.burned > 0n && econ.operatorRewards > 0n && econ.delegatorRewards > 0n;
  const allOk = samples.every((s) => s.verified) && econOk && rotations >= 2 && lost === 0;
  process.stdout.write(
    `\nsummary: ethereum ${per('ethereum').filter((s) => s.verified).length}/${per('ethereum').length}, ` +
      `solana ${per('solana').filter((s) => s.verified).length}/${per('solana').length}, ` +
      `on-demand on both chains ${per('on-demand').filter((s) => s.verified).length}/${per('on-demand').length}; ` +
      `verified: ${allOk ? 'yes' : 'no'}; round latency p50 ${rounds[Math.floor(rounds.length / 2)]?.toFixed(1) ?? '-'} ms\n` +
      `economics: burned ${formatEther(econ.burned)} DSYNC, rewards claimed by operators ${formatEther(econ.operatorRewards)} ETH, delegators ${formatEther(econ.delegatorRewards)} ETH\n` +
      `rotations: ${rotations}, lost requests: ${lost}, verified: ${allOk ? 'yes' : 'no'}\n`,
  );
  if (args.once) await shutdown(allOk ? 0 : 1);
  process.stdout.write('\ndevnet running: node APIs above (dashboard at /), Ctrl-C stops everything.\n');
  aggregator.service.on('result', (r) => info(`signed ${toHex(r.signed.requestId).slice(0, 18)}… by [${r.signers.join(',')}] in ${r.latencyMs.toFixed(1)} ms`));
}

main().catch(async (err) => {
  process.stderr.write(`devnet failed: ${(err as Error).message}\n`);
  await shutdown(1);
});
