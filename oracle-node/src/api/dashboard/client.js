// The dashboard in the browser: renders /v1/dashboard (status, committee with stake and rewards, rounds,
// models) and /v1/history (uPlot charts), polling both every 2 s. Every value from the network (model
// names, failure reasons, sources) goes into the page through textContent only — never innerHTML — so a
// hostile requester or peer cannot inject markup or script. The page's CSP also forbids inline script.
/* global uPlot */
(function () {
  'use strict';
  var POLL_MS = 2000;
  var charts = {};

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return e;
  }
  function td(text, cls) {
    return el('td', cls ? { class: cls } : null, [text === null || text === undefined ? '—' : String(text)]);
  }
  function short(h) {
    return h ? h.slice(0, 10) + '…' + h.slice(-6) : '—';
  }
  function set(id, v) {
    var e = document.getElementById(id);
    if (e) e.textContent = String(v);
  }
  /** wei (decimal string) → token units with 2 decimals, without losing precision to floats. */
  function units(wei) {
    if (wei === undefined || wei === null) return '—';
    var s = String(wei).replace(/^0+(?=\d)/, '');
    if (!/^\d+$/.test(s)) return '—';
    s = s.padStart(19, '0');
    var whole = s.slice(0, -18).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return whole + '.' + s.slice(-18, -16);
  }

  function renderStatus(d) {
    var s = d.status;
    set('node-index', s.index);
    set('network', s.network);
    set('status', s.status);
    document.getElementById('status').className = 'badge ' + s.status;
    set('reasons', (s.reasons || []).join('; '));
    set('epoch', d.committee.epoch);
    set('threshold', d.committee.threshold);
    set('size', d.committee.size);
    set('dkg', s.dkg.phase);
    set('group-key', short(d.committee.groupKey));
    set('quorum', s.quorum ? s.quorum.reachable + ' of ' + s.quorum.size + ' reachable' : '—');
    set('uptime', s.uptimeSeconds + ' s');
    document.title = 'destra node ' + s.index + ' — ' + s.network + ' — ' + s.status;
  }

  function renderMembers(d) {
    var stakeOf = {};
    (d.stake.operators || []).forEach(function (o) {
      stakeOf[o.index] = o;
    });
    var rows = d.committee.members.map(function (m) {
      var online = m.connected || m.self;
      var st = stakeOf[m.index];
      return el('tr', { 'data-member': m.index, class: online ? '' : 'offline' }, [
        td(m.index + (m.self ? ' (self)' : '')),
        td(short(m.operatorKey), 'mono'),
        td(st ? short(st.address) : null, 'mono'),
        td(online ? 'online' : 'offline', online ? 'ok' : 'bad'),
        td(m.qualified === null ? null : m.qualified ? 'yes' : 'no'),
        td(st ? units(st.stake) : null, 'num'),
        td(st ? units(st.rewards) : null, 'num'),
        td(m.partials.combined, 'ok num'),
        td(m.partials.invalid, 'bad num'),
        td(m.partials.conflicting, 'bad num'),
      ]);
    });
    document.getElementById('members').replaceChildren.apply(document.getElementById('members'), rows);
    set('stake-source', d.stake.source === 'none' ? d.stake.reason : d.stake.error ? 'chain read failed: ' + d.stake.error : d.stake.updatedAt ? 'read from chain ' + new Date(d.stake.updatedAt).toLocaleTimeString() : 'reading chain…');
  }

  var RELAY_TEXT = { pending: 'relaying', verified: 'verified by view call', 'already-fulfilled': 'landed by another relayer', failed: 'failed', confirmed: 'landed' };
  // Where a round was relayed, per chain: the transaction (linked when the node config names an explorer
  // pattern), or what happened instead and why.
  function relayCell(r) {
    var cell = el('td', { class: 'relays' });
    if (!r.relays || r.relays.length === 0) {
      cell.textContent = '—';
      return cell;
    }
    r.relays.forEach(function (x, i) {
      if (i) cell.appendChild(document.createTextNode(' · '));
      var cls = x.status === 'failed' ? 'relay bad' : x.status === 'pending' ? 'relay' : 'relay ok';
      var span = el('span', { class: cls, 'data-chain': x.chain, 'data-status': x.status, 'data-tx': x.tx, title: x.tx || x.error || x.status }, [x.chain + ' ']);
      if (x.tx) {
        var t = short(x.tx) + (x.moreTxs ? ' +' + x.moreTxs : '');
        var safeUrl = x.txUrl && /^https?:\/\//.test(x.txUrl) ? x.txUrl : null;
        span.appendChild(safeUrl ? el('a', { href: safeUrl, target: '_blank', rel: 'noopener noreferrer', class: 'mono' }, [t]) : el('span', { class: 'mono' }, [t]));
      } else span.appendChild(document.createTextNode(RELAY_TEXT[x.status] || x.status));
      if (x.status === 'pending') span.appendChild(document.createTextNode(' (attempt ' + (x.attempts + 1) + ')'));
      if (x.error && (x.status === 'failed' || x.status === 'pending')) span.appendChild(document.createTextNode(': ' + x.error));
      cell.appendChild(span);
    });
    return cell;
  }

  function renderRelaySource(d) {
    var s = d.relays;
    if (!s) return;
    set(
      'relay-source',
      s.source === 'none'
        ? 'no aggregator status URL configured (config dashboard.relayStatus)'
        : s.errors.length
          ? s.errors.join('; ')
          : s.updatedAt
            ? 'read from the aggregators ' + new Date(s.updatedAt).toLocaleTimeString()
            : 'reading the aggregators…',
    );
  }

  function renderRounds(d) {
    var rows = d.rounds.map(function (r) {
      return el('tr', { 'data-request': r.requestId, 'data-kind': r.kind, class: r.status }, [
        td(short(r.requestId), 'mono'),
        td(r.round),
        td(r.kind),
        td(r.source),
        td(r.destination, 'mono'),
        td(r.model),
        td(r.status),
        td(r.latencyMs === null ? null : r.latencyMs + ' ms', 'num'),
        td(r.signers.join(', ')),
        td(r.invalid.concat(r.conflicting).join(', '), 'bad'),
        relayCell(r),
        td(r.failure, 'bad failure'),
      ]);
    });
    var body = document.getElementById('rounds');
    body.replaceChildren.apply(body, rows);
  }

  function renderModels(d) {
    var ul = document.getElementById('models');
    if (!d.models) {
      ul.replaceChildren(el('li', null, ['this node reports no model list (inference injected by its host process)']));
      return;
    }
    set('family', d.models.family);
    var items = d.models.served
      .map(function (m) {
        return el('li', { 'data-model': m.model, class: 'served' }, [el('b', null, [m.model]), ' — served (' + m.exactness + ', ' + m.family + ')']);
      })
      .concat(
        d.models.refused.map(function (m) {
          return el('li', { 'data-model': m.model, class: 'refused bad' }, [el('b', null, [m.model]), ' — refused: ', m.reason]);
        }),
      );
    ul.replaceChildren.apply(ul, items);
  }

  // Charts: x = unix seconds; one series per round kind for throughput.
  function chart(id, title, series, data) {
    var host = document.getElementById(id);
    var width = Math.max(300, host.clientWidth || 480);
    if (!charts[id] || charts[id].series.length !== series.length + 1) {
      if (charts[id]) charts[id].destroy();
      charts[id] = new uPlot(
        {
          title: title,
          width: width,
          height: 180,
          series: [{}].concat(series),
          axes: [{}, { size: 50 }],
          legend: { show: true },
          cursor: { show: true },
        },
        data,
        host,
      );
    } else charts[id].setData(data);
    host.dataset.points = String(data[0].length);
  }

  var COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e'];
  function renderHistory(h) {
    var s = h.samples;
    var xs = s.map(function (x) {
      return Math.floor(x.t / 1000);
    });
    var kinds = [];
    s.forEach(function (x) {
      Object.keys(x.rounds).forEach(function (k) {
        if (kinds.indexOf(k) < 0) kinds.push(k);
      });
    });
    kinds.sort();
    if (kinds.length === 0) kinds = ['rounds'];
    var perSec = h.intervalMs / 1000;
    chart(
      'chart-throughput',
      'Rounds combined per second, by kind',
      kinds.map(function (k, i) {
        return { label: k, stroke: COLORS[i % COLORS.length], width: 2 };
      }),
      [xs].concat(
        kinds.map(function (k) {
          return s.map(function (x) {
            return (x.rounds[k] || 0) / perSec;
          });
        }),
      ),
    );
    chart(
      'chart-latency',
      'Round latency (ms)',
      [
        { label: 'p50', stroke: '#1f77b4', width: 2 },
        { label: 'p99', stroke: '#d62728', width: 2 },
      ],
      [xs, s.map(function (x) { return x.p50; }), s.map(function (x) { return x.p99; })],
    );
    chart('chart-verified', 'Verified results per second', [{ label: 'verified', stroke: '#2ca02c', fill: 'rgba(44,160,44,0.15)', width: 2 }], [
      xs,
      s.map(function (x) {
        return x.verified / perSec;
      }),
    ]);
  }

  function render(d) {
    renderStatus(d);
    renderMembers(d);
    renderRounds(d);
    renderRelaySource(d);
    renderModels(d);
  }

  async function poll() {
    try {
      var r = await Promise.all([fetch('/v1/dashboard'), fetch('/v1/history')]);
      render(await r[0].json());
      renderHistory(await r[1].json());
      document.body.dataset.updated = String(Date.now());
    } catch (e) {
      set('status', 'unreachable');
      document.getElementById('status').className = 'badge down';
    }
  }

  var initial = JSON.parse(document.getElementById('initial').textContent);
  render(initial.dashboard);
  renderHistory(initial.history);
  setInterval(poll, POLL_MS);
})();
