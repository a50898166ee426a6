// The network the product benchmark measures, run as operators run it: anvil with the deployed protocol,
// n operators registered and staked, each node a separate `destra node start --config <file>` process (the
// config follows CommitteeRegistry and watches the router), the aggregator a `destra aggregator start
// --config <file>` process (chain-driven epochs, relays to Ethereum), genesis from the nodes' DKG record.
// Every process it starts is tracked from the moment it is spawned and stopped by stop() — also when
// start-up fails, and (SIGKILL) when this process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http, type PublicClient } from 'viem';
import { fromHex } from '@destra/protocol';
import { namehash } from '@destra/contracts';
import { CommitteeReader } from '@destra/adapter-ethereum';
import type { AggregatorConfigInput } from '@destra/aggregator';
import type { NodeConfigInput } from '@destra/oracle-node';
import { startChains, type Chains } from '../devnet/chains.ts';
import { writeLocalCommittee, type LocalCommittee } from '../devnet/committee.ts';
import { thresholdOf, waitFor } from '../devnet/live-network.ts';
import { freePorts } from '../devnet/ports.ts';
import type { BenchModel } from './inference.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const destraBin = join(repoRoot, 'bin/destra.mjs');
const RELAYER_KEY_ENV = 'DESTRA_PRODUCT_BENCH_RELAYER_KEY';

export interface ProductNetworkOptions {
  dir: string;
  n: number;
  model: BenchModel;
  network?: string;
  /** How nodes sign router requests (chains.ethereum.signing): 'range' (one root per block's requests, fulfillBatch) or 'round'. */
  chainSigning?: 'range' | 'round';
  /** DKG phase timeout: long enough that node processes coming up seconds apart on 2 loaded cores all make it. */
  dkgPhaseTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ProductProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export interface ProductNode extends ProductProcess {
  index: number;
  api: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ProductNetwork {
  chains!: Chains;
  committee!: LocalCommittee;
  readonly nodes: ProductNode[] = [];
  aggregator!: ProductProcess & { status: string };
  /** The registry's reader (group keys for verification). */
  reader!: CommitteeReader;
  readonly threshold: number;
  private readonly processes: ProductProcess[] = [];
  private stopped = false;
  private readonly killOnExit = (): void => {
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };

  constructor(readonly o: ProductNetworkOptions) {
    this.threshold = thresholdOf(o.n);
  }

  get network(): string {
    return this.o.network ?? 'product';
  }

  /** Up to epoch 1 served by every node and the aggregator; on failure everything started is stopped. */
  async start(): Promise<this> {
    process.once('exit', this.killOnExit);
    try {
      await this.setup();
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this;
  }

  private async setup(): Promise<void> {
    const { o } = this;
    const log = o.log ?? (() => undefined);
    rmSync(o.dir, { recursive: true, force: true });
    mkdirSync(o.dir, { recursive: true });
    log('anvil + contracts');
    // Long epochs: nothing rotates while the benchmark measures.
    this.chains = await startChains({ network: this.network, n: o.n + 1, modelName: o.model.model, committeeSize: o.n, epochLengthSec: 86_400 });
    const { chains } = this;
    const { registry, router } = chains.deployed.addresses;
    this.reader = new CommitteeReader(createPublicClient({ transport: http(chains.anvil.rpcUrl) }) as PublicClient, registry);
    this.committee = await writeLocalCommittee({
      dir: o.dir, network: this.network, n: o.n, t: this.threshold, models: { models: [o.model.model] }, logLevel: 'warn', dkgPhaseTimeoutMs: o.dkgPhaseTimeoutMs ?? 30_000,
      // The inference engine's defaults (micro-batch window 0: the end of the event-loop turn), not the
      // in-process harness's 0.5 ms window. The product's default registry poll (2 s); the router watcher polls every 250 ms (default 1 s) so a
      // burst of chain requests is seen within a quarter second.
      control: { rpcUrl: chains.anvil.rpcUrl, registry, pollIntervalMs: 2000 },
      chains: { ethereum: { rpcUrl: chains.anvil.rpcUrl, router, pollIntervalMs: 250, models: { [namehash(o.model.model)]: o.model.model }, ...(o.chainSigning ? { signing: o.chainSigning } : {}) } },
    });
    // What an operator writes: a fixed API port (the API address is part of its deployment).
    const apiPorts = await freePorts(o.n);
    this.committee.nodeConfigPaths.forEach((p, k) => {
      const c = JSON.parse(readFileSync(p, 'utf8')) as NodeConfigInput;
      writeFileSync(p, JSON.stringify({ ...c, api: { ...c.api, port: apiPorts[k] } }, null, 2));
    });
    log(`register and stake ${o.n} operators`);
    await chains.stake(this.committee.operators.slice(1, o.n + 1), this.committee.nodeInfo.slice(0, o.n));
    await this.startAggregator();
    log(`start ${o.n} × destra node start`);
    const started = await Promise.allSettled(this.committee.nodeConfigPaths.map((p, k) => this.startNode(k + 1, p, apiPorts[k]!)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    log('genesis DKG over libp2p');
    const record = await waitFor('the genesis DKG record on every node', async () => {
      const views = await Promise.all(this.nodes.map((x) => getJson<{ dkgResult?: { epoch: number; handover: string } | null }>(`${x.api}/v1/epochs`)));
      const records = new Set(views.map((v) => (v?.dkgResult?.epoch === 1 ? v.dkgResult.handover : undefined)));
      return records.size === 1 && !records.has(undefined) ? [...records][0]! : undefined;
    }, 240_000, 250);
    await chains.genesisFromHandover(fromHex(record));
    await chains.registerModel(o.model.model, o.model.modelHash);
    await waitFor('epoch 1 on every node', async () => {
      const views = await Promise.all(this.nodes.map((x) => getJson<{ epoch: number; member: boolean }>(`${x.api}/v1/epochs`)));
      return views.every((v) => v?.epoch === 1 && v.member) ? true : undefined;
    }, 90_000, 250);
    await waitFor('the aggregator connected to every member with epoch 1', async () => {
      const h = await getJson<{ status: string; members: number; epoch?: number }>(`${this.aggregator.status}/health`);
      return h?.status === 'ok' && h.members === o.n ? true : undefined;
    }, 90_000, 250);
    await waitFor('every node healthy', async () => {
      const hs = await Promise.all(this.nodes.map((x) => getJson<{ status: string }>(`${x.api}/health`)));
      return hs.every((h) => h?.status === 'ok') ? true : undefined;
    }, 60_000, 250);
  }

  private spawnCli(name: string, args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): ProductProcess {
    const logFile = join(this.o.dir, `${name}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(process.execPath, [...nodeFlags, destraBin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const p = { name, child, logFile };
    this.processes.push(p); // tracked at once: stop() reaches it even if it never comes up
    return p;
  }

  private async startNode(index: number, configPath: string, port: number): Promise<ProductNode> {
    // DESTRA_PRODUCT_BENCH_NODE_FLAGS: extra Node.js flags for the node (and aggregator) processes (e.g. --cpu-prof) to profile the product.
    const flags = (process.env.DESTRA_PRODUCT_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    const p = this.spawnCli(`node${index}`, ['node', 'start', '--config', configPath], {}, flags);
    const api = `http://127.0.0.1:${port}`;
    await untilUp(p, `${api}/health`, 240_000); // tsx + onnxruntime start-up on 2 loaded cores
    const node = { ...p, index, api };
    this.nodes.push(node);
    this.nodes.sort((a, b) => a.index - b.index);
    return node;
  }

  private async startAggregator(): Promise<void> {
    const { chains } = this;
    const [statusPort] = await freePorts(1);
    const { committee: _fixed, ...base } = this.committee.aggregatorConfigs[0]!;
    const config: AggregatorConfigInput = {
      ...base,
      epochs: { source: 'chain' }, // the product's default registry poll (5 s) and directory refresh (60 s)
      chains: {
        ethereum: {
          rpcUrl: chains.anvil.rpcUrl, router: chains.deployed.addresses.router, feeds: chains.deployed.addresses.feeds,
          registry: chains.deployed.addresses.registry, relayer: { keyEnv: RELAYER_KEY_ENV },
        },
      },
      relay: { staggerMs: 0, maxAttempts: 8, onDemandTargets: [] },
      statusPort,
      logLevel: 'warn',
    };
    const path = join(this.o.dir, 'aggregator', 'product.json');
    writeFileSync(path, JSON.stringify(config, null, 2));
    this.o.log?.('start destra aggregator start');
    const flags = (process.env.DESTRA_PRODUCT_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean); // profiled with the nodes
    const p = this.spawnCli('aggregator', ['aggregator', 'start', '--config', path], { [RELAYER_KEY_ENV]: chains.anvil.privateKeys.at(-1)! }, flags);
    const status = `http://127.0.0.1:${statusPort}`;
    await untilUp(p, `${status}/health`, 120_000);
    this.aggregator = { ...p, status };
  }

  /** Prometheus counter value (summed over matching label sets) from a node's /metrics. */
  async counter(k: number, name: string, labels: Record<string, string> = {}): Promise<number> {
    const url = `${this.nodes[k]!.api}/metrics`;
    let text: string | undefined;
    for (let attempt = 0; text === undefined; attempt++) {
      try {
        text = await fetch(url, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
      } catch (err) {
        if (attempt >= 2) throw new Error(`GET ${url}: ${(err as Error).message}`);
      }
    }
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      if (!Object.entries(labels).every(([l, v]) => line.includes(`${l}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  /** Stops every process this network started (SIGTERM, SIGKILL after 5 s), then the chains. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.processes.map((p) => stopProcess(p.child)));
    await this.chains?.stop().catch(() => undefined);
    process.removeListener('exit', this.killOnExit);
  }

  /** Process ids of the node processes and the aggregator process (CPU accounting). */
  pids(): { nodes: number[]; aggregator: number } {
    return { nodes: this.nodes.map((x) => x.child.pid!), aggregator: this.aggregator.child.pid! };
  }

  /** Processes still running (none after stop()). */
  alive(): ProductProcess[] {
    return this.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return (await r.json()) as T;
  } catch {
    return undefined;
  }
}

/** Until `url` answers at all (a node's /health is 503 until its key share exists), or the process exits. */
async function untilUp(p: ProductProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited with ${p.child.exitCode ?? p.child.signalCode} during start: ${tail(p.logFile)}`);
    }
    if (await fetch(url, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false)) return;
    if (Date.now() > deadline) throw new Error(`${p.name} did not answer ${url} within ${timeoutMs / 1000} s; see ${p.logFile}`);
    await sleep(200);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return `(no log at ${file})`;
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

