package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.NodeClient;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The official MCP TypeScript SDK ({@code @modelcontextprotocol/sdk}, pinned in
 * {@code src/test/node/package-lock.json}, installed by {@code scripts/test.sh} with {@code npm ci})
 * as the client of a gateway's {@code /mcp}: its {@code StreamableHTTPClientTransport} with the
 * bearer header, as an IDE or agent would connect. Missing Node or a missing install fails the
 * test rather than skipping it.
 */
@DisplayName("/mcp with the official MCP TypeScript SDK")
class McpTypeScriptSdkIT {


  Vertx vertx;
  TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await();
  }

  @Test
  @DisplayName("the SDK connects, lists the tools, submits a task and follows it to success, and ends its session")
  void theSdkDrivesTheTools() throws Exception {
    JsonObject seen = NodeClient.run("mcp.mjs", "@modelcontextprotocol/sdk", gateway.url("/mcp"), gateway.token("ts-sdk"));

    assertEquals("switchboard", seen.getJsonObject("server").getString("name"), seen.encode());
    assertEquals(McpServerHandler.LATEST, seen.getString("protocolVersion"), "the SDK offers 2025-11-25 and settles on ours");
    assertNotNull(seen.getString("sessionId"));

    JsonArray tools = seen.getJsonArray("tools");
    assertEquals(List.of("submit_task", "get_task", "push_message", "search_memories", "add_memory", "list_deliveries"),
        tools.stream().map(t -> ((JsonObject) t).getString("name")).toList());
    tools.forEach(t -> assertEquals("object", ((JsonObject) t).getString("schemaType")));

    JsonObject submitted = seen.getJsonObject("submitted");
    assertEquals(false, submitted.getBoolean("isError"), submitted.encode());
    String id = submitted.getJsonObject("structured").getString("id");
    assertEquals(id, new JsonObject(submitted.getString("text")).getString("id"));

    JsonObject task = seen.getJsonObject("task");
    assertEquals(id, task.getString("id"));
    assertEquals("succeeded", task.getString("status"), task.encode());

    JsonObject bad = seen.getJsonObject("bad");
    assertEquals(true, bad.getBoolean("isError"), bad.encode());
    assertTrue(bad.getString("text").contains("priority"), bad.getString("text"));

    JsonObject unknown = seen.getJsonObject("unknown");
    assertNotNull(unknown, "an unknown tool should be a JSON-RPC error the SDK throws");
    assertEquals(-32602, unknown.getInteger("code"), unknown.encode());

    assertEquals(true, seen.getBoolean("ended"), "terminateSession (DELETE /mcp) should have succeeded");
    assertEquals(404, seen.getInteger("afterEnd"), "the ended session's id should be unknown to the server");
  }
}
