// CPU seconds the product spends on a measured window, per process group: the node processes, the
// aggregator process, the other children of the bench (anvil), and the bench process itself (the
// clients). Read from /proc/<pid>/stat (utime + stime of every thread of the process) before and after
// the window, so the figure stays meaningful on a machine shared with other work: throughput there
// depends on how much CPU the product gets; CPU per result does not.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (sysconf(_SC_CLK_TCK)); 100 on Linux unless told otherwise. */
const CLK_TCK = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of `pid` in seconds (all its threads), or undefined when it is gone or there is no /proc. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Direct children of this process (any of its threads spawned them). */
function childPids(): number[] {
  const out = new Set<number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
      for (const p of text ? text.split(/\s+/) : []) out.add(Number(p));
    }
  } catch {
    /* no /proc: no children known */
  }
  return [...out];
}

export interface CpuGroups {
  nodes: number;
  aggregator: number;
  /** Other children of the bench: anvil. */
  chain: number;
  /** This process: the benchmark's clients (and their verification). */
  bench: number;
}

export interface CpuWindow extends CpuGroups {
  /** Wall-clock seconds of the window. */
  wall: number;
}

/** Marks the start of a window; `end()` returns the CPU seconds each group spent since. */
export function cpuWindow(pids: { nodes: readonly number[]; aggregator: number }): { end(): CpuWindow } {
  const read = (): { at: number; groups: CpuGroups; per: Map<number, number> } => {
    const per = new Map<number, number>();
    for (const pid of new Set([...pids.nodes, pids.aggregator, ...childPids()])) per.set(pid, processCpuSeconds(pid) ?? 0);
    const own = process.cpuUsage();
    const sum = (list: readonly number[]) => list.reduce((a, p) => a + (per.get(p) ?? 0), 0);
    const named = new Set([...pids.nodes, pids.aggregator]);
    return {
      at: performance.now(),
      per,
      groups: {
        nodes: sum(pids.nodes),
        aggregator: sum([pids.aggregator]),
        chain: sum([...per.keys()].filter((p) => !named.has(p))),
        bench: (own.user + own.system) / 1e6,
      },
    };
  };
  const start = read();
  return {
    end() {
      const now = read();
      // A child that appeared during the window counts from zero; one that left is not counted.
      const chainStart = [...now.per.keys()].filter((p) => !pids.nodes.includes(p) && p !== pids.aggregator).reduce((a, p) => a + (start.per.get(p) ?? 0), 0);
      return {
        wall: (now.at - start.at) / 1000,
        nodes: now.groups.nodes - start.groups.nodes,
        aggregator: now.groups.aggregator - start.groups.aggregator,
        chain: now.groups.chain - chainStart,
        bench: now.groups.bench - start.groups.bench,
      };
    },
  };
}

/** "nodes 1.23 + aggregator 0.05 (+ anvil 0.01, bench clients 0.40)" CPU seconds per `per` units of work. */
export function cpuPer(w: CpuWindow, units: number, per = 1000): { product: number; text: string } {
  const f = (s: number) => (units > 0 ? (s / units) * per : NaN);
  const product = f(w.nodes + w.aggregator);
  const d = (x: number) => x.toFixed(x >= 10 ? 1 : 3);
  return {
    product,
    text: `nodes ${d(f(w.nodes))} + aggregator ${d(f(w.aggregator))} = ${d(product)} (anvil ${d(f(w.chain))}, bench clients ${d(f(w.bench))}; ${(w.nodes + w.aggregator + w.chain + w.bench).toFixed(1)} CPU-s in ${w.wall.toFixed(1)} s)`,
  };
}
