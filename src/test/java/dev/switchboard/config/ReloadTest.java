package dev.switchboard.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** POST /api/v1/admin/reload: providers, bots, rules and TLS files re-read, checked all together, applied without a restart. */
@DisplayName("Live reload")
class ReloadTest {

  static final String DING_SECRET = "SEC0123456789abcdef";

  Vertx vertx;
  FakeUpstream first;
  FakeUpstream second;
  FakeDingTalk dingtalk;
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    first = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    second = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, DING_SECRET).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx, new WebClientOptions().setTrustAll(true).setVerifyHost(false));
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static String provider(String name, String endpoint, String model) {
    return """
          - name: "%s"
            type: "api_gateway"
            endpoint: "%s"
            models: ["%s"]
        """.formatted(name, endpoint, model);
  }

  private static String providers(String... entries) {
    return "providers:\n" + String.join("", entries) + "default_model: \"model-a\"\n";
  }

  private String bots(String... names) {
    StringBuilder yaml = new StringBuilder("dingtalk:\n");
    for (String name : names) {
      yaml.append("""
            - name: "%s"
              webhook: "%s"
              secret: "%s"
          """.formatted(name, dingtalk.webhook(), DING_SECRET));
    }
    return yaml.toString();
  }

  private void boot(String switchboard) {
    gateway = TestGateway.builder()
        .file("switchboard.yaml", switchboard)
        .file("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a")))
        .file("channels.yaml", bots("default"))
        .file("rules.yaml", "rules: []\n")
        .start();
  }

  private void write(String file, String yaml) throws Exception {
    Files.writeString(gateway.confDir().resolve(file), yaml);
  }

  private static String admin() {
    return token("ops", new JsonObject().put("roles", new JsonArray().add("admin")));
  }

  private static String token(String subject, JsonObject claims) {
    Vertx v = Vertx.vertx();
    try {
      return Tokens.issue(Tokens.auth(v, new JwtSecret(TestGateway.SECRET, "test")), subject, Duration.ofHours(1), claims);
    } finally {
      v.close();
    }
  }

  private String url(String path) {
    return gateway.url(path).replace("http://", gateway.banner().contains("https://") ? "https://" : "http://");
  }

  private HttpResponse<Buffer> reload(String token) throws Exception {
    return web.postAbs(url("/api/v1/admin/reload")).bearerTokenAuthentication(token).send().await(30, TimeUnit.SECONDS);
  }

  private HttpResponse<Buffer> chat(String model, boolean stream) throws Exception {
    JsonObject body = new JsonObject().put("model", model).put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello there")));
    return web.postAbs(url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("alice"))
        .sendJsonObject(body).await(30, TimeUnit.SECONDS);
  }

  private HttpResponse<Buffer> submit(String bot) throws Exception {
    JsonObject body = new JsonObject().put("input", "report").put("model", "model-a")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", bot)));
    return web.postAbs(url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("alice")).sendJsonObject(body)
        .await(30, TimeUnit.SECONDS);
  }

  private static void eventually(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    while (!done.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not seen within 20s: " + what);
      }
      Thread.sleep(50);
    }
  }

  private static String message(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject().getJsonObject("error").getString("message");
  }

  @Test
  @DisplayName("a provider and a bot added to the files serve once reloaded, and the answer says what changed")
  void addedProviderAndBotServeAfterReload() throws Exception {
    boot("queue: { workers: 2 }\n");
    assertEquals(404, chat("model-b", false).statusCode());
    assertEquals(400, submit("second").statusCode());
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));
    write("channels.yaml", bots("default", "second"));

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(200, r.statusCode(), r.bodyAsString());
    JsonObject reloaded = r.bodyAsJsonObject().getJsonObject("reloaded");
    assertEquals(new JsonObject().put("added", new JsonArray().add("b")).put("removed", new JsonArray()).put("changed", new JsonArray()),
        reloaded.getJsonObject("providers"));
    assertEquals(new JsonArray().add("dingtalk/second"), reloaded.getJsonObject("channels").getJsonArray("added"));
    assertEquals(new JsonArray(), r.bodyAsJsonObject().getJsonArray("restart_required"));
    assertEquals(200, chat("model-b", false).statusCode());
    assertEquals(1, second.chatRequestCount());
    assertEquals(202, submit("second").statusCode());
    eventually(() -> !dingtalk.pushes().isEmpty(), "a push by the new bot");
  }

  @Test
  @DisplayName("new provider and bot names become metric labels, and the reload leaves an audit record")
  void reloadIsMeasuredAndAudited() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));
    write("channels.yaml", bots("default", "second"));

    assertEquals(200, reload(admin()).statusCode());

    assertEquals(200, chat("model-b", false).statusCode());
    String metrics = web.getAbs(url("/metrics")).bearerTokenAuthentication(admin()).send().await(10, TimeUnit.SECONDS).bodyAsString();
    assertTrue(metrics.contains("switchboard_provider_up{provider=\"b\"} 1"), "no gauge for provider b");
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("switchboard_model_") && l.contains("provider=\"b\"")),
        "the call to provider b is not labelled with its name");
    assertTrue(metrics.lines().anyMatch(l -> l.contains("bot=\"second\"")), "the new bot has no push counters");
    eventually(() -> {
      try {
        JsonArray records = web.getAbs(url("/api/v1/audit?action=config.reload")).bearerTokenAuthentication(admin()).send()
            .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
        return records.size() == 1 && "ops".equals(records.getJsonObject(0).getString("subject"))
            && "ok".equals(records.getJsonObject(0).getString("outcome"));
      } catch (Exception e) {
        return false;
      }
    }, "the config.reload audit record");
  }

  @Test
  @DisplayName("a Stream-mode bot added by a reload connects, and one whose credentials change reconnects with the new ones")
  void streamBotsAreRedeployed() throws Exception {
    java.util.List<String> registered = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
    var platform = vertx.createHttpServer()
        .webSocketHandler(ws -> ws.closeHandler(v -> closed.incrementAndGet()))
        .requestHandler(req -> req.body().onSuccess(b -> {
          registered.add(b.toJsonObject().getString("clientId"));
          req.response().putHeader("content-type", "application/json").end(new JsonObject()
              .put("endpoint", "ws://127.0.0.1:" + req.localAddress().port() + "/connect").put("ticket", "t").encode());
        }))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    boot("queue: { workers: 2 }\n");
    String app = """
          - name: "assistant"
            app_key: "%s"
            app_secret: "app-secret"
            mode: "stream"
            api_base: "http://127.0.0.1:%d"
        """;
    write("channels.yaml", bots("default") + app.formatted("key-1", platform.actualPort()));

    HttpResponse<Buffer> added = reload(admin());

    assertEquals(200, added.statusCode(), added.bodyAsString());
    assertEquals(new JsonArray().add("dingtalk/assistant"),
        added.bodyAsJsonObject().getJsonObject("reloaded").getJsonObject("streams").getJsonArray("restarted"));
    eventually(() -> registered.contains("key-1"), "the new bot's Stream connection");
    write("channels.yaml", bots("default") + app.formatted("key-2", platform.actualPort()));

    assertEquals(200, reload(admin()).statusCode());

    eventually(() -> registered.contains("key-2"), "the changed bot's new connection");
    eventually(() -> closed.get() >= 1, "the old connection closed");
    // unchanged: no new connection
    int before = registered.size();
    assertEquals(new JsonArray(), reload(admin()).bodyAsJsonObject().getJsonObject("reloaded").getJsonObject("streams")
        .getJsonArray("restarted"));
    assertEquals(before, registered.size());
  }

  @Test
  @DisplayName("a gateway that started with no provider on takes tasks once a reload turns one on")
  void tasksAcceptedOnceAProviderIsOn() throws Exception {
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", providers(provider("a", "", "model-a")))
        .file("channels.yaml", bots("default"))
        .file("rules.yaml", "rules: []\n")
        .start();
    assertEquals(503, submit("default").statusCode());
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a")));

    assertEquals(200, reload(admin()).statusCode());

    assertEquals(202, submit("default").statusCode());
    eventually(() -> first.chatRequestCount() == 1, "the task's model call");
  }

  @Test
  @DisplayName("a provider removed from the file stops serving at the reload")
  void removedProviderStopsServing() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));
    assertEquals(200, reload(admin()).statusCode());
    assertEquals(200, chat("model-b", false).statusCode());
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a")));

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(new JsonArray().add("b"), r.bodyAsJsonObject().getJsonObject("reloaded").getJsonObject("providers").getJsonArray("removed"));
    assertEquals(404, chat("model-b", false).statusCode());
    assertEquals(200, chat("model-a", false).statusCode());
  }

  @Test
  @DisplayName("a YAML error in one file keeps every old setting, and the 400 names the file and the line")
  void yamlErrorKeepsAllOldSettings() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));
    write("channels.yaml", "dingtalk:\n  - name: \"default\n    webhook: [\n");

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals("invalid_configuration", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
    assertTrue(message(r).contains("channels.yaml") && message(r).contains("line") && message(r).contains("invalid YAML"), message(r));
    // the good model file was not applied either: all or nothing
    assertEquals(404, chat("model-b", false).statusCode());
    assertEquals(200, chat("model-a", false).statusCode());
    assertEquals(202, submit("default").statusCode());
  }

  @Test
  @DisplayName("an unknown key is refused naming the file and the key, and the old providers still serve")
  void badKeyIsNamed() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", second.baseUrl(), "model-a") + "    max_concurency: 5\n"));

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertTrue(message(r).contains("model_provider.yaml") && message(r).contains("max_concurency"), message(r));
    assertEquals(200, chat("model-a", false).statusCode());
    assertEquals(1, first.chatRequestCount());
    assertEquals(0, second.chatRequestCount());
  }

  @Test
  @DisplayName("a stream started before a reload finishes on the old provider; the next request uses the new one")
  void streamInFlightCompletesAcrossReload() throws Exception {
    boot("queue: { workers: 2 }\n");
    first.delay(Duration.ofMillis(1_500));
    JsonObject body = new JsonObject().put("model", "model-a").put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "slow one")));
    var streaming = web.postAbs(url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("alice")).sendJsonObject(body);
    eventually(() -> first.chatRequestCount() == 1, "the stream reaching the first upstream");
    write("model_provider.yaml", providers(provider("a", second.baseUrl(), "model-a")));

    HttpResponse<Buffer> r = reload(admin());
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(new JsonArray().add("a"), r.bodyAsJsonObject().getJsonObject("reloaded").getJsonObject("providers").getJsonArray("changed"));

    HttpResponse<Buffer> streamed = streaming.await(30, TimeUnit.SECONDS);
    assertEquals(200, streamed.statusCode());
    assertTrue(streamed.bodyAsString().contains("echo") && streamed.bodyAsString().trim().endsWith("data: [DONE]"), streamed.bodyAsString());
    assertEquals(200, chat("model-a", false).statusCode());
    assertEquals(1, first.chatRequestCount());
    assertEquals(1, second.chatRequestCount());
  }

  @Test
  @DisplayName("a client that leaves a stream started before a reload still cancels it upstream")
  void cancelReachesAStreamOfEarlierSettings() throws Exception {
    boot("queue: { workers: 2 }\n");
    first.fault(FakeUpstream.Fault.TRICKLE);
    var client = vertx.createHttpClient();
    var request = client.request(io.vertx.core.http.HttpMethod.POST, gateway.port(), "127.0.0.1", "/v1/chat/completions")
        .await(10, TimeUnit.SECONDS);
    request.putHeader("authorization", "Bearer " + gateway.token("alice")).putHeader("content-type", "application/json");
    var response = request.send(new JsonObject().put("model", "model-a").put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "go on"))).encode())
        .await(10, TimeUnit.SECONDS);
    java.util.concurrent.atomic.AtomicInteger ticks = new java.util.concurrent.atomic.AtomicInteger();
    response.handler(b -> ticks.incrementAndGet());
    eventually(() -> ticks.get() > 0 && first.openConnections() == 1, "the trickling stream");
    write("model_provider.yaml", providers(provider("a", second.baseUrl(), "model-a")));
    assertEquals(200, reload(admin()).statusCode());

    request.connection().close().await(10, TimeUnit.SECONDS);

    eventually(() -> first.openConnections() == 0, "the upstream stream cancelled");
  }

  @Test
  @DisplayName("a token without the admin role or scope (client, operator, chat and tasks) is refused with 403; the admin scope reloads")
  void nonAdminIsForbidden() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));

    for (JsonObject claims : java.util.List.of(new JsonObject().put("roles", new JsonArray().add("client")),
        new JsonObject().put("roles", new JsonArray().add("operator")), new JsonObject().put("scope", "chat tasks"))) {
      HttpResponse<Buffer> r = reload(token("bob", claims));

      assertEquals(403, r.statusCode(), claims + ": " + r.bodyAsString());
    }
    assertEquals(404, chat("model-b", false).statusCode());
    HttpResponse<Buffer> byScope = reload(token("ci", new JsonObject().put("scope", "admin")));
    assertEquals(200, byScope.statusCode(), "the admin scope opens it too: " + byScope.bodyAsString());
  }

  @Test
  @DisplayName("rules are reloaded by the same call, checked against the bots of the same reload")
  void rulesReloadWithTheNewBots() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("channels.yaml", bots("default", "second"));
    write("rules.yaml", """
        rules:
          - name: "to-second"
            on: { webhook: "ci" }
            do:
              - push: { channels: [{ type: "dingtalk", bot: "second" }], text: "built" }
        """);

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(new JsonArray().add("to-second"), r.bodyAsJsonObject().getJsonObject("reloaded").getJsonObject("rules").getJsonArray("added"));
    JsonObject rules = web.getAbs(url("/api/v1/rules")).bearerTokenAuthentication(admin()).send().await(10, TimeUnit.SECONDS)
        .bodyAsJsonObject();
    assertEquals("to-second", rules.getJsonArray("data").getJsonObject(0).getString("name"));
  }

  @Test
  @DisplayName("a key only read at start-up is reported as restart_required, not applied")
  void startupOnlyKeysAreReported() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("switchboard.yaml", "queue: { workers: 3 }\nserver: { max_body_size: 1mb }\n");

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(new JsonArray().add("switchboard.yaml queue").add("switchboard.yaml server.max_body_size"),
        r.bodyAsJsonObject().getJsonArray("restart_required"));
  }

  @Test
  @DisplayName("TLS files are reloaded by the same call; a bad certificate refuses the whole reload")
  void tlsByTheSameCall(@TempDir Path dir) throws Exception {
    Path files = Path.of("src", "test", "resources", "tls").toAbsolutePath();
    Files.copy(files.resolve("rsa-cert.pem"), dir.resolve("cert.pem"));
    Files.copy(files.resolve("rsa-key-pkcs8.pem"), dir.resolve("key.pem"));
    boot("server:\n  tls: { enabled: true, cert: \"" + dir.resolve("cert.pem") + "\", key: \"" + dir.resolve("key.pem")
        + "\", reload_check: 0 }\n");
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));
    byte[] good = Files.readAllBytes(dir.resolve("cert.pem"));
    Files.writeString(dir.resolve("cert.pem"), "not a certificate");

    HttpResponse<Buffer> refused = reload(admin());

    assertEquals(400, refused.statusCode(), refused.bodyAsString());
    assertTrue(message(refused).contains("server.tls.cert"), message(refused));
    assertEquals(404, chat("model-b", false).statusCode());

    Files.write(dir.resolve("cert.pem"), good);
    HttpResponse<Buffer> ok = reload(admin());
    assertEquals(200, ok.statusCode(), ok.bodyAsString());
    assertEquals(true, ok.bodyAsJsonObject().getJsonObject("reloaded").getJsonObject("tls").getBoolean("reloaded"));
    assertEquals(200, chat("model-b", false).statusCode());
  }

  @Test
  @DisplayName("an embeddings change is only reported as restart_required: memory's vectors keep coming from the model it started with")
  void embeddingsChangeIsNotHalfApplied() throws Exception {
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"))
            + "embeddings: { provider: \"a\", model: \"embed-1\" }\n")
        .file("channels.yaml", bots("default"))
        .file("rules.yaml", "rules: []\n")
        .start();
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"))
        + "embeddings: { provider: \"a\", model: \"embed-2\" }\n");

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(new JsonArray().add("model_provider.yaml embeddings (memory's embedder)"), r.bodyAsJsonObject().getJsonArray("restart_required"));
    HttpResponse<Buffer> added = web.postAbs(url("/api/v1/memories")).bearerTokenAuthentication(admin())
        .sendJsonObject(new JsonObject().put("content", "alice drinks tea").put("scope", "user:alice")).await(30, TimeUnit.SECONDS);
    assertEquals(201, added.statusCode(), added.bodyAsString());
    assertTrue(first.embeddingRequests().stream().allMatch(b -> "embed-1".equals(b.getString("model"))),
        "memory's vectors came from another model than the one it labels them with: " + first.embeddingRequests());
  }

  @Test
  @DisplayName("an app bot whose credentials change replies with a token of the new credentials, not the one cached for the old")
  void changedAppCredentialsTakeANewToken() throws Exception {
    java.util.List<String> authorizations = new java.util.concurrent.CopyOnWriteArrayList<>();
    var feishu = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      JsonObject answer;
      if (req.path().endsWith("/tenant_access_token/internal")) {
        answer = new JsonObject().put("code", 0).put("msg", "ok")
            .put("tenant_access_token", "t-" + b.toJsonObject().getString("app_id")).put("expire", 7200);
      } else {
        authorizations.add(req.getHeader("Authorization"));
        answer = new JsonObject().put("code", 0).put("msg", "success").put("data", new JsonObject());
      }
      req.response().putHeader("content-type", "application/json").end(answer.encode());
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    String app = """
        feishu:
          - name: "assistant"
            app_id: "%s"
            app_secret: "%s"
            verification_token: "vt"
            encrypt_key: "ek"
            domain: "http://127.0.0.1:%d"
        """;
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a")))
        .file("channels.yaml", bots("default") + app.formatted("cli_old", "old-secret", feishu.actualPort()))
        .file("rules.yaml", "rules: []\n")
        .start();
    var reply = new dev.switchboard.bus.PushRequest("feishu", "assistant", "hello", null, new JsonObject().put("message_id", "om_1"));
    gateway.vertx().eventBus().request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, reply).await(10, TimeUnit.SECONDS);
    eventually(() -> authorizations.size() == 1, "the reply under the old credentials");
    write("channels.yaml", bots("default") + app.formatted("cli_new", "new-secret", feishu.actualPort()));

    assertEquals(200, reload(admin()).statusCode());

    gateway.vertx().eventBus().request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, reply).await(10, TimeUnit.SECONDS);
    eventually(() -> authorizations.size() == 2, "the reply under the new credentials");
    assertEquals(java.util.List.of("Bearer t-cli_old", "Bearer t-cli_new"), authorizations);
  }

  @Test
  @DisplayName("a bot a reload adds gets its push counters even when a push named it (as other) before it existed")
  void botNamedByAReloadIsLabelledAfterIt() throws Exception {
    boot("queue: { workers: 2 }\n");
    var bus = gateway.vertx().eventBus();
    String early = bus.<JsonObject>request(dev.switchboard.bus.Addresses.CHANNEL_PUSH,
        new dev.switchboard.bus.PushRequest("dingtalk", "second", "too early", null, null)).await(10, TimeUnit.SECONDS).body().getString("id");
    eventually(() -> bus.<JsonObject>request(dev.switchboard.bus.Addresses.CHANNEL_DELIVERIES, new JsonObject()).await().body()
        .getJsonArray("data").stream().map(JsonObject.class::cast)
        .anyMatch(d -> early.equals(d.getString("id")) && "failed".equals(d.getString("status"))), "the push to a bot not configured yet failed");
    write("channels.yaml", bots("default", "second"));

    assertEquals(200, reload(admin()).statusCode());

    String metrics = web.getAbs(url("/metrics")).bearerTokenAuthentication(admin()).send().await(10, TimeUnit.SECONDS).bodyAsString();
    for (String status : java.util.List.of("delivered", "failed", "dead")) {
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith("switchboard_channel_pushes_total") && l.contains("bot=\"second\"")
              && l.contains("status=\"" + status + "\"")),
          "no " + status + " counter for the new bot: " + metrics.lines().filter(l -> l.startsWith("switchboard_channel_pushes_total")).toList());
    }
  }

  private static String rule(String name) {
    return """
        rules:
          - name: "%s"
            on: { webhook: "ci" }
            do:
              - push: { channels: [{ type: "dingtalk", bot: "default" }], text: "built" }
        """.formatted(name);
  }

  private String runningRule() {
    JsonArray data = web.getAbs(url("/api/v1/rules")).bearerTokenAuthentication(admin()).send().await()
        .bodyAsJsonObject().getJsonArray("data");
    return data.isEmpty() ? "" : data.getJsonObject(0).getString("name");
  }

  @Test
  @DisplayName("rules.yaml written after a reload read it (an edit, a PUT) is what runs in the end, not the older copy the reload read")
  void rulesWrittenAfterTheReloadReadThemWin() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("rules.yaml", rule("read-by-the-reload"));
    ConfigFiles files = new ConfigFiles(gateway.confDir(), name -> null);
    dev.switchboard.rules.RulesSettings read = dev.switchboard.rules.RulesSettings.load(files,
        dev.switchboard.channel.ChannelSettings.load(files));
    write("rules.yaml", rule("written-after-it-much-later"));
    eventually(() -> "written-after-it-much-later".equals(runningRule()), "the watch taking up the later file");

    gateway.vertx().eventBus().request(dev.switchboard.bus.Addresses.RULES_RELOAD, read).await(10, TimeUnit.SECONDS);

    eventually(() -> "written-after-it-much-later".equals(runningRule()), "the file on disk running again");
  }

  @Test
  @DisplayName("a chat still retrying under the old retry deadline keeps its provider's connections when a reload shortens the deadline")
  void retriesUnderTheOldDeadlineOutliveAShorterNewOne() throws Exception {
    String changed = """
        providers:
          - name: "a"
            type: "api_gateway"
            endpoint: "%s"
            models: ["model-a"]
            timeouts: { total: 1s }
        default_model: "model-a"
        """.formatted(first.baseUrl());
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", changed + "retry: { max_attempts: 3, deadline: 30s, backoff: { base: 4s, max: 4s } }\n")
        .file("channels.yaml", bots("default"))
        .file("rules.yaml", "rules: []\n")
        .start();
    first.respondWith(500, "{\"error\":{\"message\":\"busy\"}}").failTimes(2);
    JsonObject body = new JsonObject().put("model", "model-a")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "third time lucky")));
    var retrying = web.postAbs(url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("alice")).sendJsonObject(body);
    eventually(() -> first.chatRequestCount() == 1, "the first attempt");
    // the provider entry changes (a new one serves the next calls); the old one is kept for the calls on it
    write("model_provider.yaml", changed.replace("total: 1s", "total: 2s") + "retry: { max_attempts: 3, deadline: 1s }\n");
    assertEquals(200, reload(admin()).statusCode());

    HttpResponse<Buffer> answered = retrying.await(60, TimeUnit.SECONDS);

    assertEquals(200, answered.statusCode(), answered.bodyAsString());
    assertEquals(3, first.chatRequestCount());
  }

  @Test
  @DisplayName("messages waiting under a bot's rate limit keep their order with those sent after a reload that changes the limit")
  void pushesKeepTheirOrderAcrossARateLimitChange() throws Exception {
    String limited = """
        dingtalk:
          - name: "default"
            webhook: "%s"
            secret: "%s"
            rate_limit: { messages: 1, per: %s }
        """;
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a")))
        .file("channels.yaml", limited.formatted(dingtalk.webhook(), DING_SECRET, "2s"))
        .file("rules.yaml", "rules: []\n")
        .start();
    var bus = gateway.vertx().eventBus();
    for (String text : java.util.List.of("m1", "m2", "m3")) {
      bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, new dev.switchboard.bus.PushRequest("dingtalk", "default", text, null, null))
          .await(10, TimeUnit.SECONDS);
    }
    eventually(() -> dingtalk.pushes().size() == 1, "the first push; the others wait for the window");
    write("channels.yaml", limited.formatted(dingtalk.webhook(), DING_SECRET, "3s"));
    assertEquals(200, reload(admin()).statusCode());

    bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, new dev.switchboard.bus.PushRequest("dingtalk", "default", "m4", null, null))
        .await(10, TimeUnit.SECONDS);

    eventually(() -> dingtalk.pushes().size() == 4, "all four pushes");
    assertEquals(java.util.List.of("m1", "m2", "m3", "m4"),
        dingtalk.pushes().stream().map(p -> p.body().getJsonObject("text").getString("content"))
            .map(c -> c.substring(c.lastIndexOf(':') + 1)).toList());
  }

  @Test
  @DisplayName("reloads asked for together: one at a time is applied, the others get 409 reload_busy, and each leaves its audit record")
  void concurrentReloadsAreBusyAndAudited() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a"), provider("b", second.baseUrl(), "model-b")));
    String token = admin();
    java.util.List<io.vertx.core.Future<HttpResponse<Buffer>>> asked = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      asked.add(web.postAbs(url("/api/v1/admin/reload")).bearerTokenAuthentication(token).send());
    }
    io.vertx.core.Future.join(asked).await(30, TimeUnit.SECONDS);

    long ok = asked.stream().filter(f -> f.result().statusCode() == 200).count();
    java.util.List<HttpResponse<Buffer>> busy = asked.stream().map(io.vertx.core.Future::result).filter(r -> r.statusCode() == 409).toList();
    assertEquals(8, ok + busy.size(), asked.stream().map(f -> f.result().statusCode()).toList().toString());
    assertTrue(ok >= 1 && !busy.isEmpty(), "ok " + ok + ", busy " + busy.size());
    busy.forEach(r -> assertEquals("reload_busy", r.bodyAsJsonObject().getJsonObject("error").getString("code")));
    assertEquals(200, chat("model-b", false).statusCode());
    eventually(() -> {
      JsonArray records = web.getAbs(url("/api/v1/audit?action=config.reload&limit=100")).bearerTokenAuthentication(admin()).send()
          .await().bodyAsJsonObject().getJsonArray("data");
      return records.size() == 8 && records.stream().map(JsonObject.class::cast).filter(r -> "ok".equals(r.getString("outcome"))).count() == ok;
    }, "one config.reload record per reload asked for");
  }

  @Test
  @DisplayName("a call on a provider's old entry failing after a reload raises no provider-down event: the entry serving now is up")
  void oldEntryFailingRaisesNoProviderEvent() throws Exception {
    String models = """
        providers:
          - name: "a"
            type: "api_gateway"
            endpoint: "%s"
            models: ["model-a"]
        default_model: "model-a"
        retry: { max_attempts: 1 }
        health_check: { down_after: 1 }
        """;
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", models.formatted(first.baseUrl()))
        .file("channels.yaml", bots("default"))
        .file("rules.yaml", "rules: []\n")
        .start();
    java.util.List<JsonObject> raised = new java.util.concurrent.CopyOnWriteArrayList<>();
    gateway.vertx().eventBus().<JsonObject>localConsumer(dev.switchboard.bus.Addresses.EVENTS_RAISE, m -> {
      if ("provider".equals(m.body().getString("type"))) {
        raised.add(m.body());
      }
    }).completion().await(10, TimeUnit.SECONDS);
    first.respondWith(500, "{\"error\":{\"message\":\"gone\"}}").delay(Duration.ofMillis(1_500));
    JsonObject body = new JsonObject().put("model", "model-a")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "to the old endpoint")));
    var old = web.postAbs(url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("alice")).sendJsonObject(body);
    eventually(() -> first.chatRequestCount() == 1, "the call on the old entry");
    write("model_provider.yaml", models.formatted(second.baseUrl()));
    assertEquals(200, reload(admin()).statusCode());

    assertEquals(502, old.await(30, TimeUnit.SECONDS).statusCode());

    assertEquals(200, chat("model-a", false).statusCode());
    Thread.sleep(500); // the event, had one been raised, was published before the old call's answer
    assertEquals(java.util.List.of(), raised);
  }

  @Test
  @DisplayName("a refused endpoint with a password in it is named without the password (answer, log line and audit record)")
  void refusedEndpointIsNamedWithoutItsPassword() throws Exception {
    boot("queue: { workers: 2 }\n");
    write("model_provider.yaml", providers(provider("a", "http://ops:hunter2-secret@10.0.0.2/v1", "model-a")));

    HttpResponse<Buffer> r = reload(admin());

    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertTrue(message(r).contains("providers[0].endpoint"), message(r));
    assertTrue(!r.bodyAsString().contains("hunter2"), r.bodyAsString());
    eventually(() -> {
      JsonArray records = web.getAbs(url("/api/v1/audit?action=config.reload")).bearerTokenAuthentication(admin()).send()
          .await().bodyAsJsonObject().getJsonArray("data");
      return records.size() == 1 && !records.encode().contains("hunter2");
    }, "the refusal's audit record, without the password");
  }

  @Test
  @DisplayName("a token still being fetched for an app's old credentials when a reload changes them is not used for the new ones")
  void tokenFetchedForOldCredentialsIsNotShared() throws Exception {
    java.util.List<String> authorizations = new java.util.concurrent.CopyOnWriteArrayList<>();
    var feishu = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      if (req.path().endsWith("/tenant_access_token/internal")) {
        String app = b.toJsonObject().getString("app_id");
        // the old app's token is slow to come: the reload lands while it is being fetched
        vertx.setTimer("cli_old".equals(app) ? 2_000 : 1, t -> req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("code", 0).put("msg", "ok").put("tenant_access_token", "t-" + app).put("expire", 7200).encode()));
      } else {
        authorizations.add(req.getHeader("Authorization"));
        req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("code", 0).put("msg", "success").put("data", new JsonObject()).encode());
      }
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    String app = """
        feishu:
          - name: "assistant"
            app_id: "%s"
            app_secret: "%s"
            verification_token: "vt"
            encrypt_key: "ek"
            domain: "http://127.0.0.1:%d"
        """;
    gateway = TestGateway.builder()
        .file("switchboard.yaml", "queue: { workers: 2 }\n")
        .file("model_provider.yaml", providers(provider("a", first.baseUrl(), "model-a")))
        .file("channels.yaml", bots("default") + app.formatted("cli_old", "old-secret", feishu.actualPort()))
        .file("rules.yaml", "rules: []\n")
        .start();
    var bus = gateway.vertx().eventBus();
    bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, new dev.switchboard.bus.PushRequest("feishu", "assistant", "old",
        null, new JsonObject().put("message_id", "om_1"))).await(10, TimeUnit.SECONDS);
    write("channels.yaml", bots("default") + app.formatted("cli_new", "new-secret", feishu.actualPort()));
    assertEquals(200, reload(admin()).statusCode());

    bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, new dev.switchboard.bus.PushRequest("feishu", "assistant", "new",
        null, new JsonObject().put("message_id", "om_2"))).await(10, TimeUnit.SECONDS);

    eventually(() -> authorizations.size() == 2, "both replies");
    assertTrue(authorizations.contains("Bearer t-cli_new"), "the reply after the reload used the old app's token: " + authorizations);
  }
}
