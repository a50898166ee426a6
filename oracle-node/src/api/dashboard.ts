// The dashboard: a static HTML page whose script (dashboard/client.js) renders /v1/dashboard and
// /v1/history and polls both every 2 s; charts are uPlot, served by the node itself (no CDN). The first
// paint's data is embedded as JSON (never as markup), so the page shows real data before its first poll
// and there is one renderer. Element ids are stable for browser tests: #status, #epoch, #threshold,
// #size, #quorum, #members (rows data-member), #rounds (rows data-request, data-kind; each relay a
// span.relay with data-chain, data-status, data-tx), #relay-source, #models (items data-model),
// #chart-throughput, #chart-latency, #chart-verified.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ModelsHealth } from '../inference/selfcheck.ts';
import type { HistoryView } from '../metrics-history.ts';
import type { DashboardRound } from './dashboard/rounds.ts';
import type { RelaySourceView, RoundRelay } from './dashboard/relays.ts';
import type { StakeView } from './dashboard/stake.ts';
import type { CommitteeView, NodeStatus } from './views.ts';

export interface DashboardData {
  /** /health's status (quorum rule applied). */
  status: NodeStatus;
  committee: CommitteeView;
  /** Rounds with where each was relayed (joined from the aggregators' relay logs). */
  rounds: (DashboardRound & { relays: RoundRelay[] })[];
  /** Where the relay column comes from, and which aggregators did not answer. */
  relays: RelaySourceView;
  /** Served and refused models; null when the node's host process injected its inference. */
  models: ModelsHealth | null;
  stake: StakeView;
}

const require = createRequire(import.meta.url);
const here = (f: string): URL => new URL(`./dashboard/${f}`, import.meta.url);

interface Asset {
  type: string;
  load(): string;
}

/** Files served under /assets/: the page's script and style, and uPlot from node_modules. */
const ASSET_FILES: Record<string, Asset> = {
  'dashboard.js': { type: 'text/javascript; charset=utf-8', load: () => readFileSync(here('client.js'), 'utf8') },
  'dashboard.css': { type: 'text/css; charset=utf-8', load: () => readFileSync(here('style.css'), 'utf8') },
  'uplot.js': { type: 'text/javascript; charset=utf-8', load: () => readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8') },
  'uplot.css': { type: 'text/css; charset=utf-8', load: () => readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8') },
};
const loaded = new Map<string, string>();

/** An asset by name (read once, then kept), or undefined for a name not served. */
export function dashboardAsset(name: string): { type: string; body: string } | undefined {
  const a = Object.hasOwn(ASSET_FILES, name) ? ASSET_FILES[name] : undefined;
  if (!a) return undefined;
  let body = loaded.get(name);
  if (body === undefined) loaded.set(name, (body = a.load()));
  return { type: a.type, body };
}

/** Scripts only from the node itself: an injected inline script would not run even if markup got in. */
export const DASHBOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** JSON safe inside <script type="application/json">: no '<' (so no '</script>'), no U+2028/2029. */
export function embedJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderDashboard(dashboard: DashboardData, history: HistoryView): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>destra node</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/uplot.css"><link rel="stylesheet" href="/assets/dashboard.css">
</head><body>
<h1>destra oracle node <span id="node-index"></span> · <span id="network"></span> <span id="status" class="badge"></span></h1>
<p id="reasons"></p>
<p class="kv"><span>epoch: <b id="epoch"></b></span><span>threshold: <b id="threshold"></b> of <b id="size"></b></span>
<span>members: <b id="quorum"></b></span><span>DKG: <b id="dkg"></b></span><span>uptime: <b id="uptime"></b></span>
<span>group key: <b id="group-key" class="mono"></b></span></p>
<h2>Network</h2>
<table><thead><tr><th>#</th><th>operator key</th><th>address</th><th>link</th><th>qualified</th><th>stake</th><th>rewards</th><th>partials combined</th><th>invalid</th><th>conflicting</th></tr></thead>
<tbody id="members"></tbody></table>
<p class="kv"><span>stake and rewards: <span id="stake-source"></span></span></p>
<h2>Over time</h2>
<div class="charts"><div class="chart" id="chart-throughput"></div><div class="chart" id="chart-latency"></div><div class="chart" id="chart-verified"></div></div>
<h2>Recent rounds</h2>
<table><thead><tr><th>request</th><th>round</th><th>kind</th><th>source</th><th>destination</th><th>model</th><th>status</th><th>latency</th><th>signers</th><th>bad partials</th><th>relayed</th><th>failure</th></tr></thead>
<tbody id="rounds"></tbody></table>
<p class="kv"><span>relay transactions: <span id="relay-source"></span></span></p>
<h2>Models</h2>
<p class="kv"><span>hardware family: <b id="family">—</b></span></p>
<ul id="models"></ul>
<script type="application/json" id="initial">${embedJson({ dashboard, history })}</script>
<script src="/assets/uplot.js"></script>
<script src="/assets/dashboard.js"></script>
</body></html>`;
}
