// `npm run devnet [-- --nodes N] [--once]`: a complete local destra network on 127.0.0.1.
// anvil + contracts, the oracle program in an in-process LiteSVM, n staked operators, the DKG over
// libp2p among separate node processes, genesis on both chains, one aggregator relaying to both chains,
// and sample requests from the example consumers with their verification outcome.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, destination } from 'pino';
import { formatEther } from 'viem';
import { decodeReport, fromHex, toHex, type PublicSharing } from '@destra/protocol';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { parseAggregatorConfig, startAggregator, type RunningAggregator, type SignedReport } from '@destra/aggregator';
import { loadBenchModel } from '../bench/inference.ts';
import { startChains, type Chains } from './chains.ts';
import { writeLocalCommittee } from './committee.ts';
import { spawnNode, waitForDkg, writeNodeChainsFile, type NodeProcess } from './processes.ts';
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

async function main(): Promise<void> {
  process.stdout.write(`destra devnet: ${n} nodes, threshold ${t}, data in ${dir}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const model = await step('load the inference model', () => loadBenchModel());
  const probe = await model.inference.infer(model.model, model.input(0));
  info(`model ${model.model}, hash ${toHex(probe.modelHash)}`);
  const chains: Chains = await step('start anvil, deploy contracts, load the Solana program into LiteSVM', () => startChains({ network, n, modelName: model.model }));
  cleanups.push(() => chains.stop());
  info(`anvil ${chains.anvil.rpcUrl} (chain ${chains.anvil.chainId}), router ${chains.deployed.addresses.router}, program ${ORACLE_PROGRAM_ID.toBase58()}`);
  const bridge = await step('start the read-only SVM bridge for node processes', () => startSvmBridge(chains.svm));
  cleanups.push(() => bridge.close());
  const committee = await step(`create ${n} operators (keystores, libp2p identities, configs)`, () =>
    writeLocalCommittee({ dir, network, n, t, models: model.models, logLevel: 'info' }),
  );
  const chainsFile = join(dir, 'chains.json');
  writeNodeChainsFile(chainsFile, { chains, svmBridgeUrl: bridge.url, modelHash: probe.modelHash, modelName: model.model });
  await step(`register and stake ${n} operators on Ethereum`, () => chains.stake(committee.operators.slice(1)));
  const nodes: NodeProcess[] = await step(`start ${n} node processes`, async () => {
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
  const sharing: PublicSharing = await step('run the DKG over libp2p among the nodes', async () => {
    const sharing = await waitForDkg(nodes, 120_000);
    info(`group key ${toHex(sharing.groupKeyBytes).slice(0, 26)}…`);
    return sharing;
  });
  await step('set the group key (genesis) on Ethereum and Solana', () => chains.genesis(sharing));
  await step(`register model ${model.model} on Ethereum`, () => chains.registerModel(model.model, probe.modelHash));
  // after genesis, so the committee (and its member order) is the operators' self-bonds alone
  const delegator = await step('a holder delegates DSYNC to operator 1 (rewards per share, besides the self-bonds)', () => chains.delegate());
  info(`delegator ${delegator}`);
  const aggregator: RunningAggregator = await step('start the aggregator (relays to both chains)', async () => {
    const cfg = parseAggregatorConfig({ ...committee.aggregatorConfig, relay: { staggerMs: 0, maxAttempts: 4, onDemandTargets: ['ethereum', 'solana'] } });
    const a = await startAggregator(cfg, { sharing, sinks: [chains.ethSink, chains.solSink], log: pino({ level: 'warn' }, destination(join(dir, 'aggregator.log'))) });
    cleanups.push(() => a.stop());
    await waitFor('nodes connecting to the aggregator', async () => (a.host.peersWithRole('member').length === n ? true : undefined), 30_000);
    return a;
  });
  aggregator.service.on('misbehaviour', (e) => info(`member ${e.member} named: ${e.kind} (request ${toHex(e.requestId).slice(0, 18)}…)`));
  const latencyOf = new Map<string, number>();
  aggregator.service.on('result', (r) => latencyOf.set(toHex(r.signed.requestId), r.latencyMs));

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

  await step('wait for every sample to be answered and verified', async () => {
    await Promise.all(
      samples.map(async (s) => {
        const want = (await model.inference.infer(model.model, s.input)).output;
        if (s.chain === 'ethereum') {
          await waitFor(`Ethereum request ${toHex(s.id).slice(0, 18)}…`, async () => ((await chains.ethFulfilled(s.id)) ? true : undefined), 90_000);
          s.answeredAt = performance.now();
          const res = await waitFor('the signed report', async () => aggregator.service.collector.resultOf(s.id), 5_000);
          const got = decodeReport(res.report!).output;
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
        `request→answer ${((s.answeredAt! - s.submittedAt) / 1000).toFixed(2)} s` +
        (agg !== undefined ? `, round ${agg.toFixed(1)} ms` : '') +
        `\n    ${s.detail}\n`,
    );
  }
  // request fees accrued to the pools: every operator and the delegator claim their ETH
  const econ = await step('claim staking rewards (operators and the delegator)', () => chains.economics(n));
  const per = (c: Sample['chain']) => samples.filter((s) => s.chain === c);
  const rounds = [...latencyOf.values()].sort((a, b) => a - b);
  const econOk = econ.burned > 0n && econ.operatorRewards > 0n && econ.delegatorRewards > 0n;
  const allOk = samples.every((s) => s.verified) && econOk;
  process.stdout.write(
    `\nsummary: ethereum ${per('ethereum').filter((s) => s.verified).length}/${per('ethereum').length}, ` +
      `solana ${per('solana').filter((s) => s.verified).length}/${per('solana').length}, ` +
      `on-demand on both chains ${per('on-demand').filter((s) => s.verified).length}/${per('on-demand').length}; ` +
      `verified: ${allOk ? 'yes' : 'no'}; round latency p50 ${rounds[Math.floor(rounds.length / 2)]?.toFixed(1) ?? '-'} ms\n` +
      `economics: burned ${formatEther(econ.burned)} DSYNC, rewards claimed by operators ${formatEther(econ.operatorRewards)} ETH, delegators ${formatEther(econ.delegatorRewards)} ETH\n`,
  );
  if (args.once) await shutdown(allOk ? 0 : 1);
  process.stdout.write('\ndevnet running: node APIs above (dashboard at /), Ctrl-C stops everything.\n');
  aggregator.service.on('result', (r) => info(`signed ${toHex(r.signed.requestId).slice(0, 18)}… by [${r.signers.join(',')}] in ${r.latencyMs.toFixed(1)} ms`));
}

main().catch(async (err) => {
  process.stderr.write(`devnet failed: ${(err as Error).message}\n`);
  await shutdown(1);
});
