// A stdio MCP server whose tool list changes while it runs (see McpClientIT): it starts with
// `grow`; each call of `grow` registers one more tool, `extra_<n>`, and the SDK tells the client
// with notifications/tools/list_changed.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const server = new McpServer({ name: "changing-tools", version: "1.0.0" });
let added = 0;
server.registerTool("grow", { description: "Adds one more tool to this server" }, async () => {
  added += 1;
  const n = added;
  server.registerTool(`extra_${n}`, { description: `Tool number ${n} added while running` }, async () => ({
    content: [{ type: "text", text: `extra ${n} answered` }],
  }));
  return { content: [{ type: "text", text: `added extra_${n}` }] };
});
await server.connect(new StdioServerTransport());
