package dev.switchboard.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code doctor} on the embedded profile, against a fake model upstream and fake platform token
 * endpoints: a healthy setup is all ✓ and exit 0; each broken part is its own ✗ line with the fix
 * and exit 1.
 */
@DisplayName("The doctor command (embedded profile)")
class DoctorTest {

  static final String TOKENS = "{\"errcode\":0,\"code\":0,\"accessToken\":\"t-1\",\"expireIn\":7200,"
      + "\"access_token\":\"t-1\",\"expires_in\":7200,\"tenant_access_token\":\"t-1\",\"expire\":7200}";
  static final String REFUSED = "{\"code\":\"invalidClientIdOrSecret\",\"message\":\"无效的clientId或者clientSecret\","
      + "\"errcode\":40001,\"errmsg\":\"invalid credential\"}";
  static final String DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

  @TempDir
  Path conf;
  @TempDir
  Path data;
  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform platform;
  final Map<String, String> env = new HashMap<>();
  String tls = "{ enabled: false }";
  String profile = "embedded";
  String healthCheck = "";
  String auth = "{ type: \"api_key\", key: \"${MODEL_API_KEY}\" }";
  String out;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    platform = FakePlatform.start(vertx, TOKENS).await(10, TimeUnit.SECONDS);
    env.put("SWITCHBOARD_CONF_DIR", conf.toString());
    env.put("SWITCHBOARD_DATA_DIR", data.toString());
    env.put("SWITCHBOARD_HTTP_PORT", String.valueOf(freePort()));
    env.put("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1");
    env.put("MODEL_ENDPOINT", upstream.baseUrl());
    env.put("MODEL_API_KEY", "sk-good");
    env.put("DINGTALK_WEBHOOK", platform.url("/robot/send?access_token=abc123"));
    env.put("DINGTALK_SECRET", DINGTALK_SECRET);
    env.put("PLATFORM", platform.url(""));
    env.put("APP_SECRET", "app-secret-1");
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String resource(String name) {
    return Path.of("src/test/resources/tls", name).toAbsolutePath().toString();
  }

  private int doctor() throws Exception {
    Files.writeString(conf.resolve("switchboard.yaml"), """
        server:
          host: "127.0.0.1"
          port: 18789
          tls: %s
        storage:
          profile: "%s"
        """.formatted(tls, profile));
    Files.writeString(conf.resolve("model_provider.yaml"), """
        providers:
          - name: "fake"
            endpoint: "${MODEL_ENDPOINT}"
            auth: %s
            models: ["fake-model"]
        %s""".formatted(auth, healthCheck));
    Files.writeString(conf.resolve("channels.yaml"), """
        dingtalk:
          - name: "default"
            webhook: "${DINGTALK_WEBHOOK}"
            secret: "${DINGTALK_SECRET}"
          - name: "assistant"
            app_key: "ding-app"
            app_secret: "${APP_SECRET}"
            api_base: "${PLATFORM}"
        feishu:
          - name: "assistant"
            app_id: "cli_app"
            app_secret: "${APP_SECRET}"
            domain: "${PLATFORM}"
            mode: "long_connection"
        wecom:
          - name: "assistant"
            corp_id: "ww-corp"
            token: "callback-token"
            encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
            agent_id: 1000002
            secret: "${APP_SECRET}"
            api_base: "${PLATFORM}"
        """);
    Files.writeString(conf.resolve("rules.yaml"), "rules: []\n");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Doctor.run(new String[] {"doctor"}, env::get, new PrintStream(bytes, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    out = bytes.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    return code;
  }

  /** The one line about {@code subject}. */
  private String line(String subject) {
    List<String> lines = out.lines().filter(l -> l.length() > 2 && l.substring(2).startsWith(subject + ":")).toList();
    assertEquals(1, lines.size(), "one line about " + subject + " in:\n" + out);
    return lines.get(0);
  }

  private void assertFails(String subject, String... says) {
    String line = line(subject);
    assertTrue(line.startsWith("✗ "), line);
    assertTrue(line.contains(" → fix: "), "a fix is named: " + line);
    for (String s : says) {
      assertTrue(line.contains(s), "'" + s + "' in: " + line);
    }
  }

  @Test
  @DisplayName("a healthy setup: every line ✓, the served models listed, exit 0")
  void healthy() throws Exception {
    tls = "{ enabled: true, cert: \"" + resource("rsa-cert.pem") + "\", key: \"" + resource("rsa-key-pkcs8.pem") + "\" }";
    assertEquals(Doctor.HEALTHY, doctor());
    List<String> lines = out.lines().toList();
    for (String l : lines.subList(0, lines.size() - 1)) {
      assertTrue(l.startsWith("✓ "), l);
    }
    assertTrue(lines.get(lines.size() - 1).startsWith("all 9 checks passed"), out);
    assertTrue(line("provider fake").contains("serves fake-model, fake-model-2; configured fake-model: all served"), out);
    assertTrue(line("tls").contains("days left"), out);
    assertTrue(line("data dir " + data.toAbsolutePath().normalize()).contains("writable"), out);
    assertTrue(line("dingtalk bot default").contains("nothing sent"), out);
    assertTrue(platform.received().stream().noneMatch(r -> r.path().startsWith("/robot")), "no message went to the robot");
    assertEquals(List.of("/cgi-bin/gettoken", "/open-apis/auth/v3/tenant_access_token/internal", "/v1.0/oauth2/accessToken"),
        platform.received().stream().map(FakePlatform.Received::path).sorted().toList(), "one token request per app");
  }

  @Test
  @DisplayName("a wrong API key (401): ✗ naming the variable that holds it, exit 1")
  void wrongKey() throws Exception {
    upstream.rejectKey("sk-good");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "the key is refused (401", "MODEL_API_KEY (providers[0].auth.key in ");
  }

  @Test
  @DisplayName("an unreachable endpoint: ✗ connection refused, naming MODEL_ENDPOINT, exit 1")
  void unreachable() throws Exception {
    env.put("MODEL_ENDPOINT", "http://127.0.0.1:" + freePort() + "/v1");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "connection refused", "MODEL_ENDPOINT (providers[0].endpoint in ");
  }

  @Test
  @DisplayName("an endpoint without the API's base path (404): ✗ saying so")
  void wrongBasePath() throws Exception {
    env.put("MODEL_ENDPOINT", upstream.baseUrl().replace("/v1", "/api"));
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "404", "base URL", "MODEL_ENDPOINT");
  }

  @Test
  @DisplayName("an expired certificate: ✗ with the date, naming server.tls.cert, exit 1")
  void expiredCertificate() throws Exception {
    tls = "{ enabled: true, cert: \"" + resource("ec-cert-expired.pem") + "\", key: \"" + resource("ec-key-sec1.pem") + "\" }";
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("tls", "expired on 2021-01-01", "server.tls.cert");
  }

  @Test
  @DisplayName("a data dir that cannot be created: ✗ naming SWITCHBOARD_DATA_DIR, exit 1")
  void dataDirNotCreatable() throws Exception {
    // /proc takes no new files, not even from root, whom file modes would not stop
    Path dir = Path.of("/proc/switchboard-doctor-test/data");
    env.put("SWITCHBOARD_DATA_DIR", dir.toString());
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("data dir " + dir, "cannot be created by " + System.getProperty("user.name"), "SWITCHBOARD_DATA_DIR");
  }

  @Test
  @DisplayName("the HTTP port taken by another server: ✗ naming SWITCHBOARD_HTTP_PORT, exit 1")
  void portTaken() throws Exception {
    env.put("SWITCHBOARD_HTTP_PORT", platform.url("").replaceAll(".*:", ""));
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("http port", "in use by another program", "SWITCHBOARD_HTTP_PORT");
  }

  @Test
  @DisplayName("the HTTP port held by a switchboard (its /healthz answers): ✓")
  void portHeldBySwitchboard() throws Exception {
    FakePlatform gateway = FakePlatform.start(vertx, "{\"status\":\"ok\"}").await(10, TimeUnit.SECONDS);
    env.put("SWITCHBOARD_HTTP_PORT", gateway.url("").replaceAll(".*:", ""));
    assertEquals(Doctor.HEALTHY, doctor());
    assertTrue(line("http port").startsWith("✓ ") && line("http port").contains("in use by a running switchboard"), out);
  }

  @Test
  @DisplayName("app credentials the platforms refuse: ✗ for each app, naming the secret's variable")
  void appCredentialsRefused() throws Exception {
    FakePlatform refusing = FakePlatform.start(vertx, REFUSED).await(10, TimeUnit.SECONDS);
    env.put("PLATFORM", refusing.url(""));
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("dingtalk app assistant", "refused the credentials", "APP_SECRET");
    assertFails("feishu app assistant", "refused the credentials", "APP_SECRET");
    assertFails("wecom app assistant", "refused the credentials", "APP_SECRET");
  }

  @Test
  @DisplayName("a DingTalk robot secret that is no 加签 secret: ✗ naming DINGTALK_SECRET, and nothing is sent")
  void robotSecretShape() throws Exception {
    env.put("DINGTALK_SECRET", "my-password");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("dingtalk bot default", "SEC", "DINGTALK_SECRET");
    assertTrue(platform.received().stream().noneMatch(r -> r.path().startsWith("/robot")));
  }

  @Test
  @DisplayName("a provider that is off for want of its key: ✗ naming the variable to set")
  void providerOff() throws Exception {
    env.remove("MODEL_API_KEY");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "off: key unset (MODEL_API_KEY)", "set MODEL_API_KEY (providers[0] in ");
  }

  @Test
  @DisplayName("a robot whose variables are unset: ! naming them, and the exit stays 0")
  void robotOff() throws Exception {
    env.remove("DINGTALK_WEBHOOK");
    env.remove("DINGTALK_SECRET");
    assertEquals(Doctor.HEALTHY, doctor());
    String line = line("dingtalk bot default");
    assertTrue(line.startsWith("! ") && line.contains("off: webhook unset (DINGTALK_WEBHOOK)")
        && line.contains("→ fix: set DINGTALK_WEBHOOK (dingtalk[0].webhook in "), line);
    assertTrue(out.lines().toList().get(out.lines().toList().size() - 1).contains("1 with a warning"), out);
  }

  @Test
  @DisplayName("a data dir a running gateway holds: ✓ naming the PID that holds it")
  void dataDirHeld() throws Exception {
    vertx.deployVerticle(new dev.switchboard.store.DataDirLock(data)).await(10, TimeUnit.SECONDS);
    assertEquals(Doctor.HEALTHY, doctor());
    assertTrue(line("data dir " + data.toAbsolutePath().normalize())
        .contains("in use by the switchboard with PID " + ProcessHandle.current().pid()), out);
  }

  @Test
  @DisplayName("a certificate with under 14 days left: ! with the days left and how to renew")
  void certificateExpiresSoon() throws Exception {
    dev.switchboard.ingress.TlsSettings settings = new dev.switchboard.ingress.TlsSettings(true, resource("ec-cert.pem"),
        resource("ec-key-sec1.pem"), "", java.time.Duration.ofSeconds(60), "conf/switchboard.yaml");
    java.security.cert.X509Certificate cert;
    try (var in = Files.newInputStream(Path.of(resource("ec-cert.pem")))) {
      cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    Finding soon = TlsCheck.check(settings, settings.file(), cert.getNotAfter().toInstant().minus(java.time.Duration.ofDays(10)));
    assertEquals(Finding.Mark.WARN, soon.mark(), soon.line());
    assertTrue(soon.line().contains("(10 days left)") && soon.line().contains("→ fix: renew the certificate"), soon.line());
    assertEquals(Finding.Mark.OK, TlsCheck.check(settings, settings.file(),
        cert.getNotAfter().toInstant().minus(java.time.Duration.ofDays(15))).mark());
  }

  @Test
  @DisplayName("a configuration that does not load: one ✗ line naming file and key, exit 2")
  void badConfiguration() throws Exception {
    env.put("SWITCHBOARD_HTTP_PORT", "not-a-port");
    assertEquals(Doctor.CONFIGURATION, doctor());
    assertTrue(out.startsWith("✗ configuration: "), out);
    assertTrue(out.contains("server.port") && out.contains("switchboard.yaml") && out.contains(" → fix: "), out);
  }

  @Test
  @DisplayName("a storage URL that does not parse: ✗ naming its variable, and the password in it is never printed")
  void storageUrlPasswordNotPrinted() throws Exception {
    profile = "distributed";
    env.put("DATABASE_URL", "postgresql://switchboard:pg-s3cret-pw@127.0.0.1:notaport/switchboard");
    env.put("REDIS_URL", "redis://:redis-s3cret-pw@127.0.0.1:" + freePort());
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("postgresql", "not a PostgreSQL URL", "DATABASE_URL");
    assertTrue(!out.contains("pg-s3cret-pw") && !out.contains("redis-s3cret-pw"), out);
  }

  @Test
  @DisplayName("a port this user may not bind (a BindException 'Permission denied'): ✗ naming the port's key, not 'in use'")
  void privilegedPort() {
    Finding f = PortCheck.refused("http port", "0.0.0.0", 443, new java.net.BindException("Permission denied"),
        "SWITCHBOARD_HTTP_HOST", "SWITCHBOARD_HTTP_PORT").finding();
    assertEquals(Finding.Mark.FAIL, f.mark(), f.line());
    assertTrue(f.line().contains("cannot bind 0.0.0.0:443: Permission denied") && f.line().contains("set SWITCHBOARD_HTTP_PORT"), f.line());
    assertEquals(null, PortCheck.refused("http port", "0.0.0.0", 443, new java.net.BindException("Address already in use"),
        "SWITCHBOARD_HTTP_HOST", "SWITCHBOARD_HTTP_PORT"), "in use: who holds it is asked next");
  }

  @Test
  @DisplayName("a host name that does not resolve: ✗ naming SWITCHBOARD_HTTP_HOST, not the port")
  void unresolvableHost() throws Exception {
    env.put("SWITCHBOARD_HTTP_HOST", "no-such-host.invalid");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("http port", "no-such-host.invalid does not resolve", "set SWITCHBOARD_HTTP_HOST");
  }

  @Test
  @DisplayName("an expired certificate with the periodic check off: the fix is a reload (SIGHUP or POST /api/v1/admin/reload), not a restart")
  void renewWithoutRestart() {
    dev.switchboard.ingress.TlsSettings settings = new dev.switchboard.ingress.TlsSettings(true, resource("ec-cert-expired.pem"),
        resource("ec-key-sec1.pem"), "", java.time.Duration.ZERO, "conf/switchboard.yaml");
    Finding expired = TlsCheck.check(settings, settings.file(), java.time.Instant.now());
    assertEquals(Finding.Mark.FAIL, expired.mark(), expired.line());
    assertTrue(expired.line().contains("POST /api/v1/admin/reload") && expired.line().contains("SIGHUP")
        && !expired.line().contains("restart"), expired.line());
  }

  @Test
  @DisplayName("a provider probed by completion because it lists no models: the doctor sends that probe, ✓, not a 404 'wrong base path'")
  void completionProbe() throws Exception {
    List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
    // an upstream without GET /models, as those that health_check.probe: completion is for
    io.vertx.core.http.HttpServer noList = vertx.createHttpServer().requestHandler(r -> {
      asked.add(r.method() + " " + r.path() + " " + r.getHeader("Authorization"));
      if (r.method() == io.vertx.core.http.HttpMethod.POST && r.path().equals("/v1/chat/completions")) {
        r.response().putHeader("Content-Type", "application/json").end("{\"id\":\"c1\",\"object\":\"chat.completion\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"p\"},\"finish_reason\":\"length\"}]}");
      } else {
        r.response().setStatusCode(404).end("{\"error\":\"not found\"}");
      }
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    env.put("MODEL_ENDPOINT", "http://127.0.0.1:" + noList.actualPort() + "/v1");
    healthCheck = "    health_check: { probe: \"completion\" }\n";
    assertEquals(Doctor.HEALTHY, doctor());
    String line = line("provider fake");
    assertTrue(line.startsWith("✓ ") && line.contains("POST ") && line.contains("/v1/chat/completions 200")
        && line.contains("fake-model"), line);
    assertTrue(asked.contains("POST /v1/chat/completions Bearer sk-good"), "the probe went with the real key: " + asked);
  }

  @Test
  @DisplayName("a check that does not finish in time: its ✗ line names what was being checked")
  void unfinishedCheckNamed() throws Exception {
    // each key's answer comes just inside the per-call bound; five of them outlast the check's
    io.vertx.core.http.HttpServer slow = vertx.createHttpServer().requestHandler(r -> vertx.setTimer(Doctor.TIMEOUT_MS - 500,
        t -> r.response().putHeader("Content-Type", "application/json").end("{\"data\":[{\"id\":\"fake-model\"}]}")))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    env.put("MODEL_ENDPOINT", "http://127.0.0.1:" + slow.actualPort() + "/v1");
    auth = "{ type: \"api_key\", keys: [\"k1\", \"k2\", \"k3\", \"k4\", \"k5\"] }";
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "did not finish within");
    assertTrue(out.lines().noneMatch(l -> l.startsWith("✗ check:")), out);
  }

  @Test
  @DisplayName("an upstream error that quotes the key back: the ✗ line shows the answer, but never the key")
  void echoedKeyNotPrinted() throws Exception {
    io.vertx.core.http.HttpServer echoing = vertx.createHttpServer().requestHandler(r -> r.response().setStatusCode(400)
        .putHeader("Content-Type", "application/json")
        .end("{\"error\":{\"message\":\"Invalid API key: " + r.getHeader("Authorization").substring(7) + "\"}}"))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    env.put("MODEL_ENDPOINT", "http://127.0.0.1:" + echoing.actualPort() + "/v1");
    env.put("MODEL_API_KEY", "sk-live-0123456789abcdef");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "answered 400", "Invalid API key");
    assertTrue(!out.contains("sk-live-0123456789abcdef"), out);
  }

  @Test
  @DisplayName("a REDIS_URL that does not parse: ✗ naming its variable, and the password in it is never printed")
  void redisUrlPasswordNotPrinted() throws Exception {
    profile = "distributed";
    env.put("DATABASE_URL", "postgresql://switchboard@127.0.0.1:" + freePort() + "/switchboard");
    env.put("REDIS_URL", "redis://:redis-s3cret-pw@127.0.0.1:notaport");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("redis", "not a Redis URL", "set REDIS_URL");
    assertTrue(!out.contains("redis-s3cret-pw"), out);
  }

  /** A server whose every answer is 200 and never ends: it writes as fast as the reader takes it, up to 256 MB. */
  private io.vertx.core.http.HttpServer endless() throws Exception {
    return vertx.createHttpServer().requestHandler(r -> {
      io.vertx.core.http.HttpServerResponse response = r.response().setChunked(true).putHeader("Content-Type", "application/json");
      response.write("{\"data\":[");
      pour(response, io.vertx.core.buffer.Buffer.buffer("{\"id\":\"m\"},".repeat(5_000)), new long[] {256L << 20});
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  private static void pour(io.vertx.core.http.HttpServerResponse response, io.vertx.core.buffer.Buffer chunk, long[] left) {
    while (!response.closed() && !response.writeQueueFull() && left[0] > 0) {
      response.write(chunk);
      left[0] -= chunk.length();
    }
    if (!response.closed() && left[0] > 0) {
      response.drainHandler(v -> pour(response, chunk, left));
    }
  }

  @Test
  @DisplayName("a provider endpoint that answers without end: ✗ saying it answered more than 1 MB, read no further")
  void endlessProviderAnswer() throws Exception {
    io.vertx.core.http.HttpServer huge = endless();
    env.put("MODEL_ENDPOINT", "http://127.0.0.1:" + huge.actualPort() + "/v1");
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("provider fake", "answered more than 1 MB; not read", "MODEL_ENDPOINT");
  }

  @Test
  @DisplayName("the HTTP port held by a server whose /healthz never ends: ✗ in use by another program, its answer over 1 MB not read")
  void endlessHealthzOnThePort() throws Exception {
    io.vertx.core.http.HttpServer huge = endless();
    env.put("SWITCHBOARD_HTTP_PORT", String.valueOf(huge.actualPort()));
    assertEquals(Doctor.BROKEN, doctor());
    assertFails("http port", "in use by another program", "GET /healthz answered 200 with more than 1 MB", "SWITCHBOARD_HTTP_PORT");
  }
}
