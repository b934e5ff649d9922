package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Roles, scopes and memory scopes over HTTP, against a whole gateway: each role against one route
 * of each family (the route's own answer, whatever it is, or a 403 that says why), scope
 * narrowing, memory-scope patterns on every route that reads or writes a memory scope, and the
 * MCP tools.
 */
@DisplayName("Roles, scopes and memory scopes over HTTP")
class RolesTest {

  static Vertx client;
  static WebClient web;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    client = Vertx.vertx();
    web = WebClient.create(client);
    FakeUpstream upstream = FakeUpstream.start(client).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    client.close().await(10, TimeUnit.SECONDS);
  }

  /** A token signed with the test gateway's secret, with these claims besides sub and exp. */
  static String token(String subject, JsonObject claims) {
    Vertx v = Vertx.vertx();
    try {
      return Tokens.issue(Tokens.auth(v, new JwtSecret(TestGateway.SECRET, "test")), subject, Duration.ofHours(1), claims);
    } finally {
      v.close();
    }
  }

  static String role(String role) {
    return token(role + "-user", new JsonObject().put("roles", new JsonArray().add(role)));
  }

  /** One request of a family: what it is (for the test's name), and how to send it. */
  record Probe(String name, HttpMethod method, String path, JsonObject body) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final Probe CHAT = new Probe("chat: GET /v1/models", HttpMethod.GET, "/v1/models", null);
  static final Probe TASKS = new Probe("tasks: GET /api/v1/tasks", HttpMethod.GET, "/api/v1/tasks", null);
  static final Probe MEMORIES_READ = new Probe("memories:read: GET /api/v1/memories/mem_none", HttpMethod.GET,
      "/api/v1/memories/mem_00000000000000000000000000000000", null);
  static final Probe MEMORIES_WRITE = new Probe("memories:write: DELETE /api/v1/memories/mem_none", HttpMethod.DELETE,
      "/api/v1/memories/mem_00000000000000000000000000000000", null);
  static final Probe DELIVERIES = new Probe("deliveries: GET /api/v1/deliveries", HttpMethod.GET, "/api/v1/deliveries", null);
  static final Probe ADMIN_READ = new Probe("admin read: GET /api/v1/providers", HttpMethod.GET, "/api/v1/providers", null);
  // a body the rules API refuses (400), so that an allowed request changes nothing
  static final Probe ADMIN_CHANGE = new Probe("admin change: PUT /api/v1/rules", HttpMethod.PUT, "/api/v1/rules",
      new JsonObject().put("rules", 1));
  static final Probe MCP = new Probe("mcp: POST /mcp initialize", HttpMethod.POST, "/mcp", new JsonObject()
      .put("jsonrpc", "2.0").put("id", 1).put("method", "initialize").put("params", new JsonObject()
          .put("protocolVersion", "2025-06-18").put("capabilities", new JsonObject())
          .put("clientInfo", new JsonObject().put("name", "RolesTest").put("version", "1"))));
  static final List<Probe> FAMILIES = List.of(CHAT, TASKS, MEMORIES_READ, MEMORIES_WRITE, DELIVERIES, ADMIN_READ, ADMIN_CHANGE, MCP);

  static Stream<Arguments> eachRoleAgainstEachFamily() {
    List<Probe> client = List.of(CHAT, TASKS, MEMORIES_READ, MEMORIES_WRITE, MCP);
    List<Probe> operator = List.of(CHAT, TASKS, MEMORIES_READ, MEMORIES_WRITE, DELIVERIES, ADMIN_READ, MCP);
    List<Arguments> cases = new ArrayList<>();
    for (Probe p : FAMILIES) {
      cases.add(Arguments.of("admin", p, true));
      cases.add(Arguments.of("operator", p, operator.contains(p)));
      cases.add(Arguments.of("client", p, client.contains(p)));
    }
    return cases.stream();
  }

  static HttpResponse<Buffer> send(Probe p, String token) throws Exception {
    HttpRequest<Buffer> r = web.requestAbs(p.method(), gateway.url(p.path())).bearerTokenAuthentication(token)
        .putHeader("Accept", "application/json, text/event-stream");
    return (p.body() == null ? r.send() : r.sendJsonObject(p.body())).await(30, TimeUnit.SECONDS);
  }

  static void assertAllowed(HttpResponse<Buffer> r) {
    assertNotEquals(403, r.statusCode(), r.bodyAsString());
    assertNotEquals(401, r.statusCode(), r.bodyAsString());
  }

  /** A 403 in OpenAI's error shape whose message contains {@code says}. */
  static void assertForbidden(HttpResponse<Buffer> r, String code, String says) {
    assertEquals(403, r.statusCode(), r.bodyAsString());
    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
    assertEquals("permission_error", error.getString("type"), r.bodyAsString());
    assertEquals(code, error.getString("code"), r.bodyAsString());
    assertTrue(error.getString("message").contains(says), r.bodyAsString());
  }

  @ParameterizedTest(name = "{0} on {1}: allowed {2}")
  @MethodSource
  void eachRoleAgainstEachFamily(String role, Probe probe, boolean allowed) throws Exception {
    HttpResponse<Buffer> r = send(probe, role(role));
    if (allowed) {
      assertAllowed(r);
    } else {
      assertForbidden(r, "forbidden", "token for '" + role + "-user' with roles " + role + " may not");
    }
  }

  @Test
  @DisplayName("a token without roles (legacy_tokens: true, the shipped default) may use every family")
  void legacyTokenUsesEveryFamily() throws Exception {
    String legacy = gateway.token("old-client");
    for (Probe p : FAMILIES) {
      assertAllowed(send(p, legacy));
    }
  }

  @Test
  @DisplayName("an unknown path under /api is still 404 for a client (after its token and role are checked)")
  void unknownApiPathForAClient() throws Exception {
    HttpResponse<Buffer> r = send(new Probe("", HttpMethod.GET, "/v1/nothing", null), role("client"));
    assertEquals(404, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("a token whose roles claim is not an array of strings is refused with 401, not let through")
  void malformedRolesClaim() throws Exception {
    HttpResponse<Buffer> r = send(CHAT, token("x", new JsonObject().put("roles", "admin")));
    assertEquals(401, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("'roles' must be an array of strings"), r.bodyAsString());
  }

  // ---------------------------------------------------------------------------------------------
  // scope

  @Test
  @DisplayName("scope narrows a role: an admin token with scope 'chat' opens chat and nothing else")
  void scopeNarrowsOverHttp() throws Exception {
    String chatOnly = token("narrow", new JsonObject().put("roles", new JsonArray().add("admin")).put("scope", "chat"));
    assertAllowed(send(CHAT, chatOnly));
    assertForbidden(send(TASKS, chatOnly), "forbidden", "token for 'narrow' has scope 'chat', which does not include 'tasks'");
    assertForbidden(send(ADMIN_READ, chatOnly), "forbidden", "does not include 'admin'");
  }

  // ---------------------------------------------------------------------------------------------
  // memory scopes

  static String limited() {
    return token("alice", new JsonObject().put("roles", new JsonArray().add("client"))
        .put("memory_scopes", new JsonArray().add("user:alice").add("tenant:acme:*")));
  }

  static HttpResponse<Buffer> get(String path, String token) throws Exception {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await(60, TimeUnit.SECONDS);
  }

  static HttpResponse<Buffer> post(String path, String token, JsonObject body) throws Exception {
    return web.postAbs(gateway.url(path)).bearerTokenAuthentication(token).sendJsonObject(body).await(60, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("listing memories: a scope within the patterns is allowed, wildcard included; another is 403")
  void listWithinPatterns() throws Exception {
    assertAllowed(get("/api/v1/memories?scope=user:alice", limited()));
    assertAllowed(get("/api/v1/memories?scope=tenant:acme:team1", limited()));
    assertForbidden(get("/api/v1/memories?scope=user:bob", limited()), "memory_scope_forbidden",
        "token for 'alice' may not read memory scope 'user:bob' (its memory_scopes: user:alice, tenant:acme:*)");
    assertForbidden(get("/api/v1/memories?scope=tenant:acme", limited()), "memory_scope_forbidden", "'tenant:acme'");
  }

  @Test
  @DisplayName("a search naming one scope outside the patterns is 403 as a whole")
  void searchOutsidePatterns() throws Exception {
    assertForbidden(get("/api/v1/memories/search?q=x&scope=user:alice&scope=user:bob", limited()), "memory_scope_forbidden",
        "may not read memory scope 'user:bob'");
  }

  @Test
  @DisplayName("adding a memory to a scope outside the patterns is 403, and nothing is stored")
  void addOutsidePatterns() throws Exception {
    String content = "bob likes tea " + UUID.randomUUID();
    assertForbidden(post("/api/v1/memories", limited(), new JsonObject().put("content", content).put("scope", "user:bob")),
        "memory_scope_forbidden", "may not write memory scope 'user:bob'");
    JsonArray bobs = get("/api/v1/memories?scope=user:bob", role("admin")).bodyAsJsonObject().getJsonArray("data");
    assertFalse(bobs.encode().contains(content), bobs.encode());
  }

  @Test
  @DisplayName("a memory of another scope can be neither read nor deleted by its id")
  void byIdOutsidePatterns() throws Exception {
    // long-term memory opens its store in the background after start-up
    HttpResponse<Buffer> added;
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    do {
      added = post("/api/v1/memories", role("admin"), new JsonObject().put("content", "bob's locker is 42").put("scope", "user:bob"));
    } while (added.statusCode() == 503 && System.nanoTime() < giveUp && sleep());
    assertEquals(201, added.statusCode(), added.bodyAsString());
    String id = added.bodyAsJsonObject().getString("id");
    assertForbidden(get("/api/v1/memories/" + id, limited()), "memory_scope_forbidden", "may not read memory scope 'user:bob'");
    HttpResponse<Buffer> deleted = web.deleteAbs(gateway.url("/api/v1/memories/" + id)).bearerTokenAuthentication(limited())
        .send().await(30, TimeUnit.SECONDS);
    assertForbidden(deleted, "memory_scope_forbidden", "may not write memory scope 'user:bob'");
    assertEquals(200, get("/api/v1/memories/" + id, role("admin")).statusCode());
  }

  static boolean sleep() throws InterruptedException {
    Thread.sleep(200);
    return true;
  }

  @Test
  @DisplayName("a task's memory_scope outside the patterns is 403; within them the task is queued")
  void taskMemoryScope() throws Exception {
    // far enough ahead that it does not run during the test
    String later = OffsetDateTime.now().plusDays(1).toString();
    assertForbidden(post("/api/v1/tasks", limited(), new JsonObject().put("input", "hi").put("memory_scope", "user:bob")
        .put("run_at", later)), "memory_scope_forbidden", "may not write memory scope 'user:bob'");
    HttpResponse<Buffer> queued = post("/api/v1/tasks", limited(), new JsonObject().put("input", "hi")
        .put("memory_scope", new JsonArray().add("user:alice").add("tenant:acme:ops")).put("run_at", later));
    assertEquals(202, queued.statusCode(), queued.bodyAsString());
  }

  @Test
  @DisplayName("a chat's memory option is held to the patterns too")
  void chatMemoryScope() throws Exception {
    JsonObject chat = new JsonObject().put("model", "fake-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")))
        .put("memory", new JsonObject().put("scope", "user:bob"));
    assertForbidden(post("/v1/chat/completions", limited(), chat), "memory_scope_forbidden", "may not read memory scope 'user:bob'");
  }

  @Test
  @DisplayName("a chat's memory option needs the memories:read scope: a token narrowed to chat cannot recall through it")
  void chatMemoryNeedsMemoriesRead() throws Exception {
    String chatOnly = token("narrow", new JsonObject().put("roles", new JsonArray().add("client")).put("scope", "chat"));
    JsonObject chat = new JsonObject().put("model", "fake-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")))
        .put("memory", new JsonObject().put("scope", "user:bob"));
    assertForbidden(post("/v1/chat/completions", chatOnly, chat), "forbidden",
        "token for 'narrow' has scope 'chat', which does not include 'memories:read'");
    chat.remove("memory");
    assertAllowed(post("/v1/chat/completions", chatOnly, chat));
  }

  @Test
  @DisplayName("a task's memory_scope needs the memories:write scope: a token narrowed to tasks cannot have the agent remember")
  void taskMemoryNeedsMemoriesWrite() throws Exception {
    String tasksOnly = token("narrow", new JsonObject().put("roles", new JsonArray().add("client")).put("scope", "tasks"));
    String later = OffsetDateTime.now().plusDays(1).toString();
    assertForbidden(post("/api/v1/tasks", tasksOnly, new JsonObject().put("input", "hi").put("memory_scope", "user:bob")
        .put("run_at", later)), "forbidden", "token for 'narrow' has scope 'tasks', which does not include 'memories:write'");
    assertEquals(202, post("/api/v1/tasks", tasksOnly, new JsonObject().put("input", "hi").put("run_at", later)).statusCode());
  }

  // ---------------------------------------------------------------------------------------------
  // MCP tools

  static String mcpSession(String token) throws Exception {
    HttpResponse<Buffer> r = send(MCP, token);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.getHeader("Mcp-Session-Id");
  }

  static JsonObject mcp(String token, String session, String method, JsonObject params) throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Accept", "application/json, text/event-stream").putHeader("Mcp-Session-Id", session)
        .putHeader("MCP-Protocol-Version", "2025-06-18")
        .sendJsonObject(new JsonObject().put("jsonrpc", "2.0").put("id", 7).put("method", method).put("params", params))
        .await(30, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonObject("result");
  }

  @Test
  @DisplayName("MCP: a memory tool outside the token's memory scopes is an error result that says why")
  void mcpMemoryToolOutsidePatterns() throws Exception {
    String token = limited();
    JsonObject result = mcp(token, mcpSession(token), "tools/call", new JsonObject().put("name", "search_memories")
        .put("arguments", new JsonObject().put("q", "tea").put("scope", "user:bob")));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertEquals("search_memories: token for 'alice' may not read memory scope 'user:bob' (its memory_scopes: user:alice, "
        + "tenant:acme:*)", result.getJsonArray("content").getJsonObject(0).getString("text"));
  }

  @Test
  @DisplayName("MCP: a client is offered, and may call, only the tools of its families (no deliveries)")
  void mcpToolsFollowTheRole() throws Exception {
    String token = role("client");
    String session = mcpSession(token);
    List<String> names = new ArrayList<>();
    mcp(token, session, "tools/list", new JsonObject()).getJsonArray("tools")
        .forEach(t -> names.add(((JsonObject) t).getString("name")));
    assertEquals(List.of("submit_task", "get_task", "search_memories", "add_memory"), names);
    JsonObject result = mcp(token, session, "tools/call", new JsonObject().put("name", "list_deliveries")
        .put("arguments", new JsonObject()));
    assertEquals(true, result.getBoolean("isError"), result.encode());
    assertTrue(result.getJsonArray("content").getJsonObject(0).getString("text")
        .startsWith("list_deliveries: token for 'client-user' with roles client may not use deliveries routes"), result.encode());
  }
}
