package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code /mcp} spoken to as an MCP client speaks the streamable HTTP transport (JSON-RPC over POST,
 * {@code Mcp-Session-Id}, {@code MCP-Protocol-Version}), against a whole gateway with a fake model
 * and a fake webhook receiver as the bot.
 */
@DisplayName("MCP server at /mcp")
class McpServerTest {

  static Vertx client;
  static WebClient web;
  static FakePlatform hook;
  static TestGateway gateway;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    client = Vertx.vertx();
    web = WebClient.create(client);
    FakeUpstream upstream = FakeUpstream.start(client).await(10, TimeUnit.SECONDS);
    hook = FakePlatform.start(client, "{}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            webhooks:
              - name: "erp"
                url: "%s"
                secret: "hook-secret-0123456789"
            """.formatted(hook.url("/erp"))).start();
    token = gateway.token("alice");
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    client.close().await(10, TimeUnit.SECONDS);
  }

  // ---------------------------------------------------------------------------------------------
  // lifecycle

  @Test
  @DisplayName("initialize agrees on 2025-06-18, announces the tools capability and issues a session id")
  void initializeIssuesASession() throws Exception {
    HttpResponse<Buffer> r = post(null, token, initialize("2025-06-18"));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertTrue(r.getHeader("Content-Type").startsWith("application/json"));
    String session = r.getHeader("Mcp-Session-Id");
    assertNotNull(session);
    assertTrue(session.matches("[\\x21-\\x7e]+"), session);
    JsonObject result = r.bodyAsJsonObject().getJsonObject("result");
    assertEquals("2025-06-18", result.getString("protocolVersion"));
    assertNotNull(result.getJsonObject("capabilities").getJsonObject("tools"));
    assertEquals("switchboard", result.getJsonObject("serverInfo").getString("name"));
  }

  @Test
  @DisplayName("an older client gets the version it asked for; an unknown version gets the newest we speak")
  void versionNegotiation() throws Exception {
    assertEquals("2024-11-05", post(null, token, initialize("2024-11-05")).bodyAsJsonObject()
        .getJsonObject("result").getString("protocolVersion"));
    assertEquals(McpServerHandler.LATEST, post(null, token, initialize("1999-01-01")).bodyAsJsonObject()
        .getJsonObject("result").getString("protocolVersion"));
  }

  @Test
  @DisplayName("a notification is accepted with 202 and no body")
  void notificationIsAccepted() throws Exception {
    String session = session();
    HttpResponse<Buffer> r = post(session, token, new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/initialized"));
    assertEquals(202, r.statusCode(), r.bodyAsString());
    assertEquals(0, r.body() == null ? 0 : r.body().length());
  }

  @Test
  @DisplayName("ping answers an empty result")
  void pingAnswers() throws Exception {
    JsonObject r = rpc(session(), "ping", null);
    assertEquals(new JsonObject(), r.getJsonObject("result"), r.encode());
  }

  @Test
  @DisplayName("DELETE ends the session: its next request is 404")
  void deleteEndsTheSession() throws Exception {
    String session = session();
    HttpResponse<Buffer> deleted = send(HttpMethod.DELETE, session, token, null);
    assertEquals(204, deleted.statusCode(), deleted.bodyAsString());
    assertEquals(404, post(session, token, request("tools/list", null)).statusCode());
  }

  @Test
  @DisplayName("GET (a server-to-client stream) is 405: this server sends nothing of its own")
  void getIsNotAllowed() throws Exception {
    HttpResponse<Buffer> r = send(HttpMethod.GET, session(), token, null);
    assertEquals(405, r.statusCode(), r.bodyAsString());
    assertTrue(r.getHeader("Allow").contains("POST"));
  }

  @Test
  @DisplayName("another method on /mcp (PUT) is 405 naming the methods there are, not a 404")
  void otherMethodIsNotAllowed() throws Exception {
    HttpResponse<Buffer> r = send(HttpMethod.PUT, session(), token, request("ping", null));
    assertEquals(405, r.statusCode(), r.bodyAsString());
    assertEquals("POST, GET, DELETE", r.getHeader("Allow"));
  }

  // ---------------------------------------------------------------------------------------------
  // transport errors

  @Test
  @DisplayName("no token: 401 in the API's error shape")
  void noTokenIs401() throws Exception {
    HttpResponse<Buffer> r = post(null, null, initialize("2025-06-18"));
    assertEquals(401, r.statusCode());
    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
    assertEquals("authentication_error", error.getString("type"), r.bodyAsString());
    assertEquals("Bearer", r.getHeader("WWW-Authenticate"));
  }

  @Test
  @DisplayName("an unknown session id: 404, the error answering the request's id")
  void unknownSessionIs404() throws Exception {
    JsonObject request = request("tools/list", null);
    HttpResponse<Buffer> r = post(UUID.randomUUID().toString(), token, request);
    assertEquals(404, r.statusCode(), r.bodyAsString());
    assertEquals(McpServerHandler.SESSION_NOT_FOUND, r.bodyAsJsonObject().getJsonObject("error").getInteger("code"));
    assertEquals(request.getString("id"), r.bodyAsJsonObject().getValue("id"), r.bodyAsString());
  }

  @Test
  @DisplayName("another subject's session id: 404, as if it did not exist")
  void anotherSubjectsSessionIs404() throws Exception {
    HttpResponse<Buffer> r = post(session(), gateway.token("mallory"), request("tools/list", null));
    assertEquals(404, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("a request without a session id after initialize: 400, the error answering the request's id")
  void missingSessionIs400() throws Exception {
    JsonObject request = request("tools/list", null);
    HttpResponse<Buffer> r = post(null, token, request);
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("Mcp-Session-Id"));
    assertEquals(request.getString("id"), r.bodyAsJsonObject().getValue("id"), r.bodyAsString());
  }

  @Test
  @DisplayName("malformed JSON: 400 with JSON-RPC parse error -32700 and a null id")
  void malformedJsonIsAParseError() throws Exception {
    HttpResponse<Buffer> r = raw(session(), "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ");
    assertEquals(400, r.statusCode(), r.bodyAsString());
    JsonObject body = r.bodyAsJsonObject();
    assertEquals(-32700, body.getJsonObject("error").getInteger("code"));
    assertTrue(body.containsKey("id") && body.getValue("id") == null, body.encode());
  }

  @Test
  @DisplayName("an object that is no JSON-RPC message: 400 with -32600")
  void notJsonRpcIsAnInvalidRequest() throws Exception {
    HttpResponse<Buffer> r = raw(session(), "{\"hello\": \"world\"}");
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals(-32600, r.bodyAsJsonObject().getJsonObject("error").getInteger("code"));
  }

  @Test
  @DisplayName("a JSON-RPC batch: 400 with -32600 saying batches are not supported")
  void batchIsRefused() throws Exception {
    HttpResponse<Buffer> r = raw(session(), new JsonArray().add(request("ping", null)).encode());
    assertEquals(400, r.statusCode(), r.bodyAsString());
    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
    assertEquals(-32600, error.getInteger("code"));
    assertTrue(error.getString("message").contains("batch"), error.encode());
  }

  @Test
  @DisplayName("a body that is not application/json: 415")
  void otherMediaTypeIs415() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Content-Type", "text/plain").putHeader("Mcp-Session-Id", session())
        .sendBuffer(Buffer.buffer(request("ping", null).encode())).await(10, TimeUnit.SECONDS);
    assertEquals(415, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("initialize without a protocol version: -32602 and no session")
  void initializeWithoutVersionIsInvalidParams() throws Exception {
    HttpResponse<Buffer> r = post(null, token, request("initialize", new JsonObject().put("capabilities", new JsonObject())));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(-32602, r.bodyAsJsonObject().getJsonObject("error").getInteger("code"));
    assertEquals(null, r.getHeader("Mcp-Session-Id"));
  }

  @Test
  @DisplayName("DELETE without a session id: 400")
  void deleteWithoutSessionIs400() throws Exception {
    assertEquals(400, send(HttpMethod.DELETE, null, token, null).statusCode());
  }

  @Test
  @DisplayName("an unsupported MCP-Protocol-Version header: 400")
  void unsupportedProtocolVersionIs400() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Mcp-Session-Id", session()).putHeader("MCP-Protocol-Version", "1999-01-01")
        .putHeader("Accept", "application/json, text/event-stream")
        .sendJsonObject(request("tools/list", null)).await(10, TimeUnit.SECONDS);
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("1999-01-01"));
  }

  @Test
  @DisplayName("a foreign Origin is refused with 403 before anything else")
  void foreignOriginIs403() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Origin", "https://evil.example").putHeader("Accept", "application/json, text/event-stream")
        .sendJsonObject(initialize("2025-06-18")).await(10, TimeUnit.SECONDS);
    assertEquals(403, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("security.cors.origins"));
  }

  @Test
  @DisplayName("a page of the gateway's own loopback address and port is no foreign origin")
  void ownLoopbackOriginIsAccepted() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Origin", "http://127.0.0.1:" + gateway.port()).putHeader("Accept", "application/json, text/event-stream")
        .sendJsonObject(initialize("2025-06-18")).await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("a rebinding page (its own name as Host, a loopback port) is still refused")
  void rebindingPageIsRefused() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Host", "evil.example:" + gateway.port()).putHeader("Origin", "http://evil.example:" + gateway.port())
        .putHeader("Accept", "application/json, text/event-stream")
        .sendJsonObject(initialize("2025-06-18")).await(10, TimeUnit.SECONDS);
    assertEquals(403, r.statusCode(), r.bodyAsString());
  }

  // ---------------------------------------------------------------------------------------------
  // JSON-RPC errors

  @Test
  @DisplayName("an unknown method: 200 with -32601")
  void unknownMethodIsMethodNotFound() throws Exception {
    JsonObject r = rpc(session(), "resources/list", null);
    assertEquals(-32601, r.getJsonObject("error").getInteger("code"), r.encode());
  }

  @Test
  @DisplayName("an unknown tool: -32602 naming it")
  void unknownToolIsInvalidParams() throws Exception {
    JsonObject r = rpc(session(), "tools/call", new JsonObject().put("name", "format_disk").put("arguments", new JsonObject()));
    assertEquals(-32602, r.getJsonObject("error").getInteger("code"), r.encode());
    assertTrue(r.getJsonObject("error").getString("message").contains("format_disk"));
  }

  @Test
  @DisplayName("tools/call without a name: -32602")
  void toolCallWithoutNameIsInvalidParams() throws Exception {
    JsonObject r = rpc(session(), "tools/call", new JsonObject());
    assertEquals(-32602, r.getJsonObject("error").getInteger("code"), r.encode());
  }

  // ---------------------------------------------------------------------------------------------
  // tools

  @Test
  @DisplayName("tools/list names the six tools, each with an object schema for its input")
  void toolsAreListed() throws Exception {
    JsonArray tools = rpc(session(), "tools/list", null).getJsonObject("result").getJsonArray("tools");
    List<String> names = tools.stream().map(t -> ((JsonObject) t).getString("name")).toList();
    assertEquals(List.of("submit_task", "get_task", "push_message", "search_memories", "add_memory", "list_deliveries"), names);
    for (Object t : tools) {
      JsonObject tool = (JsonObject) t;
      assertEquals("object", tool.getJsonObject("inputSchema").getString("type"), tool.encode());
      assertFalse(tool.getString("description").isBlank());
    }
  }

  @Test
  @DisplayName("submit_task queues a task under the token's subject, and get_task follows it to success")
  void submitTaskThenGetTask() throws Exception {
    String session = session();
    JsonObject submitted = structured(call(session, "submit_task", new JsonObject().put("input", "say hello")
        .put("model", "fake-model")));
    String id = submitted.getString("id");
    assertNotNull(id, submitted.encode());
    JsonObject done = eventually(() -> {
      JsonObject task = structured(call(session, "get_task", new JsonObject().put("id", id)));
      return List.of("succeeded", "failed").contains(task.getString("status")) ? task : null;
    });
    assertEquals("succeeded", done.getString("status"), done.encode());
    assertEquals(id, done.getString("id"));
  }

  @Test
  @DisplayName("submit_task's task is the token's subject's: its idempotency_key is the API's key of that subject, not another's")
  void submitTaskIsTheSubjects() throws Exception {
    String key = "mcp-" + UUID.randomUUID();
    JsonObject args = new JsonObject().put("input", "say hello").put("model", "fake-model").put("idempotency_key", key);
    String id = structured(call(session(), "submit_task", args)).getString("id");
    assertEquals(id, structured(call(session(), "submit_task", args)).getString("id"), "the same key is one task");
    JsonObject body = new JsonObject().put("input", "say hello").put("model", "fake-model").put("idempotency_key", key);
    HttpResponse<Buffer> same = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
        .sendJsonObject(body).await(10, TimeUnit.SECONDS);
    assertEquals(id, same.bodyAsJsonObject().getString("id"), same.bodyAsString());
    HttpResponse<Buffer> other = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("mallory"))
        .sendJsonObject(body).await(10, TimeUnit.SECONDS);
    assertNotNull(other.bodyAsJsonObject().getString("id"), other.bodyAsString());
    assertFalse(id.equals(other.bodyAsJsonObject().getString("id")), "another subject's key is its own");
  }

  @Test
  @DisplayName("a tool's success is JSON text content, the same as its structuredContent")
  void successIsJsonText() throws Exception {
    JsonObject result = call(session(), "list_deliveries", new JsonObject().put("limit", 1));
    assertEquals(false, result.getBoolean("isError"), result.encode());
    JsonObject content = result.getJsonArray("content").getJsonObject(0);
    assertEquals("text", content.getString("type"));
    assertEquals(result.getJsonObject("structuredContent"), new JsonObject(content.getString("text")));
  }

  @Test
  @DisplayName("a client of 2025-03-26 gets the JSON as text only: structuredContent came with 2025-06-18")
  void olderClientGetsNoStructuredContent() throws Exception {
    HttpResponse<Buffer> init = post(null, token, initialize("2025-03-26"));
    assertEquals(200, init.statusCode(), init.bodyAsString());
    JsonObject request = request("tools/call", new JsonObject().put("name", "list_deliveries")
        .put("arguments", new JsonObject().put("limit", 1)));
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Accept", "application/json, text/event-stream")
        .putHeader("Mcp-Session-Id", init.getHeader("Mcp-Session-Id")).putHeader("MCP-Protocol-Version", "2025-03-26")
        .sendJsonObject(request).await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    JsonObject result = r.bodyAsJsonObject().getJsonObject("result");
    assertEquals(false, result.getBoolean("isError"), result.encode());
    assertFalse(result.containsKey("structuredContent"), result.encode());
    assertNotNull(new JsonObject(text(result)).getJsonArray("data"), result.encode());
  }

  @Test
  @DisplayName("bad arguments are an isError result saying what is wrong, not a JSON-RPC error")
  void badArgumentsAreAnErrorResult() throws Exception {
    JsonObject result = call(session(), "submit_task", new JsonObject().put("input", "x").put("priority", "urgent"));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertTrue(text(result).contains("priority"), text(result));
  }

  @Test
  @DisplayName("an argument the schema does not name is an isError result naming it")
  void unknownArgumentIsAnErrorResult() throws Exception {
    JsonObject result = call(session(), "get_task", new JsonObject().put("id", "x").put("verbose", true));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertTrue(text(result).contains("verbose"), text(result));
  }

  @Test
  @DisplayName("a key a channel does not take (a platform message body) is an isError result naming it, not dropped")
  void unknownChannelKeyIsAnErrorResult() throws Exception {
    JsonObject channel = new JsonObject().put("type", "webhook").put("bot", "erp")
        .put("message", new JsonObject().put("text", "{result}"));
    JsonObject result = call(session(), "submit_task", new JsonObject().put("input", "x")
        .put("channels", new JsonArray().add(channel)));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertTrue(text(result).contains("'message'"), text(result));
  }

  @Test
  @DisplayName("get_task holds a client to its own tasks: another client's is an isError result, as an unknown id")
  void anotherClientsTaskIsNotFound() throws Exception {
    String alice = client("alice");
    String bob = client("bob");
    String id = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(alice)
        .sendJsonObject(new JsonObject().put("input", "alice's").put("delay", "1h")).await(10, TimeUnit.SECONDS)
        .bodyAsJsonObject().getString("id");
    for (String[] caller : new String[][] {{bob, "true"}, {alice, "false"}}) {
      HttpResponse<Buffer> init = post(null, caller[0], initialize("2025-06-18"));
      String session = init.getHeader("Mcp-Session-Id");
      HttpResponse<Buffer> r = post(session, caller[0], request("tools/call",
          new JsonObject().put("name", "get_task").put("arguments", new JsonObject().put("id", id))));
      JsonObject result = r.bodyAsJsonObject().getJsonObject("result");
      assertEquals(Boolean.valueOf(caller[1]), result.getBoolean("isError"), result.encode());
    }
  }

  @Test
  @DisplayName("get_task of an unknown id is an isError result")
  void unknownTaskIsAnErrorResult() throws Exception {
    JsonObject result = call(session(), "get_task", new JsonObject().put("id", "task_nope"));
    assertEquals(true, result.getBoolean("isError"), result.encode());
  }

  @Test
  @DisplayName("add_memory stores a fact, with the token's subject as its source, that search_memories then finds in its scope")
  void addThenSearchMemories() throws Exception {
    String session = session();
    String scope = "user:mcp-" + UUID.randomUUID().toString().substring(0, 8);
    JsonObject added = eventually(() -> {
      JsonObject r = call(session, "add_memory", new JsonObject().put("content", "Alice's favourite colour is teal")
          .put("scope", scope));
      if (r.getBoolean("isError") && text(r).contains("not ready")) {
        return null; // long-term memory opens in the background
      }
      return r;
    });
    assertEquals(false, added.getBoolean("isError"), added.encode());
    assertEquals("created", structured(added).getString("status"));
    JsonArray found = structured(call(session, "search_memories", new JsonObject().put("q", "favourite colour")
        .put("scope", scope).put("limit", 3))).getJsonArray("data");
    assertEquals(1, found.size(), found.encode());
    assertTrue(found.getJsonObject(0).getString("content").contains("teal"));
    assertEquals(new JsonObject().put("channel", "mcp").put("user", "alice"), found.getJsonObject(0).getJsonObject("source"),
        found.encode());
  }

  @Test
  @DisplayName("search_memories without a scope is an isError result")
  void searchWithoutScopeIsAnErrorResult() throws Exception {
    JsonObject result = call(session(), "search_memories", new JsonObject().put("q", "x"));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertTrue(text(result).contains("scope"), text(result));
  }

  @Test
  @DisplayName("push_message reaches the bot, and list_deliveries shows its delivery")
  void pushMessageThenListDeliveries() throws Exception {
    String session = session();
    String text = "stock is low " + UUID.randomUUID();
    JsonObject delivery = structured(call(session, "push_message", new JsonObject().put("channel", "webhook")
        .put("bot", "erp").put("text", text)));
    String id = delivery.getString("id");
    assertNotNull(id, delivery.encode());
    eventually(() -> hook.received().stream().anyMatch(r -> r.body().contains(text)) ? true : null);
    JsonObject listed = eventually(() -> {
      JsonArray data = structured(call(session, "list_deliveries", new JsonObject().put("status", "delivered")
          .put("bot", "erp"))).getJsonArray("data");
      return data.stream().map(JsonObject.class::cast).filter(d -> id.equals(d.getString("id"))).findFirst().orElse(null);
    });
    assertEquals("delivered", listed.getString("status"), listed.encode());
  }

  @Test
  @DisplayName("push_message to a bot that is not configured is an isError result naming it")
  void pushToUnknownBotIsAnErrorResult() throws Exception {
    JsonObject result = call(session(), "push_message", new JsonObject().put("channel", "webhook").put("bot", "nobody")
        .put("text", "hi"));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertTrue(text(result).contains("nobody"), text(result));
  }

  // ---------------------------------------------------------------------------------------------
  // a small client

  /** A token with the role client only, signed with the test gateway's secret. */
  static String client(String subject) {
    Vertx v = Vertx.vertx();
    try {
      return dev.switchboard.security.Tokens.issue(dev.switchboard.security.Tokens.auth(v,
              new dev.switchboard.security.JwtSecret(TestGateway.SECRET, "test")), subject, java.time.Duration.ofHours(1),
          new JsonObject().put("roles", new JsonArray().add("client")));
    } finally {
      v.close();
    }
  }

  static JsonObject initialize(String version) {
    return request("initialize", new JsonObject().put("protocolVersion", version).put("capabilities", new JsonObject())
        .put("clientInfo", new JsonObject().put("name", "McpServerTest").put("version", "1")));
  }

  static JsonObject request(String method, JsonObject params) {
    JsonObject r = new JsonObject().put("jsonrpc", "2.0").put("id", UUID.randomUUID().toString()).put("method", method);
    return params == null ? r : r.put("params", params);
  }

  static String session() throws Exception {
    HttpResponse<Buffer> r = post(null, token, initialize("2025-06-18"));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.getHeader("Mcp-Session-Id");
  }

  static JsonObject rpc(String session, String method, JsonObject params) throws Exception {
    JsonObject request = request(method, params);
    HttpResponse<Buffer> r = post(session, token, request);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    JsonObject body = r.bodyAsJsonObject();
    assertEquals(request.getString("id"), body.getString("id"));
    return body;
  }

  static JsonObject call(String session, String tool, JsonObject arguments) throws Exception {
    JsonObject r = rpc(session, "tools/call", new JsonObject().put("name", tool).put("arguments", arguments));
    assertNotNull(r.getJsonObject("result"), r.encode());
    return r.getJsonObject("result");
  }

  static JsonObject structured(JsonObject result) {
    assertEquals(false, result.getBoolean("isError"), result.encode());
    return result.getJsonObject("structuredContent");
  }

  static String text(JsonObject result) {
    return result.getJsonArray("content").getJsonObject(0).getString("text");
  }

  static HttpResponse<Buffer> post(String session, String bearer, JsonObject body) throws Exception {
    return send(HttpMethod.POST, session, bearer, body);
  }

  static HttpResponse<Buffer> send(HttpMethod method, String session, String bearer, JsonObject body) throws Exception {
    HttpRequest<Buffer> r = web.requestAbs(method, gateway.url("/mcp"))
        .putHeader("Accept", "application/json, text/event-stream");
    if (bearer != null) {
      r.bearerTokenAuthentication(bearer);
    }
    if (session != null) {
      r.putHeader("Mcp-Session-Id", session).putHeader("MCP-Protocol-Version", "2025-06-18");
    }
    return (body == null ? r.send() : r.sendJsonObject(body)).await(10, TimeUnit.SECONDS);
  }

  static HttpResponse<Buffer> raw(String session, String body) throws Exception {
    return web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token).putHeader("Content-Type", "application/json")
        .putHeader("Accept", "application/json, text/event-stream").putHeader("Mcp-Session-Id", session)
        .sendBuffer(Buffer.buffer(body)).await(10, TimeUnit.SECONDS);
  }

  interface Probe<T> {
    T get() throws Exception;
  }

  /** The first non-null answer of the probe, asked every 50 ms for up to 30 s. */
  static <T> T eventually(Probe<T> probe) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (true) {
      T t = probe.get();
      if (t != null) {
        return t;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not within 30 s");
      }
      Thread.sleep(50);
    }
  }
}
