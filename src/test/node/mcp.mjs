// The official MCP TypeScript SDK as a client of Switchboard's /mcp, connected as its README shows:
//   node mcp.mjs <url, e.g. http://127.0.0.1:18789/mcp> <token>
// Lists the tools, calls submit_task and get_task, calls a tool with a bad argument and an unknown
// tool, ends the session (and asks whether the server forgot it), and prints one JSON line of what
// it saw (McpTypeScriptSdkIT checks it).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: 'switchboard-it', version: '1.0.0' });
await client.connect(transport);

const sessionId = transport.sessionId;
const protocolVersion = transport.protocolVersion;
const tools = await client.listTools();
const submitted = await client.callTool({ name: 'submit_task', arguments: { input: 'say hello', model: 'fake-model' } });
const id = submitted.structuredContent?.id;
let task = null;
for (let i = 0; i < 300; i++) {
  const got = await client.callTool({ name: 'get_task', arguments: { id } });
  task = got.structuredContent;
  if (task && ['succeeded', 'failed', 'cancelled'].includes(task.status)) break;
  await new Promise((r) => setTimeout(r, 100));
}
const bad = await client.callTool({ name: 'submit_task', arguments: { input: 'x', priority: 'urgent' } });
let unknown = null;
try {
  await client.callTool({ name: 'format_disk', arguments: {} });
} catch (e) {
  unknown = { code: e.code ?? null, message: e.message };
}
await transport.terminateSession();
const ended = transport.sessionId === undefined;
await client.close();
// the SDK forgets the id after a 405 too (a server that keeps sessions forever): ask the server itself
const afterEnd = (await fetch(url, {
  method: 'POST',
  headers: {
    Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': protocolVersion,
  },
  body: JSON.stringify({ jsonrpc: '2.0', id: 'after-end', method: 'ping' }),
})).status;

console.log(JSON.stringify({
  server: client.getServerVersion(),
  protocolVersion,
  sessionId,
  tools: tools.tools.map((t) => ({ name: t.name, schemaType: t.inputSchema?.type })),
  submitted: { isError: submitted.isError ?? false, structured: submitted.structuredContent, text: submitted.content?.[0]?.text },
  task,
  bad: { isError: bad.isError ?? false, text: bad.content?.[0]?.text },
  unknown,
  ended,
  afterEnd,
}));
