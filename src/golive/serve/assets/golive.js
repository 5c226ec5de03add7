'use strict';
let csrf = null, release = new URLSearchParams(location.search).get('release') || '';
let zone = 'UTC', abbr = {};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const row = (cells) => '<tr>' + cells.map((c) => '<td>' + c + '</td>').join('') + '</tr>';
const head = (cells) => '<tr>' + cells.map((c) => '<th>' + c + '</th>').join('') + '</tr>';
const cls = (s) => '<span class="' + esc(s) + '">' + esc(String(s ?? '').replace(/_/g, ' ')) + '</span>';
const num = (v) => typeof v === 'number' && isFinite(v);
const empty = (what) => '<p class="empty">' + esc(what) + '</p>';
const table = (cells, rows, none) => rows.length ? '<table>' + head(cells) + rows.join('') + '</table>' : empty(none);

// Times: the plan's zone, with the abbreviation the server read from the zone database (SAST, not GMT+2).
function parts(at, opts) {
  const d = new Date(at);
  if (isNaN(d)) return null;
  const o = {};
  for (const p of new Intl.DateTimeFormat('en-GB', {timeZone: zone, hourCycle: 'h23', ...opts}).formatToParts(d)) o[p.type] = p.value;
  return o;
}
function zoneAbbr(at) {
  const p = parts(at, {timeZoneName: 'longOffset'});
  if (!p) return '';
  const m = /GMT([+-])(\d\d):?(\d\d)?/.exec(p.timeZoneName || '');
  const minutes = m ? (m[1] === '-' ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3] || '0', 10)) : 0;
  return abbr[String(minutes)] || (minutes ? p.timeZoneName : 'UTC');
}
function when(at, withDay) {
  if (!at) return '';
  const p = parts(at, {month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit'});
  if (!p) return esc(at);
  return (withDay === false ? '' : p.month + ' ' + p.day + ' ') + p.hour + ':' + p.minute + ' ' + zoneAbbr(at);
}
function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min' + (s % 60 ? ' ' + (s % 60) + ' s' : '');
  if (s < 86400) return Math.floor(s / 3600) + ' h' + (Math.floor(s / 60) % 60 ? ' ' + Math.floor(s / 60) % 60 + ' min' : '');
  return Math.floor(s / 86400) + ' d' + (Math.floor(s / 3600) % 24 ? ' ' + Math.floor(s / 3600) % 24 + ' h' : '');
}
// Values in their criterion's unit: a fraction as a percentage, seconds as ms or s, a count as a number.
function value(v, unit) {
  if (!num(v)) return 'n/a';
  const g = (x) => Number(x.toPrecision(3)).toLocaleString('en', {maximumFractionDigits: 6});
  if (unit === 'fraction') return g(v * 100) + ' %';
  if (unit === 'percent') return g(v) + ' %';
  if (unit === 'seconds') return Math.abs(v) < 1 ? g(v * 1000) + ' ms' : g(v) + ' s';
  return g(v);
}

// A time axis: ticks at round hours (or days, or minutes) in the plan's zone.
function timeTicks(t0, t1, most) {
  const range = t1 - t0, steps = [60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3];
  const step = steps.find((s) => range / s <= most) || 86400e3 * Math.ceil(range / 86400e3 / most);
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1 && ticks.length < 12; t += step) ticks.push(t);
  return {ticks, label: (t) => when(t, range > 20 * 3600e3 && step >= 3 * 3600e3)};
}

// A chart with axes: time along the bottom, the value (in its unit) up the left, a dashed threshold when known.
function plot(title, points, opts) {
  const w = 360, h = 150, L = 58, R = 10, T = 18, B = 26;
  const pts = points.filter((p) => num(Date.parse(p.at)) && num(p.value));
  if (!pts.length) return '';
  const vals = pts.flatMap((p) => [p.value, p.threshold, p.low, p.high]).filter(num);
  if (opts.zero) vals.push(0);
  let lo = opts.min ?? Math.min(...vals), hi = opts.max ?? Math.max(...vals);
  if (opts.min === undefined && lo > 0 && lo < hi * 0.5) lo = 0;
  if (hi <= lo) { hi = lo + (Math.abs(lo) || 1) * 0.1; lo = lo - (hi - lo); }
  const ts = pts.map((p) => Date.parse(p.at)), t0 = Math.min(...ts), t1 = Math.max(...ts);
  const x = (t) => t1 > t0 ? L + (w - L - R) * (t - t0) / (t1 - t0) : (L + w - R) / 2;
  const y = (v) => h - B - (h - B - T) * (v - lo) / (hi - lo);
  const f = (n) => n.toFixed(1);
  let svg = '<line x1="' + L + '" x2="' + L + '" y1="' + T + '" y2="' + (h - B) + '" stroke="#888"/>' +
    '<line x1="' + L + '" x2="' + (w - R) + '" y1="' + (h - B) + '" y2="' + (h - B) + '" stroke="#888"/>';
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg += '<line x1="' + L + '" x2="' + (w - R) + '" y1="' + f(y(v)) + '" y2="' + f(y(v)) + '" stroke="#eee"/>' +
      '<text x="' + (L - 4) + '" y="' + f(y(v) + 3) + '" text-anchor="end" class="tick">' + esc(value(v, opts.unit)) + '</text>';
  }
  const axis = t1 > t0 ? timeTicks(t0, t1, 3) : {ticks: [t0], label: (t) => when(t)};
  for (const t of axis.ticks) {
    const at = x(t), anchor = at > w - R - 40 ? 'end' : at < L + 40 ? 'start' : 'middle';
    svg += '<line x1="' + f(at) + '" x2="' + f(at) + '" y1="' + (h - B) + '" y2="' + (h - B + 4) + '" stroke="#888"/>' +
      '<text x="' + f(at) + '" y="' + (h - B + 15) + '" text-anchor="' + anchor + '" class="tick">' + esc(axis.label(t)) + '</text>';
  }
  const path = (key) => pts.filter((p) => num(p[key])).map((p, i) => (i ? 'L' : 'M') + f(x(Date.parse(p.at))) + ' ' + f(y(p[key]))).join(' ');
  if (opts.zero) svg += '<line x1="' + L + '" x2="' + (w - R) + '" y1="' + f(y(0)) + '" y2="' + f(y(0)) + '" stroke="#999"/>';
  if (pts.some((p) => num(p.high))) svg += '<path d="' + path('high') + '" fill="none" stroke="#bbb"/><path d="' + path('low') + '" fill="none" stroke="#bbb"/>';
  const thresholds = pts.filter((p) => num(p.threshold));
  if (thresholds.length) {
    const d = thresholds.length > 1 ? path('threshold') : 'M' + L + ' ' + f(y(thresholds[0].threshold)) + ' L' + (w - R) + ' ' + f(y(thresholds[0].threshold));
    svg += '<path d="' + d + '" fill="none" stroke="#b00020" stroke-dasharray="4 3"><title>threshold ' + esc(value(thresholds[thresholds.length - 1].threshold, opts.unit)) + '</title></path>';
  }
  svg += (opts.steps ? '<path d="' + pts.map((p, i) => (i ? 'H' + f(x(Date.parse(p.at))) + ' V' : 'M' + f(x(Date.parse(p.at))) + ' ') + f(y(p.value))).join(' ') + '" fill="none" stroke="#2a6fdb" stroke-width="2"/>'
    : '<path d="' + path('value') + '" fill="none" stroke="#2a6fdb" stroke-width="2"/>');
  svg += pts.map((p) => '<circle cx="' + f(x(Date.parse(p.at))) + '" cy="' + f(y(p.value)) + '" r="3" class="' + esc(p.outcome || p.verdict || '') +
    '" fill="currentColor"><title>' + esc(when(p.at) + ': ' + value(p.value, opts.unit) + (num(p.threshold) ? ' (threshold ' + value(p.threshold, opts.unit) + ')' : '') +
    (p.label ? ', ' + p.label : '')) + '</title></circle>').join('');
  return '<figure class="series" data-series="' + esc(title) + '" data-values="' + esc(pts.map((p) => p.value).join(' ')) + '" data-unit="' + esc(opts.unit || '') + '">' +
    '<figcaption>' + esc(title) + '</figcaption><svg width="' + w + '" height="' + h + '" role="img" aria-label="' + esc(title) + '">' + svg + '</svg></figure>';
}

// The release on a time axis: a bar per phase (and batch), windows shaded, the current moment marked.
// Days of soak dwarf the deploy day's minutes: a timeline longer than 12 h is drawn again, zoomed on the hours around now.
function timeline(line, now) {
  const bars = line.bars.filter((b) => b.start), waiting = line.bars.filter((b) => !b.start);
  const times = [...bars.flatMap((b) => [b.start, b.end, b.due]), ...line.windows.flatMap((w) => [w.start, w.end]), now]
    .map((t) => Date.parse(t)).filter(num);
  if (!times.length) return empty('Nothing has started yet.');
  const t0 = Math.min(...times), t1 = Math.max(...times), n = Date.parse(now);
  const from = Math.max(t0, n - 6 * 3600e3), to = Math.min(t1, n + 2 * 3600e3);
  const zoom = t1 - t0 > 12 * 3600e3 && to > from;
  return '<div class="timeline" data-run="' + line.run + '" data-bars="' + bars.length + '" data-windows="' + line.windows.length + '"><b>' + esc(line.kind + ' ' + line.env) + '</b> run ' + line.run + ': ' + cls(line.status) +
    ' <span class="reason">' + esc(waiting.length ? waiting.length + ' phase' + (waiting.length > 1 ? 's' : '') + ' not started' : '') + '</span>' +
    axisChart(line, now, t0, t1) + (zoom ? '<div class="reason zoom">' + (['pending', 'running', 'waiting', 'failing'].includes(line.status) ? 'the hours around now, ' : 'its last hours, ') + esc(when(from) + ' to ' + when(to)) + ':</div>' + axisChart(line, now, from, to) : '') + '</div>';
}

function axisChart(line, now, start, stop) {
  let t0 = start, t1 = stop;
  if (t1 - t0 < 600e3) { t0 -= 300e3; t1 += 300e3; }
  const pad = (t1 - t0) * 0.02; t0 -= pad; t1 += pad;
  const w = 900, L = 150, R = 20, rowH = 20, T = 8, rows = line.bars.length, h = T + rows * rowH + 30;
  const ms = (t) => typeof t === 'number' ? t : Date.parse(t);
  const x = (t) => L + (w - L - R) * (Math.min(Math.max(ms(t), t0), t1) - t0) / (t1 - t0), f = (n) => n.toFixed(1);
  let svg = '';
  for (const win of line.windows) {
    const a = x(win.start), b = x(win.end);
    if (b > a) svg += '<rect class="window" x="' + f(a) + '" y="' + T + '" width="' + f(b - a) + '" height="' + (rows * rowH) + '" fill="#e3f2e6"><title>' +
      esc(win.label + ' window: ' + when(win.start) + ' to ' + when(win.end)) + '</title></rect>';
  }
  line.bars.forEach((b, i) => {
    const top = T + i * rowH;
    svg += '<text x="' + (L - 6) + '" y="' + (top + 14) + '" text-anchor="end">' + esc(b.label) + '</text>';
    const outside = b.start && (Date.parse(b.end || b.start) < t0 || Date.parse(b.start) > t1);
    if (b.start && !outside) {
      const a = x(b.start), e = Math.max(x(b.end || b.start), a + 3);
      svg += '<rect class="bar ' + esc(b.status) + '" data-label="' + esc(b.label) + '" x="' + f(a) + '" y="' + (top + 3) + '" width="' + f(e - a) + '" height="' + (rowH - 6) + '" rx="2"><title>' +
        esc(b.label + ': ' + b.status + ', ' + b.done + ' of ' + b.steps + ' steps, ' + when(b.start) + (b.end ? ' to ' + when(b.end) : '')) + '</title></rect>';
    } else if (!b.start) {
      svg += '<text x="' + (L + 4) + '" y="' + (top + 14) + '" class="tick">' + esc(b.status === 'cancelled' ? 'cancelled' : 'not started') + '</text>';
    }
    if (b.due) svg += '<line class="due" x1="' + f(x(b.due)) + '" x2="' + f(x(b.due)) + '" y1="' + (top + 1) + '" y2="' + (top + rowH - 1) + '" stroke="#555" stroke-width="2"><title>due ' + esc(when(b.due)) + '</title></line>';
  });
  const axis = timeTicks(t0, t1, 7);
  for (const t of axis.ticks) {
    svg += '<line x1="' + f(x(t)) + '" x2="' + f(x(t)) + '" y1="' + T + '" y2="' + (T + rows * rowH + 4) + '" stroke="#ddd"/>' +
      '<text x="' + f(x(t)) + '" y="' + (T + rows * rowH + 18) + '" text-anchor="middle" class="tick">' + esc(axis.label(t)) + '</text>';
  }
  const n = x(now);
  svg += '<line class="now" x1="' + f(n) + '" x2="' + f(n) + '" y1="' + (T - 4) + '" y2="' + (T + rows * rowH + 4) + '" stroke="#b00020" stroke-width="2"><title>now: ' + esc(when(now)) + '</title></line>' +
    '<text x="' + f(Math.min(n + 3, w - 30)) + '" y="' + (T + 6) + '" class="tick" fill="#b00020">now</text>';
  return '<svg width="' + w + '" height="' + h + '" role="img" aria-label="timeline">' + svg + '</svg>';
}

function canaryCard(c) {
  if (!c.weights.length && !c.analyses.length) return '';
  const a = c.analyses[c.analyses.length - 1];
  const stepText = c.n && c.m ? 'step ' + c.n + ' of ' + c.m : '';
  const until = c.phase === 'bake' && c.step_status === 'waiting' ? c.bake_until : null;
  const weights = c.weights.map((p) => ({at: p.at, value: p.weight}));
  return '<div class="canary" data-project="' + esc(c.project) + '" data-step="' + esc(c.step) + '" data-weights="' + esc(c.weights.map((p) => p.weight).join(' ')) + '">' +
    '<h3>' + esc(c.name) + '</h3><div><span class="stepof">' + esc(stepText) + '</span> at <span class="weight" data-weight="' + c.weight + '">' + c.weight + ' %</span> ' + cls(c.state) +
    (c.planned.length ? ' <span class="reason">(' + c.planned.map((p) => p + ' %').join(' → ') + ')</span>' : '') + '</div>' +
    (until ? '<div>baking: next step <span class="countdown" data-until="' + esc(until) + '"></span> (at ' + esc(when(until)) + ')</div>' : '') +
    plot('traffic on the new version', weights, {unit: 'percent', min: 0, max: 100, steps: true}) +
    (a ? '<div class="reason">last analysis ' + esc(when(a.at)) + ': ' + cls(a.verdict) + ' ' + esc(a.reason) +
      a.triggers.map((tr) => '<div>' + esc(tr.criterion) + ': ' + esc(value(tr.value, tr.unit)) + ' (threshold ' + esc(value(tr.threshold, tr.unit)) + ')</div>').join('') + '</div>' : '') +
    Object.entries(c.triggers || {}).map(([name, pts]) => plot(name, pts, {unit: pts[0].unit})).join('') +
    Object.entries(c.versus || {}).map(([name, pts]) => plot(name + ': canary vs stable % (worst function)', pts, {zero: true, unit: 'percent'})).join('') + '</div>';
}

function gateCard(g) {
  const planned = (i) => i.name.startsWith('terraform ') && i.evidence && i.evidence.sha256 && i.evidence.approver;
  const approve = (i) => g.live && !i.ok && i.name.startsWith('approval ') ? ' <button data-approve="' + esc(g.gate) + '" data-env="' + esc(g.env) + '" data-role="' + esc(i.name.slice(9)) + '">approve as ' + esc(i.name.slice(9)) + '</button>' :
    g.live && !i.ok && planned(i) ? ' <button data-approve="' + esc(g.gate) + '" data-env="' + esc(g.env) + '" data-role="' + esc(i.evidence.approver) + '" data-plan-sha="' + esc(i.evidence.sha256) + '">approve plan ' + esc(i.evidence.sha256.slice(0, 12)) + ' as ' + esc(i.evidence.approver) + '</button>' : '';
  const waiting = g.state === 'waiting for approval' || g.state === 'waiting for the Terraform plans';
  const state = waiting ? 'WAITING' : g.state === 'not reached' ? 'NOT REACHED' : g.verdict;
  return '<div class="gate" data-gate="' + esc(g.gate) + '" data-live="' + g.live + '" data-state="' + esc(g.state) + '"><b>' + esc(g.gate.replace(/_/g, ' ') + ' (' + g.env + ')') + '</b> ' +
    '<span class="verdict ' + esc(state) + '">' + esc(state) + '</span> ' +
    '<span class="reason">' + esc(g.live ? (waiting ? g.state + ', as of ' + when(g.at) : 'weighed ' + when(g.at)) : g.at ? 'decided ' + when(g.at) : g.reasons.join('; ')) + '</span>' +
    (g.waiting ? '<div class="reason">' + esc(g.waiting) + '</div>' : '') +
    '<ul>' + g.items.map((i) => '<li class="' + (i.ok ? 'ok' : 'fail') + '">' + (i.ok ? '✓ ' : '✗ ') + esc(i.name) + ': ' + esc(i.detail) + approve(i) + '</li>').join('') + '</ul></div>';
}

function render(doc) {
  zone = doc.timezone || 'UTC';
  abbr = doc.abbreviations || {};
  const now = doc.now;
  $('release').textContent = doc.release;
  $('clock').textContent = 'as of ' + when(now) + ' (' + zone + ')';
  $('runs').innerHTML = (doc.timelines || []).map((line) => timeline(line, now)).join('') +
    doc.runs.map((r) => (r.reason ? '<div class="reason">run ' + r.run + ': ' + esc(r.reason) + '</div>' : '') +
      r.due.map((d) => '<div>next: ' + esc(d) + '</div>').join('')).join('') || empty('No runs yet.');
  $('batches').innerHTML = doc.batches.map((b) => '<div>' + esc(b.name) + ': ' + b.projects.map(esc).join(', ') +
    (b.window ? ' <span class="reason">window ' + esc((b.window.days ? b.window.days.join(', ') + ' ' : '') + b.window.start + ' to ' + b.window.end + ' ' + zone) + '</span>' : '') + '</div>').join('') ||
    empty('No batches recorded.');
  const started = doc.canaries.map(canaryCard).filter((c) => c);
  const later = doc.canaries.filter((c) => !c.weights.length && !c.analyses.length).map((c) => c.name);
  $('canaries').innerHTML = (started.join('') || empty('No canary has started.')) + (later.length && started.length ? '<p class="reason">not started: ' + later.map(esc).join(', ') + '</p>' : '');
  $('gates').innerHTML = doc.gates.map(gateCard).join('') || empty('No gate yet.');
  $('decisions').innerHTML = table(['gate', 'decided', 'verdict', 'reasons'], (doc.decisions || []).map((d) =>
    row([esc(d.gate + ' (' + d.env + ')'), esc(when(d.at)), cls(d.verdict), esc(d.reasons.join('; '))])), 'No gate decision recorded.');
  const series = Object.entries(doc.checkpoint_series || {});
  $('checkpoint-charts').innerHTML = series.map(([name, pts]) => plot(name, pts, {unit: pts[0].unit})).join('');
  $('checkpoints').innerHTML = table(['checkpoint', 'at', 'result', 'measured', 'failures'], doc.checkpoints.map((c) => row([esc(c.subject), esc(when(c.at)), cls(c.outcome),
    c.criteria.map((m) => esc(m.text + ': ' + value(m.value, m.unit))).join('<br>'), esc(c.failures.join('; '))])), 'No soak checkpoint yet.');
  $('incidents').innerHTML = table(['#', 'severity', 'title', 'status', 'opened', ''], doc.incidents.map((i) => row([i.id, esc(i.severity), esc(i.title), cls(i.status), esc(when(i.opened_at)),
    i.status === 'open' ? '<button data-resolve="' + i.id + '">resolve</button>' : esc(when(i.resolved_at))])), 'No incidents.');
  $('projects').innerHTML = [...new Set(doc.canaries.map((c) => c.project))].map((p) => '<option value="' + esc(p) + '">').join('');
  $('approvals').innerHTML = table(['gate', 'env', 'by', 'role', 'at'], doc.approvals.map((a) => row([esc(a.gate), esc(a.env), esc(a.by), esc(a.role), esc(when(a.at))])), 'No approvals yet.');
  $('rollbacks').innerHTML = table(['project', 'at', 'outcome', 'reason', 'took'], doc.rollbacks.map((r) => row([esc(r.project), esc(when(r.at)), cls(r.outcome), esc(r.reason),
    num(r.seconds) ? esc(value(r.seconds, 'seconds')) : ''])), 'No rollbacks.');
  const overrides = (doc.overrides || []).slice().sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  $('overrides').innerHTML = table(['at', 'override', 'by', 'why', 'project', 'run'], overrides.map((o) => row([esc(when(o.at)),
    esc(o.what), esc(o.by || 'unknown'), esc(o.why), esc(o.project || ''), o.run == null ? '' : esc(String(o.run))])), 'No overrides.');
  $('actions').innerHTML = table(['at', 'action', 'by', 'from', 'outcome'], doc.actions.map((a) => row([esc(when(a.at)), esc(a.action), esc(a.by), esc(a.from), cls(a.outcome)])), 'No actions taken from the page.');
  tick();
}

// Countdowns against the release's own clock (a rehearsal's is virtual), moved on by the wall clock between redraws.
let fetchedAt = Date.now(), releaseNow = Date.now();
function tick() {
  const now = releaseNow + (Date.now() - fetchedAt);
  document.querySelectorAll('.countdown[data-until]').forEach((el) => {
    const left = Date.parse(el.dataset.until) - now;
    el.textContent = left > 0 ? 'in ' + span(left) : 'due now';
  });
}
setInterval(tick, 1000);

async function refresh() {
  const list = await fetch('/api/releases').then((r) => r.ok ? r.json() : {releases: []});
  $('releases').innerHTML = list.releases.map((r) => '<li><a href="?release=' + encodeURIComponent(r.release) + '">' + esc(r.release) + '</a> ' + cls(r.status) + '</li>').join('') || '<li>No releases in this store.</li>';
  if (!release && list.releases.length) release = list.releases[list.releases.length - 1].release;
  if (!release) return;
  const r = await fetch('/api/release/' + encodeURIComponent(release));
  if (!r.ok) return;
  const doc = await r.json();
  fetchedAt = Date.now();
  releaseNow = Date.parse(doc.now) || Date.now();
  render(doc);
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
  if (approve) await act('approve', {gate: approve.dataset.approve, env: approve.dataset.env, role: approve.dataset.role, ...(approve.dataset.planSha ? {plan_sha: approve.dataset.planSha} : {})});
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
