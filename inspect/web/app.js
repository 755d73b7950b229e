// The p2pcore inspector page: plain JavaScript, no libraries. Everything
// comes from the JSON API of the server that serves this file.
'use strict';

const ROW_H = 20;
const PAGE = 200;
const token = new URLSearchParams(location.search).get('token');
const $ = (id) => document.getElementById(id);

const ui = {
  log: 0, logs: [], total: 0, pages: new Map(), filter: {},
  selected: 0, pin: '', kinds: [],
};

function api(path, params = {}) {
  const q = new URLSearchParams();
  q.set('log', ui.log);
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined) q.set(k, v);
  if (token) q.set('token', token);
  return fetch(path + '?' + q).then(async (r) => {
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  });
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fmtTime(ns) {
  const l = ui.logs[ui.log];
  const s = (ns - l.start) / 1e9;
  return '+' + s.toFixed(6) + 's';
}

function fmtNs(ns) {
  if (ns < 1e3) return ns.toFixed(0) + ' ns';
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + ' µs';
  return (ns / 1e6).toFixed(2) + ' ms';
}

// ---- logs ----

async function loadLogs(info) {
  ui.logs = info || await api('/api/logs');
  const sel = $('log-select');
  sel.replaceChildren(...ui.logs.map((l, i) => el('option', { value: i }, `${l.name} (${l.self}, ${l.actions} actions)`)));
  sel.value = ui.log;
  $('reload').hidden = !ui.logs.some((l) => l.live);
  await selectLog(ui.log, true);
}

async function selectLog(i, first) {
  ui.log = Number(i);
  const l = ui.logs[ui.log];
  $('log-info').textContent = `${l.network} · ${l.build} · ${l.snapshots} snapshots`;
  const banner = $('banner');
  banner.className = '';
  if (l.problem) {
    banner.hidden = false;
    const d = l.divergence;
    const unfinished = !d && /without its end record|torn tail/.test(l.problem);
    let text = (l.verified ? '' : 'This log did not verify: ') + l.problem;
    if (unfinished && l.live) text = `The node is still writing this log: shown up to its last complete record (${l.actions} actions); Reload reads what it wrote since.`;
    if (d && !d.StateOnly) text += `\nOpened at the diverging action #${d.ID}.`;
    if (d && d.StateOnly) text += `\nOpened at #${d.At}, the first checkpoint whose state differs.`;
    if (unfinished) banner.className = 'note';
    banner.textContent = text;
  } else {
    banner.hidden = true;
  }
  const stats = await api('/api/stats');
  ui.kinds = stats.kinds.map((k) => k.kind);
  $('kinds').replaceChildren(...ui.kinds.map((k) => el('option', { value: k })));
  await resetList();
  const d = l.divergence;
  if (first && d) jump(d.StateOnly ? d.At : d.ID);
  else if (ui.selected) select(Math.min(ui.selected, l.actions));
}

// ---- the virtualised timeline ----

function readFilter() {
  ui.filter = {
    kind: $('kind-filter').value.trim(), peer: $('peer-filter').value.trim(),
    type: $('type-filter').value, q: $('text-filter').value,
  };
}

async function resetList() {
  ui.pages.clear();
  ui.gen = (ui.gen || 0) + 1;
  $('list').replaceChildren($('spacer')); // no stale rows while the new ones load
  $('count').textContent = 'loading…';
  const first = await fetchPage(0);
  ui.total = first.total;
  $('count').textContent = `${ui.total.toLocaleString()} actions` + (ui.filter.kind || ui.filter.peer || ui.filter.type || ui.filter.q ? ' match the filter' : '');
  $('spacer').style.height = (ui.total * ROW_H) + 'px';
  $('list').scrollTop = 0;
  render();
}

function fetchPage(p) {
  if (!ui.pages.has(p)) {
    const prom = api('/api/actions', { ...ui.filter, from: p * PAGE, n: PAGE }).then((page) => {
      ui.pages.set(p, page);
      return page;
    });
    ui.pages.set(p, prom);
    if (ui.pages.size > 64) ui.pages.delete(ui.pages.keys().next().value);
  }
  return Promise.resolve(ui.pages.get(p));
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(async () => {
    renderQueued = false;
    const gen = ui.gen;
    const list = $('list');
    const first = Math.floor(list.scrollTop / ROW_H);
    const count = Math.ceil(list.clientHeight / ROW_H) + 2;
    const last = Math.min(ui.total, first + count);
    const pages = new Set();
    for (let i = first; i < last; i++) pages.add(Math.floor(i / PAGE));
    const loaded = await Promise.all([...pages].map(fetchPage));
    if (gen !== ui.gen) return; // the filter changed meanwhile
    const rows = [];
    for (const page of loaded) {
      for (let j = 0; j < page.rows.length; j++) {
        const idx = page.from + j;
        if (idx >= first && idx < last) rows.push([idx, page.rows[j]]);
      }
    }
    const nodes = rows.map(([idx, r]) => rowNode(idx, r));
    list.replaceChildren($('spacer'), ...nodes);
  });
}

function rowNode(idx, r) {
  const cls = ['row', r.input ? 'input' : 'derived'];
  if (r.dropped) cls.push('dropped');
  if (r.id === ui.selected) cls.push('selected');
  const indent = '  '.repeat(Math.min(r.depth || 0, 8)) + (r.input ? '' : '↳ ');
  const txt = r.text.slice(r.kind.length);
  // The badges come before the text, which the row may cut.
  const n = el('div', { class: cls.join(' '), style: `top:${idx * ROW_H}px`, 'data-id': r.id, title: r.text },
    el('span', { class: 'id' }, '#' + r.id), el('span', { class: 'tm' }, fmtTime(r.t)),
    indent, el('span', { class: 'kind' }, r.kind));
  if (!r.input) n.append(el('span', { class: 'par', title: 'queued by' }, ' ←#' + r.parent));
  if (r.commands) n.append(el('span', { class: 'cmds', title: 'commands its effects produced' }, '⇒' + r.commands));
  n.append(el('span', { class: 'txt' }, txt));
  n.addEventListener('click', () => select(r.id));
  return n;
}

// ---- selection, jump and step ----

async function jump(id) {
  id = Number(String(id).replace('#', ''));
  if (!id) return;
  const found = await api('/api/find', { ...ui.filter, id });
  const list = $('list');
  list.scrollTop = Math.max(0, found.row * ROW_H - list.clientHeight / 3);
  render();
  await select(id);
}

async function select(id) {
  ui.selected = id;
  for (const n of document.querySelectorAll('.row.selected')) n.classList.remove('selected');
  const row = document.querySelector(`.row[data-id="${id}"]`);
  if (row) row.classList.add('selected');
  const started = performance.now();
  let d;
  try {
    d = await api('/api/action/' + id);
  } catch (e) {
    $('detail').replaceChildren(el('p', { class: 'error' }, e.message));
    return;
  }
  if (ui.selected !== id) return;
  $('timing').textContent = `#${id}: replayed ${d.replayed} actions in ${d.ms} ms (page ${(performance.now() - started).toFixed(0)} ms)`;
  const link = (r) => el('a', { onclick: () => jump(r.id) }, `#${r.id} ${r.kind}`);
  const parts = [
    el('h2', { id: 'detail-title' }, `#${d.id} ${d.kind}`),
    el('div', { class: 'meta' }, `${d.input ? 'input' : 'derived'} · ${fmtTime(d.t)} · ${new Date(d.t / 1e6).toISOString()}` + (d.dropped ? ' · NOT ENABLED (no-op)' : '') + (d.peer ? ` · peer ${d.peer}` : '')),
    el('pre', { id: 'full' }, d.full),
  ];
  if (d.parent_row) parts.push(el('div', {}, 'Parent: ', link(d.parent_row)));
  const kids = el('div', { id: 'children' }, `Children (${d.children.length}): `);
  d.children.forEach((c, i) => { if (i) kids.append(', '); kids.append(link(c)); });
  parts.push(kids);
  if (d.kind === 'BroadcastMessage' || d.kind === 'GossipReceived') {
    const out = el('div', { id: 'follow-out' });
    parts.push(el('button', { id: 'follow', onclick: () => follow(id, out) }, 'Follow this broadcast through every log'), out);
  }
  parts.push(el('h3', {}, `Commands (${d.cmds.length})`), el('pre', { id: 'cmds' }, d.cmds.join('\n') || '(none)'));
  if (d.group.length > 1 || (d.group[0] && d.group[0].cmds)) {
    parts.push(el('h3', {}, `What input #${d.group[0].id} caused`), groupTree(d.group, id));
  }
  parts.push(el('h3', {}, 'State diff'), diffNode(d.diff));
  $('detail').replaceChildren(...parts);
  loadState(id);
}

// groupTree draws an input and the actions it caused as a tree, each
// action with the commands its effects produced.
function groupTree(group, selected) {
  const kids = new Map();
  for (const g of group) {
    if (!kids.has(g.parent)) kids.set(g.parent, []);
    kids.get(g.parent).push(g);
  }
  const node = (g) => {
    const li = el('li', { class: g.id === selected ? 'sel' : '' },
      el('a', { onclick: () => jump(g.id) }, `#${g.id}`), ' ', el('span', { class: g.dropped ? 'dropped' : '' }, g.text));
    const sub = el('ul');
    for (const c of g.cmds || []) sub.append(el('li', { class: 'cmd' }, '→ ' + c));
    for (const k of kids.get(g.id) || []) sub.append(node(k));
    if (sub.childNodes.length) li.append(sub);
    return li;
  };
  return el('ul', { id: 'group', class: 'group' }, node(group[0]));
}

function diffNode(text) {
  const pre = el('pre', { id: 'diff' });
  if (!text) { pre.textContent = '(the action changed nothing)'; return pre; }
  for (const line of text.split('\n')) {
    const t = line.trimStart();
    const cls = t.startsWith('+') ? 'add' : t.startsWith('-') ? 'del' : '';
    pre.append(cls ? el('span', { class: cls }, line) : line + '\n');
  }
  return pre;
}

async function follow(id, out) {
  out.textContent = 'reading every log…';
  try {
    const b = await api('/api/follow/' + id);
    const rows = b.receivers.map((r) => el('tr', {},
      el('td', {}, r.name), el('td', {}, el('a', { onclick: () => { $('log-select').value = r.log; selectLog(r.log).then(() => jump(r.id)); } }, '#' + r.id)),
      el('td', {}, r.from), el('td', {}, b.sender ? fmtNs(r.delay) : '?'), el('td', {}, r.copies)));
    out.replaceChildren(
      el('p', {}, `${b.channel} broadcast ${b.sum}… (${b.size} bytes) by ${b.author}` + (b.sender ? `, published in ${b.sender.name} as #${b.sender.id}` : ', its author\'s log is not loaded')),
      el('table', {}, el('tr', {}, el('th', {}, 'log'), el('th', {}, 'received as'), el('th', {}, 'from'), el('th', {}, 'after'), el('th', {}, 'copies')), ...rows),
      el('p', {}, b.missing && b.missing.length ? 'Never received in: ' + b.missing.join(', ') : 'Received in every other log.'));
  } catch (e) {
    out.textContent = e.message;
  }
}

// ---- the state tree ----

async function loadState(id) {
  try {
    const st = await api('/api/state/' + id);
    if (ui.selected !== id) return;
    $('state-tree').replaceChildren(treeNode(st, '', true));
    if (ui.pin) {
      const sub = await api('/api/state/' + id, { path: ui.pin }).catch((e) => e.message);
      $('pin-tree').replaceChildren(typeof sub === 'string' ? sub : treeNode(sub, ui.pin, true));
    }
  } catch (e) {
    $('state-tree').textContent = e.message;
  }
}

function treeNode(v, path, open) {
  if (v === null || typeof v !== 'object') {
    const cls = typeof v === 'string' ? 'str' : typeof v === 'number' ? 'num' : 'lit';
    return el('span', { class: cls }, JSON.stringify(v));
  }
  const keys = Object.keys(v);
  const ul = el('ul');
  const fill = () => {
    for (const k of keys) {
      const child = v[k];
      const p = path ? path + '/' + k : k;
      const li = el('li');
      const composite = child !== null && typeof child === 'object' && Object.keys(child).length > 0;
      const key = el('span', { class: 'key', title: 'pin ' + p, onclick: () => pin(p) }, k);
      if (composite) {
        const sub = treeNode(child, p, false);
        const tog = el('span', { class: 'tog' }, '▸');
        tog.addEventListener('click', () => { sub.expand(); tog.textContent = sub.hidden ? '▸' : '▾'; });
        li.append(tog, key, ': ', Array.isArray(child) ? `[${child.length}]` : `{${Object.keys(child).length}}`, sub);
      } else {
        li.append(el('span', { class: 'tog' }, ''), key, ': ', treeNode(child, p, false));
      }
      ul.append(li);
    }
  };
  let filled = false;
  ul.expand = () => {
    if (!filled) { fill(); filled = true; ul.hidden = true; }
    ul.hidden = !ul.hidden;
  };
  ul.hidden = true;
  if (open) ul.expand();
  return ul;
}

function pin(path) {
  ui.pin = path;
  $('pinned').hidden = false;
  $('pin-path').textContent = path;
  if (ui.selected) loadState(ui.selected);
}

// ---- charts ----

const COLORS = ['#4a7bd0', '#d0644a', '#3a9a4a', '#9a4ab0', '#c0a020', '#20a0b0', '#666', '#b04a7b'];

function chart(title, lines, unit) {
  const W = 440, H = 160, L = 44, B = 18;
  const pts = lines.flatMap((l) => l.points);
  const box = el('div', { class: 'chart' }, el('h4', {}, title));
  if (!pts.length) { box.append('no data'); return box; }
  const x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0])) || 1;
  const y1 = Math.max(...pts.map((p) => p[1])) || 1;
  const sx = (x) => L + (W - L - 4) * (x - x0) / Math.max(x1 - x0, 1e-9);
  const sy = (y) => H - B - (H - B - 6) * y / y1;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', '100%');
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  add('line', { x1: L, y1: H - B, x2: W, y2: H - B, stroke: '#999' });
  add('line', { x1: L, y1: 4, x2: L, y2: H - B, stroke: '#999' });
  add('text', { x: 2, y: 12, 'font-size': 10 }, (+y1.toPrecision(3)) + (unit || ''));
  add('text', { x: 2, y: H - B, 'font-size': 10 }, '0');
  add('text', { x: L, y: H - 4, 'font-size': 10 }, (x0).toFixed(0) + 's');
  add('text', { x: W - 40, y: H - 4, 'font-size': 10 }, (x1).toFixed(0) + 's');
  const legend = el('div', { class: 'legend' });
  lines.forEach((l, i) => {
    const c = COLORS[i % COLORS.length];
    add('polyline', { fill: 'none', stroke: c, 'stroke-width': 1.5, points: l.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ') });
    legend.append(el('span', { style: `color:${c}` }, '■ ' + l.name));
  });
  box.append(svg, legend);
  return box;
}

function keysOf(samples, field) {
  const ks = new Set();
  for (const s of samples) for (const k of Object.keys(s[field] || {})) ks.add(k);
  return [...ks].sort();
}

async function showCharts() {
  const s = await api('/api/series');
  const sm = s.samples;
  const t0 = sm.length ? sm[0].t : 0;
  const x = (p) => (p.t - t0) / 1e9;
  const line = (name, f) => ({ name, points: sm.map((p) => [x(p), f(p)]) });
  // A rate over less than half an interval (the last sample, taken at the
  // end of the log) is mostly noise: left out.
  const rate = (name, f) => ({ name, points: sm.slice(1).map((p, i) => [p, sm[i]]).filter(([p, q]) => p.t - q.t >= s.interval / 2)
    .map(([p, q]) => [x(p), (f(p) - f(q)) / ((p.t - q.t) / 1e9)]) });
  const charts = [
    chart('Ready peers and connecting peers', [line('ready in', (p) => p.ready_in), line('ready out', (p) => p.ready_out), line('connecting', (p) => p.connecting), line('handshaking', (p) => p.handshaking)]),
    chart('Messages received per second, per channel', s.channels.map((c, i) => rate(c, (p) => p.received[i] || 0)).filter((l) => l.points.some((q) => q[1] > 0)), '/s'),
    chart('Messages sent and published per second, per channel', s.channels.map((c, i) => rate(c, (p) => (p.sent[i] || 0) + (p.published[i] || 0))).filter((l) => l.points.some((q) => q[1] > 0)), '/s'),
    chart('Ping round-trip time (ready peers)', [line('mean', (p) => p.rtt_mean / 1e6), line('max', (p) => p.rtt_max / 1e6)], ' ms'),
    chart('Disconnects by reason (ours; theirs marked ←)', [...keysOf(sm, 'disconnects').map((k) => line(k, (p) => p.disconnects[k] || 0)), ...keysOf(sm, 'remote_disconnects').map((k) => line('← ' + k, (p) => p.remote_disconnects[k] || 0))]),
    chart('Misbehaviour by offence, and bans', [...keysOf(sm, 'offences').map((k) => line(k, (p) => p.offences[k] || 0)), line('bans', (p) => p.bans)]),
  ];
  $('charts').replaceChildren(...charts);
}

// ---- statistics ----

async function showStats() {
  const s = await api('/api/stats');
  const timings = new Map();
  if (s.timings) for (const t of s.timings.kinds) timings.set(t.kind, t);
  const head = ['kind', 'type', 'count', 'not enabled', 'commands'];
  const bounds = s.timings ? s.timings.buckets : [];
  if (s.timings) head.push('timed', 'reducer mean', 'reducer max', 'effects mean', 'effects max', ...bounds);
  const rows = s.kinds.map((k) => {
    const cells = [k.kind, k.input ? 'input' : 'derived', k.count, k.dropped, k.commands];
    const t = timings.get(k.kind);
    if (s.timings) {
      if (t) {
        const most = Math.max(1, ...t.histogram);
        cells.push(t.count, fmtNs(t.reduce_mean_ns), fmtNs(t.reduce_max_ns), fmtNs(t.effects_mean_ns), fmtNs(t.effects_max_ns),
          ...t.histogram.map((n) => el('span', { title: n }, el('span', { class: 'bar', style: `width:${Math.round(40 * n / most)}px` }), ' ' + n)));
      } else cells.push(...Array(5 + bounds.length).fill(''));
    }
    return el('tr', {}, ...cells.map((c) => el('td', {}, c)));
  });
  const note = s.timings ? 'Times are measured on the running node around each action’s reducer and effects; the histogram counts actions by reducer + effects time.' :
    'Counts from the log. A running node (p2pnode run --http) also shows how long each kind’s reducer and effects took.';
  $('stats').replaceChildren(el('p', { class: 'hint' }, note), el('table', { id: 'stats-table' }, el('tr', {}, ...head.map((h) => el('th', {}, h))), ...rows));
}

// ---- wiring ----

function showTab(name) {
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.tab === name);
  for (const p of ['actions', 'charts', 'stats']) $('pane-' + p).hidden = p !== name;
  if (name === 'charts') showCharts().catch((e) => { $('charts').textContent = e.message; });
  if (name === 'stats') showStats().catch((e) => { $('stats').textContent = e.message; });
  if (name === 'actions') render();
}

$('list').addEventListener('scroll', render);
window.addEventListener('resize', render);
$('filters').addEventListener('submit', (e) => { e.preventDefault(); readFilter(); resetList().catch(showError); });
$('log-select').addEventListener('change', (e) => { ui.selected = 0; selectLog(e.target.value, true).catch(showError); });
$('jump-btn').addEventListener('click', () => jump($('jump-input').value).catch(showError));
$('jump-input').addEventListener('keydown', (e) => { if (e.key === 'Enter') jump(e.target.value).catch(showError); });
$('prev').addEventListener('click', () => ui.selected > 1 && jump(ui.selected - 1));
$('next').addEventListener('click', () => ui.selected < ui.logs[ui.log].actions && jump(ui.selected + 1));
$('unpin').addEventListener('click', () => { ui.pin = ''; $('pinned').hidden = true; });
$('reload').addEventListener('click', () => api('/api/reload').then(loadLogs).catch(showError));
for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
document.addEventListener('keydown', (e) => {
  if (e.target.tagName === 'INPUT') return;
  if (e.key === 'j') $('next').click();
  if (e.key === 'k') $('prev').click();
});

function showError(e) {
  const b = $('banner');
  b.hidden = false;
  b.className = '';
  b.textContent = e.message;
}

loadLogs().catch(showError);
