// Hand-written SVG charts: elements made with createElementNS, text through textContent, colours
// from console.css by class (the Content-Security-Policy allows no inline style).

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text != null) el.textContent = String(text);
  return el;
}

/** Horizontal bars, one per {label, value}, longest first; `format` writes a value. */
export function barChart(items, { title, format = (v) => String(v) } = {}) {
  const rows = [...items].sort((a, b) => b.value - a.value);
  const rowHeight = 26;
  const labelWidth = 180;
  const valueWidth = 110;
  const barWidth = 420;
  const width = labelWidth + barWidth + valueWidth;
  const height = Math.max(1, rows.length) * rowHeight + 8;
  const top = Math.max(...rows.map((r) => r.value), 0);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'chart', 'data-chart': 'bars' });
  if (title) svg.append(s('title', null, title));
  rows.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    const w = top > 0 ? Math.max(1, Math.round((row.value / top) * barWidth)) : 1;
    const g = s('g', { class: 'bar-row', 'data-label': row.label });
    g.append(s('title', null, `${row.label}: ${format(row.value)}`));
    const label = row.label.length > 26 ? row.label.slice(0, 25) + '…' : row.label;
    g.append(s('text', { x: labelWidth - 8, y: y + 17, 'text-anchor': 'end', class: 'chart-label' }, label));
    g.append(s('rect', { x: labelWidth, y: y + 3, width: w, height: rowHeight - 8, rx: 3, class: 'bar' }));
    g.append(s('text', { x: labelWidth + w + 6, y: y + 17, class: 'chart-value' }, format(row.value)));
    svg.append(g);
  });
  return svg;
}

/** A small line of the last values (nulls are gaps at the start). */
export function sparkline(values, { width = 240, height = 48, title } = {}) {
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'spark', 'data-chart': 'spark' });
  if (title) svg.append(s('title', null, title));
  const points = values.map((v, i) => [i, v]).filter(([, v]) => v != null && Number.isFinite(v));
  if (points.length < 2) return svg;
  const top = Math.max(...points.map(([, v]) => v), 1e-9);
  const step = width / Math.max(1, values.length - 1);
  const d = points.map(([i, v], n) => `${n === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(height - 2 - (v / top) * (height - 4)).toFixed(1)}`).join(' ');
  svg.append(s('path', { d, class: 'spark-line' }));
  return svg;
}
