// Delay, jitter and reordering on a namespace's egress without sch_netem (VM kernels such as this CI's
// Firecracker 6.18 leave netem, fq and etf out): an iptables NFQUEUE rule hands every packet leaving the
// namespace's eth0 to the netdelay daemon (test/chaos/netdelay, Rust, built by scripts/bootstrap.sh
// --test), which holds it for delay ± jitter and then accepts it. NFQUEUE sockets are per namespace, so
// each shaped namespace has its own daemon on queue 0. `--queue-bypass`: with no daemon bound, packets pass.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const NETDELAY_BIN = new URL('./netdelay/target/release/netdelay', import.meta.url).pathname;
const QUEUE = 0;
const RULE = ['OUTPUT', '-o', 'eth0', '-j', 'NFQUEUE', '--queue-num', String(QUEUE), '--queue-bypass'];

export interface DelaySpec {
  delayMs: number;
  jitterMs?: number;
  /** Jitter as uniform ±jitterMs (default) or normal with sigma jitterMs. */
  dist?: 'uniform' | 'normal';
  /** This share of packets (percent) is sent at once, ahead of the held ones. */
  reorderPct?: number;
}

const run = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Why userspace delay cannot be used here (daemon not built, iptables missing), or undefined. */
export function delayUnavailableReason(): string | undefined {
  if (!existsSync(NETDELAY_BIN)) return `${NETDELAY_BIN} is not built: run scripts/bootstrap.sh --test (cargo build of test/chaos/netdelay)`;
  try {
    run(['sh', '-c', 'command -v iptables']);
  } catch {
    return '`iptables` is missing (NFQUEUE rules): run scripts/bootstrap.sh --test';
  }
  return undefined;
}

/** A running netdelay daemon in one namespace plus the rule that feeds it. */
export class NetDelay {
  private constructor(
    readonly ns: string,
    readonly spec: DelaySpec,
    private readonly child: ChildProcess,
  ) {}

  /** Starts the daemon in `ns` (waits until its queue is bound), then queues eth0's egress to it. */
  static async start(ns: string, spec: DelaySpec): Promise<NetDelay> {
    const args = ['netns', 'exec', ns, NETDELAY_BIN, '--queue', String(QUEUE), '--delay-ms', String(spec.delayMs), '--jitter-ms', String(spec.jitterMs ?? 0), '--dist', spec.dist ?? 'uniform', '--reorder-pct', String(spec.reorderPct ?? 0)];
    // `ip netns exec` execs in place: the child's pid is the daemon's, so a signal reaches it.
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    await new Promise<void>((resolve, reject) => {
      // Generous: the harness's own event loop (LiteSVM, the aggregator) can be busy for seconds under
      // load, and a timer due then runs before the pending 'ready' is read.
      const timer = setTimeout(() => fail(new Error(`netdelay in ${ns} not ready within 60 s: ${err.trim()}`)), 60_000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(e);
      };
      child.once('exit', (code) => fail(new Error(`netdelay in ${ns} exited (${code}): ${err.trim()}`)));
      child.stdout!.once('data', () => {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve();
      });
    });
    child.stdout!.resume();
    const d = new NetDelay(ns, spec, child);
    try {
      run(['ip', 'netns', 'exec', ns, 'iptables', '-A', ...RULE]);
    } catch (e) {
      d.stop();
      throw new Error(`cannot add the NFQUEUE rule in ${ns}: ${(e as Error).message.split('\n')[0]}`);
    }
    return d;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Removes the rule (new packets pass undelayed), then stops the daemon, which releases what it holds. Sync: runs on exit too. */
  stop(): void {
    try {
      run(['ip', 'netns', 'exec', this.ns, 'iptables', '-D', ...RULE]);
    } catch {
      // the namespace or rule is already gone
    }
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}
