// A live destra network on 127.0.0.1 with real node processes that follow CommitteeRegistry (no member
// list in any file): anvil + contracts, the oracle program in an in-process LiteSVM with the read-only
// SVM bridge, operators (keystores, libp2p identities, `control` configs), the in-process aggregator in
// chain mode with a HandoverRelay to both chains, node processes, genesis from the nodes' DKG record.
// Helpers drive it: `join(k)` / `leave(k)` change the committee the chain selects, `waitEpoch` waits for
// an epoch on both chains, `stopNode` / `kill9` / `restart` fault node processes (same config, same
// SQLite), and requests on either chain are tracked until answered and verified against a local inference.
// Used by the devnet (test/devnet/main.ts) and test/e2e/epochs.test.ts.
//
// Operators are numbered 1..total: operator k is committee.operators[k], node process k (config
// committee.nodeConfigPaths[k-1], log <dir>/node<k>.log) and anvil account k. Operators 1..n stake before
// genesis; n+1..total are prepared (keys, configs) and join later.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino, destination } from 'pino';
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { decodeReport, fromHex, toHex } from '@destra/protocol';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { HandoverSubmitter } from '@destra/adapter-ethereum';
import { committeeRegistryAbi, localClients } from '@destra/contracts';
import { HandoverRelay, parseAggregatorConfig, startAggregator, type ResultEvent, type RunningAggregator, type SignedReport } from '@destra/aggregator';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';
import { startChains, type Chains } from './chains.ts';
import { writeLocalCommittee, type LocalCommittee } from './committee.ts';
import { spawnNode, writeNodeChainsFile, type NodeProcess } from './processes.ts';
import { startSvmBridge } from './svm-bridge.ts';
import { enableModelsOverIpfs } from './models-ipfs.ts';
import { BLOCK_FEED_MODEL, FEED_GOVERNANCE_SEC, devnetFeedRelay, withBlockFeedModel } from './feeds.ts';

export type Step = <T>(title: string, fn: () => Promise<T>) => Promise<T>;

export interface LiveNetworkOptions {
  /** Data directory (emptied first): keystores, configs, SQLite stores, logs. */
  dir: string;
  network?: string;
  /** Operators staked before genesis (the genesis committee). */
  n: number;
  /** Operators prepared to join later (default 1). */
  joiners?: number;
  /** Governance's epoch length (seconds after activation until the next DKG is due). */
  epochLengthSec: number;
  handoverGraceSec?: number;
  /** Per DKG phase (default 4000); a retry window is 5 phase timeouts + 10 s. */
  dkgPhaseTimeoutMs?: number;
  /** Aggregators (default 1), each combining and relaying on its own; the members send partials to all. */
  aggregators?: number;
  /** Each node process's start-up limit (default 60 s; many processes on few cores need more). */
  startTimeoutMs?: number;
  /** How long the genesis DKG may take once every node is up (default 120 s). */
  genesisTimeoutMs?: number;
  /** Node and aggregator registry polls (default 500). */
  pollIntervalMs?: number;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** The engine and model (loaded, and closed at stop, when absent). */
  model?: BenchModel;
  /**
   * Feeds defined on chain: tx-anomaly registered and served too, node configs follow FeedRegistry, the
   * aggregators relay certified feed batches (FeedStore, BlockScores, Solana feed accounts), governance
   * passes proposals in seconds. Define feeds with `governFeeds` (test/devnet/feeds.ts).
   */
  feeds?: boolean;
  /**
   * Nodes follow ModelRegistry and get registered models by CID from their peers (models.ipfs); the
   * listed operators' nodes (1-based) start with an empty model store.
   */
  modelsOverIpfs?: { emptyStores: number[] };
  /** Where node processes run (test/chaos: each in its own network namespace); default 127.0.0.1 here. */
  placement?: NodePlacement;
  /** Progress output (the devnet prints steps; quiet by default). */
  step?: Step;
  info?: (line: string) => void;
}

/** Runs node processes somewhere else than this network stack (test/chaos/chaos-network.ts). */
export interface NodePlacement {
  /**
   * Called once the operators' configs and the chains file are written, before anything is published on
   * chain or started: may rewrite the addresses nodes listen on and reach the chains and aggregators at
   * (the config files and `committee.nodeConfigs`, `committee.nodeInfo`, `committee.aggregatorConfigs`,
   * the chains file).
   */
  place(o: { committee: LocalCommittee; chainsFile: string }): Promise<void>;
  /** The command prefix and extra environment of node process k, asked at every start. */
  command(k: number): { prefix: string[]; env: Record<string, string> };
  /** Where this process reaches node k's API (default: the address the node reports). */
  apiUrl?(k: number, reported: string): string;
}

/** GET /v1/epochs of a node process. */
export interface EpochsView {
  epoch: number;
  member: boolean;
  dkg: { epoch: number; attempt: number; phase: string } | null;
  error: string | null;
  threshold: number | null;
  size: number;
  next: { epoch: number; threshold: number; members: { index: number; address: string | null; operatorKey: string }[] } | null;
  dkgResult: { epoch: number; attempt: number; handover: string; commitments: string[] } | null;
  signedHandovers: { epoch: number; handover: string; signature: string }[];
}

export interface TrackedRequest {
  chain: 'ethereum' | 'solana' | 'on-demand';
  id: Uint8Array;
  input: Uint8Array;
  /** performance.now() after the request transaction landed. */
  submittedAt: number;
  /** The epoch of the request's chain (registry / program) when it was submitted, as last polled. */
  submittedEpoch: number;
  /** performance.now() when the answer was first seen on chain. */
  answeredAt?: number;
  /** The epoch of the report that answered it (Solana: the result account's; Ethereum: the aggregator's last combined report's). */
  answeredEpoch?: number;
  verified?: boolean;
  detail?: string;
  /** On-demand: the node's signed report. */
  signed?: SignedReport;
}

/** When each epoch was first seen on each chain (performance.now()). */
export interface EpochSeen {
  epoch: number;
  size: number;
  ethereumAt?: number;
  solanaAt?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

/** max(⌊2n/3⌋+1, ⌈n/2⌉) capped at n: the registry's threshold with the devnet's minThresholdBps. */
export const thresholdOf = (n: number): number => Math.min(n, Math.floor((2 * n) / 3) + 1);

export class LiveNetwork {
  readonly dir: string;
  readonly network: string;
  readonly n: number;
  readonly total: number;
  model!: BenchModel;
  modelHash!: Uint8Array;
  chains!: Chains;
  committee!: LocalCommittee;
  /** The first aggregator (also in `aggregators`). */
  aggregator!: RunningAggregator;
  aggregators: RunningAggregator[] = [];

  /** Stops aggregator k (0-based) as a crash would: the nodes lose that relay path; the others go on. */
  async stopAggregator(k: number): Promise<void> {
    await this.aggregators[k]!.stop();
  }
  chainsFile!: string;
  /** Every tracked request, in submission order. */
  readonly requests: TrackedRequest[] = [];
  /** Aggregator results (every combined report, re-signed ones included). */
  readonly results: (ResultEvent & { at: number })[] = [];
  readonly latencyOf = new Map<string, number>();
  readonly reportOf = new Map<string, Uint8Array>();
  /** Epochs seen on the chains, by epoch. */
  readonly epochs = new Map<number, EpochSeen>();
  private readonly nodes = new Map<number, NodeProcess>();
  private readonly restarts = new Map<number, number>();
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  private stopped = false;
  private watching: Promise<void> | undefined;
  private ethEpoch = 0;
  private solEpoch = 0;
  /** Transactions from the deployer account (requests, stake transfers) one at a time: no nonce races. */
  private ethQueue: Promise<unknown> = Promise.resolve();
  private hold: { waiting: number; released: Promise<void>; release(): void } | undefined;
  private readonly step: Step;
  private readonly info: (line: string) => void;

  constructor(readonly o: LiveNetworkOptions) {
    this.dir = o.dir;
    this.network = o.network ?? 'devnet';
    this.n = o.n;
    this.total = o.n + (o.joiners ?? 1);
    this.step = o.step ?? ((_title, fn) => fn());
    this.info = o.info ?? (() => undefined);
  }

  /** Everything up to epoch 1 served by every genesis node. On failure what was started is stopped. */
  async start(): Promise<this> {
    try {
      await this.setup();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.watching = this.watch();
    return this;
  }

  private async setup(): Promise<void> {
    const { o, n, total, dir, network, step, info } = this;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    if (o.model) this.model = o.model;
    else {
      this.model = await step('load the inference model', () => loadBenchModel());
      this.cleanups.push(() => this.model.close());
    }
    const model = this.model;
    const probe = await model.inference.infer(model.model, model.input(0));
    this.modelHash = probe.modelHash;
    info(`model ${model.model}, hash ${toHex(probe.modelHash)}`);
    // n: total + 1 only sizes anvil's accounts (deployer, operators 1..total, the handover relayer at
    // total + 1, delegator, evidence submitter, relayer); the committee size is governance's 16.
    const chains = await step('start anvil, deploy contracts, load the Solana program into LiteSVM', () =>
      startChains({
        network, n: total + 1, modelName: model.model, committeeSize: 16, epochLengthSec: o.epochLengthSec, handoverGraceSec: o.handoverGraceSec ?? 120,
        ...(o.feeds ? { extraModels: [BLOCK_FEED_MODEL], governanceSec: FEED_GOVERNANCE_SEC } : {}),
      }),
    );
    this.chains = chains;
    this.cleanups.push(() => chains.stop());
    info(`anvil ${chains.anvil.rpcUrl} (chain ${chains.anvil.chainId}), registry ${chains.deployed.addresses.registry}, router ${chains.deployed.addresses.router}, program ${ORACLE_PROGRAM_ID.toBase58()}`);
    const bridge = await step('start the read-only SVM bridge for node processes', () => startSvmBridge(chains.svm));
    this.cleanups.push(() => bridge.close());
    // n operators now and the joiners later; node configs hold only the node's own things and the
    // registry to follow: committee, epochs and peers come from the chain.
    const pollIntervalMs = o.pollIntervalMs ?? 500;
    this.committee = await step(`create ${total} operators (keystores, libp2p identities, configs without a member list)`, () =>
      writeLocalCommittee({
        dir, network, n: total, t: thresholdOf(n), models: o.feeds ? withBlockFeedModel(model.models) : model.models, logLevel: o.logLevel ?? 'info', dkgPhaseTimeoutMs: o.dkgPhaseTimeoutMs ?? 4000,
        control: { rpcUrl: chains.anvil.rpcUrl, registry: chains.deployed.addresses.registry, pollIntervalMs, ...(o.feeds ? { feedRegistry: chains.deployed.addresses.feedRegistry } : {}) },
        aggregators: o.aggregators ?? 1,
        relayStatus: true, // node dashboards show each round's relay transaction from the aggregators' /v1/relays
      }),
    );
    const committee = this.committee;
    if (o.modelsOverIpfs) enableModelsOverIpfs(committee.nodeConfigPaths, chains.deployed.addresses.models, pollIntervalMs, o.modelsOverIpfs.emptyStores);
    this.chainsFile = join(dir, 'chains.json');
    writeNodeChainsFile(this.chainsFile, { chains, svmBridgeUrl: bridge.url, modelHash: probe.modelHash, modelName: model.model });
    await o.placement?.place({ committee, chainsFile: this.chainsFile });
    await step(`register ${n} operators on Ethereum: BLS key + proof of possession, DSYNC self-bond, node info`, () =>
      this.ethTx(() => chains.stake(committee.operators.slice(1, n + 1), committee.nodeInfo.slice(0, n))),
    );
    const count = o.aggregators ?? 1;
    const started = await step(count === 1 ? 'start the aggregator (follows the registry, relays results and handovers to both chains)' : `start ${count} aggregators (each follows the registry, combines and relays results and handovers to both chains on its own)`, async () => {
      const relayerKey = chains.anvil.privateKeys.at(-1)!;
      process.env.DESTRA_DEVNET_RELAYER_KEY = relayerKey;
      // Handovers go out from their own account, so their nonces never race the result relayer's.
      const handoverClients = localClients(chains.anvil.rpcUrl, chains.anvil.privateKeys[total + 1]!);
      const alog = pino({ level: o.logLevel ?? 'info' }, destination(join(dir, 'aggregator.log')));
      const handoverRelay = new HandoverRelay({
        ethereum: new HandoverSubmitter({ publicClient: handoverClients.publicClient, walletClient: handoverClients.walletClient, registry: chains.deployed.addresses.registry }),
        solana: { client: chains.solana, payer: chains.solAdmin },
        logger: alog,
      });
      // Test hook (holdHandovers): signed handovers wait here while a hold is on.
      const relay = handoverRelay.relay.bind(handoverRelay);
      handoverRelay.relay = async (h) => {
        while (this.hold) {
          this.hold.waiting++;
          await this.hold.released;
        }
        return relay(h);
      };
      // One feed relay for every aggregator: a batch both certify is landed once (FeedRelay joins duplicates).
      const feedRelay = o.feeds ? await devnetFeedRelay(chains, alog) : undefined;
      const list: RunningAggregator[] = [];
      for (const [k, agg] of committee.aggregatorConfigs.entries()) {
        const { committee: fixed, ...base } = agg;
        const cfg = parseAggregatorConfig({
          ...base,
          aggregators: fixed?.aggregators ?? [],
          epochs: { source: 'chain', pollIntervalMs, directoryRefreshMs: 2000 },
          chains: {
            ethereum: {
              rpcUrl: chains.anvil.rpcUrl, router: chains.deployed.addresses.router, feeds: chains.deployed.addresses.feeds,
              registry: chains.deployed.addresses.registry, relayer: { keyEnv: 'DESTRA_DEVNET_RELAYER_KEY' },
            },
          },
          relay: { staggerMs: 0, maxAttempts: 8, onDemandTargets: ['ethereum', 'solana'] },
        });
        // In one process the aggregators share the relay sinks (one account, one nonce manager each chain).
        const log = k === 0 ? alog : pino({ level: o.logLevel ?? 'info' }, destination(join(dir, `aggregator${k + 1}.log`)));
        const a = await startAggregator(cfg, { sinks: [chains.ethSink, chains.solSink], handoverRelay, log, ...(feedRelay ? { feedRelay } : {}) });
        this.cleanups.push(() => a.stop());
        list.push(a);
      }
      return list;
    });
    this.aggregators = started;
    this.aggregator = started[0]!;
    for (const a of started) {
      a.service.on('result', (r) => {
        const id = toHex(r.signed.requestId);
        if (this.reportOf.has(id)) return; // the other aggregator combined it too
        this.results.push({ ...r, at: performance.now() });
        this.latencyOf.set(id, r.latencyMs);
        this.reportOf.set(id, r.signed.report);
      });
    }
    // Node processes stop before the aggregator, the bridge and the chains.
    this.cleanups.push(() => Promise.all([...this.nodes.values()].map((p) => p.stop())));
    await step(`start ${n} node processes (each reads the registry: epoch 0, genesis DKG among the ${n} staked operators)`, async () => {
      // allSettled, not all: when one node fails to come up, the others still starting must be tracked
      // (startNode records each once it is up) before stop() runs, or they outlive the network.
      const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => this.startNode(i + 1)));
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      for (const s of settled) if (s.status === 'fulfilled') info(`node ${s.value.index}: pid ${s.value.child.pid}, API ${s.value.api}, log ${s.value.logFile}`);
    });
    let genesisSeen = 'no node answered yet';
    const recordOf = new Map<number, string>();
    const serving = new Set<number>();
    const genesisRecord = await step('genesis DKG over libp2p; every node publishes the same record', () =>
      waitFor('the genesis DKG', async () => {
        const running = this.running();
        const views = await Promise.all(running.map((k) => (recordOf.has(k) ? undefined : this.epochsOf(k, 15_000))));
        // A node's record is final once shown: a node busy for a moment (16 processes on 2 cores) keeps it.
        running.forEach((k, i) => { if (views[i]?.dkgResult?.epoch === 1) recordOf.set(k, views[i]!.dkgResult!.handover); });
        const records = new Set(running.map((k) => recordOf.get(k)));
        // What the nodes show, for the timeout message: who did not answer, who has no record, how many records.
        genesisSeen = `${running.length} running; no record from [${running.filter((k) => !recordOf.has(k))}]; ${records.size} distinct record(s)`;
        if (records.size !== 1 || records.has(undefined)) return undefined;
        return [...records][0]!;
      }, this.o.genesisTimeoutMs ?? 120_000).catch((err: Error) => {
        throw new Error(`${err.message} (${genesisSeen})`);
      }),
    );
    await step('install genesis (group key, committee) on Ethereum and Solana', () => this.ethTx(() => chains.genesisFromHandover(fromHex(genesisRecord))));
    await step(`register model ${model.model} on Ethereum`, () => chains.registerModel(model.model, probe.modelHash));
    await step('every node serves epoch 1', () =>
      waitFor('epoch 1 active on every node', async () => {
        const running = this.running().filter((k) => !serving.has(k));
        const views = await Promise.all(running.map((k) => this.epochsOf(k, 15_000)));
        running.forEach((k, i) => { if (views[i]?.epoch === 1 && views[i]!.member) serving.add(k); });
        return this.running().every((k) => serving.has(k)) ? true : undefined;
      }, this.o.genesisTimeoutMs ? Math.max(60_000, this.o.genesisTimeoutMs / 2) : 60_000),
    );
  }

  /** Stops everything started, in reverse order (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.hold?.release();
    await this.watching?.catch(() => undefined);
    for (const c of this.cleanups.reverse()) await c().catch(() => undefined);
    this.cleanups.length = 0;
  }

  private ethTx<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.ethQueue.then(fn, fn);
    this.ethQueue = run.catch(() => undefined);
    return run;
  }

  // ---- node processes --------------------------------------------------------------------------------

  /** Operator numbers whose node process runs now. */
  running(): number[] {
    return [...this.nodes.entries()].filter(([, p]) => p.child.exitCode === null && p.child.signalCode === null).map(([k]) => k);
  }

  node(k: number): NodeProcess {
    const p = this.nodes.get(k);
    if (!p) throw new Error(`node ${k} was never started`);
    return p;
  }

  /** Starts node process k from its config (a restart keeps its data dir; the old log is kept as node<k>.<i>.log). */
  async startNode(k: number): Promise<NodeProcess> {
    if (k < 1 || k > this.total) throw new Error(`no operator ${k} (1..${this.total})`);
    if (this.running().includes(k)) throw new Error(`node ${k} is running`);
    const log = join(this.dir, `node${k}.log`);
    if (existsSync(log)) {
      const i = (this.restarts.get(k) ?? 0) + 1;
      this.restarts.set(k, i);
      renameSync(log, join(this.dir, `node${k}.${i}.log`));
    }
    const at = this.o.placement?.command(k);
    const p = await spawnNode(k, this.committee.nodeConfigPaths[k - 1]!, this.chainsFile, this.dir, this.o.startTimeoutMs, at?.env, at?.prefix);
    if (this.o.placement?.apiUrl) p.api = this.o.placement.apiUrl(k, p.api);
    this.nodes.set(k, p);
    return p;
  }

  /** SIGTERM (graceful stop). */
  async stopNode(k: number): Promise<void> {
    await this.nodes.get(k)?.stop();
  }

  /** SIGKILL: no shutdown at all (SQLite as a crash leaves it). */
  async kill9(k: number): Promise<void> {
    const p = this.node(k);
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.child.once('exit', () => resolve());
      p.child.kill('SIGKILL');
    });
  }

  /** Starts node k again from the same config and data dir (stopping it first if it runs). */
  async restart(k: number): Promise<NodeProcess> {
    if (this.running().includes(k)) await this.stopNode(k);
    return this.startNode(k);
  }

  async epochsOf(k: number, timeoutMs = 5000): Promise<EpochsView | undefined> {
    const p = this.nodes.get(k);
    if (!p) return undefined;
    return fetch(`${p.api}/v1/epochs`, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => (r.ok ? (r.json() as Promise<EpochsView>) : undefined)).catch(() => undefined);
  }

  // ---- committee -------------------------------------------------------------------------------------

  /** Operator k's Ethereum address (anvil account k). */
  address(k: number): Address {
    return privateKeyToAccount(this.chains.anvil.privateKeys[k]!).address;
  }

  /** The registry's committee of `epoch`, in DKG index order. */
  async committeeOf(epoch: number): Promise<Address[]> {
    return (await this.chains.clients.publicClient.readContract({
      address: this.chains.deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'committeeOf', args: [BigInt(epoch)],
    })) as Address[];
  }

  /** Operator k's 1-based index in the committee of `epoch`, if it is a member. */
  async indexIn(k: number, epoch: number): Promise<number | undefined> {
    const i = (await this.committeeOf(epoch)).findIndex((a) => a.toLowerCase() === this.address(k).toLowerCase());
    return i < 0 ? undefined : i + 1;
  }

  /** Operator k registers, self-bonds and publishes its node info; `start` (default) starts its node. */
  async join(k: number, o: { start?: boolean } = {}): Promise<NodeProcess | undefined> {
    if (k <= this.n || k > this.total) throw new Error(`operator ${k} is not a joiner (${this.n + 1}..${this.total})`);
    await this.ethTx(() => this.chains.stake([this.committee.operators[k]!], [this.committee.nodeInfo[k - 1]!], k - 1));
    return o.start === false ? undefined : this.startNode(k);
  }

  /** Operator k asks to unbond its whole self-bond: it is not in the next committee. */
  async leave(k: number): Promise<void> {
    await this.ethTx(() => this.chains.unbond(k - 1));
  }

  /** The registry's epoch and committee size, and the Solana program's epoch. */
  async chainEpoch(): Promise<{ epoch: number; size: number; solana: number }> {
    const e = await this.chains.epoch();
    return { ...e, solana: Number((await this.chains.solana.fetchConfig())?.epoch ?? 0n) };
  }

  /** Until both chains reached `epoch` with a committee of `size` on Ethereum. */
  waitEpoch(epoch: number, size: number, timeoutMs = 180_000): Promise<true> {
    return waitFor(`epoch ${epoch} (${size} members) on both chains`, async () => {
      const e = await this.chainEpoch();
      return e.epoch >= epoch && e.size === size && e.solana >= epoch ? true : undefined;
    }, timeoutMs);
  }

  /**
   * Holds every signed handover at the aggregator's relay until `release()` (to land something on chain
   * between a handover's signing and its relay); `waiting()` counts the relays held so far.
   */
  holdHandovers(): { waiting(): number; release(): void } {
    if (this.hold) throw new Error('handovers are held already');
    let open!: () => void;
    const hold = {
      waiting: 0,
      released: new Promise<void>((r) => (open = r)),
      release: () => {
        if (this.hold === hold) this.hold = undefined;
        open();
      },
    };
    this.hold = hold;
    return { waiting: () => hold.waiting, release: hold.release };
  }

  // ---- requests --------------------------------------------------------------------------------------

  /** A request from the example consumer (RiskLendingMarket) with model.input(variant). */
  async ethRequest(variant: number): Promise<TrackedRequest> {
    const input = this.model.input(variant);
    const id = await this.ethTx(() => this.chains.ethRequest(input));
    const r: TrackedRequest = { chain: 'ethereum', id, input, submittedAt: performance.now(), submittedEpoch: this.ethEpoch };
    this.requests.push(r);
    return r;
  }

  /** A request to the Solana program with model.input(variant). */
  async solRequest(variant: number): Promise<TrackedRequest> {
    const input = this.model.input(variant);
    const id = await this.chains.solRequest(this.modelHash, input);
    const r: TrackedRequest = { chain: 'solana', id, input, submittedAt: performance.now(), submittedEpoch: this.solEpoch };
    this.requests.push(r);
    return r;
  }

  /** An on-demand report from node k (POST /v1/infer), which the aggregator relays to both chains. */
  async onDemand(k: number, variant: number): Promise<TrackedRequest> {
    const input = this.model.input(variant);
    const started = performance.now();
    const res = await fetch(`${this.node(k).api}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: this.model.model, input: toHex(input) }) });
    if (!res.ok) throw new Error(`/v1/infer answered ${res.status}: ${await res.text()}`);
    const od = (await res.json()) as { requestId: string; report: string; signature: string; root: string; proof: string[] };
    const signed: SignedReport = { requestId: fromHex(od.requestId), report: fromHex(od.report), root: fromHex(od.root), proof: od.proof.map((p) => fromHex(p)), signature: fromHex(od.signature) };
    const r: TrackedRequest = {
      chain: 'on-demand', id: signed.requestId, input, submittedAt: started, submittedEpoch: this.ethEpoch, answeredAt: performance.now(), answeredEpoch: Number(decodeReport(signed.report).epoch), signed,
    };
    this.requests.push(r);
    return r;
  }

  /**
   * Requests every `intervalMs` until stopped, alternating Ethereum (even) and Solana (odd), inputs
   * model.input(firstVariant + i). A request that cannot be submitted is reported to `onError`.
   */
  traffic(o: { intervalMs: number; firstVariant?: number; onError?: (i: number, err: Error) => void }): { stop(): Promise<void> } {
    let on = true;
    let seq = 0;
    const loop = (async () => {
      while (on && !this.stopped) {
        const i = seq++;
        const variant = (o.firstVariant ?? 1000) + i;
        try {
          if (i % 2 === 0) await this.ethRequest(variant);
          else await this.solRequest(variant);
        } catch (err) {
          o.onError?.(i, err as Error);
        }
        await sleep(o.intervalMs);
      }
    })();
    return {
      stop: async () => {
        on = false;
        await loop;
      },
    };
  }

  /** Polls the chains' epochs and the requests not answered yet (answer time, answering epoch). */
  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        const e = await this.chainEpoch();
        const now = performance.now();
        this.ethEpoch = e.epoch;
        this.solEpoch = e.solana;
        const seen = (epoch: number) => {
          let s = this.epochs.get(epoch);
          if (!s) this.epochs.set(epoch, (s = { epoch, size: 0 }));
          return s;
        };
        if (e.epoch > 0 && seen(e.epoch).ethereumAt === undefined) Object.assign(seen(e.epoch), { ethereumAt: now, size: e.size });
        if (e.solana > 0 && seen(e.solana).solanaAt === undefined) seen(e.solana).solanaAt = now;
        await Promise.all(this.requests.filter((r) => r.answeredAt === undefined).map(async (r) => {
          if (r.chain === 'ethereum') {
            if (!(await this.chains.ethFulfilled(r.id))) return;
            r.answeredAt = performance.now();
            const report = this.reportOf.get(toHex(r.id));
            if (report) r.answeredEpoch = Number(decodeReport(report).epoch);
          } else if (r.chain === 'solana') {
            const res = await this.chains.solana.fetchResult(r.id);
            if (!res) return;
            r.answeredAt = performance.now();
            r.answeredEpoch = Number(res.epoch);
          }
        }));
      } catch {
        /* the chains are going away, or a read failed: next round */
      }
      await sleep(250);
    }
  }

  /**
   * Waits until every request of `list` is answered on its chain and checks its output against a local
   * inference (Ethereum: the report the router verified; Solana: the result account the program wrote
   * after its BLS check; on-demand: verifyReport on Ethereum and the result account on Solana). A request
   * not answered within `timeoutMs` is lost. Sets `verified` and `detail` on each.
   */
  async verify(list: readonly TrackedRequest[] = this.requests, timeoutMs = 90_000): Promise<{ lost: number; verified: number }> {
    let lost = 0;
    await Promise.all(
      list.map(async (s) => {
        try {
          const want = (await this.model.inference.infer(this.model.model, s.input)).output;
          if (s.chain === 'ethereum') {
            await waitFor(`Ethereum request ${toHex(s.id).slice(0, 18)}…`, async () => ((await this.chains.ethFulfilled(s.id)) ? true : undefined), timeoutMs);
            s.answeredAt ??= performance.now();
            // the report the router verified (combined in whichever epoch answered it)
            const report = await waitFor('the signed report', async () => this.reportOf.get(toHex(s.id)), 5_000);
            const got = decodeReport(report).output;
            s.answeredEpoch ??= Number(decodeReport(report).epoch);
            s.verified = got.join() === want.join();
            s.detail = `callback delivered, verified by OracleRouter (BLS12-381 precompiles); output [${got.join(', ')}]`;
          } else if (s.chain === 'solana') {
            const r = await waitFor(`Solana request ${toHex(s.id).slice(0, 18)}…`, async () => (await this.chains.solana.fetchResult(s.id)) ?? undefined, timeoutMs);
            s.answeredAt ??= performance.now();
            s.answeredEpoch ??= Number(r.epoch);
            s.verified = r.output.join() === want.join();
            s.detail = `result account written after in-program BLS verification; output [${r.output.join(', ')}]`;
          } else {
            const signed = s.signed!;
            const onEth = await this.chains.ethSink.verify(signed);
            const onSol = await waitFor('the on-demand report on Solana', async () => (await this.chains.solana.fetchResult(s.id)) ?? undefined, Math.min(timeoutMs, 60_000));
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
    return { lost, verified: list.filter((s) => s.verified).length };
  }

  /** Until every request of `list` is answered on its chain (no output check); false on timeout. */
  async waitAnswered(list: readonly TrackedRequest[], timeoutMs = 60_000): Promise<boolean> {
    return waitFor('answers', async () => (list.every((r) => r.answeredAt !== undefined) ? true : undefined), timeoutMs, 200).catch(() => false);
  }
}
