// The console's views. Each is render(root) → optional cleanup, and reads and acts only through
// the gateway's public API. root.dataset.state is loading, ready or error (what a test waits on).

import { api, query } from './api.js';
import { h, table, when, compact, badge, button, notice } from './dom.js';
import { barChart, sparkline } from './chart.js';
import * as prom from './metrics.js';

/** The view's heading, a line of messages and a body; `refresh` reloads it. */
function frame(root, title, intro) {
  const messages = h('div', { class: 'messages', 'data-messages': '' });
  const body = h('div', { class: 'body' });
  root.append(h('header', { class: 'view-head' }, h('h2', null, title), intro ? h('p', { class: 'intro' }, intro) : null), messages, body);
  return {
    messages,
    body,
    say(tone, text) {
      messages.replaceChildren(notice(tone, text));
    },
    /** Runs a load, marking the view loading, then ready, or error with the error's message. */
    async load(fn) {
      root.dataset.state = 'loading';
      try {
        await fn();
        root.dataset.state = 'ready';
      } catch (e) {
        messages.replaceChildren(notice('bad', e.message));
        root.dataset.state = 'error';
      }
    },
  };
}

function select(name, options, value, onchange) {
  return h('select', { name, 'aria-label': name, onchange: (e) => onchange(e.target.value) },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

function toolbar(...items) {
  return h('div', { class: 'toolbar' }, items);
}

// ------------------------------------------------------------------------------------ providers

export function providers(root) {
  const f = frame(root, 'Providers', 'Each provider and model the gateway dispatches to, with its circuit state and API keys.');
  const refresh = () => f.load(async () => {
    const page = await api('/api/v1/providers');
    f.messages.replaceChildren();
    f.body.replaceChildren(toolbar(button('Refresh', refresh)), table('providers', [
      { title: 'Provider', cell: (p) => p.provider },
      { title: 'Model', cell: (p) => p.model },
      { title: 'State', cell: (p) => badge(p.state) },
      { title: 'In flight', cell: (p) => p.in_flight ?? '—', class: 'num' },
      { title: 'Latency (ms)', key: 'latency', cell: (p) => (p.latency_ewma_ms == null ? '—' : Math.round(p.latency_ewma_ms)), class: 'num' },
      { title: 'Last probe', key: 'probe', cell: (p) => when(p.last_probe) },
      { title: 'Keys', cell: (p) => (p.keys || []).map((k) => h('span', { class: 'key' }, k.id + ' ', badge(k.state),
        k.cooldown_until ? [' until ', when(k.cooldown_until)] : null)) },
    ], page.data || [], { empty: 'No providers are configured.', idOf: (p) => p.provider + '/' + p.model }));
  });
  refresh();
}

// ---------------------------------------------------------------------------------------- queue

const TASK_STATUSES = ['failed', 'queued', 'running', 'cancelled', 'succeeded'];
const COUNT_LIMIT = 1000;
const TASK_PAGE = 100;

export function queue(root) {
  const f = frame(root, 'Queue', 'Tasks waiting, running and failed. A failed or cancelled task can be retried; a queued or running one cancelled.');
  let status = 'failed';
  // the API pages newest first: the cursors of the newer pages already seen, and this page's
  const cursors = [];
  let cursor = null;
  const count = async (s) => {
    const page = await api('/api/v1/tasks' + query({ status: s, limit: COUNT_LIMIT }));
    const n = (page.data || []).length;
    return n >= COUNT_LIMIT ? COUNT_LIMIT + '+' : String(n);
  };
  const act = async (task, verb) => {
    await api(`/api/v1/tasks/${encodeURIComponent(task.id)}/${verb}`, { method: 'POST' });
    await refresh();
    f.say('good', `Task ${task.id}: ${verb === 'retry' ? 'queued again' : 'cancelled'}.`);
  };
  const refresh = () => f.load(async () => {
    const [queued, running, failed, page] = await Promise.all([
      count('queued'), count('running'), count('failed'), api('/api/v1/tasks' + query({ status, limit: TASK_PAGE, cursor }))]);
    f.messages.replaceChildren();
    const tile = (name, value) => h('div', { class: 'tile', 'data-tile': name }, h('span', { class: 'tile-value' }, value), h('span', { class: 'tile-name' }, name));
    f.body.replaceChildren(
      h('div', { class: 'tiles' }, tile('queued', queued), tile('running', running), tile('failed', failed)),
      toolbar(h('label', null, 'Show ', select('status', TASK_STATUSES.map((s) => [s, s]), status, (v) => { status = v; cursor = null; cursors.length = 0; refresh(); })),
        button('Refresh', refresh),
        cursors.length ? button('Newer', () => { cursor = cursors.pop(); return refresh(); }, { 'data-action': 'newer' }) : null,
        page.next_cursor ? button('Older', () => { cursors.push(cursor); cursor = page.next_cursor; return refresh(); }, { 'data-action': 'older' }) : null),
      table('tasks', [
        { title: 'Task', cell: (t) => h('code', null, t.id) },
        { title: 'Status', cell: (t) => badge(t.status) },
        { title: 'Input', cell: (t) => compact(t.input, 100) },
        { title: 'Error', cell: (t) => compact(t.error, 120) },
        { title: 'Attempts', cell: (t) => t.attempts ?? '—', class: 'num' },
        { title: 'Updated', cell: (t) => when(t.updated_at || t.created_at) },
        { title: 'Actions', cell: (t) => [
          ['failed', 'cancelled'].includes(t.status) ? button('Retry', () => act(t, 'retry').catch((e) => f.say('bad', e.message)), { 'data-action': 'retry' }) : null,
          ['queued', 'running'].includes(t.status) ? button('Cancel', () => act(t, 'cancel').catch((e) => f.say('bad', e.message)), { 'data-action': 'cancel' }) : null,
        ] },
      ], page.data || [], { empty: `No ${status} tasks.` }));
  });
  refresh();
}

// ----------------------------------------------------------------------------------- deliveries

const DELIVERY_FILTERS = [['problems', 'failed and dead'], ['failed', 'failed'], ['dead', 'dead'],
  ['pending', 'pending'], ['delivered', 'delivered'], ['all', 'all']];

/** The deliveries a table shows: the newest of each status asked for. */
const DELIVERIES_SHOWN = 200;
/** The API's largest page, and how many of them one refresh reads at most. */
const DELIVERIES_PAGE = 1000;
const DELIVERIES_PAGES = 20;

/**
 * The newest DELIVERIES_SHOWN deliveries of a status (null: any). The API lists oldest first, so its
 * first page holds the oldest: the pages are read to the end (or to the bound), keeping the last ones.
 */
async function newestDeliveries(status) {
  let rows = [];
  let cursor = null;
  for (let n = 0; n < DELIVERIES_PAGES; n++) {
    const page = await api('/api/v1/deliveries' + query({ status, limit: DELIVERIES_PAGE, cursor }));
    rows = rows.concat(page.data || []).slice(-DELIVERIES_SHOWN);
    cursor = page.next_cursor;
    if (!cursor) return { rows, complete: true };
  }
  return { rows, complete: false };
}

export function deliveries(root) {
  const f = frame(root, 'Deliveries', 'Pushes to chat platforms and webhooks. A failed or dead one can be sent again.');
  let filter = 'problems';
  let timer = null;
  let complete = true;
  const list = async () => {
    const statuses = filter === 'problems' ? ['failed', 'dead'] : filter === 'all' ? [null] : [filter];
    const found = await Promise.all(statuses.map(newestDeliveries));
    complete = found.every((x) => x.complete);
    return found.flatMap((x) => x.rows).sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  };
  /** After a retry: the task's record of the delivery, until it leaves pending (or 30 s pass). */
  const follow = (d, tries = 0) => {
    timer = setTimeout(async () => {
      try {
        const task = await api('/api/v1/tasks/' + encodeURIComponent(d.task_id));
        const now = (task.deliveries || []).find((x) => x.id === d.id);
        if (now && now.status !== 'pending') {
          await refresh();
          f.say(now.status === 'delivered' ? 'good' : 'bad', `Delivery ${d.id} is now ${now.status}.`);
        } else if (tries < 60) {
          follow(d, tries + 1);
        }
      } catch (e) {
        f.say('bad', e.message);
      }
    }, 500);
  };
  const retry = async (d) => {
    try {
      await api(`/api/v1/deliveries/${encodeURIComponent(d.id)}/retry`, { method: 'POST' });
      f.say('info', `Delivery ${d.id}: sent again, waiting for the platform's answer…`);
      if (d.task_id) follow(d);
    } catch (e) {
      f.say('bad', e.message);
    }
  };
  const refresh = () => f.load(async () => {
    const rows = await list();
    f.body.replaceChildren(
      toolbar(h('label', null, 'Show ', select('status', DELIVERY_FILTERS, filter, (v) => { filter = v; f.messages.replaceChildren(); refresh(); })),
        button('Refresh', refresh)),
      table('deliveries', [
        { title: 'Delivery', cell: (d) => h('code', null, d.id) },
        { title: 'Task', cell: (d) => (d.task_id ? h('code', null, d.task_id) : '—') },
        { title: 'Channel', cell: (d) => `${d.channel} / ${d.bot}` },
        { title: 'Status', cell: (d) => badge(d.status) },
        { title: 'Attempts', cell: (d) => d.attempts ?? '—', class: 'num' },
        { title: 'Response', cell: (d) => compact(d.response, 120) },
        { title: 'Updated', cell: (d) => when(d.updated_at || d.created_at) },
        { title: 'Actions', cell: (d) => (['failed', 'dead'].includes(d.status)
          ? button('Retry', () => retry(d), { 'data-action': 'retry' }) : null) },
      ], rows, { empty: filter === 'problems' ? 'No failed or dead deliveries.' : 'No deliveries.' }));
    if (!complete) {
      const read = (DELIVERIES_PAGE * DELIVERIES_PAGES).toLocaleString();
      f.say('info', `More than ${read} deliveries of this status: the console read the oldest ${read} and shows the newest of those; newer ones are not listed here (GET /api/v1/deliveries with its cursor reads them all).`);
    }
  });
  refresh();
  return () => clearTimeout(timer);
}

// --------------------------------------------------------------------------------------- events

const EVENT_TYPES = ['', 'message', 'webhook', 'schedule', 'task', 'delivery', 'provider', 'alert'];

function eventSummary(e) {
  switch (e.type) {
    case 'message':
      return `${e.platform || ''}/${e.bot || ''} ${(e.sender && (e.sender.name || e.sender.id)) || ''}: ${e.text || ''}`;
    case 'webhook':
      return `${e.hook || ''} ${JSON.stringify(e.body ?? null)}`;
    case 'task':
      return `${e.task && e.task.id} ${e.task && e.task.status}`;
    case 'provider':
      return `${e.provider} ${e.state}`;
    default: {
      const { id, type, time, ...rest } = e;
      return JSON.stringify(rest);
    }
  }
}

export function events(root) {
  const f = frame(root, 'Events', 'Inbound events as the rules saw them, newest first. Open one to see all of it.');
  let type = '';
  const cursors = [];
  let cursor = null;
  const refresh = () => f.load(async () => {
    const page = await api('/api/v1/events' + query({ type, limit: 50, cursor }));
    f.body.replaceChildren(
      toolbar(h('label', null, 'Type ', select('type', EVENT_TYPES.map((t) => [t, t || 'any']), type, (v) => { type = v; cursor = null; cursors.length = 0; refresh(); })),
        button('Refresh', refresh),
        cursors.length ? button('Newer', () => { cursor = cursors.pop(); return refresh(); }) : null,
        page.next_cursor ? button('Older', () => { cursors.push(cursor); cursor = page.next_cursor; return refresh(); }) : null),
      table('events', [
        { title: 'Time', cell: (e) => when(e.time) },
        { title: 'Type', cell: (e) => badge(e.type) },
        { title: 'Event', cell: (e) => h('details', null, h('summary', null, compact(eventSummary(e), 160)),
          h('pre', null, JSON.stringify(e, null, 2))) },
      ], page.data || [], { empty: 'No events.' }));
  });
  refresh();
}

// ---------------------------------------------------------------------------------------- rules

const SAMPLE_EVENT = { type: 'webhook', hook: 'ci', body: { status: 'failed', branch: 'main', project: 'switchboard' } };

export function rules(root) {
  const f = frame(root, 'Rules', 'The running rules, a dry run of an event against them (actions are rendered, not executed), and the schedules.');
  const rulesBox = h('div', { 'data-part': 'rules' });
  const eventInput = h('textarea', { name: 'event', rows: 8, spellcheck: 'false', 'aria-label': 'event' });
  eventInput.value = JSON.stringify(SAMPLE_EVENT, null, 2);
  const dryResult = h('div', { 'data-part': 'dry-run' });
  const schedulesBox = h('div', { 'data-part': 'schedules' });
  const dryRun = async () => {
    let event;
    try {
      event = JSON.parse(eventInput.value);
    } catch (e) {
      dryResult.replaceChildren(notice('bad', 'The event is not valid JSON: ' + e.message));
      return;
    }
    try {
      const answer = await api('/api/v1/rules/test', { method: 'POST', body: { event } });
      const rows = answer.data || [];
      dryResult.replaceChildren(table('dry-run', [
        { title: 'Rule', cell: (r) => r.rule },
        { title: 'Matched', cell: (r) => badge(r.matched ? 'matched' : 'no') },
        { title: 'Actions', cell: (r) => ((r.actions || []).length
          ? h('pre', null, JSON.stringify(r.actions, null, 2)) : '—') },
      ], rows, { empty: 'No rules to test.', idOf: (r) => r.rule }));
    } catch (e) {
      dryResult.replaceChildren(notice('bad', e.message));
    }
  };
  f.body.append(h('h3', null, 'Rules'), rulesBox,
    h('h3', null, 'Dry run'), h('form', { class: 'dry-run', onsubmit: (e) => { e.preventDefault(); } },
      h('label', null, 'Event (JSON)', eventInput), toolbar(button('Dry run', dryRun, { 'data-action': 'dry-run' }))), dryResult,
    h('h3', null, 'Schedules'), schedulesBox);
  const refresh = () => f.load(async () => {
    const [set, schedules] = await Promise.all([api('/api/v1/rules'), api('/api/v1/schedules')]);
    rulesBox.replaceChildren(
      h('p', { class: 'meta' }, 'Revision ', h('code', null, String(set.revision ?? '—'))),
      table('rules', [
        { title: 'Rule', cell: (r) => r.name },
        { title: 'On', cell: (r) => compact(r.on, 80) },
        { title: 'If', cell: (r) => compact(r.if, 80) },
        { title: 'Do', cell: (r) => compact(r.do, 100) },
        { title: 'Enabled', cell: (r) => badge(r.enabled === false ? 'disabled' : 'enabled') },
        { title: 'Fired', cell: (r) => r.fired ?? 0, class: 'num' },
        { title: 'Last fired', key: 'last-fired', cell: (r) => when(r.last_fired) },
        { title: 'Last error', key: 'last-error', cell: (r) => compact(r.last_error, 100) },
      ], set.data || [], { empty: 'No rules.', idOf: (r) => r.name }));
    schedulesBox.replaceChildren(table('schedules', [
      { title: 'Rule', cell: (s) => s.rule },
      { title: 'Next fire', key: 'next', cell: (s) => when(s.next_fire) },
      { title: 'Last fire', key: 'last', cell: (s) => when(s.last_fire) },
    ], schedules.data || [], { empty: 'No schedules.', idOf: (s) => s.rule }));
  });
  refresh();
}

// ------------------------------------------------------------------------------------- memories

/** A memory's source ({"channel": "dingtalk", ...} or, from older records, a string) as "key: value, ...". */
function sourceOf(source) {
  if (source == null || source === '') return '—';
  if (typeof source !== 'object') return String(source);
  const parts = Object.entries(source).map(([k, v]) => k + ': ' + (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  return parts.length ? compact(parts.join(', '), 80) : '—';
}

export function memories(root) {
  const f = frame(root, 'Memories', 'Long-term memories of one scope (user:<id>, conversation:<platform>:<id>, agent:<name>, tenant:<id>): search, or list with no query; delete.');
  const scope = h('input', { name: 'scope', required: true, placeholder: 'user:alice', 'aria-label': 'scope' });
  const q = h('input', { name: 'q', placeholder: 'words to search for (empty: list)', 'aria-label': 'query' });
  const results = h('div', { 'data-part': 'memories' });
  const remove = async (m, b) => {
    if (b.dataset.confirm !== 'yes') {
      b.dataset.confirm = 'yes';
      b.textContent = 'Confirm delete';
      return;
    }
    try {
      await api('/api/v1/memories/' + encodeURIComponent(m.id), { method: 'DELETE' });
      b.closest('tr').remove();
      f.say('good', `Memory ${m.id} deleted.`);
    } catch (e) {
      f.say('bad', e.message);
    }
  };
  const search = () => f.load(async () => {
    const s = scope.value.trim();
    if (!s) {
      f.say('bad', 'A scope is needed: memories are always searched within one scope.');
      return;
    }
    const words = q.value.trim();
    const page = words
      ? await api('/api/v1/memories/search' + query({ scope: s, q: words, k: 20 }))
      : await api('/api/v1/memories' + query({ scope: s, limit: 100 }));
    f.messages.replaceChildren();
    results.replaceChildren(table('memories', [
      { title: 'Content', cell: (m) => m.content },
      { title: 'Score', cell: (m) => (m.score == null ? '—' : Number(m.score).toFixed(3)), class: 'num' },
      { title: 'Source', cell: (m) => sourceOf(m.source) },
      { title: 'Created', cell: (m) => when(m.created_at) },
      { title: 'Actions', cell: (m) => button('Delete', (b) => remove(m, b), { 'data-action': 'delete', class: 'danger' }) },
    ], page.data || [], { empty: words ? 'No memory in this scope matches.' : 'No memories in this scope.' }));
  });
  f.body.append(h('form', { class: 'search', onsubmit: (e) => { e.preventDefault(); search(); } },
    h('label', null, 'Scope ', scope), h('label', null, 'Search ', q), h('button', { type: 'submit', 'data-action': 'search' }, 'Search')), results);
  root.dataset.state = 'ready';
}

// ---------------------------------------------------------------------------------------- usage

const USAGE_BY = [['model', 'model'], ['subject', 'subject'], ['provider', 'provider'], ['key', 'key']];

export function usage(root) {
  const f = frame(root, 'Usage', 'Requests, tokens and cost since the gateway started, per model, subject, provider or key.');
  let by = 'model';
  const refresh = () => f.load(async () => {
    const page = await api('/api/v1/usage' + query({ by }));
    const rows = page.data || [];
    f.body.replaceChildren(
      toolbar(h('label', null, 'Per ', select('by', USAGE_BY, by, (v) => { by = v; refresh(); })), button('Refresh', refresh)),
      h('p', { class: 'meta' }, 'Since ', when(page.since)),
      rows.length ? h('figure', null, barChart(rows.map((r) => ({ label: String(r[by] ?? '—'), value: r.total_tokens || 0 })),
        { title: `Total tokens per ${by}`, format: (v) => v.toLocaleString() + ' tok' }), h('figcaption', null, `Total tokens per ${by}`)) : null,
      table('usage', [
        { title: by[0].toUpperCase() + by.slice(1), key: 'name', cell: (r) => String(r[by] ?? '—') },
        { title: 'Requests', cell: (r) => r.requests ?? 0, class: 'num' },
        { title: 'Prompt tokens', key: 'prompt', cell: (r) => r.prompt_tokens ?? 0, class: 'num' },
        { title: 'Completion tokens', key: 'completion', cell: (r) => r.completion_tokens ?? 0, class: 'num' },
        { title: 'Total tokens', key: 'total', cell: (r) => r.total_tokens ?? 0, class: 'num' },
        { title: 'Cost', cell: (r) => (r.cost == null ? '—' : String(r.cost)), class: 'num' },
      ], rows, { empty: 'No usage yet.', idOf: (r) => String(r[by]) }));
  });
  refresh();
}

// -------------------------------------------------------------------------------------- metrics

export const METRICS_INTERVAL_MS = 5000;
const HISTORY = 60;
const SCRAPE_ROUTE = '/metrics';

export function metrics(root) {
  const f = frame(root, 'Live metrics', `From /metrics, read every ${METRICS_INTERVAL_MS / 1000} s while this view is open. Rates are over the last interval; scrapes of /metrics are not counted.`);
  let last = null;
  const rates = [];
  const errors = [];
  let timer = null;
  let stopped = false;
  const tick = () => f.load(async () => {
    const text = await api('/metrics', { raw: true });
    const samples = prom.parse(text);
    const at = Date.now();
    const notScrape = (l) => l.route !== SCRAPE_ROUTE;
    const total = prom.sum(samples, 'vertx_http_server_requests_total', notScrape) || 0;
    const failed = prom.sum(samples, 'vertx_http_server_requests_total', (l) => notScrape(l) && /^5/.test(l.code || '')) || 0;
    let rate = null;
    let errorRate = null;
    if (last) {
      const seconds = (at - last.at) / 1000;
      const dTotal = Math.max(0, total - last.total);
      rate = seconds > 0 ? dTotal / seconds : null;
      errorRate = dTotal > 0 ? (Math.max(0, failed - last.failed) / dTotal) * 100 : 0;
    }
    last = { at, total, failed };
    rates.push(rate);
    errors.push(errorRate);
    if (rates.length > HISTORY) { rates.shift(); errors.shift(); }
    const depth = prom.sum(samples, 'switchboard_queue_depth');
    const running = prom.sum(samples, 'switchboard_queue_running');
    const oldest = prom.max(samples, 'switchboard_queue_oldest_age_seconds');
    const up = samples.filter((s) => s.name === 'switchboard_provider_up');
    const tile = (name, value, chart) => h('div', { class: 'tile', 'data-tile': name },
      h('span', { class: 'tile-value' }, value), h('span', { class: 'tile-name' }, name), chart || null);
    const fmt = (v, digits, unit) => (v == null ? '—' : v.toFixed(digits) + unit);
    f.messages.replaceChildren();
    f.body.replaceChildren(
      h('div', { class: 'tiles' },
        tile('request rate', fmt(rate, 2, ' /s'), sparkline(rates, { title: 'requests per second' })),
        tile('error rate', fmt(errorRate, 1, ' %'), sparkline(errors, { title: '5xx share of responses' })),
        tile('queue depth', depth == null ? '—' : String(depth)),
        tile('running', running == null ? '—' : String(running)),
        tile('oldest queued', fmt(oldest, 0, ' s'))),
      h('h3', null, 'Providers up'),
      table('provider-up', [
        { title: 'Provider', cell: (s) => s.labels.provider || '—' },
        { title: 'Up', cell: (s) => badge(s.value >= 1 ? 'up' : 'down') },
      ], up, { empty: 'No provider metrics yet.', idOf: (s) => s.labels.provider }),
      h('p', { class: 'meta' }, 'Read at ', when(at)));
  }).finally(() => {
    if (!stopped) timer = setTimeout(tick, METRICS_INTERVAL_MS);
  });
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export const VIEWS = [
  ['providers', 'Providers', providers],
  ['queue', 'Queue', queue],
  ['deliveries', 'Deliveries', deliveries],
  ['events', 'Events', events],
  ['rules', 'Rules', rules],
  ['memories', 'Memories', memories],
  ['usage', 'Usage', usage],
  ['metrics', 'Metrics', metrics],
];
