package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The example plug-ins of {@code examples/plugins}, as the build made them (pre-integration-test),
 * copied into a gateway's {@code conf/plugins} with a catalog computed here: checked, loaded in their
 * own class loaders, listed, used (the skill by an agent task, the provider type by a chat, the
 * channel by a push), refused when the catalog does not vouch for them, and switched off and on.
 */
class PluginJarsIT {

  static final Path EXAMPLES = Path.of("examples", "plugins");
  static final String SKILL = "example-skill";
  static final String PROVIDER = "example-provider";
  static final String CHANNEL = "example-channel";

  static Vertx fakes;
  static FakeUpstream upstream;
  static FakePlatform receiver;
  static WebClient web;
  static Map<String, Path> jars;

  final List<LogRecord> warnings = Collections.synchronizedList(new ArrayList<>());
  final Handler handler = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
        warnings.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  TestGateway gateway;

  @BeforeAll
  static void fakes() throws Exception {
    jars = Map.of(SKILL, built("skill-example"), PROVIDER, built("provider-example"), CHANNEL, built("channel-example"));
    fakes = Vertx.vertx();
    upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
    receiver = FakePlatform.start(fakes, "{}").await(10, TimeUnit.SECONDS);
    web = WebClient.create(fakes);
  }

  @AfterAll
  static void closeFakes() throws Exception {
    upstream.close().await(10, TimeUnit.SECONDS);
    fakes.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void listen() {
    upstream.reset();
    Logger.getLogger(Plugins.class.getName()).addHandler(handler);
  }

  @AfterEach
  void stop() {
    Logger.getLogger(Plugins.class.getName()).removeHandler(handler);
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void theThreeExamplePluginsLoadAndAreListedWithWhatTheyProvide() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    JsonArray data = get("/api/v1/plugins").getJsonArray("data");
    assertEquals(3, data.size(), data.encodePrettily());
    JsonObject skill = find(data, SKILL);
    assertEquals("skill", skill.getString("type"));
    assertEquals("enabled", skill.getString("state"));
    assertEquals("1.0.0", skill.getString("version"));
    assertEquals(Plugins.sha256(jars.get(SKILL)), skill.getString("sha256"));
    assertTrue(skill.getString("file").endsWith("plugins/" + SKILL + ".jar"), skill.getString("file"));
    assertNull(skill.getString("reason"));
    assertEquals(new JsonArray().add("reverse_text"), skill.getJsonArray("provides"));
    assertEquals(new JsonArray().add("openai_tagged"), find(data, PROVIDER).getJsonArray("provides"));
    assertEquals("model-provider", find(data, PROVIDER).getString("type"));
    assertEquals(new JsonArray().add("jsonpost"), find(data, CHANNEL).getJsonArray("provides"));
    assertEquals(List.of(), warnings.stream().map(LogRecord::getMessage).toList());
    JsonObject listed = find(get("/api/v1/skills").getJsonArray("data"), "reverse_text", "name");
    assertEquals("plug-in", listed.getString("source"));
    assertEquals(SKILL, listed.getString("origin"));
  }

  @Test
  void thePluginListNeedsAToken() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    assertEquals(401, web.getAbs(gateway.url("/api/v1/plugins")).send().await(10, TimeUnit.SECONDS).statusCode());
  }

  @Test
  void theSkillPluginIsOfferedToAnAgentTaskAndCalled() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    upstream.script(reverseThenAnswer("stressed"));
    JsonObject task = runTask(new JsonObject().put("input", "reverse it").put("skills", new JsonArray().add("reverse_text")));
    assertEquals("succeeded", task.getString("status"), task.encodePrettily());
    assertEquals("desserts", task.getString("result"));
    assertTrue(offered(upstream.chatRequests().get(0)).contains("reverse_text"));
  }

  @Test
  void theProviderTypePluginServesAChatWithItsOwnHeader() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    HttpResponse<Buffer> chat = web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("alice"))
        .sendJsonObject(new JsonObject().put("model", "fake-model")
            .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello"))))
        .await(20, TimeUnit.SECONDS);
    assertEquals(200, chat.statusCode(), chat.bodyAsString());
    assertEquals("echo: hello", chat.bodyAsJsonObject().getJsonArray("choices").getJsonObject(0).getJsonObject("message")
        .getString("content"));
    assertEquals("switchboard", upstream.chatHeaders().get(upstream.chatHeaders().size() - 1).get("X-Caller"));
    assertTrue(gateway.banner().contains("tagged"), gateway.banner());
  }

  @Test
  void theChannelPluginIsAChannelTypeThatTasksPushTo() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    assertTrue(gateway.banner().contains("jsonpost/j1"), gateway.banner());
    int before = receiver.received().size();
    JsonObject task = runTask(new JsonObject().put("input", "to the channel")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "jsonpost").put("bot", "j1"))));
    assertEquals("succeeded", task.getString("status"), task.encodePrettily());
    long deadline = System.currentTimeMillis() + 15_000;
    while (receiver.received().size() == before && System.currentTimeMillis() < deadline) {
      Thread.sleep(25);
    }
    JsonObject pushed = receiver.received().get(before).json();
    assertEquals("echo: to the channel", pushed.getString("text"));
    assertNotNull(pushed.getString("delivery"));
  }

  @Test
  void aJarWithAWrongChecksumIsRefusedWithOneClearLineAndTheGoodOnesLoad() throws Exception {
    String wrong = "f".repeat(64);
    String catalog = catalog(PROVIDER, CHANNEL) + "  - { id: \"" + SKILL + "\", version: \"1.0.0\", sha256: \"" + wrong + "\" }\n";
    gateway = withAll(catalog).start();
    Path file = gateway.confDir().resolve("plugins/" + SKILL + ".jar").toAbsolutePath().normalize();
    String reason = "SHA-256 mismatch: " + gateway.confDir().resolve("plugins/catalog.yaml").toAbsolutePath().normalize()
        + " expects " + wrong + ", the jar is " + Plugins.sha256(jars.get(SKILL));
    assertEquals(List.of("plug-in jar " + file + " refused (id " + SKILL + "): " + reason),
        warnings.stream().map(LogRecord::getMessage).toList());
    JsonArray data = get("/api/v1/plugins").getJsonArray("data");
    JsonObject refused = find(data, SKILL);
    assertEquals("refused", refused.getString("state"));
    assertEquals(reason, refused.getString("reason"));
    assertEquals(new JsonArray(), refused.getJsonArray("provides"));
    assertEquals("enabled", find(data, PROVIDER).getString("state"));
    assertEquals("enabled", find(data, CHANNEL).getString("state"));
    assertFalse(get("/api/v1/skills").getJsonArray("data").stream().anyMatch(s -> "reverse_text".equals(((JsonObject) s).getString("name"))));
    HttpResponse<Buffer> enable = post("/api/v1/plugins/" + SKILL + "/enable");
    assertEquals(409, enable.statusCode());
    assertEquals("plugin_refused", enable.bodyAsJsonObject().getJsonObject("error").getString("code"));
    assertTrue(enable.bodyAsJsonObject().getJsonObject("error").getString("message").contains(reason));
  }

  @Test
  void withVerifyOffAJarThatIsNotInTheCatalogLoadsAndStartUpSaysSo() throws Exception {
    String shipped = Files.readString(Path.of("conf", "switchboard.yaml"));
    String conf = shipped.replace("\n  verify: true ", "\n  verify: false ");
    assertFalse(conf.equals(shipped), "the shipped switchboard.yaml has plugins.verify: true");
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("switchboard.yaml", conf).copy("plugins/" + SKILL + ".jar", jars.get(SKILL)).start();
    assertEquals(List.of("plugins.verify is false (switchboard.yaml): plug-in jars load without being checked against plugins/catalog.yaml"),
        warnings.stream().map(LogRecord::getMessage).toList());
    assertEquals("enabled", find(get("/api/v1/plugins").getJsonArray("data"), SKILL).getString("state"));
  }

  @Test
  void aJarInTheDataFolderLoadsWithTheCatalogNextToIt() throws Exception {
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
    assertEquals(new JsonArray(), get("/api/v1/plugins").getJsonArray("data"));
    gateway.stop();
    Path folder = Files.createDirectories(gateway.dataDir().resolve("plugins"));
    Files.copy(jars.get(SKILL), folder.resolve(SKILL + ".jar"));
    Files.writeString(folder.resolve("catalog.yaml"), catalog(SKILL));
    gateway.restart();
    JsonObject skill = find(get("/api/v1/plugins").getJsonArray("data"), SKILL);
    assertEquals("enabled", skill.getString("state"));
    assertEquals(folder.resolve(SKILL + ".jar").toAbsolutePath().normalize().toString(), skill.getString("file"));
  }

  @Test
  void disablingTheSkillPluginTakesItAwayNowAndAcrossARestartAndEnablingBringsItBack() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    HttpResponse<Buffer> off = post("/api/v1/plugins/" + SKILL + "/disable");
    assertEquals(200, off.statusCode(), off.bodyAsString());
    assertEquals("now", off.bodyAsJsonObject().getString("applies"));
    assertEquals("disabled", off.bodyAsJsonObject().getString("state"));
    upstream.script(reverseThenAnswer("abc"));
    runTask(new JsonObject().put("input", "reverse it").put("skills", new JsonArray().add("reverse_text")));
    assertFalse(offered(upstream.chatRequests().get(0)).contains("reverse_text"), upstream.chatRequests().get(0).encode());

    gateway.restart();
    assertEquals("disabled", find(get("/api/v1/plugins").getJsonArray("data"), SKILL).getString("state"));
    assertEquals("disabled", find(get("/api/v1/skills").getJsonArray("data"), "reverse_text", "name").getString("state"));

    HttpResponse<Buffer> on = post("/api/v1/plugins/" + SKILL + "/enable");
    assertEquals("now", on.bodyAsJsonObject().getString("applies"));
    upstream.reset();
    upstream.script(reverseThenAnswer("abc"));
    JsonObject task = runTask(new JsonObject().put("input", "reverse it").put("skills", new JsonArray().add("reverse_text")));
    assertEquals("cba", task.getString("result"));
  }

  @Test
  void disablingTheChannelAndProviderPluginsAppliesAtTheNextStart() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    for (String id : List.of(CHANNEL, PROVIDER)) {
      JsonObject off = post("/api/v1/plugins/" + id + "/disable").bodyAsJsonObject();
      assertEquals("next start", off.getString("applies"), off.encode());
      assertEquals("enabled", off.getString("state"));
      assertEquals("disabled", off.getString("next_start"));
    }
    // still running with both until the restart
    assertTrue(gateway.banner().contains("jsonpost/j1"));
    gateway.restart();
    JsonArray data = get("/api/v1/plugins").getJsonArray("data");
    assertEquals("disabled", find(data, CHANNEL).getString("state"));
    assertEquals("disabled", find(data, PROVIDER).getString("state"));
    assertTrue(gateway.banner().contains("tagged (off: plug-in " + PROVIDER + " is disabled"), gateway.banner());
    assertFalse(gateway.banner().contains("jsonpost/j1"), gateway.banner());
    HttpResponse<Buffer> task = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("alice"))
        .sendJsonObject(new JsonObject().put("input", "x").put("model", "plain-model")
            .put("channels", new JsonArray().add(new JsonObject().put("type", "jsonpost").put("bot", "j1"))))
        .await(10, TimeUnit.SECONDS);
    assertEquals(400, task.statusCode(), task.bodyAsString());
    assertTrue(task.bodyAsString().contains("channel type 'jsonpost' is not supported"), task.bodyAsString());
  }

  @Test
  void anUnknownPluginIdIsNotFound() throws Exception {
    gateway = withAll(catalog(SKILL, PROVIDER, CHANNEL)).start();
    HttpResponse<Buffer> r = post("/api/v1/plugins/nope/disable");
    assertEquals(404, r.statusCode());
    assertEquals("plugin_not_found", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
  }

  // ------------------------------------------------------------------ helpers

  /** A gateway whose conf has the three jars, this catalog, a provider of the plug-in type and a bot of the plug-in channel. */
  private static TestGateway.Builder withAll(String catalog) {
    return TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .copy("plugins/" + SKILL + ".jar", jars.get(SKILL))
        .copy("plugins/" + PROVIDER + ".jar", jars.get(PROVIDER))
        .copy("plugins/" + CHANNEL + ".jar", jars.get(CHANNEL))
        .file("plugins/catalog.yaml", catalog)
        .file("model_provider.yaml", """
            providers:
              - name: "tagged"
                type: "openai_tagged"
                endpoint: "${MODEL_ENDPOINT}"
                auth: { type: "api_key", key: "${MODEL_API_KEY}" }
                models: ["*"]
              - name: "plain"
                type: "api_gateway"
                endpoint: "${MODEL_ENDPOINT}"
                auth: { type: "api_key", key: "${MODEL_API_KEY}" }
                models: ["plain-model"]
            default_model: "${MODEL_NAME:-}"
            embeddings: { provider: "local" }
            """)
        .file("channels.yaml", """
            jsonpost:
              - name: "j1"
                url: "%s"
            """.formatted(receiver.url("/jsonpost")));
  }

  /** The catalog that vouches for these example jars as built. */
  private static String catalog(String... ids) {
    StringBuilder yaml = new StringBuilder("plugins:\n");
    for (String id : ids) {
      yaml.append("  - { id: \"").append(id).append("\", version: \"1.0.0\", sha256: \"").append(Plugins.sha256(jars.get(id)))
          .append("\" }\n");
    }
    return yaml.toString();
  }

  /** The jar the build made in examples/plugins/{module}/target. */
  private static Path built(String module) throws IOException {
    Path target = EXAMPLES.resolve(module).resolve("target");
    try (Stream<Path> files = Files.isDirectory(target) ? Files.list(target) : Stream.empty()) {
      return files.filter(f -> f.getFileName().toString().endsWith(".jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no jar in " + target + ": the example plug-ins are built in the"
              + " pre-integration-test phase (mvn verify), or by mvn -f examples/plugins/pom.xml package"));
    }
  }

  /** The model calls reverse_text on {@code text} when offered, then answers with the tool's result; else just answers. */
  private static Function<JsonObject, JsonObject> reverseThenAnswer(String text) {
    return body -> {
      JsonArray messages = body.getJsonArray("messages");
      JsonObject last = messages.getJsonObject(messages.size() - 1);
      if ("tool".equals(last.getString("role"))) {
        return new JsonObject().put("content", last.getString("content"));
      }
      if (!offered(body).contains("reverse_text")) {
        return new JsonObject().put("content", "no tool");
      }
      return new JsonObject().putNull("content").put("tool_calls", new JsonArray().add(new JsonObject().put("id", "c1")
          .put("type", "function").put("function", new JsonObject().put("name", "reverse_text")
              .put("arguments", new JsonObject().put("text", text).encode()))));
    };
  }

  private static List<String> offered(JsonObject body) {
    JsonArray tools = body.getJsonArray("tools", new JsonArray());
    return tools.stream().map(t -> ((JsonObject) t).getJsonObject("function").getString("name")).toList();
  }

  private JsonObject runTask(JsonObject body) throws Exception {
    HttpResponse<Buffer> submitted = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("alice"))
        .sendJsonObject(body).await(10, TimeUnit.SECONDS);
    assertEquals(202, submitted.statusCode(), submitted.bodyAsString());
    String id = submitted.bodyAsJsonObject().getString("id");
    long deadline = System.currentTimeMillis() + 30_000;
    while (true) {
      JsonObject task = get("/api/v1/tasks/" + id);
      String status = task.getString("status");
      if (!"queued".equals(status) && !"running".equals(status) || System.currentTimeMillis() > deadline) {
        return task;
      }
      Thread.sleep(50);
    }
  }

  private JsonObject get(String path) throws Exception {
    HttpResponse<Buffer> r = web.getAbs(gateway.url(path)).bearerTokenAuthentication(gateway.token("alice")).send()
        .await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  private HttpResponse<Buffer> post(String path) throws Exception {
    return web.postAbs(gateway.url(path)).bearerTokenAuthentication(gateway.token("alice")).send().await(10, TimeUnit.SECONDS);
  }

  private static JsonObject find(JsonArray data, String id) {
    return find(data, id, "id");
  }

  private static JsonObject find(JsonArray data, String value, String key) {
    return data.stream().map(JsonObject.class::cast).filter(o -> value.equals(o.getString(key))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + key + " " + value + " in " + data.encodePrettily()));
  }
}
