// Reports (DESIGN §17; admins and supervisors): how the desk did over a range of UTC days —
// the totals, three charts drawn here as SVG (their numbers in a table too), each admin's
// figures, and both tables as CSV. The range is in the address (`#/reports?days=30`, or
// `?from=…&to=…`). Loaded on demand (app.js).
import * as api from './api.js';
import { h, plural } from './dom.js';
import { showError, showNotice, clearFeedback } from './feedback.js';
import { viewStyles } from './view-styles.js';

await viewStyles();

const MAX_DAYS = 92;
const PRESETS = [7, 30, 92];
const TARGET_S = 300; // the first-response target: 5 minutes
const DAY_MS = 86_400_000;
const MUTED = '#5b6b75';
const C = { started: '#0b6e4f', ended: '#7a8b96', p50: '#1a5fd0', p90: '#b45309', target: '#b42318', csat: '#d97706' };
const IN_TABLE = ' The numbers are in the table “Day by day”.';

// Days are UTC days, named so whatever the admin's time zone.
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (date) => Date.parse(`${date}T00:00:00Z`);
const isDate = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && iso(dayMs(s)) === s;
const fmt = (options) => new Intl.DateTimeFormat(undefined, { ...options, timeZone: 'UTC' });
const SHORT = fmt({ day: 'numeric', month: 'short' });
const WEEKDAY = fmt({ weekday: 'short', day: 'numeric', month: 'short' });
const YEAR = fmt({ day: 'numeric', month: 'short', year: 'numeric' });
const dayName = (date, f = SHORT) => f.format(dayMs(date));
const spanText = ({ from, to }) => (from === to ? '' : `${dayName(from)} – `) + dayName(to, YEAR);
const dayCount = ({ from, to }) => (dayMs(to) - dayMs(from)) / DAY_MS + 1;

const has = (v) => v !== null && v !== undefined;
/** "0.4 s", "41 s", "4 min 40 s", "1 h 5 min", "2 d 3 h"; '' for no figure. */
export function humanDuration(seconds) {
  if (!has(seconds)) return '';
  // Tenths under 10 s: in whole seconds a quick reply would read "0 s".
  const tenths = Math.round(seconds * 10) / 10;
  if (tenths < 10) return `${tenths.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  if (m < 1440) return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const hours = Math.round(m / 60);
  return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
}
const rating = (x) => (has(x) ? x.toFixed(1) : '');
const ratings = (n) => plural(n, 'rating', 'ratings');
const sum = (days, key) => days.reduce((n, d) => n + (d[key] || 0), 0);
function median(values) {
  const v = values.filter(has).sort((a, b) => a - b);
  const mid = v.length >> 1;
  return !v.length ? null : v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
/** The range's average rating: each day's average weighted by its count. */
function csatAverage(days) {
  const count = sum(days, 'csat_count');
  return count ? days.reduce((n, d) => n + (d.csat_count ? d.csat_average * d.csat_count : 0), 0) / count : null;
}

function preset(days) {
  const now = Date.now();
  return { from: iso(now - (days - 1) * DAY_MS), to: iso(now), days };
}

/** Why the range cannot be asked for, or null. */
function problem(range) {
  if (!isDate(range.from) || !isDate(range.to)) return 'Choose a start date and an end date.';
  const n = dayCount(range);
  if (n < 1) return 'The start date is after the end date.';
  return n > MAX_DAYS ? `A report covers at most ${MAX_DAYS} days: this range has ${n}. Choose a shorter range.` : null;
}

// ---- Charts: SVG elements, their colours as presentation attributes (no style attribute) ----

function svg(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children.filter(Boolean));
  return node;
}
const tip = (text) => svg('title', {}, text);
const label = (x, y, text, anchor = 'middle', fill = MUTED) => svg('text', { x, y, 'text-anchor': anchor, fill }, text);

/** A legend's key: a square, or a dashed line. */
const swatch = (color, dashed) => svg('svg', { class: 'swatch', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true' }, dashed
  ? svg('line', { x1: 0, y1: 8, x2: 16, y2: 8, stroke: color, 'stroke-width': 2, 'stroke-dasharray': '4 3' })
  : svg('rect', { x: 2, y: 2, width: 12, height: 12, fill: color }));

/** Gridlines at round values, at most five, up to at least `max`: `{top, ticks}`. */
function ticksFor(max, steps) {
  const step = steps.find((s) => max / s <= 4) || steps.at(-1) * Math.ceil(max / steps.at(-1) / 4);
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let t = 0; t <= top; t += step) ticks.push(t);
  return { top, ticks };
}
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const TIME_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

/**
 * A chart's frame, `width` × `height` units (about a pixel each, as it is drawn at its shown
 * width): gridlines with their labels, a date under every few days (the last always), and
 * `x(i)` (the middle of day i), `y(v)`, `band` (a day's width), `base` (y of 0) for the marks.
 */
function frame({ width, height, days }, top, ticks, format, summary) {
  const l = 52;
  const w = width - l - 22;
  const inner = height - 40;
  const band = w / days.length;
  const x = (i) => l + (i + 0.5) * band;
  const y = (v) => 14 + inner - (Math.min(v, top) / top) * inner;
  const root = svg('svg', { class: 'chart-svg', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': summary + IN_TABLE, 'font-size': 12 });
  for (const t of ticks) {
    root.append(svg('line', { x1: l, x2: l + w, y1: y(t), y2: y(t), stroke: t ? '#e3e8ec' : '#9aa7b0' }), label(l - 6, y(t) + 4, format(t), 'end'));
  }
  const every = Math.ceil(days.length / Math.max(1, Math.floor(w / 64)));
  days.forEach((d, i) => (days.length - 1 - i) % every || root.append(label(x(i), height - 8, dayName(d.date))));
  return { root, x, y, band, base: y(0), left: l, right: l + w };
}

/** A bar from the baseline; none for 0 or null (a gap). */
function bar(f, i, offset, width, value, color) {
  return value > 0 && svg('rect', { x: f.x(i) + offset, y: f.y(value), width, height: Math.max(1, f.base - f.y(value)), fill: color });
}

function chatsChart(o) {
  const { days, span } = o;
  const { top, ticks } = ticksFor(Math.max(1, ...days.map((d) => Math.max(d.chats_started, d.chats_ended))), COUNT_STEPS);
  const busiest = days.reduce((a, d) => (d.chats_started > a.chats_started ? d : a));
  const f = frame(o, top, ticks, String, `Chats started and ended per day, ${span}: ${sum(days, 'chats_started')} started and ${sum(days, 'chats_ended')} ended in all${
    busiest.chats_started ? `; the most started on one day: ${busiest.chats_started}, ${dayName(busiest.date)}` : ''}.`);
  const bw = Math.min(16, f.band * 0.4);
  days.forEach((d, i) => f.root.append(svg('g', {}, tip(`${dayName(d.date)}: ${d.chats_started} started, ${d.chats_ended} ended`),
    bar(f, i, -bw, bw, d.chats_started, C.started), bar(f, i, 0, bw, d.chats_ended, C.ended))));
  return f.root;
}

function firstResponseChart(o) {
  const { days, span } = o;
  const p50s = days.map((d) => d.first_response_p50_s);
  const p90s = days.map((d) => d.first_response_p90_s);
  const fifty = p50s.filter(has);
  const ninety = p90s.filter(has);
  const over = ninety.filter((v) => v > TARGET_S).length;
  const { top, ticks } = ticksFor(Math.max(TARGET_S * 1.15, ...ninety, ...fifty), TIME_STEPS);
  const f = frame(o, top, ticks, (t) => (t ? humanDuration(t) : '0'), `First response per day, ${span}: ${fifty.length
    ? `${fifty.length} of ${plural(days.length, 'day', 'days')} with a first response; daily p50 from ${humanDuration(Math.min(...fifty))} to ${humanDuration(Math.max(...fifty))}${
      ninety.length ? `, highest p90 ${humanDuration(Math.max(...ninety))}` : ''}; ${plural(over, 'day', 'days')} with a p90 over the 5 min target`
    : 'no first responses'}.`);
  const t = f.y(TARGET_S);
  f.root.append(svg('line', { x1: f.left, x2: f.right, y1: t, y2: t, stroke: C.target, 'stroke-width': 1.5, 'stroke-dasharray': '6 4' }),
    // A white outline keeps the label readable over the lines.
    svg('text', { x: f.right, y: t - 5, 'text-anchor': 'end', fill: C.target, stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke' }, '5 min target'));
  for (const [values, color, name] of [[p90s, C.p90, 'p90'], [p50s, C.p50, 'p50']]) {
    let d = '';
    values.forEach((v, i) => {
      if (!has(v)) return;
      const [x, y] = [f.x(i), f.y(v)];
      d += `${has(values[i - 1]) ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
      const at = tip(`${dayName(days[i].date)}: ${name} ${humanDuration(v)}`);
      // Points too, so a day between two gaps shows; squares and circles tell the lines apart.
      f.root.append(name === 'p90'
        ? svg('rect', { x: x - 3.5, y: y - 3.5, width: 7, height: 7, fill: color }, at)
        : svg('circle', { cx: x, cy: y, r: 4, fill: color }, at));
    });
    if (d) f.root.append(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
  }
  return f.root;
}

const counted = h('span', {}); // where the CSAT chart's counts are: above its bars when they fit

function csatChart(o) {
  const { days, span } = o;
  const count = sum(days, 'csat_count');
  const f = frame(o, 5, [0, 1, 2, 3, 4, 5], String, `Satisfaction (CSAT) per day, 1 to 5, ${span}: ${count
    ? `average ${rating(csatAverage(days))} from ${ratings(count)}, on ${days.filter((d) => d.csat_count).length} of ${plural(days.length, 'day', 'days')}`
    : 'no ratings'}.`);
  const bw = Math.min(28, f.band * 0.7);
  days.forEach((d, i) => d.csat_count && has(d.csat_average) && f.root.append(svg('g', {},
    tip(`${dayName(d.date)}: ${rating(d.csat_average)} from ${ratings(d.csat_count)}`),
    bar(f, i, -bw / 2, bw, d.csat_average, C.csat),
    f.band >= 18 && label(f.x(i), f.y(d.csat_average) - 4, String(d.csat_count), 'middle', '#1c2b33'))));
  counted.textContent = f.band >= 18 ? 'Above a bar: how many ratings.' : 'How many ratings: in the table.';
  return f.root;
}

// ---- Tables and totals ----

const none = () => [h('span', { 'aria-hidden': 'true' }, '—'), h('span', { class: 'visually-hidden' }, 'none')];
const cell = (text) => h('td', {}, text === '' ? none() : String(text));

/** A table in a container of its own that scrolls sideways (never the page). */
function table(id, caption, heads, rows) {
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': id },
    h('table', { class: 'report-table' }, h('caption', { id }, caption),
      h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

const stat = (name, value, note) => h('div', { class: 'stat' }, h('dt', {}, name),
  h('dd', {}, value === '' ? none() : value), note && h('dd', { class: 'stat-note' }, note));

const legend = (...items) => h('p', { class: 'legend' }, items.map(([color, text, dashed]) => h('span', {}, swatch(color, dashed), text)));

export function render(root, { setPageTitle, reportConnection, params }) {
  setPageTitle('Reports');
  let loading = null; // the latest request: an older answer is dropped
  let shown = null; // {range, data} on the page
  let drawnWidth = 0;

  const presets = PRESETS.map((n) => h('button', { type: 'button', class: 'secondary preset', 'aria-pressed': 'false', value: n }, `Last ${n} days`));
  const date = (id) => h('input', { id, type: 'date', required: true, 'aria-describedby': 'report-hint' });
  const from = date('report-from');
  const to = date('report-to');
  const rangeError = h('div', { class: 'feedback' });
  const form = h('form', { class: 'card report-range', 'aria-label': 'Report range', novalidate: true },
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Preset ranges' }, presets),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field' }, h('label', { for: 'report-from' }, 'From'), from),
      h('div', { class: 'field' }, h('label', { for: 'report-to' }, 'To'), to),
      h('button', { type: 'submit', class: 'primary' }, 'Show')),
    h('p', { id: 'report-hint', class: 'muted hint' }, `UTC days, both included; at most ${MAX_DAYS} days.`),
    rangeError);
  const error = h('div', {});
  const summary = h('p', { class: 'muted summary', 'aria-live': 'polite' });
  const totals = h('dl', { class: 'stats report-totals' });
  const downloadDays = h('button', { type: 'button', class: 'secondary' }, 'Download days as CSV');
  const downloadAdmins = h('button', { type: 'button', class: 'secondary' }, 'Download admins as CSV');
  const downloaded = h('div', { class: 'feedback' });
  const figures = [
    ['chats', 'Chats per day', chatsChart, legend([C.started, 'Started'], [C.ended, 'Ended'])],
    ['first-response', 'First response time', firstResponseChart, legend([C.p50, 'p50 (median)'], [C.p90, 'p90'], [C.target, '5 min target', true])],
    ['csat', 'Satisfaction (CSAT)', csatChart, legend([C.csat, 'Average rating, 1 to 5']), counted],
  ].map(([id, title, draw, key, note]) => {
    const plot = h('div', {});
    key.append(note || '');
    return { draw, plot, element: h('figure', { class: 'card chart', 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), plot, key) };
  });
  const charts = h('div', { class: 'charts' }, figures.map((f) => f.element));
  const days = h('details', { class: 'card numbers' }, h('summary', {}, 'Show the numbers'));
  const admins = h('section', { class: 'card', 'aria-labelledby': 'by-admin-title' }, h('h2', { id: 'by-admin-title' }, 'By admin'));
  const results = h('div', { class: 'page', hidden: true },
    totals, h('div', { class: 'actions' }, downloadDays, downloadAdmins), downloaded, charts, days, admins);

  root.replaceChildren(h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Reports'), summary),
    form, error, results));

  /** Draws the charts at the width they are shown at, so their text keeps its size on a phone and a desktop. */
  function drawCharts() {
    drawnWidth = charts.clientWidth;
    const width = Math.max(280, Math.round(drawnWidth - 34)); // less a card's padding and border
    const o = { width, height: Math.round(Math.min(260, Math.max(190, width * 0.32))), days: shown.data.days, span: spanText(shown.range) };
    for (const f of figures) f.plot.replaceChildren(f.draw(o));
  }

  function showReport() {
    const { data: { days: list, admins: people = [] }, range } = shown;
    const span = `${spanText(range)} (UTC)`;
    const count = sum(list, 'csat_count');
    totals.replaceChildren(
      ...[['Chats started', 'chats_started'], ['Chats ended', 'chats_ended'], ['Messages in', 'messages_in'], ['Messages out', 'messages_out']]
        .map(([name, key]) => stat(name, String(sum(list, key)))),
      stat('CSAT average', count ? `${rating(csatAverage(list))} / 5` : '', `from ${ratings(count)}`),
      stat('First response', humanDuration(median(list.map((d) => d.first_response_p50_s))), 'median of the daily p50s'));
    drawCharts();
    days.replaceChildren(days.firstChild, table('days-caption', `Day by day, ${span}`,
      ['Day', 'Chats started', 'Chats ended', 'First response p50', 'First response p90', 'Resolution p50', 'CSAT average', 'Ratings', 'Messages in', 'Messages out'],
      list.map((d) => h('tr', {},
        h('th', { scope: 'row' }, h('time', { datetime: d.date }, dayName(d.date, WEEKDAY))),
        cell(d.chats_started), cell(d.chats_ended), cell(humanDuration(d.first_response_p50_s)), cell(humanDuration(d.first_response_p90_s)),
        cell(humanDuration(d.resolution_p50_s)), cell(rating(d.csat_average)), cell(d.csat_count), cell(d.messages_in), cell(d.messages_out)))));
    const byChats = [...people].sort((a, b) => b.chats_handled - a.chats_handled || a.admin.localeCompare(b.admin));
    admins.replaceChildren(admins.firstChild, table('admins-caption', `Each admin’s chats, ${span}`,
      ['Admin', 'Chats handled', 'First response p50', 'CSAT average'],
      byChats.length
        ? byChats.map((a) => h('tr', {}, h('th', { scope: 'row' }, a.admin), cell(a.chats_handled), cell(humanDuration(a.first_response_p50_s)), cell(rating(a.csat_average))))
        : h('tr', {}, h('td', { colspan: '4', class: 'empty' }, 'No admin handled a chat in this range.'))));
  }

  async function load(range) {
    const mine = {};
    loading = mine;
    shown = null; // nor downloaded while another range loads
    downloadDays.disabled = true;
    downloadAdmins.disabled = true;
    results.setAttribute('aria-busy', 'true');
    summary.textContent = 'Loading…';
    try {
      const { data } = await api.request('GET', `/api/admin/reports?${new URLSearchParams({ from: range.from, to: range.to })}`);
      if (loading !== mine) return;
      reportConnection(null);
      clearFeedback(error);
      clearFeedback(downloaded);
      shown = { range, data };
      downloadDays.disabled = false;
      downloadAdmins.disabled = false;
      results.hidden = false;
      showReport();
      summary.textContent = `${spanText(range)}: ${plural(dayCount(range), 'day', 'days')}, UTC.`;
    } catch (e) {
      if (loading !== mine) return;
      reportConnection(e);
      summary.textContent = '';
      results.hidden = true;
      showError(error, e, { action: { label: 'Try again', run: () => load(range) } });
    } finally {
      if (loading === mine) results.removeAttribute('aria-busy');
    }
  }

  /** Puts `range` in the form and the address, and loads it unless it cannot be asked for. */
  function choose(range) {
    from.value = range.from;
    to.value = range.to;
    for (const b of presets) b.setAttribute('aria-pressed', String(Number(b.value) === range.days));
    const hash = `#/reports?${new URLSearchParams(range.days ? { days: range.days } : { from: range.from, to: range.to })}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    const bad = problem(range);
    for (const input of [from, to]) input.setAttribute('aria-invalid', String(Boolean(bad)));
    clearFeedback(error);
    clearFeedback(rangeError);
    if (!bad) return load(range);
    loading = null;
    shown = null;
    results.hidden = true;
    summary.textContent = '';
    showError(rangeError, bad);
  }

  /** The report shown as CSV (`table` 'admins': that table), fetched with the token and saved from a Blob. */
  async function download(button, table) {
    const { from: f, to: t } = shown.range;
    const q = new URLSearchParams({ from: f, to: t, format: 'csv' });
    if (table) q.set('table', table);
    const name = `edubot-report-${table ? `${table}-` : ''}${f}-${t}.csv`;
    button.disabled = true;
    clearFeedback(downloaded);
    try {
      const { data } = await api.request('GET', `/api/admin/reports?${q}`, undefined, { text: true });
      const url = URL.createObjectURL(new Blob([data], { type: 'text/csv' }));
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      showNotice(downloaded, `Downloaded ${name}.`);
    } catch (e) {
      showError(downloaded, e);
    } finally {
      button.disabled = !shown;
    }
  }

  for (const b of presets) b.addEventListener('click', () => choose(preset(Number(b.value))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    choose({ from: from.value, to: to.value, days: null });
  });
  downloadDays.addEventListener('click', () => download(downloadDays, null));
  downloadAdmins.addEventListener('click', () => download(downloadAdmins, 'admins'));
  const resized = new ResizeObserver(() => {
    if (shown && Math.abs(charts.clientWidth - drawnWidth) > 16) drawCharts();
  });
  resized.observe(charts);

  const q = params || new URLSearchParams();
  const n = Number(q.get('days'));
  choose(q.has('from') || q.has('to')
    ? { from: q.get('from') || '', to: q.get('to') || '', days: null }
    : preset(PRESETS.includes(n) ? n : PRESETS[0]));
  return () => {
    loading = null;
    resized.disconnect();
  };
}
