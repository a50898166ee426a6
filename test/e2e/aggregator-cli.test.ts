// `destra aggregator start` as an operator runs it: a child process started from a JSON config whose
// `chains.ethereum` (rpcUrl, router, feeds, registry, relayer keystore + password variable) and
// `statusPort` it builds itself. Anvil with the deployed protocol, 4 staked operators whose node processes
// run the DKG and watch the router; genesis from their sharing. A request from the example consumer is
// answered on chain through the CLI aggregator's relay, its /health says ok, and degraded (503) once anvil
// is gone. Bounded in time and self-stopping.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAbiItem, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { toHex, type PublicSharing } from '@destra/protocol';
import { encryptV3 } from '@destra/adapter-ethereum';
import { connectEthereum, connectEvidence, parseAggregatorConfig, type AggregatorConfigInput } from '@destra/aggregator';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { startChains, type Chains } from '../devnet/chains.ts';
import { writeLocalCommittee, type LocalCommittee } from '../devnet/committee.ts';
import { freePorts } from '../devnet/ports.ts';
import { spawnNode, waitForDkg, writeNodeChainsFile, type NodeProcess } from '../devnet/processes.ts';
import { startSvmBridge } from '../devnet/svm-bridge.ts';

const requestFulfilled = parseAbiItem('event RequestFulfilled(bytes32 indexed requestId, bool callbackSucceeded)');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const engineAvailable = existsSync(join(repoRoot, 'oracle-node/src/inference/index.ts'));
const N = 4;
const T = 3;
const NETWORK = 'aggcli';

interface Health {
  status: 'ok' | 'degraded';
  members: number;
  threshold: number;
  chains: Record<string, { ok: boolean; lastError?: string }>;
  pendingRelays: number;
  reasons?: string[];
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe.skipIf(!engineAvailable)('e2e: `destra aggregator start` relays to Ethereum from its config', () => {
  let dir: string;
  let model: BenchModel;
  let chains: Chains;
  let bridge: { url: string; close(): Promise<void> } | undefined;
  let committee: LocalCommittee;
  const nodes: NodeProcess[] = [];
  let sharing: PublicSharing;
  let members: Address[];
  let agg: ChildProcess | undefined;
  let aggLines: string[] = [];
  let statusUrl: string;
  let configPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'destra-aggcli-'));
    model = await loadBenchModel();
    const probe = await model.inference.infer(model.model, model.input(0));
    chains = await startChains({ network: NETWORK, n: N, modelName: model.model });
    bridge = await startSvmBridge(chains.svm);
    committee = await writeLocalCommittee({ dir, network: NETWORK, n: N, t: T, models: model.models, logLevel: 'warn', aggregators: 2 });
    const chainsFile = join(dir, 'chains.json');
    writeNodeChainsFile(chainsFile, { chains, svmBridgeUrl: bridge.url, modelHash: probe.modelHash, modelName: model.model });
    await chains.stake(committee.operators.slice(1));
    nodes.push(...(await Promise.all(committee.nodeConfigPaths.map((p, k) => spawnNode(k + 1, p, chainsFile, dir, 60_000)))));
    sharing = await waitForDkg(nodes, 60_000);
    members = await chains.genesis(sharing);
    await chains.registerModel(model.model, probe.modelHash);

    // Two aggregators, each an operator's `destra aggregator start`: the members send partials to both,
    // each combines and relays alone (its own relayer account), so losing one changes nothing.
    const started = [];
    for (const k of [0, 1]) started.push(await startAggregatorProcess(k));
    [{ child: agg, lines: aggLines, statusUrl, configPath }, second] = [started[0]!, started[1]!];
    for (const a of started) {
      await Promise.race([until(`every member connected to aggregator ${a.index} (/health)`, async () => ((await health(a.statusUrl)).body.members === N ? true : undefined), 45_000), a.exited]);
    }
  }, 170_000);

  let second: AggregatorProcess;

  interface AggregatorProcess {
    index: number;
    child: ChildProcess;
    lines: string[];
    statusUrl: string;
    configPath: string;
    exited: Promise<never>;
  }

  /** Aggregator k (0-based) as an operator runs it: relayer keystore (V3) with its password in a variable, its config, the CLI. */
  async function startAggregatorProcess(k: number): Promise<AggregatorProcess> {
    const keystore = `relayer${k + 1}.keystore.json`;
    writeFileSync(join(dir, keystore), await encryptV3(chains.anvil.privateKeys.at(k === 0 ? -1 : -4)!, 'relayer-pw', 1024));
    const [statusPort] = await freePorts(1);
    const base = committee.aggregatorConfigs[k]!;
    const config: AggregatorConfigInput = {
      ...base,
      committee: {
        ...base.committee!,
        commitments: sharing.commitmentBytes().map((c) => toHex(c)),
        members: base.committee!.members.map((m, i) => ({ ...m, operatorAddress: members[i]! })),
      },
      relay: { staggerMs: 0, maxAttempts: 4, onDemandTargets: [] },
      chains: {
        ethereum: {
          rpcUrl: chains.anvil.rpcUrl,
          router: chains.deployed.addresses.router,
          feeds: chains.deployed.addresses.feeds,
          registry: chains.deployed.addresses.registry,
          relayer: { keystore, password: { env: 'DESTRA_AGG_RELAYER_PASSWORD' } },
        },
      },
      statusPort,
      logLevel: 'info',
    };
    const path = join(dir, `aggregator${k + 1}.json`);
    writeFileSync(path, JSON.stringify(config, null, 2));
    const log = createWriteStream(join(dir, `aggregator${k + 1}.log`));
    const child = spawn(process.execPath, [join(repoRoot, 'bin/destra.mjs'), 'aggregator', 'start', '--config', path], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DESTRA_AGG_RELAYER_PASSWORD: 'relayer-pw' },
    });
    const lines: string[] = [];
    child.stderr!.pipe(log);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      log.write(`${l}\n`);
    });
    const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`aggregator ${k + 1} exited with ${code ?? signal}: ${lines.slice(-5).join('\n')}`))));
    exited.catch(() => undefined);
    return { index: k + 1, child, lines, statusUrl: `http://127.0.0.1:${statusPort}`, configPath: path, exited };
  }

  afterAll(async () => {
    for (const a of [agg, second?.child]) {
      if (!a || a.exitCode !== null || a.signalCode !== null) continue;
      await new Promise<void>((r) => {
        const kill = setTimeout(() => a.kill('SIGKILL'), 5000);
        a.once('exit', () => (clearTimeout(kill), r()));
        a.kill('SIGTERM');
      });
    }
    await Promise.all(nodes.map((p) => p.stop()));
    await bridge?.close();
    await chains?.stop();
    await model?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const health = async (url = statusUrl): Promise<{ code: number; body: Health }> => {
    const r = await fetch(`${url}/health`);
    return { code: r.status, body: (await r.json()) as Health };
  };

  it('starts from config: Ethereum sink, evidence bound to the registry\'s committee, /health ok', async () => {
    expect(aggLines.some((l) => l.includes('relaying to Ethereum'))).toBe(true);
    expect(aggLines.some((l) => l.includes('equivocation evidence goes to the registry for slashing'))).toBe(true);
    const h = await health();
    expect(h.code).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', members: N, threshold: T, chains: { ethereum: { ok: true } }, pendingRelays: 0 });
    // members in another order do not hash to the epoch's membersRoot: no evidence path
    const cfg = parseAggregatorConfig(JSON.parse(readFileSync(configPath, 'utf8')), dir);
    cfg.committee!.members = cfg.committee!.members.map((m, i) => ({ ...m, operatorAddress: members[(i + 1) % N]! }));
    process.env.DESTRA_AGG_RELAYER_PASSWORD = 'relayer-pw';
    const ev = await connectEvidence(cfg, await connectEthereum(cfg.chains.ethereum!), sharing);
    expect('reason' in ev && ev.reason).toMatch(/membersRoot for epoch 1/);
  });

  it('a request on the router is answered on chain by the CLI aggregator\'s relay', async () => {
    const id = await chains.ethRequest(model.input(21));
    await until('the request to be fulfilled on chain', async () => ((await chains.ethFulfilled(id)) ? true : undefined), 45_000);
    // Both aggregators relay on their own; whichever lands first answers it, the router takes one answer.
    const line = (a: { lines: string[] }) => a.lines.find((l) => l.includes('report relayed') && l.includes(toHex(id).slice(2).toLowerCase()));
    const both = [{ lines: aggLines, statusUrl }, second];
    await until('both relay log lines', async () => (both.every((a) => line(a)) ? true : undefined), 10_000);
    const outcomes = both.map((a) => JSON.parse(line(a)!) as { chain: string; status: string });
    expect(outcomes.every((o) => o.chain === 'ethereum')).toBe(true);
    expect(outcomes.every((o) => o.status === 'submitted' || o.status === 'already-fulfilled')).toBe(true);
    expect(outcomes.some((o) => o.status === 'submitted')).toBe(true);
    const winner = both[outcomes.findIndex((o) => o.status === 'submitted')]!;
    const metrics = await (await fetch(`${winner.statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/destra_aggregator_relays_landed_total [1-9]/);
  }, 60_000);

  it('kill -9 of one aggregator process under load: every request is still answered (by the other)', async () => {
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) ids.push(await chains.ethRequest(model.input(40 + i)));
    agg!.kill('SIGKILL');
    await until('the first aggregator to be gone', async () => (agg!.signalCode === 'SIGKILL' ? true : undefined), 10_000);
    for (let i = 0; i < 3; i++) ids.push(await chains.ethRequest(model.input(50 + i)));
    for (const id of ids) await until(`request ${toHex(id).slice(0, 18)}… fulfilled on chain`, async () => ((await chains.ethFulfilled(id)) ? true : undefined), 60_000);
    // The ones made after the kill can only have come through the second aggregator's relay: each
    // fulfilment transaction on chain was sent by its relayer account (one report at a time or, when
    // the nodes signed consecutive requests as a range, by fulfillBatch).
    const secondRelayer = privateKeyToAccount(chains.anvil.privateKeys.at(-4)! as Hex).address.toLowerCase();
    const pc = chains.clients.publicClient;
    for (const id of ids.slice(3)) {
      const [log] = await pc.getLogs({ address: chains.deployed.addresses.router, event: requestFulfilled, args: { requestId: toHex(id) as Hex }, fromBlock: 0n });
      expect(log, `RequestFulfilled of ${toHex(id).slice(0, 18)}…`).toBeDefined();
      const tx = await pc.getTransaction({ hash: log!.transactionHash! });
      expect(tx.from.toLowerCase()).toBe(secondRelayer);
    }
    // nodes still have a relay path: /health ok with one aggregator
    for (const p of nodes) {
      const h = (await (await fetch(`${p.api}/health`)).json()) as { status: string; peers: { aggregators: number } };
      expect(h).toMatchObject({ status: 'ok', peers: { aggregators: 1 } });
    }
  }, 120_000);

  it('/health turns degraded (503) when its RPC endpoint goes away', async () => {
    await chains.anvil.stop();
    const h = await until('/health to say degraded', async () => {
      const r = await health(second.statusUrl);
      return r.body.status === 'degraded' ? r : undefined;
    }, 15_000);
    expect(h.code).toBe(503);
    expect(h.body.chains.ethereum).toMatchObject({ ok: false });
    expect(h.body.chains.ethereum!.lastError).toBeTruthy();
    expect(h.body.reasons).toContain('no configured chain is reachable');
  }, 30_000);
});
