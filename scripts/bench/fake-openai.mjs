// The Node fake upstream for scripts/bench-proxy.sh (UPSTREAM=node, the default): an
// OpenAI-compatible model server with no dependencies (Node 20+), answering as
// src/test/java/dev/switchboard/testing/FakeUpstream.java does, byte for byte in shape:
//
//   node scripts/bench/fake-openai.mjs --host 127.0.0.1 --port 18800
//
//   GET  /v1/models             the model list (fake-model, fake-model-2)
//   POST /v1/chat/completions   "echo: <last user message>" as a chat.completion, or with
//                               "stream": true as chat.completion.chunk events: the role, the
//                               words of the reply, the finish, then data: [DONE]
//
// Prints "fake upstream listening on http://HOST:PORT/v1" once it listens. It is the upstream a
// user's gateway is likely to sit in front of (a Node or Python server), and it is slower than
// the Java fake, so the ratio it gives is what users see.
import { createServer } from 'node:http';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const host = args.host ?? '127.0.0.1';
const port = Number(args.port ?? 18800);

const MODELS = JSON.stringify({
  object: 'list',
  data: ['fake-model', 'fake-model-2'].map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })),
});
let counter = 0;

function lastUserText(messages) {
  for (let i = (messages?.length ?? 0) - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '');
  }
  return '';
}

const words = (s) => s.trim().split(/\s+/).filter(Boolean).length;

function chunk(id, created, model, delta, finish) {
  return 'data: ' + JSON.stringify({
    id, object: 'chat.completion.chunk', created, model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }) + '\n\n';
}

function chat(req, res, raw) {
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"invalid JSON","type":"invalid_request_error"}}');
    return;
  }
  const model = body.model ?? 'fake-model';
  const prompt = lastUserText(body.messages);
  const reply = 'echo: ' + prompt;
  const id = 'chatcmpl-' + (++counter);
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: words(prompt), completion_tokens: words(reply), total_tokens: words(prompt) + words(reply) };
  if (body.stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let out = chunk(id, created, model, { role: 'assistant', content: '' }, null);
    const pieces = reply.split(/(?<= )/);
    for (const piece of pieces) out += chunk(id, created, model, { content: piece }, null);
    out += chunk(id, created, model, {}, 'stop');
    if (body.stream_options?.include_usage === true) {
      out += 'data: ' + JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }) + '\n\n';
    }
    res.end(out + 'data: [DONE]\n\n');
    return;
  }
  const answer = JSON.stringify({
    id, object: 'chat.completion', created, model,
    choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
  res.end(answer);
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(MODELS) });
    res.end(MODELS);
    return;
  }
  if (req.method === 'POST' && path === '/v1/chat/completions') {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => chat(req, res, Buffer.concat(parts).toString('utf8')));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
});
server.listen(port, host, () => console.log(`fake upstream listening on http://${host}:${port}/v1`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
