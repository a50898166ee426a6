// A private network for node processes: one Linux network namespace per node, each with a veth pair on
// a bridge in the root namespace, plus the faults a real network has: packet loss, a bandwidth cap,
// delay with jitter and reordering (the netdelay daemon behind an NFQUEUE rule: delay.ts), partitions
// and one-way cuts (nftables rules in the namespaces), all of which heal. Anvil, the SVM bridge and the aggregators stay in the root namespace,
// reached over the bridge's address (the gateway).
//
// Names carry the run's pid (`dc<pid36>…` links, `dchaos-<pid>-n<k>` namespaces), so `sweepStale()` removes
// what runs that died earlier left behind, and `destroy()` (also on SIGINT/SIGTERM/exit) removes this run's.
import { execFileSync } from 'node:child_process';
import { NetDelay, delayUnavailableReason } from './delay.ts';

export interface LinkShape {
  /** Packets dropped on the namespace's way out, in percent (nftables numgen). */
  lossPct?: number;
  /** Added one-way delay on the namespace's way out and its jitter (uniform ±, or normal sigma), netdelay. */
  delayMs?: number;
  jitterMs?: number;
  jitterDist?: 'uniform' | 'normal';
  /** This share of packets (percent) skips the delay, overtaking held ones (explicit reordering). */
  reorderPct?: number;
  /** Egress cap (tbf). */
  rateKbit?: number;
}

/** The node API port inside every namespace (each namespace has its own ports). */
export const API_PORT = 7000;

const sh = (cmd: string, args: string[], input?: string): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
const quiet = (cmd: string, args: string[]): boolean => {
  try {
    sh(cmd, args);
    return true;
  } catch {
    return false;
  }
};

const which = (bin: string): boolean => quiet('sh', ['-c', `command -v ${bin}`]);

/** Why namespaces cannot be used here, or undefined when they can (root, `ip`, `nft`, a test namespace). */
export function unavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the chaos tests as root)';
  for (const bin of ['ip', 'tc', 'nft']) if (!which(bin)) return `\`${bin}\` is missing: run scripts/bootstrap.sh --test (installs iproute2 and nftables)`;
  const probe = `dchaos-probe-${process.pid}`;
  try {
    sh('ip', ['netns', 'add', probe]);
    sh('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset']);
  } catch (err) {
    return `cannot create a network namespace with nftables: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    quiet('ip', ['netns', 'del', probe]);
  }
  return undefined;
}

/** Why delay/jitter cannot be added here (undefined: it can); see delay.ts. */
export function delayUnavailable(): string | undefined {
  return delayUnavailableReason();
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Deletes namespaces and links of earlier runs whose process is gone. */
export function sweepStale(): string[] {
  const removed: string[] = [];
  for (const line of sh('ip', ['netns', 'list']).split('\n')) {
    const m = /^dchaos-(\d+)-\S+/.exec(line.trim());
    if (m && !alive(Number(m[1])) && quiet('ip', ['netns', 'del', m[0]])) removed.push(m[0]);
  }
  for (const line of sh('ip', ['-o', 'link', 'show']).split('\n')) {
    const m = /^\d+:\s+(dc([0-9a-z]{1,5})[bh]\d*)[@:]/.exec(line);
    if (m && !alive(parseInt(m[2]!, 36)) && quiet('ip', ['link', 'del', m[1]!])) removed.push(m[1]!);
  }
  return removed;
}

export class ChaosNet {
  readonly tag = `dc${process.pid.toString(36)}`;
  /** 10.77.<run>.0/24: concurrent runs (a test and a bench) get different subnets. */
  readonly subnet = `10.77.${(process.pid % 250) + 1}`;
  readonly gateway = `${this.subnet}.1`;
  readonly bridge = `${this.tag}b`;
  private readonly members = new Set<number>();
  private readonly delays = new Map<number, NetDelay>();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.destroy();
    process.kill(process.pid, sig);
  };
  private readonly onExit = (): void => this.destroy();
  private destroyed = false;

  /** Creates the bridge with the gateway address; removes stale state of dead runs first. */
  constructor() {
    sweepStale();
    this.destroy(true);
    sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    sh('ip', ['link', 'set', this.bridge, 'up']);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    process.once('exit', this.onExit);
  }

  ns(k: number): string {
    return `dchaos-${process.pid}-n${k}`;
  }

  ip(k: number): string {
    if (k < 1 || k > 200) throw new Error(`member ${k} out of range 1..200`);
    return `${this.subnet}.${10 + k}`;
  }

  /** The command prefix that runs a program inside member k's namespace. */
  exec(k: number): string[] {
    return ['ip', 'netns', 'exec', this.ns(k)];
  }

  /** Member k's namespace: loopback, a veth to the bridge with its address, the default route. */
  add(k: number): void {
    if (this.members.has(k)) return;
    const ns = this.ns(k);
    const host = `${this.tag}h${k}`;
    const peer = `${this.tag}p${k}`;
    sh('ip', ['netns', 'add', ns]);
    this.members.add(k);
    sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    sh('ip', ['link', 'set', peer, 'netns', ns]);
    sh('ip', ['link', 'set', host, 'master', this.bridge, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', peer, 'name', 'eth0']);
    sh('ip', ['-n', ns, 'addr', 'add', `${this.ip(k)}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', this.gateway]);
    // One table per namespace holds every fault rule the harness adds (`heal` deletes them by comment).
    // The node API binds 127.0.0.1 by design; a DNAT of <member ip>:API_PORT to it lets the harness in the
    // root namespace reach it (route_localnet allows a loopback destination for packets from eth0).
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.eth0.route_localnet=1']);
    this.nft(k, `
      table inet chaos {
        chain out { type filter hook output priority 0; policy accept; }
        chain in { type filter hook input priority 0; policy accept; }
      }
      table ip chaosapi {
        chain pre { type nat hook prerouting priority -100; policy accept; iifname "eth0" tcp dport ${API_PORT} dnat to 127.0.0.1:${API_PORT}; }
      }`);
  }

  private nft(k: number, script: string): void {
    sh('ip', ['netns', 'exec', this.ns(k), 'nft', '-f', '-'], script);
  }

  /** Shapes member k's egress (its veth's way out; a link is shaped both ways when both ends are). */
  async shape(k: number, s: LinkShape): Promise<void> {
    this.unshape(k);
    const ns = this.ns(k);
    if (s.delayMs || s.jitterMs || s.reorderPct) {
      const why = delayUnavailableReason();
      if (why) throw new Error(`cannot add delay to member ${k}: ${why}`);
      this.delays.set(k, await NetDelay.start(ns, { delayMs: s.delayMs ?? 0, jitterMs: s.jitterMs ?? 0, dist: s.jitterDist ?? 'uniform', reorderPct: s.reorderPct ?? 0 }));
    }
    if (s.rateKbit) sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', `${s.rateKbit}kbit`, 'burst', '32kbit', 'latency', '400ms']);
    if (s.lossPct) {
      // Random per-packet drop on the way out (everything leaves via eth0).
      const mod = Math.round(s.lossPct * 100);
      this.nft(k, `add rule inet chaos out oifname "eth0" numgen random mod 10000 < ${mod} counter drop comment "loss"`);
    }
  }

  unshape(k: number): void {
    this.delays.get(k)?.stop();
    this.delays.delete(k);
    quiet('ip', ['netns', 'exec', this.ns(k), 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    this.flushComment(k, 'loss');
  }

  /** The delay daemons running now (member → pid), for tests of the cleanup. */
  delayPids(): Map<number, number | undefined> {
    return new Map([...this.delays].map(([k, d]) => [k, d.pid]));
  }

  /** Cuts every link between the two groups (both ways); the gateway (chains, aggregators) stays reachable. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) for (const y of b) {
      this.cut(x, y);
      this.cut(y, x);
    }
  }

  /** Member `from` can no longer send to member `to` (one-way: `to` still reaches `from`). */
  cut(from: number, to: number): void {
    this.nft(from, `add rule inet chaos out ip daddr ${this.ip(to)} drop comment "cut"`);
  }

  /** Cuts member k off from everything, the gateway included (a machine whose network is down). */
  isolate(k: number): void {
    this.nft(k, 'add rule inet chaos out oifname "eth0" drop comment "cut"');
    this.nft(k, 'add rule inet chaos in iifname "eth0" drop comment "cut"');
  }

  /** Removes every cut (partitions, one-way cuts, isolation); shaping stays unless `unshape` too. */
  heal(k?: number): void {
    for (const m of k === undefined ? this.members : [k]) this.flushComment(m, 'cut');
  }

  /** Removes every fault of every member. */
  healAll(): void {
    for (const m of this.members) {
      this.flushComment(m, 'cut');
      this.unshape(m);
    }
  }

  private flushComment(k: number, comment: string): void {
    let listing: string;
    try {
      listing = sh('ip', ['netns', 'exec', this.ns(k), 'nft', '-a', 'list', 'table', 'inet', 'chaos']);
    } catch {
      return;
    }
    let chain = '';
    for (const line of listing.split('\n')) {
      const c = /^\s*chain (\S+)/.exec(line);
      if (c) chain = c[1]!;
      const h = new RegExp(`comment "${comment}" # handle (\\d+)`).exec(line);
      if (h) quiet('ip', ['netns', 'exec', this.ns(k), 'nft', 'delete', 'rule', 'inet', 'chaos', chain, 'handle', h[1]!]);
    }
  }

  /** Removes the namespaces (their veths and rules go with them) and the bridge. Idempotent. */
  destroy(beforeStart = false): void {
    if (this.destroyed) return;
    if (!beforeStart) {
      this.destroyed = true;
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
      process.off('exit', this.onExit);
    }
    for (const d of this.delays.values()) d.stop();
    this.delays.clear();
    for (const line of sh('ip', ['netns', 'list']).split('\n')) {
      const name = line.trim().split(' ')[0];
      if (name?.startsWith(`dchaos-${process.pid}-`)) quiet('ip', ['netns', 'del', name]);
    }
    quiet('ip', ['link', 'del', this.bridge]);
    this.members.clear();
  }
}
