// `npm run devnet [-- --nodes N] [--once]`: a complete local destra network on 127.0.0.1.
// anvil + contracts, the oracle program in an in-process LiteSVM, n staked operators whose node processes
// follow CommitteeRegistry (no member list in any file): the genesis DKG over libp2p, genesis on both
// chains, then live epochs — an operator joins (epoch 2 has n+1 members), one unbonds (epoch 3 has n),
// each handover threshold-signed by the outgoing committee and relayed to both chains — while requests
// from the example consumers keep flowing; every one is checked on its chain.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatEther } from 'viem';
import { toHex } from '@destra/protocol';
import { LiveNetwork, type TrackedRequest } from './live-network.ts';
import { FeedWatch, checkTxScore, devnetFeeds, governFeeds, txScoreOf, type FeedTally } from './feeds.ts';
import { info, step } from './progress.ts';
import { emptyStoreNode, modelsFetchedOverIpfs, waitModelsServed } from './models-ipfs.ts';
import { devnetEnvOf, devnetEnvSummary, writeDevnetEnv } from './env-file.ts';

const { values: args } = parseArgs({
  options: { nodes: { type: 'string', default: '4' }, once: { type: 'boolean', default: false }, dir: { type: 'string', default: '.devnet' } },
});
const n = Number(args.nodes);
if (!Number.isInteger(n) || n < 1 || n > 64) {
  process.stderr.write(`--nodes must be an integer in 1..64, got ${args.nodes}\n`);
  process.exit(2);
}
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

type Sample = TrackedRequest;

async function main(): Promise<void> {
  process.stdout.write(`destra devnet: ${n} operators (+1 joining, 1 leaving), epochs of ${EPOCH_SECONDS} s from CommitteeRegistry, data in ${dir}\n`);
  // chains, bridge, n + 1 operators (n staked), the aggregator, n node processes, genesis: epoch 1
  const net = new LiveNetwork({ dir, network, n, joiners: 1, aggregators: 2, epochLengthSec: EPOCH_SECONDS, handoverGraceSec: 120, dkgPhaseTimeoutMs: 4000, logLevel: 'info', ...(n >= 2 ? { modelsOverIpfs: { emptyStores: [emptyStoreNode(n)] } } : {}), feeds: true, step, info });
  cleanups.push(() => net.stop());
  await net.start();
  // the hand-off: a user's own script connects from .devnet/env.json at once (rewritten as nodes change)
  const handOff = (): string => {
    const env = devnetEnvOf(net, { feeds: true });
    const path = writeDevnetEnv(dir, env);
    return devnetEnvSummary(env, path);
  };
  process.stdout.write(`\n${handOff()}\n\n`);
  if (n >= 2) {
    const k = emptyStoreNode(n);
    await step(`node ${k} started with an empty model store: it fetches the registered model from its peers by CID, verifies it and answers on demand`, async () => {
      await waitModelsServed(net.node(k).api, 1, 60_000);
      await net.onDemand(k, 301);
    });
  }
  const { chains, aggregator, latencyOf } = net;
  const delegator = await step('a holder delegates DSYNC to operator 1 (rewards per share, besides the self-bonds)', () => chains.delegate());
  info(`delegator ${delegator}`);
  aggregator.service.on('misbehaviour', (e) => info(`member ${e.member} named: ${e.kind} (request ${toHex(e.requestId).slice(0, 18)}…)`));

  // ---- feeds defined on chain: a timed feed to both chains and the tx-anomaly block feed ------------
  const feeds = devnetFeeds({ modelName: net.model.model, input: net.model.input(0), heartbeatSec: 10, deviationBps: 50, confirmations: 1 });
  await step(`governance adds feed '${feeds.timed.name}' (heartbeat 10 s, deviation 0.5%, Ethereum + Solana) and block feed '${feeds.block.name}' (tx-anomaly per transaction)`, () =>
    governFeeds(chains, n, 'add', [feeds.timed, feeds.block]),
  );
  const feedWatch = new FeedWatch(chains, feeds).start();
  cleanups.push(async () => feedWatch.stop());

  // ---- sample requests -------------------------------------------------------------------------
  const samples: Sample[] = net.requests;
  await step('submit sample requests from the example consumers', async () => {
    for (let i = 0; i < 2; i++) {
      await net.ethRequest(100 + i);
      await net.solRequest(200 + i);
    }
  });
  await step('on-demand report from node 1 (POST /v1/infer), relayed to both chains', () => net.onDemand(1, 300));

  // ---- live epochs: one operator joins, one leaves, requests flow on both chains all the while --------
  const traffic = net.traffic({ intervalMs: 1500, firstVariant: 1000, onError: (i, err) => info(`request ${i} not submitted: ${err.message}`) });
  await step(`operator ${n + 1} registers, stakes and starts its node (nobody restarts, no file edited)`, async () => {
    const p = (await net.join(n + 1))!;
    info(`node ${p.index}: pid ${p.child.pid}, API ${p.api}`);
  });
  const t0 = performance.now();
  await step(`epoch 2: ${n + 1} members run the DKG, epoch 1 threshold-signs the handover, relayed to Ethereum and Solana`, () => net.waitEpoch(2, n + 1, 180_000));
  info(`epoch 1 → 2 in ${((performance.now() - t0) / 1000).toFixed(1)} s after the joiner staked`);
  // No process is one the network depends on: one of the two aggregators goes away for good.
  await step('aggregator 1 stops (a relay lost): the members send to aggregator 2, which combines and relays alone', () => net.stopAggregator(0));
  await step('operator 1 unbonds its self-bond: it is not in the next committee', () => net.leave(1));
  const t1 = performance.now();
  await step(`epoch 3: ${n} members without operator 1`, () => net.waitEpoch(3, n, 180_000));
  info(`epoch 2 → 3 in ${((performance.now() - t1) / 1000).toFixed(1)} s after the unbond`);
  await traffic.stop();
  await step('node 1 (left the committee) stops', () => net.stopNode(1));
  const rotations = (await chains.epoch()).epoch - 1;

  let lost = 0;
  await step(`wait for every request (${samples.length}) to be answered and verified`, async () => {
    lost = (await net.verify(samples, 90_000)).lost;
  });
  await step('distribute the Solana request fees to the committee (distribute_fees, pro rata to stake)', async () => {
    const paid = await chains.distributeFees();
    for (const p of paid) info(`${p.payee.toBase58()}  weight ${p.weight} DSYNC  +${p.lamports} lamports`);
    if (paid.every((p) => p.lamports === 0n)) throw new Error('distribute_fees paid nothing');
  });
  let tally: FeedTally = { ethereumRounds: 0, solanaRounds: 0, blocksScored: 0, latestBlock: 0n };
  let feedsOk = false;
  await step('feeds reached the chains: FeedStore and the Solana feed account, block roots in BlockScores; a transaction score verifies by proof', async () => {
    tally = await feedWatch.tally();
    if (tally.ethereumRounds === 0 || tally.solanaRounds === 0 || tally.blocksScored === 0) throw new Error(`feeds did not reach the chains: ${JSON.stringify({ ...tally, latestBlock: String(tally.latestBlock) })}`);
    const tx = (await chains.clients.publicClient.getBlock({ blockNumber: tally.latestBlock })).transactions[0] as `0x${string}`;
    const node = net.running()[0]!;
    const view = await txScoreOf(net.node(node).api, tally.latestBlock, tx);
    const problem = view ? await checkTxScore(chains, feeds.block.name, view) : `node ${node} does not serve block ${tally.latestBlock}`;
    if (problem) throw new Error(`transaction ${tx} of block ${tally.latestBlock}: ${problem}`);
    info(`block ${tally.latestBlock}, tx ${tx.slice(0, 18)}…: anomaly score ${view!.score.join(',')} verified by proof off chain and by BlockScores.verifyTxScore`);
    feedsOk = true;
  }).catch((err: Error) => info(`feeds check failed: ${err.message}`));
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
  const modelsFetched = await modelsFetchedOverIpfs(net.running().map((k) => net.node(k).api));
  const modelsOk = n < 2 || modelsFetched >= 1;
  const econOk = econ.burned > 0n && econ.operatorRewards > 0n && econ.delegatorRewards > 0n;
  const allOk = modelsOk && samples.every((s) => s.verified) && econOk && rotations >= 2 && lost === 0 && feedsOk;
  process.stdout.write(
    `\nsummary: ethereum ${per('ethereum').filter((s) => s.verified).length}/${per('ethereum').length}, ` +
      `solana ${per('solana').filter((s) => s.verified).length}/${per('solana').length}, ` +
      `on-demand on both chains ${per('on-demand').filter((s) => s.verified).length}/${per('on-demand').length}; ` +
      `verified: ${allOk ? 'yes' : 'no'}; round latency p50 ${rounds[Math.floor(rounds.length / 2)]?.toFixed(1) ?? '-'} ms\n` +
      `economics: burned ${formatEther(econ.burned)} DSYNC, rewards claimed by operators ${formatEther(econ.operatorRewards)} ETH, delegators ${formatEther(econ.delegatorRewards)} ETH\n` +
      `feeds: ${tally.ethereumRounds} rounds on Ethereum, ${tally.solanaRounds} on Solana, blocks scored: ${tally.blocksScored}\n` +
      `models fetched over IPFS: ${modelsFetched}\n` +
      `rotations: ${rotations}, lost requests: ${lost}, verified: ${allOk ? 'yes' : 'no'}\n`,
  );
  if (args.once) await shutdown(allOk ? 0 : 1);
  process.stdout.write(`\n${handOff()}\n`);
  process.stdout.write('\ndevnet running: node APIs above (dashboard at /), Ctrl-C stops everything.\n');
  aggregator.service.on('result', (r) => info(`signed ${toHex(r.signed.requestId).slice(0, 18)}… by [${r.signers.join(',')}] in ${r.latencyMs.toFixed(1)} ms`));
}

main().catch(async (err) => {
  process.stderr.write(`devnet failed: ${(err as Error).message}\n`);
  await shutdown(1);
});
