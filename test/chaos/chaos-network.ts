// A LiveNetwork (anvil + contracts, the Solana program in LiteSVM, in-process aggregators, node processes
// following CommitteeRegistry) whose node processes each run in their own network namespace (netns.ts),
// reaching anvil and the SVM bridge through forwarders on the bridge's gateway address, plus what the
// chaos scenarios do to them: per-member clock skew and Byzantine modes (applied at the member's next
// start), and the evidence the aggregators name (and submit on chain: equivocations are slashed).
import { readFileSync, writeFileSync } from 'node:fs';
import type { NodeConfigInput } from '@destra/oracle-node';
import { LiveNetwork, type LiveNetworkOptions, type NodePlacement } from '../devnet/live-network.ts';
import type { LocalCommittee } from '../devnet/committee.ts';
import type { DevnetChainsFile } from '../devnet/node-main.ts';
import type { ByzantineMode } from './byzantine.ts';
import { forward, type Forwarder } from './forward.ts';
import { API_PORT, ChaosNet } from './netns.ts';

const clockSkewPreload = new URL('./clock-skew.mjs', import.meta.url).pathname;
const EVIDENCE_KEY_ENV = 'DESTRA_CHAOS_EVIDENCE_KEY';

export interface Misbehaviour {
  kind: string;
  /** Committee index in `epoch`. */
  member: number;
  epoch: number;
  at: number;
}

export class ChaosNetwork {
  readonly netns = new ChaosNet();
  readonly live: LiveNetwork;
  /** Every misbehaviour an aggregator named (evidence), in order. */
  readonly evidence: Misbehaviour[] = [];
  private readonly forwarders: Forwarder[] = [];
  private readonly skewMs = new Map<number, number>();
  private readonly byzantine = new Map<number, ByzantineMode>();

  constructor(o: Omit<LiveNetworkOptions, 'placement'>) {
    const placement: NodePlacement = {
      place: (p) => this.place(p.committee, p.chainsFile),
      command: (k) => ({ prefix: this.netns.exec(k), env: this.envOf(k) }),
      apiUrl: (k) => `http://${this.netns.ip(k)}:${API_PORT}`,
    };
    this.live = new LiveNetwork({ ...o, placement });
  }

  async start(): Promise<this> {
    try {
      await this.live.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    for (const a of this.live.aggregators) a.service.on('misbehaviour', (e) => this.evidence.push({ kind: e.kind, member: e.member, epoch: e.epoch ?? 0, at: performance.now() }));
    return this;
  }

  async stop(): Promise<void> {
    await this.live.stop();
    for (const f of this.forwarders) await f.close().catch(() => undefined);
    this.netns.destroy();
  }

  /** Member k's wall clock runs `ms` off from its next start (0: honest clock). */
  setClockSkew(k: number, ms: number): void {
    if (ms === 0) this.skewMs.delete(k);
    else this.skewMs.set(k, ms);
  }

  /** Member k behaves as `mode` from its next start (undefined: honest). */
  setByzantine(k: number, mode: ByzantineMode | undefined): void {
    if (mode) this.byzantine.set(k, mode);
    else this.byzantine.delete(k);
  }

  byzantineMembers(): Map<number, ByzantineMode> {
    return new Map(this.byzantine);
  }

  /** Restarts member k now (SIGTERM, same data dir), so its skew and Byzantine mode take effect. */
  async restart(k: number): Promise<void> {
    await this.live.restart(k);
  }

  private envOf(k: number): Record<string, string> {
    const env: Record<string, string> = {};
    const skew = this.skewMs.get(k);
    if (skew) {
      env.DESTRA_CHAOS_CLOCK_SKEW_MS = String(skew);
      env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${clockSkewPreload}`.trim();
    }
    const mode = this.byzantine.get(k);
    if (mode) env.DESTRA_TEST_FAULT = mode;
    return env;
  }

  /** Namespaces for every operator; configs, node info and the chains file rewritten to their addresses. */
  private async place(committee: LocalCommittee, chainsFile: string): Promise<void> {
    const { netns } = this;
    const gw = netns.gateway;
    const file = JSON.parse(readFileSync(chainsFile, 'utf8')) as DevnetChainsFile;
    const rpc = await forward(file.rpcUrl, gw);
    const svm = await forward(file.svmBridgeUrl, gw);
    this.forwarders.push(rpc, svm);
    writeFileSync(chainsFile, JSON.stringify({ ...file, rpcUrl: rpc.url, svmBridgeUrl: svm.url }, null, 2));
    const toGateway = (a: string) => a.replace('/ip4/127.0.0.1/', `/ip4/${gw}/`);
    // Equivocation evidence goes on chain as in production (the aggregator's evidence config, its own
    // account: the devnet's reserved evidence-submitter key), so Slashed events are real.
    process.env[EVIDENCE_KEY_ENV] = this.live.chains.anvil.privateKeys.at(-2)!;
    for (const agg of committee.aggregatorConfigs) {
      agg.evidence = { submit: true, account: { keyEnv: EVIDENCE_KEY_ENV } };
      agg.listen = (agg.listen ?? []).map(toGateway);
      if (agg.committee) agg.committee = { ...agg.committee, aggregators: (agg.committee.aggregators ?? []).map((a) => ({ ...a, addrs: (a.addrs ?? []).map(toGateway) })) };
    }
    committee.nodeConfigs.forEach((cfg: NodeConfigInput, i) => {
      const k = i + 1;
      netns.add(k);
      const ip = netns.ip(k);
      const mine = (a: string) => a.replace('/ip4/127.0.0.1/', `/ip4/${ip}/`);
      cfg.listen = (cfg.listen ?? []).map(mine);
      cfg.api = { ...cfg.api, port: API_PORT };
      if (cfg.control) cfg.control = { ...cfg.control, rpcUrl: rpc.url };
      if (cfg.aggregators) cfg.aggregators = cfg.aggregators.map((a) => ({ ...a, addrs: (a.addrs ?? []).map(toGateway) }));
      writeFileSync(committee.nodeConfigPaths[i]!, JSON.stringify(cfg, null, 2));
      const info = committee.nodeInfo[i]!;
      info.multiaddrs = info.multiaddrs.map(mine);
    });
  }
}
