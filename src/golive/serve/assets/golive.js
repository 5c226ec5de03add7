'use strict';
let csrf = null, release = new URLSearchParams(location.search).get('release') || '';
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const row = (cells) => '<tr>' + cells.map((c) => '<td>' + c + '</td>').join('') + '</tr>';
const head = (cells) => '<tr>' + cells.map((c) => '<th>' + c + '</th>').join('') + '</tr>';
const cls = (s) => '<span class="' + esc(s) + '">' + esc(s) + '</span>';

function chart(points, analyses) {
  const w = 320, h = 100;
  if (!points.length) return '<svg width="' + w + '" height="' + h + '"></svg>';
  const t = (p) => Date.parse(p.at), t0 = t(points[0]), t1 = Math.max(t(points[points.length - 1]), t0 + 1);
  const x = (p) => 5 + (w - 10) * (t(p) - t0) / (t1 - t0), y = (v) => h - 5 - (h - 10) * v / 100;
  let d = '', last = 0;
  for (const p of points) { d += (d ? ' L' : 'M') + x(p).toFixed(1) + ' ' + y(last).toFixed(1) + ' L' + x(p).toFixed(1) + ' ' + y(p.weight).toFixed(1); last = p.weight; }
  const marks = analyses.filter((a) => Date.parse(a.at) <= t1).map((a) => '<circle cx="' + x(a).toFixed(1) + '" cy="' + y(a.weight).toFixed(1) +
    '" r="3" class="' + esc(a.verdict) + '" fill="currentColor"><title>' + esc(a.verdict + ': ' + a.reason) + '</title></circle>').join('');
  return '<svg width="' + w + '" height="' + h + '" role="img" aria-label="weight over time"><path d="' + d + '" fill="none" stroke="#2a6fdb" stroke-width="2"/>' + marks + '</svg>';
}

// A small line chart: the measured values, a dashed threshold (or the 0 % reference), an interval band when known.
function lines(title, points, opts) {
  const w = 320, h = 90;
  const vals = points.flatMap((p) => [p.value, p.threshold, p.low, p.high]).filter((v) => typeof v === 'number' && isFinite(v));
  if (opts.zero) vals.push(0);
  if (!vals.length) return '';
  const lo = Math.min(...vals), hi = Math.max(...vals, lo + 1e-9);
  const t = (p) => Date.parse(p.at), t0 = t(points[0]), t1 = Math.max(t(points[points.length - 1]), t0 + 1);
  const x = (p) => 5 + (w - 10) * (t(p) - t0) / (t1 - t0), y = (v) => h - 15 - (h - 25) * (v - lo) / (hi - lo);
  const path = (key) => points.filter((p) => typeof p[key] === 'number').map((p, i) => (i ? 'L' : 'M') + x(p).toFixed(1) + ' ' + y(p[key]).toFixed(1)).join(' ');
  const dots = points.map((p) => '<circle cx="' + x(p).toFixed(1) + '" cy="' + y(p.value).toFixed(1) + '" r="2.5" class="' + esc(p.outcome || '') +
    '" fill="currentColor"><title>' + esc(p.at + ': ' + p.value + (p.threshold != null ? ' (threshold ' + p.threshold + ')' : '')) + '</title></circle>').join('');
  return '<figure class="series" data-series="' + esc(title) + '" data-values="' + esc(points.map((p) => p.value).join(' ')) + '"><svg width="' + w + '" height="' + h + '" role="img" aria-label="' + esc(title) + '">' +
    (opts.zero ? '<line x1="5" x2="' + (w - 5) + '" y1="' + y(0).toFixed(1) + '" y2="' + y(0).toFixed(1) + '" stroke="#999"/>' : '') +
    '<path d="' + path('high') + '" fill="none" stroke="#bbb"/><path d="' + path('low') + '" fill="none" stroke="#bbb"/>' +
    '<path d="' + path('threshold') + '" fill="none" stroke="#b00020" stroke-dasharray="4 3"/>' +
    '<path d="' + path('value') + '" fill="none" stroke="#2a6fdb" stroke-width="2"/>' + dots +
    '<text x="5" y="' + (h - 3) + '" font-size="10">' + esc(title) + ' (' + esc(lo.toPrecision(3)) + '..' + esc(hi.toPrecision(3)) + ')</text></svg></figure>';
}

function render(doc) {
  $('release').textContent = doc.release;
  $('runs').innerHTML = doc.runs.map((r) => '<div><b>' + esc(r.kind + ' ' + r.env) + '</b> run ' + r.run + ': ' + cls(r.status) + ' (' + r.steps_done + '/' + r.steps_total + ' steps)' +
    (r.reason ? ' <span class="reason">' + esc(r.reason) + '</span>' : '') + '<table>' + r.phases.map((p) => row([esc(p.phase), cls(p.status)])).join('') + '</table>' +
    r.due.map((d) => '<div>next: ' + esc(d) + '</div>').join('') + '</div>').join('') || 'no runs yet';
  $('batches').innerHTML = doc.batches.map((b) => '<div>' + esc(b.name) + ': ' + b.projects.map(esc).join(', ') + '</div>').join('');
  $('canaries').innerHTML = doc.canaries.map((c) => {
    const a = c.analyses[c.analyses.length - 1];
    return '<div class="canary" data-project="' + esc(c.project) + '" data-step="' + esc(c.step) + '" data-weights="' + esc(c.weights.map((p) => p.weight).join(' ')) + '"><b>' + esc(c.step) + '</b> <span class="weight" data-weight="' + c.weight + '">' + c.weight + '%</span> ' + cls(c.state) +
      '<br>' + chart(c.weights, c.analyses) + (a ? '<div class="reason">last analysis ' + cls(a.verdict) + ': ' + esc(a.reason) +
      a.triggers.map((tr) => '<div>' + esc(tr.criterion) + ': ' + esc(tr.value) + ' (threshold ' + esc(tr.threshold) + ')</div>').join('') + '</div>' : '') +
      Object.entries(c.triggers || {}).map(([name, pts]) => lines(name, pts, {})).join('') +
      Object.entries(c.versus || {}).map(([name, pts]) => lines(name + ': canary vs stable % (worst function)', pts, {zero: true})).join('') + '</div>';
  }).join('') || 'no canary yet';
  $('gates').innerHTML = doc.gates.map((g) => '<div class="gate" data-gate="' + esc(g.gate) + '" data-live="' + g.live + '"><b>' + esc(g.gate) + ' ' + esc(g.env) + '</b> ' +
    '<span class="verdict ' + esc(g.verdict) + '">' + esc(g.verdict) + '</span> ' + (g.live ? '(now)' : 'decided ' + esc(g.at)) +
    '<ul>' + g.items.map((i) => '<li class="' + (i.ok ? 'ok' : 'fail') + '">' + esc(i.name) + ': ' + esc(i.detail) +
      (g.live && !i.ok && i.name.startsWith('approval ') ? ' <button data-approve="' + esc(g.gate) + '" data-env="' + esc(g.env) + '" data-role="' + esc(i.name.slice(9)) + '">approve as ' + esc(i.name.slice(9)) + '</button>' : '') +
      '</li>').join('') + '</ul></div>').join('') || 'no gate';
  $('checkpoint-charts').innerHTML = Object.entries(doc.checkpoint_series || {}).map(([name, pts]) => lines(name, pts, {})).join('');
  $('checkpoints').innerHTML = head(['checkpoint', 'at', 'result', 'failures']) + doc.checkpoints.map((c) => row([esc(c.subject), esc(c.at), cls(c.outcome), esc(c.failures.join('; '))])).join('');
  $('incidents').innerHTML = head(['#', 'severity', 'title', 'status', 'opened', '']) + doc.incidents.map((i) => row([i.id, esc(i.severity), esc(i.title), cls(i.status), esc(i.opened_at),
    i.status === 'open' ? '<button data-resolve="' + i.id + '">resolve</button>' : esc(i.resolved_at)])).join('');
  $('projects').innerHTML = [...new Set(doc.canaries.map((c) => c.project))].map((p) => '<option value="' + esc(p) + '">').join('');
  $('approvals').innerHTML = head(['gate', 'env', 'by', 'role', 'at']) + doc.approvals.map((a) => row([esc(a.gate), esc(a.env), esc(a.by), esc(a.role), esc(a.at)])).join('');
  $('rollbacks').innerHTML = head(['project', 'at', 'outcome', 'reason', 'seconds']) + doc.rollbacks.map((r) => row([esc(r.project), esc(r.at), cls(r.outcome), esc(r.reason), esc(r.seconds)])).join('');
  $('actions').innerHTML = head(['at', 'action', 'by', 'from', 'outcome']) + doc.actions.map((a) => row([esc(a.at), esc(a.action), esc(a.by), esc(a.from), cls(a.outcome)])).join('');
}

async function refresh() {
  const list = await fetch('/api/releases').then((r) => r.ok ? r.json() : {releases: []});
  $('releases').innerHTML = list.releases.map((r) => '<li><a href="?release=' + encodeURIComponent(r.release) + '">' + esc(r.release) + '</a> ' + cls(r.status) + '</li>').join('');
  if (!release && list.releases.length) release = list.releases[list.releases.length - 1].release;
  if (!release) return;
  const r = await fetch('/api/release/' + encodeURIComponent(release));
  if (r.ok) render(await r.json());
}

async function whoami() {
  const r = await fetch('/api/me');
  if (!r.ok) return;
  const me = await r.json();
  csrf = me.csrf;
  $('me').textContent = me.user ? me.user + ' (' + me.roles.join(', ') + ')' : '';
  $('login').style.display = me.user ? 'none' : '';
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch('/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({user: f.get('user'), password: f.get('password')})});
  $('flash').textContent = r.ok ? '' : 'sign-in refused';
  $('flash').className = 'refused';
  await whoami();
});

// Every action is a POST with the session's CSRF token; the server checks the role and records who and from where.
async function act(action, body) {
  const r = await fetch('/api/actions/' + action, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf || ''},
    body: JSON.stringify(body)});
  const answer = await r.json().catch(() => ({error: 'the server answered ' + r.status}));
  $('flash').textContent = r.ok ? action + ' recorded' : answer.error;
  $('flash').className = r.ok ? 'recorded' : 'refused';
  await refresh();
  return r.ok;
}

document.addEventListener('click', async (e) => {
  const approve = e.target.closest('button[data-approve]');
  if (approve) await act('approve', {gate: approve.dataset.approve, env: approve.dataset.env, role: approve.dataset.role});
  const resolve = e.target.closest('button[data-resolve]');
  if (resolve) await act('incident_resolve', {incident: resolve.dataset.resolve});
});

document.querySelectorAll('form[data-action]').forEach((form) => form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = Object.fromEntries(new FormData(form).entries());
  if (await act(form.dataset.action, body)) form.reset();
}));

function stream() {
  const es = new EventSource('/api/stream');
  es.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on'; refresh(); };
  es.onmessage = () => refresh();
  es.onerror = () => { $('live').textContent = 'reconnecting'; $('live').className = 'off'; };
}
whoami().then(refresh).then(stream);
