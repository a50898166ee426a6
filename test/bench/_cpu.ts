import { readFileSync } from 'node:fs';
import { toHex } from '@destra/protocol';
import { startProcessCluster } from '../devnet/process-cluster.ts';
import { loadBenchModel } from './inference.ts';
const busy = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number); const idle = f[3]! + f[4]!; const tot = f.reduce((a, b) => a + b, 0); return { idle, tot }; };
const m = await loadBenchModel();
for (const n of (process.env.NS ?? "4,7").split(",").map(Number)) {
  const c = await startProcessCluster({ network: `cpu-${n}`, n, t: Math.floor(2 * n / 3) + 1, models: m.models });
  const leader = c.nodes[0]!;
  const infer = (i: number) => fetch(`${leader.api}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: m.model, input: toHex(m.input(i)) }) }).then((r) => r.json());
  for (let i = 0; i < 10; i++) await infer(i);
  await new Promise((r) => setTimeout(r, 1000));
  const a = busy(); const s = performance.now();
  const R = 60;
  for (let i = 0; i < R; i++) await infer(100 + i);
  const wall = performance.now() - s; const b = busy();
  const cpuMs = ((b.tot - a.tot) - (b.idle - a.idle)) * 10; // jiffies of 10 ms
  console.log(`n=${n}: wall/round ${(wall / R).toFixed(1)} ms, CPU/round ${(cpuMs / R).toFixed(1)} ms (2 cores => util ${(cpuMs / wall / 2 * 100).toFixed(0)}%)`);
  for (const nd of c.nodes) { const { readFileSync: r } = await import("node:fs"); const txt = r(nd.logFile, "utf8"); console.log("LOG", nd.index, txt.length, txt.split("\n").slice(-3).join(" | ").slice(0, 600)); }
  await c.stop();
}
await m.close();
