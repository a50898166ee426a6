// What a process's open file descriptors are, from /proc: TCP sockets grouped by the listening port they
// came in on or the address they go out to (with their TCP state), unix sockets, pipes, files. The soak
// prints it for processes whose handle count grew, so a leak names its peer.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const TCP_STATES: Record<string, string> = {
  '01': 'established', '02': 'syn-sent', '03': 'syn-recv', '04': 'fin-wait1', '05': 'fin-wait2', '06': 'time-wait',
  '07': 'close', '08': 'close-wait', '09': 'last-ack', '0A': 'listen', '0B': 'closing',
};

interface TcpEntry {
  local: string;
  localPort: number;
  remote: string;
  state: string;
}

/** "0100007F:1F90" → 127.0.0.1 and 8080 (IPv4, or IPv4-mapped IPv6; other IPv6 shown in hex). */
function address(hex: string): { ip: string; port: number } {
  const [ipHex, portHex] = hex.split(':') as [string, string];
  const port = parseInt(portHex, 16);
  const v4 = ipHex.length === 8 ? ipHex : ipHex.length === 32 && ipHex.startsWith('0000000000000000FFFF0000') ? ipHex.slice(24) : undefined;
  if (!v4) return { ip: ipHex, port };
  const bytes = v4.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
  return { ip: bytes.join('.'), port };
}

function tcpTable(pid: number): Map<string, TcpEntry> {
  const byInode = new Map<string, TcpEntry>();
  for (const proto of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${proto}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = address(cols[1]!);
      const remote = address(cols[2]!);
      byInode.set(cols[9]!, { local: `${local.ip}:${local.port}`, localPort: local.port, remote: `${remote.ip}:${remote.port}`, state: TCP_STATES[cols[3]!] ?? cols[3]! });
    }
  }
  return byInode;
}

/** Open descriptors of `pid` by kind, most frequent first; undefined when the process is gone. */
export function fdKinds(pid: number): [string, number][] | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const tcp = tcpTable(pid);
  const listening = new Set([...tcp.values()].filter((e) => e.state === 'listen').map((e) => e.localPort));
  const counts = new Map<string, number>();
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    let kind: string;
    const socket = /^socket:\[(\d+)\]$/.exec(link);
    if (socket) {
      const e = tcp.get(socket[1]!);
      if (!e) kind = 'socket (unix or other)';
      else if (e.state === 'listen') kind = 'tcp listening';
      else if (listening.has(e.localPort)) kind = `tcp in on :${e.localPort} (${e.state})`;
      else kind = `tcp out to ${e.remote} (${e.state})`;
    } else if (link.startsWith('pipe:')) kind = 'pipe';
    else if (link.startsWith('anon_inode:')) kind = link;
    else kind = 'file';
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** The kinds whose count changed between two samples, largest growth first: "tcp out to … +412". */
export function fdGrowth(before: [string, number][], after: [string, number][], top = 6): string[] {
  const was = new Map(before);
  const now = new Map(after);
  const keys = new Set([...was.keys(), ...now.keys()]);
  return [...keys]
    .map((k) => [k, (now.get(k) ?? 0) - (was.get(k) ?? 0)] as const)
    .filter(([, d]) => d !== 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, d]) => `${k} ${d > 0 ? '+' : ''}${d}`);
}
