// A stdio MCP server that answers each ping after a delay (see McpStopIT): argv[2] is the delay in ms,
// argv[3] a file to which the pid is appended for every ping answered, so a test can tell that pings
// slower than the ping interval (but within the timeout) are waited for, not taken as the server's loss.
import { appendFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { PingRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [delay, record] = [Number(process.argv[2]), process.argv[3]];
const server = new McpServer({ name: "slow-ping", version: "1.0.0" });
server.registerTool("echo", { description: "Answers" }, async () => ({ content: [{ type: "text", text: "here" }] }));
server.server.removeRequestHandler("ping");
server.server.setRequestHandler(PingRequestSchema, async () => {
  await new Promise((resolve) => setTimeout(resolve, delay));
  appendFileSync(record, `${process.pid}\n`);
  return {};
});
await server.connect(new StdioServerTransport());
