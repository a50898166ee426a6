// The delay the chaos harness adds without sch_netem (netdelay behind NFQUEUE, test/chaos/delay.ts),
// measured with ping between namespaces: the round trip must fall in the configured band, jitter must
// spread it, and unshaping must bring it back to sub-millisecond and stop the daemon. A daemon that held
// nothing, held the wrong time or outlived its namespace fails here.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosNet, delayUnavailable, unavailableReason } from './netns.ts';

const why = unavailableReason() ?? delayUnavailable() ?? (hasPing() ? undefined : '`ping` is missing: run scripts/bootstrap.sh --test (iputils-ping)');
if (why) console.warn(`netdelay tests skipped: ${why}`);

function hasPing(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v ping'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Round-trip times in ms of `count` pings from member k's namespace to `to`. */
function ping(net: ChaosNet, k: number, to: string, count = 12): number[] {
  const out = execFileSync('ip', ['netns', 'exec', net.ns(k), 'ping', '-n', '-c', String(count), '-i', '0.1', '-W', '2', to], { encoding: 'utf8' });
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(why !== undefined)('netdelay: delay and jitter without netem (NFQUEUE daemon per namespace)', () => {
  let net: ChaosNet;
  // Scheduling on a loaded 2-core machine adds a little; a missing or doubled delay is far outside this.
  const SLACK_MS = 25;

  beforeAll(() => {
    net = new ChaosNet();
    net.add(1);
    net.add(2);
  });
  afterAll(() => net?.destroy());

  it('100 ± 50 ms on member 1: RTT to the gateway within 50..150 ms, spread by the jitter', async () => {
    await net.shape(1, { delayMs: 100, jitterMs: 50 });
    const rtt = ping(net, 1, net.gateway);
    expect(rtt.length).toBeGreaterThanOrEqual(10);
    for (const r of rtt) {
      expect(r).toBeGreaterThanOrEqual(49);
      expect(r).toBeLessThanOrEqual(150 + SLACK_MS);
    }
    const mean = rtt.reduce((a, b) => a + b, 0) / rtt.length;
    expect(mean).toBeGreaterThan(70);
    expect(mean).toBeLessThan(135);
    // Uniform ±50 ms over 12 draws: a spread under 25 ms is vanishingly unlikely unless jitter is missing.
    expect(Math.max(...rtt) - Math.min(...rtt)).toBeGreaterThan(25);
  });

  it('both ends shaped: member 1 → member 2 adds both egress delays (100±50 + 200)', async () => {
    await net.shape(2, { delayMs: 200 });
    const rtt = ping(net, 1, net.ip(2), 8);
    expect(rtt.length).toBeGreaterThanOrEqual(6);
    for (const r of rtt) {
      expect(r).toBeGreaterThanOrEqual(249);
      expect(r).toBeLessThanOrEqual(350 + SLACK_MS);
    }
  });

  it('unshape removes the delay and stops the daemon; destroy leaves no daemon behind', async () => {
    const pids = net.delayPids();
    expect([...pids.values()].every(alive)).toBe(true);
    net.unshape(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pids.get(1))).toBe(false);
    expect(Math.max(...ping(net, 1, net.gateway, 5))).toBeLessThan(20);
    net.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pids.get(2))).toBe(false);
  });
});
