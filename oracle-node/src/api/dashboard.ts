// The dashboard: server-rendered HTML (first paint has real data) plus a small inline script that polls
// /v1/dashboard. Element ids are stable for browser tests: #epoch, #status, #members, #rounds.
import type { RoundRecord } from '../round/engine.ts';
import type { CommitteeView, NodeStatus } from './views.ts';

export interface DashboardData {
  status: NodeStatus;
  committee: CommitteeView;
  rounds: RoundRecord[];
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const short = (h: string | null): string => (h ? `${h.slice(0, 10)}…${h.slice(-6)}` : '—');

export function memberRows(c: CommitteeView): string {
  return c.members
    .map(
      (m) =>
        `<tr data-member="${m.index}"><td>${m.index}${m.self ? ' (self)' : ''}</td><td class="mono">${esc(short(m.operatorKey))}</td>` +
        `<td>${m.connected || m.self ? 'online' : 'offline'}</td><td>${m.qualified === null ? '—' : m.qualified ? 'yes' : 'no'}</td>` +
        `<td class="ok">${m.partials.combined}</td><td class="bad">${m.partials.invalid}</td><td class="bad">${m.partials.conflicting}</td></tr>`,
    )
    .join('');
}

export function roundRows(rounds: RoundRecord[]): string {
  return rounds
    .map(
      (r) =>
        `<tr data-request="${esc(r.requestId)}"><td class="mono">${esc(short(r.requestId))}</td><td>${r.round}</td><td>${esc(r.model)}</td>` +
        `<td>${esc(r.status)}</td><td>${r.latencyMs === null ? '—' : `${r.latencyMs} ms`}</td><td>${esc(r.signers.join(', '))}</td>` +
        `<td>${esc([...r.invalid, ...r.conflicting].join(', '))}</td></tr>`,
    )
    .join('');
}

export function renderDashboard(d: DashboardData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>destra node ${d.status.index} — ${esc(d.status.network)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.3rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem;background:#fff}
td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}.mono{font-family:ui-monospace,monospace}
.ok{color:#0a7a2f}.bad{color:#b00020}.kv span{margin-right:1.5rem}
</style></head><body>
<h1>destra oracle node <span id="node-index">${d.status.index}</span> · <span id="network">${esc(d.status.network)}</span></h1>
<p class="kv"><span>status: <b id="status">${esc(d.status.status)}</b></span><span>epoch: <b id="epoch">${d.committee.epoch}</b></span>
<span>threshold: <b id="threshold">${d.committee.threshold}</b> of <b id="size">${d.committee.size}</b></span>
<span>DKG: <b id="dkg">${esc(d.status.dkg.phase)}</b></span></p>
<p class="kv"><span>group key: <b id="group-key" class="mono">${esc(short(d.committee.groupKey))}</b></span></p>
<h2>Committee</h2>
<table><thead><tr><th>#</th><th>operator key</th><th>link</th><th>qualified</th><th>partials combined</th><th>invalid</th><th>conflicting</th></tr></thead>
<tbody id="members">${memberRows(d.committee)}</tbody></table>
<h2>Recent rounds</h2>
<table><thead><tr><th>request</th><th>round</th><th>model</th><th>status</th><th>latency</th><th>signers</th><th>bad partials</th></tr></thead>
<tbody id="rounds">${roundRows(d.rounds)}</tbody></table>
<script>
(function () {
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]);
  const short = (h) => (h ? h.slice(0, 10) + '…' + h.slice(-6) : '—');
  const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = String(v); };
  async function poll() {
    try {
      const d = await (await fetch('/v1/dashboard')).json();
      set('status', d.status.status); set('epoch', d.committee.epoch); set('threshold', d.committee.threshold);
      set('size', d.committee.size); set('dkg', d.status.dkg.phase); set('group-key', short(d.committee.groupKey));
      document.getElementById('members').innerHTML = d.committee.members.map((m) =>
        '<tr data-member="' + m.index + '"><td>' + m.index + (m.self ? ' (self)' : '') + '</td><td class="mono">' + esc(short(m.operatorKey)) + '</td><td>' +
        (m.connected || m.self ? 'online' : 'offline') + '</td><td>' + (m.qualified === null ? '—' : m.qualified ? 'yes' : 'no') + '</td><td class="ok">' +
        m.partials.combined + '</td><td class="bad">' + m.partials.invalid + '</td><td class="bad">' + m.partials.conflicting + '</td></tr>').join('');
      document.getElementById('rounds').innerHTML = d.rounds.map((r) =>
        '<tr data-request="' + esc(r.requestId) + '"><td class="mono">' + esc(short(r.requestId)) + '</td><td>' + r.round + '</td><td>' + esc(r.model) +
        '</td><td>' + esc(r.status) + '</td><td>' + (r.latencyMs === null ? '—' : r.latencyMs + ' ms') + '</td><td>' + esc(r.signers.join(', ')) +
        '</td><td>' + esc(r.invalid.concat(r.conflicting).join(', ')) + '</td></tr>').join('');
      document.body.dataset.updated = String(Date.now());
    } catch (e) { set('status', 'unreachable'); }
  }
  setInterval(poll, 2000);
  poll();
})();
</script></body></html>`;
}
