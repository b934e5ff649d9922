// A scripted OpenAI-compatible model for scripts/bench-agent.sh, and the local page its
// http_fetch/web_fetch call reads. No dependencies (Node 20+).
//
//   node fake-model.mjs --port 18810 --page-port 18811 --log target/bench-agent/model.jsonl \
//        --calls scripts/bench/agent/calls.json [--delay-ms 0]
//
// Turn 1 of a run (no tool result after the last user message) is answered with three tool
// calls, turn 2 (tool results present) with a final text. Which three: the first entry of the
// calls file whose tool names are all offered in the request's `tools`, so one fake serves both
// gateways. A request that offers none of the sets is answered 400 naming the tools it offered.
// Both plain and streamed (`stream: true`, SSE) completions.
//
// Every model request and every page request is one JSON line in --log with the run marker
// (`bench-run-<n>` found in the messages or the page's query), the moment the request arrived
// and the moment its answer was written (ms since the epoch, fractional): the time spent here,
// which the driver subtracts from a run to leave the gateway's own overhead.
import { createServer } from 'node:http';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const port = Number(args.port ?? 18810);
const pagePort = Number(args['page-port'] ?? 18811);
const logFile = args.log ?? 'model.jsonl';
const delayMs = Number(args['delay-ms'] ?? 0);
const pageUrl = `http://127.0.0.1:${pagePort}/page`;
const callSets = JSON.parse(readFileSync(args.calls, 'utf8'));
writeFileSync(logFile, '');

// wall-clock milliseconds with sub-millisecond resolution, comparable with Date.now() elsewhere
const now = () => performance.timeOrigin + performance.now();
const record = (entry) => appendFileSync(logFile, JSON.stringify(entry) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function text(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : p?.text ?? '')).join(' ');
  return '';
}

function runOf(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = /bench-run-(\d+)/.exec(text(messages[i].content));
    if (m) return Number(m[1]);
  }
  return null;
}

function toolNames(tools) {
  return (tools ?? []).map((t) => t?.function?.name ?? t?.name).filter(Boolean);
}

// model requests per run: a client that does not send the tool results back (or loops) gets a
// final answer at its fourth request instead of tool calls for ever
const requestsPerRun = new Map();
const MAX_REQUESTS_PER_RUN = 4;

/** The answer for this request: {calls} for turn 1, {content} for turn 2. */
function plan(body, run) {
  const messages = body.messages ?? [];
  const seen = (requestsPerRun.get(run) ?? 0) + 1;
  requestsPerRun.set(run, seen);
  if (seen >= MAX_REQUESTS_PER_RUN) {
    return { turn: seen, looped: true, content: `bench-run-${run} stopped: ${seen} model requests without tool results` };
  }
  // the question is the last user message that names the run: a gateway may add user messages
  // of its own after the tool results (OpenClaw appends its internal context)
  let lastUser = -1;
  messages.forEach((m, i) => { if (m.role === 'user' && /bench-run-\d+/.test(text(m.content))) lastUser = i; });
  const results = messages.slice(lastUser + 1).filter((m) => m.role === 'tool');
  if (results.length > 0) {
    const sizes = results.map((m) => text(m.content).length).join('/');
    return { turn: 2, content: `bench-run-${run} done: ${results.length} tool results (${sizes} chars)` };
  }
  const offered = toolNames(body.tools);
  const set = callSets.find((s) => s.every((c) => offered.includes(c.name)));
  if (!set) return { turn: 1, error: `none of the call sets is offered; offered tools: ${offered.join(', ')}` };
  const calls = set.map((c, i) => ({
    id: `call_${run}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: JSON.stringify(c.arguments).replaceAll('{run}', String(run)).replaceAll('{page}', pageUrl) },
  }));
  return { turn: 1, calls };
}

function completion(body, p) {
  const message = p.calls ? { role: 'assistant', content: null, tool_calls: p.calls } : { role: 'assistant', content: p.content };
  return {
    id: `chatcmpl-bench-${Date.now()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000),
    model: body.model ?? 'bench-model',
    choices: [{ index: 0, message, finish_reason: p.calls ? 'tool_calls' : 'stop' }],
    usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 },
  };
}

function chunks(body, p) {
  const base = { id: `chatcmpl-bench-${Date.now()}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000),
    model: body.model ?? 'bench-model' };
  const out = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
  if (p.calls) {
    p.calls.forEach((c, index) => out.push({ ...base, choices: [{ index: 0, finish_reason: null,
      delta: { tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } }] } }] }));
  } else {
    out.push({ ...base, choices: [{ index: 0, delta: { content: p.content }, finish_reason: null }] });
  }
  out.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: p.calls ? 'tool_calls' : 'stop' }] });
  out.push({ ...base, choices: [], usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 } });
  return out;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

const model = createServer(async (req, res) => {
  const start = now();
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path.endsWith('/models')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model', owned_by: 'bench' }] }));
    return;
  }
  if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
    record({ kind: 'model', start, end: now(), status: 404, path: req.url, method: req.method });
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
    return;
  }
  let body;
  let raw;
  try {
    raw = await readBody(req);
    body = JSON.parse(raw);
  } catch (e) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'body is not JSON' } }));
    return;
  }
  const run = runOf(body.messages ?? []);
  const p = plan(body, run);
  if (delayMs > 0) await sleep(delayMs);
  if (p.error) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: p.error, type: 'invalid_request_error' } }));
    record({ kind: 'model', run, turn: p.turn, start, end: now(), status: 400, error: p.error });
    return;
  }
  const roles = (body.messages ?? []).map((m) => m.role + (m.tool_calls ? `[${m.tool_calls.length}]` : '')).join(',');
  if (process.env.FAKE_MODEL_DUMP) appendFileSync(process.env.FAKE_MODEL_DUMP, JSON.stringify(body) + '\n');
  res.on('finish', () => record({ kind: 'model', run, turn: p.turn, start, end: now(), status: 200, stream: !!body.stream, bytes: Buffer.byteLength(raw), roles, looped: p.looped,
    tools: toolNames(body.tools).length, calls: p.calls ? p.calls.map((c) => c.function.name) : undefined }));
  if (body.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const c of chunks(body, p)) res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end('data: [DONE]\n\n');
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(completion(body, p)));
  }
});

// the page the fetch tool reads: small, plain, with the run in its query string
const page = createServer((req, res) => {
  const start = now();
  const m = /run=(\d+)/.exec(req.url);
  const html = `<html><head><title>bench page</title></head><body><h1>Bench page</h1><p>The answer is 42.</p>`
    + `<p>${'filler text for the page. '.repeat(20)}</p></body></html>`;
  res.on('finish', () => record({ kind: 'page', run: m ? Number(m[1]) : null, start, end: now(), path: req.url }));
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
});

model.listen(port, '127.0.0.1', () => {
  page.listen(pagePort, '127.0.0.1', () => {
    console.log(`fake model listening on http://127.0.0.1:${port}/v1, page on http://127.0.0.1:${pagePort}/page`);
  });
});
const stop = () => { model.close(); page.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
