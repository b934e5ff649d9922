// Building the page from data without ever parsing data as markup: every text goes in through
// textContent (a Text node) and every attribute through setAttribute. There is no innerHTML here.

/** An element: attributes (on* keys given a function become listeners), then children (nodes or text). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends nodes, or text for anything else (null and false are skipped). */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    // an object given where text belongs shows as its JSON, not as "[object Object]"
    const text = typeof child === 'object' && !(child instanceof Node) ? JSON.stringify(child) : child;
    el.append(text instanceof Node ? text : document.createTextNode(String(text)));
  }
  return el;
}

/**
 * A table: columns are {title, cell(row) → node or text, class?}; rows get data-id from idOf.
 * With no rows, one cell says `empty`.
 */
export function table(name, columns, rows, { empty = 'Nothing to show.', idOf = (r) => r.id } = {}) {
  const head = h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.title)));
  const body = rows.length === 0
    ? [h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, empty))]
    : rows.map((row) => h('tr', { 'data-id': idOf(row) },
      columns.map((c) => h('td', { class: c.class, 'data-col': c.key || c.title.toLowerCase() }, c.cell(row)))));
  return h('table', { 'data-table': name }, h('thead', null, head), h('tbody', null, body));
}

/** A timestamp (ISO text or epoch millis) in the browser's locale, with the raw value as its tooltip. */
export function when(value) {
  if (value == null || value === '') return '—';
  const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
  if (Number.isNaN(date.getTime())) return String(value);
  return h('time', { datetime: date.toISOString(), title: String(value) }, date.toLocaleString());
}

/** Any value as one line of text, cut to `max` characters (the whole of it in the tooltip). */
export function compact(value, max = 140) {
  if (value == null) return '—';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text.length <= max) return text;
  return h('span', { title: text }, text.slice(0, max - 1) + '…');
}

/** A status word as a badge whose colour says good, bad or neither. */
export function badge(status) {
  const text = status == null ? 'unknown' : String(status);
  const tone = /^(up|closed|ok|healthy|delivered|succeeded|ready|true|yes|matched)$/i.test(text) ? 'good'
    : /^(down|open|failed|dead|error|unhealthy|false|cooldown|disabled)$/i.test(text) ? 'bad'
      : 'neutral';
  return h('span', { class: 'badge ' + tone, 'data-status': text }, text);
}

/** A button that runs an async action once at a time, disabled while it runs. */
export function button(label, action, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    if (b.disabled) return;
    b.disabled = true;
    try {
      await action(b);
    } finally {
      if (b.isConnected) b.disabled = false;
    }
  });
  return b;
}

/** A message line: tone is info, good or bad. */
export function notice(tone, text) {
  return h('p', { class: 'notice ' + tone, role: tone === 'bad' ? 'alert' : 'status' }, text);
}
