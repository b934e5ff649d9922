package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * MCP tool servers as skills, against the reference servers from npm (pinned in
 * {@code src/test/node/package-lock.json}, installed by {@code scripts/test.sh}):
 * {@code server-everything} over stdio and over streamable HTTP, {@code server-filesystem} in a
 * temp folder. The model is a scripted fake that calls the tools; everything else is the real
 * gateway. Without Node or the packages the test fails.
 */
@DisplayName("MCP servers as skills")
class McpClientIT {

  static final Path NODE_MODULES = Path.of("src", "test", "node", "node_modules", "@modelcontextprotocol").toAbsolutePath();
  static final Path EVERYTHING = NODE_MODULES.resolve("server-everything/dist/index.js");
  static final Path FILESYSTEM = NODE_MODULES.resolve("server-filesystem/dist/index.js");
  static final Path CHANGING = Path.of("src", "test", "node", "mcp-changing-tools.mjs").toAbsolutePath();

  static Vertx fakes;
  static WebClient web;
  static FakeUpstream upstream;
  static TestGateway gateway;
  static Path folder;
  static int httpPort;
  static Process httpServer;

  @BeforeAll
  static void start() throws Exception {
    for (Path script : List.of(EVERYTHING, FILESYSTEM, NODE_MODULES.resolve("sdk/package.json"))) {
      if (!Files.isRegularFile(script)) {
        fail(script + " is missing: run `npm ci --prefix src/test/node` (scripts/test.sh does)");
      }
    }
    node("--version").waitFor(30, TimeUnit.SECONDS);
    fakes = Vertx.vertx();
    web = WebClient.create(fakes);
    upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
    folder = Files.createTempDirectory("mcp-files").toRealPath();
    Files.writeString(folder.resolve("notes.txt"), "the meeting moved to Thursday");
    httpPort = freePort();
    httpServer = startHttpServer();
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("switchboard.yaml", yaml(
            "{ name: everything, command: node, args: [\"" + EVERYTHING + "\", stdio], ping_interval: 1s,"
                + " env: { SWITCHBOARD_MCP_MARK: from-config } }",
            "{ name: web, url: \"http://127.0.0.1:" + httpPort + "/mcp\", ping_interval: 1s, timeout: 3s }",
            "{ name: files, command: node, args: [\"" + FILESYSTEM + "\", \"" + folder + "\"] }",
            "{ name: changing, command: node, args: [\"" + CHANGING + "\"] }"))
        .start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (httpServer != null) {
      httpServer.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (fakes != null) {
      fakes.close().await(10, TimeUnit.SECONDS);
    }
    if (folder != null) {
      try (var files = Files.walk(folder)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @BeforeEach
  void fresh() {
    upstream.reset();
  }

  @Test
  @DisplayName("a stdio server's tools are listed in GET /api/v1/skills as <server>__<tool>, source mcp, ready")
  void theToolsOfAStdioServerAreListedAsReadyMcpSkills() throws Exception {
    JsonObject echo = awaitState("everything__echo", "ready");
    assertEquals("mcp", echo.getString("source"));
    assertEquals("everything", echo.getString("origin"));
    assertTrue(echo.getString("description").startsWith("Echoes back the input string"), echo.encode());
    assertEquals("string", echo.getJsonObject("parameters").getJsonObject("properties").getJsonObject("message").getString("type"));
    assertFalse(echo.getJsonObject("parameters").containsKey("$schema"), echo.encode());
    awaitState("everything__get-sum", "ready");
  }

  @Test
  @DisplayName("an agent task calls an MCP tool and a built-in in one turn and answers with both results")
  void anAgentTaskCallsAnMcpToolAndABuiltInAndAnswersWithBoth() throws Exception {
    awaitState("everything__echo", "ready");
    upstream.script(toolsThenSummary(List.of(
        call("c1", "everything__echo", new JsonObject().put("message", "hello from the test")),
        call("c2", "current_time", new JsonObject().put("timezone", "UTC")))));
    JsonObject task = run("say hello and tell the time", "everything__echo", "current_time");
    assertEquals("succeeded", task.getString("status"), task.encode());
    String result = task.getString("result");
    assertTrue(result.contains("c1=Echo: hello from the test"), result);
    assertTrue(result.matches("(?s).*c2=\\d{4}-\\d\\d-\\d\\dT.*\\(\\w+DAY, UTC\\).*"), result);
    JsonArray offered = upstream.chatRequests().get(0).getJsonArray("tools");
    assertEquals(List.of("everything__echo", "current_time"), offered.stream()
        .map(t -> ((JsonObject) t).getJsonObject("function").getString("name")).toList());
  }

  @Test
  @DisplayName("an image in a tool's answer reaches the model as a line naming its type and size, between the texts")
  void anImageIsSummarisedBetweenTheTexts() throws Exception {
    awaitState("everything__get-tiny-image", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "everything__get-tiny-image", new JsonObject()))));
    String result = run("show me", "everything__get-tiny-image").getString("result");
    assertTrue(result.matches("c1=Here's the image you requested:\n\\[image/png \\d+ bytes]\nThe image above is the MCP logo."), result);
  }

  @Test
  @DisplayName("a stdio server gets its configured env and none of the gateway's own environment")
  void aStdioServerGetsItsEnvAndNotTheGateways() throws Exception {
    String inherited = System.getenv().keySet().stream()
        .filter(k -> !List.of("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER").contains(k)).findFirst()
        .orElseThrow(() -> new AssertionError("this JVM has no environment variable to look for"));
    awaitState("everything__get-env", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "everything__get-env", new JsonObject()))));
    JsonObject env = new JsonObject(run("what is your env", "everything__get-env").getString("result").substring("c1=".length()));
    assertEquals("from-config", env.getString("SWITCHBOARD_MCP_MARK"), env.encode());
    assertFalse(env.containsKey(inherited), inherited + " leaked into the server's environment: " + env.encode());
    assertEquals(System.getenv("PATH"), env.getString("PATH"));
  }

  @Test
  @DisplayName("a server's tools/list_changed adds its new tool as a skill, ready and callable")
  void aChangedToolListIsPickedUp() throws Exception {
    awaitState("changing__grow", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "changing__grow", new JsonObject()))));
    assertEquals("c1=added extra_1", run("grow", "changing__grow").getString("result"));
    JsonObject extra = awaitState("changing__extra_1", "ready");
    assertEquals("changing", extra.getString("origin"));
    upstream.reset();
    upstream.script(toolsThenSummary(List.of(call("c1", "changing__extra_1", new JsonObject()))));
    assertEquals("c1=extra 1 answered", run("use the new one", "changing__extra_1").getString("result"));
  }

  @Test
  @DisplayName("a streamable HTTP server's tools are skills too and answer calls")
  void aStreamableHttpServerWorksTheSame() throws Exception {
    awaitState("web__get-sum", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "web__get-sum", new JsonObject().put("a", 2).put("b", 40)))));
    JsonObject task = run("add 2 and 40", "web__get-sum");
    assertEquals("succeeded", task.getString("status"), task.encode());
    assertEquals("c1=The sum of 2 and 40 is 42.", task.getString("result"));
  }

  @Test
  @DisplayName("server-filesystem reads a file the test wrote into its folder")
  void theFilesystemServerReadsAFileTheTestWrote() throws Exception {
    awaitState("files__read_text_file", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "files__read_text_file",
        new JsonObject().put("path", folder.resolve("notes.txt").toString())))));
    JsonObject task = run("what do the notes say", "files__read_text_file");
    assertEquals("succeeded", task.getString("status"), task.encode());
    assertEquals("c1=the meeting moved to Thursday", task.getString("result"));
  }

  @Test
  @DisplayName("a tool's error (isError) reaches the model as an error result with the server's text, and the task completes")
  void anMcpToolErrorReachesTheModelAsAnErrorResult() throws Exception {
    awaitState("files__read_text_file", "ready");
    Path outside = Files.createTempFile("mcp-outside", ".txt");
    try {
      upstream.script(toolsThenSummary(List.of(call("c1", "files__read_text_file",
          new JsonObject().put("path", outside.toString())))));
      JsonObject task = run("read the other file", "files__read_text_file");
      assertEquals("succeeded", task.getString("status"), task.encode());
      String toolMessage = toolMessages(upstream.chatRequests().get(upstream.chatRequests().size() - 1)).get(0);
      assertTrue(toolMessage.startsWith("error: "), toolMessage);
      assertTrue(toolMessage.contains("Access denied - path outside allowed directories"), toolMessage);
      assertEquals("c1=" + toolMessage, task.getString("result"));
    } finally {
      Files.deleteIfExists(outside);
    }
  }

  @Test
  @DisplayName("a tool call that outlasts the server's timeout is an error result for the model, and the task completes")
  void aToolCallOverTheTimeoutIsAnErrorResult() throws Exception {
    awaitState("web__trigger-long-running-operation", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "web__trigger-long-running-operation",
        new JsonObject().put("duration", 20).put("steps", 2)))));
    JsonObject task = run("take your time", "web__trigger-long-running-operation");
    assertEquals("succeeded", task.getString("status"), task.encode());
    assertEquals("c1=error: MCP server web did not answer trigger-long-running-operation within 3000ms", task.getString("result"));
  }

  @Test
  @DisplayName("a stdio server whose process is killed is started again and its tools answer")
  void aKilledStdioServerIsStartedAgainAndAnswers() throws Exception {
    awaitState("everything__echo", "ready");
    ProcessHandle before = stdioProcess(EVERYTHING);
    before.destroyForcibly();
    before.onExit().get(10, TimeUnit.SECONDS);
    ProcessHandle after = awaitNewProcess(EVERYTHING, before);
    assertNotEquals(before.pid(), after.pid());
    awaitState("everything__echo", "ready");
    upstream.script(toolsThenSummary(List.of(call("c1", "everything__echo", new JsonObject().put("message", "again")))));
    JsonObject task = run("echo again", "everything__echo");
    assertEquals("c1=Echo: again", task.getString("result"), task.encode());
  }

  @Test
  @DisplayName("an HTTP server that stops makes its skills unavailable; restarted on the same port they are ready and callable again")
  void anHttpServerThatStopsIsUnavailableUntilItIsBack() throws Exception {
    awaitState("web__echo", "ready");
    httpServer.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    JsonObject away = awaitState("web__echo", "unavailable");
    assertEquals("web", away.getString("origin"));
    assertEquals("unavailable", find(skills(), "web__get-sum").getString("state"), "every tool of the server");

    upstream.script(toolsThenSummary(List.of(call("c1", "web__echo", new JsonObject().put("message", "x")))));
    JsonObject refused = run("echo while away", "web__echo");
    assertFalse(upstream.chatRequests().get(0).containsKey("tools"), "an unavailable skill is not offered");
    assertEquals("succeeded", refused.getString("status"), refused.encode());

    httpServer = startHttpServer();
    awaitState("web__echo", "ready");
    upstream.reset();
    upstream.script(toolsThenSummary(List.of(call("c1", "web__echo", new JsonObject().put("message", "back")))));
    JsonObject task = run("echo when back", "web__echo");
    assertEquals("c1=Echo: back", task.getString("result"), task.encode());
  }

  @Test
  @DisplayName("stopping the gateway ends its stdio servers' processes")
  void stoppingTheGatewayEndsItsStdioServers() throws Exception {
    Path own = Files.createTempDirectory("mcp-own");
    try {
      TestGateway other = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
          .file("switchboard.yaml", yaml("{ name: mine, command: node, args: [\"" + FILESYSTEM + "\", \"" + own + "\"] }"))
          .start();
      ProcessHandle child;
      try {
        awaitState(other, "mine__read_text_file", "ready");
        child = stdioProcess(own);
      } finally {
        other.close();
      }
      assertFalse(child.isAlive(), "the stdio server (pid " + child.pid() + ") outlived its gateway");
    } finally {
      Files.deleteIfExists(own);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static String yaml(String... servers) {
    return "queue: { workers: 2 }\nmcp:\n  servers:\n"
        + java.util.Arrays.stream(servers).map(s -> "    - " + s + "\n").collect(Collectors.joining());
  }

  private static Process node(String... args) throws IOException {
    List<String> command = new java.util.ArrayList<>(List.of("node"));
    command.addAll(List.of(args));
    try {
      return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new AssertionError("Node.js is needed for this test and could not be started (" + e.getMessage()
          + "); scripts/test.sh installs it", e);
    }
  }

  /** server-everything over streamable HTTP on {@link #httpPort}; returns once it accepts connections. */
  private static Process startHttpServer() throws Exception {
    ProcessBuilder builder = new ProcessBuilder("node", EVERYTHING.toString(), "streamableHttp")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().put("PORT", String.valueOf(httpPort));
    Process process = builder.start();
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) {
        fail("server-everything streamableHttp exited with " + process.exitValue() + " (port " + httpPort + " taken?)");
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", httpPort), 500);
        return process;
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    process.destroyForcibly();
    throw new AssertionError("server-everything streamableHttp did not listen on " + httpPort + " within 30 s");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The gateway's child process running that script (or serving that folder); the test's own HTTP server is not one. */
  private static ProcessHandle stdioProcess(Path marker) {
    List<ProcessHandle> found = ProcessHandle.current().descendants().filter(p -> isStdio(p, marker)).toList();
    assertEquals(1, found.size(), "processes running " + marker + ": " + found);
    return found.get(0);
  }

  private static boolean isStdio(ProcessHandle p, Path marker) {
    return (httpServer == null || p.pid() != httpServer.pid()) && p.info().commandLine().orElse("").contains(marker.toString());
  }

  private static ProcessHandle awaitNewProcess(Path script, ProcessHandle old) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      var fresh = ProcessHandle.current().descendants()
          .filter(p -> p.pid() != old.pid() && p.isAlive() && isStdio(p, script))
          .findFirst();
      if (fresh.isPresent()) {
        return fresh.get();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no new process for " + script + " within 30 s");
  }

  private static JsonObject awaitState(String skill, String state) throws Exception {
    return awaitState(gateway, skill, state);
  }

  /** Polls GET /api/v1/skills until the skill is listed in that state (bounded: 30 s). */
  private static JsonObject awaitState(TestGateway on, String skill, String state) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    JsonArray last = new JsonArray();
    while (System.currentTimeMillis() < deadline) {
      last = skills(on);
      for (Object o : last) {
        JsonObject s = (JsonObject) o;
        if (skill.equals(s.getString("name")) && state.equals(s.getString("state"))) {
          return s;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError(skill + " not " + state + " within 30 s: " + last.stream()
        .map(o -> ((JsonObject) o).getString("name") + "=" + ((JsonObject) o).getString("state")).toList());
  }

  private static JsonArray skills() throws Exception {
    return skills(gateway);
  }

  private static JsonArray skills(TestGateway on) throws Exception {
    HttpResponse<Buffer> r = web.getAbs(on.url("/api/v1/skills")).bearerTokenAuthentication(on.token("alice"))
        .send().await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data");
  }

  private static JsonObject find(JsonArray skills, String name) {
    return skills.stream().map(JsonObject.class::cast).filter(s -> name.equals(s.getString("name"))).findFirst()
        .orElseThrow(() -> new AssertionError(name + " not listed"));
  }

  /** Submits a task offering these skills and waits for it to finish (bounded: 30 s). */
  private static JsonObject run(String input, String... skills) throws Exception {
    String token = gateway.token("alice");
    HttpResponse<Buffer> submitted = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("input", input).put("model", "fake-model").put("skills", new JsonArray(List.of(skills))))
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, submitted.statusCode(), submitted.bodyAsString());
    String id = submitted.bodyAsJsonObject().getString("id");
    long deadline = System.currentTimeMillis() + 30_000;
    JsonObject task = new JsonObject();
    while (System.currentTimeMillis() < deadline) {
      task = web.getAbs(gateway.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(token).send()
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
      if (List.of("succeeded", "failed", "cancelled").contains(task.getString("status"))) {
        return task;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("task " + id + " did not finish: " + task.encode());
  }

  private static JsonObject call(String id, String name, JsonObject arguments) {
    return new JsonObject().put("id", id).put("type", "function")
        .put("function", new JsonObject().put("name", name).put("arguments", arguments.encode()));
  }

  private static List<String> toolMessages(JsonObject request) {
    return request.getJsonArray("messages").stream().map(JsonObject.class::cast)
        .filter(m -> "tool".equals(m.getString("role"))).map(m -> m.getString("content")).toList();
  }

  /**
   * The model asks for these tools (all in one turn) while it has no tool results, then answers
   * with each result as {@code <call id>=<content>}, one per line: the answer is made of what the
   * tools said.
   */
  private static Function<JsonObject, JsonObject> toolsThenSummary(List<JsonObject> calls) {
    return body -> {
      List<JsonObject> results = body.getJsonArray("messages").stream().map(JsonObject.class::cast)
          .filter(m -> "tool".equals(m.getString("role"))).toList();
      if (results.isEmpty() && body.containsKey("tools")) {
        return new JsonObject().putNull("content").put("tool_calls", new JsonArray(List.copyOf(calls)));
      }
      return new JsonObject().put("content", results.stream()
          .map(m -> m.getString("tool_call_id") + "=" + m.getString("content")).collect(Collectors.joining("\n")));
    };
  }
}
