// Reading the Prometheus text format (what GET /metrics answers) into samples, and summing them.

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** [{name, labels, value}] for every sample line; comments and lines it cannot read are skipped. */
export function parse(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(LABEL)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: value(m[3]) });
  }
  return samples;
}

function value(text) {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** The sum of the samples named `name` whose labels pass `where` (no samples: null). */
export function sum(samples, name, where = () => true) {
  let total = null;
  for (const s of samples) {
    if (s.name === name && where(s.labels) && Number.isFinite(s.value)) total = (total || 0) + s.value;
  }
  return total;
}

/** The largest of them (no samples: null). */
export function max(samples, name) {
  let top = null;
  for (const s of samples) {
    if (s.name === name && Number.isFinite(s.value)) top = top == null ? s.value : Math.max(top, s.value);
  }
  return top;
}
