package dev.switchboard.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.TokenClaims;
import dev.switchboard.security.Tokens;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The console in a real browser: Debian's chromium, headless, driven through Debian's chromedriver
 * (both installed by scripts/test.sh; missing, this test fails). One gateway with a fake model and a
 * fake WeCom robot that refuses the first push holds a failed task, a failed delivery, an inbound
 * event, a memory and some usage; the tests sign in, open each view in order and check what it
 * shows, and leave a screenshot of each under target/console-screenshots/.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserIT {

  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
  static final String HOOK_SECRET = "console-hook-secret";
  static final String MEMORY = "Alice <b>prefers</b> green tea";
  static final Duration PATIENCE = Duration.ofSeconds(30);

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform wecom;
  FakePlatform bulk;
  TestGateway gateway;
  WebClient web;
  String token;
  Path profile;
  ChromeDriverService service;
  ChromeDriver browser;
  String failedTask;
  String failedDelivery;
  String waitingTask;

  @BeforeAll
  void start() throws Exception {
    assertTrue(Files.isExecutable(CHROMIUM), CHROMIUM + " is missing: install Debian's chromium (scripts/test.sh does)");
    assertTrue(Files.isExecutable(CHROMEDRIVER), CHROMEDRIVER + " is missing: install Debian's chromium-driver (scripts/test.sh does)");
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    wecom = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    bulk = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            wecom:
              - name: "ops"
                webhook: "%s"
              - name: "bulk"
                webhook: "%s"
                rate_limit: { messages: 1000, per: 60s }
            webhooks:
              - name: "ci"
                secret: "%s"
              - name: "bulk"
                secret: "%s"
            """.formatted(wecom.url("/cgi-bin/webhook/send?key=k"), bulk.url("/cgi-bin/webhook/send?key=b"), HOOK_SECRET, HOOK_SECRET))
        .file("rules.yaml", """
            rules:
              - name: "ci-failed"
                on: { webhook: "ci" }
                if: 'event.body.status == "failed"'
                do:
                  - push: { channels: [{ type: "wecom", bot: "ops" }], text: "build failed: {{event.body.project}} ({{event.body.branch}})" }
              - name: "bulk"
                on: { webhook: "bulk" }
                do:
                  - push: { channels: [{ type: "wecom", bot: "bulk" }], text: "bulk {{event.body.n}}" }
              - name: "hourly-report"
                on: { schedule: { every: 1h } }
                do:
                  - emit: { type: "report", body: { what: "hourly" } }
            """)
        .start();
    token = gateway.token("alice");
    createState();
    profile = Files.createTempDirectory("console-chromium");
    ChromeOptions options = new ChromeOptions();
    // the binary and the driver are given, so Selenium Manager has nothing to look up or download
    options.setBinary(CHROMIUM.toString());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--user-data-dir=" + profile, "--window-size=1440,1000", "--no-first-run", "--no-default-browser-check",
        "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync");
    service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
    browser.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    Files.createDirectories(SCREENSHOTS);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (browser != null) {
        browser.quit();
      }
      if (service != null) {
        service.stop();
      }
    } finally {
      if (gateway != null) {
        gateway.close();
      }
      if (vertx != null) {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
      if (profile != null) {
        deleteTree(profile);
      }
    }
  }

  /** What the views show: a failed task, a failed delivery, an inbound event, a memory and usage. */
  private void createState() throws Exception {
    // the robot refuses the first push for good (errcode 93000), so that delivery is failed at once
    wecom.thenAnswer(200, "{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}");
    String pushed = submit(new JsonObject().put("input", "nightly report")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "wecom").put("bot", "ops"))));
    JsonObject task = until("the push of " + pushed + " to fail", () -> {
      JsonObject t = get("/api/v1/tasks/" + pushed);
      JsonArray ds = t.getJsonArray("deliveries", new JsonArray());
      return !ds.isEmpty() && "failed".equals(ds.getJsonObject(0).getString("status")) ? t : null;
    });
    failedDelivery = task.getJsonArray("deliveries").getJsonObject(0).getString("id");

    upstream.down(true);
    failedTask = submit(new JsonObject().put("input", "summarise the incident").put("max_attempts", 1));
    until("task " + failedTask + " to fail", () -> "failed".equals(get("/api/v1/tasks/" + failedTask).getString("status")) ? true : null);
    upstream.down(false);
    waitingTask = submit(new JsonObject().put("input", "tomorrow's digest").put("delay", "1h"));

    hook("ci", new JsonObject().put("status", "passed").put("branch", "main").put("project", "switchboard").encode());

    HttpResponse<Buffer> memory = web.postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("content", MEMORY).put("scope", "user:alice").put("source", "console-test"))
        .await(60, TimeUnit.SECONDS);
    assertEquals(201, memory.statusCode(), memory.bodyAsString());

    HttpResponse<Buffer> chat = web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("model", "fake-model").put("messages", new JsonArray()
            .add(new JsonObject().put("role", "user").put("content", "hello from the console test"))))
        .await(30, TimeUnit.SECONDS);
    assertEquals(200, chat.statusCode(), chat.bodyAsString());
  }

  /** Posts a body to the inbound webhook {@code name}, signed with its secret. */
  private void hook(String name, String body) throws Exception {
    long ts = System.currentTimeMillis() / 1000;
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(HOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String sig = "sha256=" + HexFormat.of().formatHex(mac.doFinal((ts + "." + body).getBytes(StandardCharsets.UTF_8)));
    HttpResponse<Buffer> hook = web.postAbs(gateway.url("/webhooks/hooks/" + name)).putHeader("content-type", "application/json")
        .putHeader("x-switchboard-timestamp", String.valueOf(ts)).putHeader("x-switchboard-signature", sig)
        .sendBuffer(Buffer.buffer(body)).await(10, TimeUnit.SECONDS);
    assertTrue(hook.statusCode() < 300, hook.statusCode() + " " + hook.bodyAsString());
  }

  private String submit(JsonObject task) throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(task)
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
  }

  private JsonObject get(String path) {
    try {
      return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Polls (every 100 ms, for up to 30 s) until {@code check} gives something other than null. */
  private static <T> T until(String what, Supplier<T> check) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try {
        T value = check.get();
        if (value != null && !Boolean.FALSE.equals(value)) {
          return value;
        }
      } catch (RuntimeException e) {
        last = e;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new AssertionError("waited " + PATIENCE.toSeconds() + " s for " + what, last);
  }

  // ------------------------------------------------------------------------------ browser helpers

  private WebElement find(String css) {
    return until(css, () -> {
      List<WebElement> found = browser.findElements(By.cssSelector(css));
      return found.isEmpty() || !found.get(0).isDisplayed() ? null : found.get(0);
    });
  }

  /** Opens a view from the menu and waits until it has loaded. */
  private WebElement open(String view) {
    find("nav a[data-view='" + view + "']").click();
    return ready(view);
  }

  private WebElement ready(String view) {
    String css = "section.view[data-view='" + view + "']";
    return until(view + " to load", () -> {
      List<WebElement> found = browser.findElements(By.cssSelector(css));
      if (found.isEmpty()) {
        return null;
      }
      String state = found.get(0).getDomAttribute("data-state");
      if ("error".equals(state)) {
        throw new AssertionError(view + " failed to load: " + found.get(0).getText());
      }
      return "ready".equals(state) ? found.get(0) : null;
    });
  }

  private WebElement row(String table, String id) {
    return find("table[data-table='" + table + "'] tr[data-id='" + id + "']");
  }

  /** Picks an option of a view's select, as a user does (the click fires its change). */
  private void choose(String view, String select, String value) {
    find("section.view[data-view='" + view + "'] select[name='" + select + "']").click();
    find("section.view[data-view='" + view + "'] select[name='" + select + "'] option[value='" + value + "']").click();
  }

  private static String cell(WebElement row, String column) {
    return row.findElement(By.cssSelector("td[data-col='" + column + "']")).getText();
  }

  private void screenshot(String name) throws IOException {
    File shot = browser.getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  private Object storedToken() {
    return ((JavascriptExecutor) browser).executeScript("return sessionStorage.getItem('switchboard.console.token')");
  }

  private void signIn(String value) {
    WebElement input = find("#token");
    input.clear();
    input.sendKeys(value);
    find("#sign-in-button").click();
  }

  // ------------------------------------------------------------------------------------- the views

  @Test
  @Order(1)
  @DisplayName("a token the gateway refuses is not kept, and the sign-in says so (401)")
  void refusedToken() throws Exception {
    browser.get(gateway.url("/console"));
    signIn("not-a-token");
    String message = find("#sign-in-message .notice").getText();
    assertTrue(message.contains("401"), message);
    assertNull(storedToken());
    screenshot("sign-in-refused");
  }

  @Test
  @Order(2)
  @DisplayName("a valid token signs in: kept in sessionStorage for this tab, the subject shown, providers first")
  void signsIn() throws Exception {
    signIn(token);
    assertEquals("Signed in as alice", find("#who").getText());
    assertEquals(token, storedToken());
    ready("providers");
  }

  @Test
  @Order(3)
  @DisplayName("providers: the shipped provider and its model, with their state")
  void providers() throws Exception {
    WebElement view = open("providers");
    List<WebElement> rows = view.findElements(By.cssSelector("table[data-table='providers'] tbody tr[data-id]"));
    assertTrue(!rows.isEmpty(), view.getText());
    assertEquals("default", cell(rows.get(0), "provider"), view.getText());
    assertTrue(!cell(rows.get(0), "state").isBlank(), view.getText());
    screenshot("providers");
  }

  @Test
  @Order(4)
  @DisplayName("queue: the failed task counted and listed with its error; Retry queues it again")
  void queue() throws Exception {
    WebElement view = open("queue");
    assertEquals("1", find("[data-tile='failed'] .tile-value").getText(), view.getText());
    WebElement task = row("tasks", failedTask);
    assertEquals("failed", cell(task, "status"));
    assertTrue(cell(task, "input").contains("summarise the incident"), task.getText());
    assertTrue(!cell(task, "error").equals("—"), task.getText());
    screenshot("queue");
    task.findElement(By.cssSelector("button[data-action='retry']")).click();
    String message = find("section.view[data-view='queue'] .notice.good").getText();
    assertTrue(message.contains(failedTask) && message.contains("queued again"), message);
    until("the retried task to run again", () -> !"failed".equals(get("/api/v1/tasks/" + failedTask).getString("status")));
  }

  @Test
  @Order(5)
  @DisplayName("queue: a task waiting for its time is listed under queued; Cancel cancels it")
  void queueCancel() throws Exception {
    choose("queue", "status", "queued");
    ready("queue");
    WebElement task = row("tasks", waitingTask);
    assertEquals("queued", cell(task, "status"));
    task.findElement(By.cssSelector("button[data-action='cancel']")).click();
    String message = find("section.view[data-view='queue'] .notice.good").getText();
    assertEquals("Task " + waitingTask + ": cancelled.", message);
    assertEquals("cancelled", get("/api/v1/tasks/" + waitingTask).getString("status"));
  }

  @Test
  @Order(6)
  @DisplayName("queue: more tasks of a status than a page holds are paged, Older to the oldest and Newer back")
  void queuePages() throws Exception {
    // 100 more queued after the oldest queued one (cancelled above, so the first is this one)
    String oldest = submit(new JsonObject().put("input", "the oldest waiting").put("delay", "1h"));
    for (int i = 0; i < 100; i++) {
      submit(new JsonObject().put("input", "waiting " + i).put("delay", "1h"));
    }
    open("providers"); // the queue view is open on queued already: a fresh one reads the new tasks
    open("queue");
    choose("queue", "status", "queued");
    WebElement view = ready("queue");
    assertEquals(100, view.findElements(By.cssSelector("table[data-table='tasks'] tbody tr[data-id]")).size());
    assertTrue(browser.findElements(By.cssSelector("table[data-table='tasks'] tr[data-id='" + oldest + "']")).isEmpty());
    find("section.view[data-view='queue'] button[data-action='older']").click();
    ready("queue");
    assertEquals("queued", cell(row("tasks", oldest), "status"));
    find("section.view[data-view='queue'] button[data-action='newer']").click();
    assertEquals(100, ready("queue").findElements(By.cssSelector("table[data-table='tasks'] tbody tr[data-id]")).size());
  }

  @Test
  @Order(7)
  @DisplayName("deliveries: the failed push listed with the platform's answer; Retry delivers it (the robot now accepts)")
  void deliveries() throws Exception {
    WebElement view = open("deliveries");
    WebElement delivery = row("deliveries", failedDelivery);
    assertEquals("failed", cell(delivery, "status"), view.getText());
    assertEquals("wecom / ops", cell(delivery, "channel"));
    assertTrue(cell(delivery, "response").contains("93000"), delivery.getText());
    screenshot("deliveries-failed");
    delivery.findElement(By.cssSelector("button[data-action='retry']")).click();
    String message = until("the retried delivery to settle", () -> {
      List<WebElement> good = browser.findElements(By.cssSelector("section.view[data-view='deliveries'] .notice.good"));
      return good.isEmpty() ? null : good.get(0).getText();
    });
    assertEquals("Delivery " + failedDelivery + " is now delivered.", message);
    assertEquals(2, wecom.received().size());
    choose("deliveries", "status", "delivered");
    ready("deliveries");
    assertEquals("delivered", cell(row("deliveries", failedDelivery), "status"));
    screenshot("deliveries-retried");
  }

  @Test
  @Order(8)
  @DisplayName("events: the signed CI webhook is listed, and opens to the whole event")
  void events() throws Exception {
    WebElement view = open("events");
    WebElement webhook = until("the webhook event", () -> view.findElements(By.cssSelector("table[data-table='events'] tbody tr"))
        .stream().filter(r -> r.getText().contains("webhook") && r.getText().contains("ci")).findFirst().orElse(null));
    webhook.findElement(By.tagName("summary")).click();
    String full = webhook.findElement(By.tagName("pre")).getText();
    assertTrue(full.contains("\"project\": \"switchboard\""), full);
    screenshot("events");
  }

  @Test
  @Order(9)
  @DisplayName("deliveries: with more of them than one page shows, the newest are listed (the API lists oldest first)")
  void newestDeliveries() throws Exception {
    // 200 more delivered pushes after the retried one: 201 delivered, one more than the view shows
    for (int i = 0; i < 200; i++) {
      hook("bulk", new JsonObject().put("n", i).encode());
    }
    String newest = until("200 bulk pushes delivered", () -> {
      JsonArray data = get("/api/v1/deliveries?status=delivered&channel=wecom&bot=bulk&limit=1000").getJsonArray("data");
      return data.size() == 200 ? data.getJsonObject(199).getString("id") : null;
    });
    open("deliveries");
    choose("deliveries", "status", "delivered");
    ready("deliveries");
    assertEquals("delivered", cell(row("deliveries", newest), "status"));
    screenshot("deliveries-newest");
  }

  @Test
  @Order(10)
  @DisplayName("rules: the running rules and schedules; the dry run renders the matching rule's actions without running them")
  void rules() throws Exception {
    open("rules");
    WebElement rule = row("rules", "ci-failed");
    assertTrue(cell(rule, "on").contains("webhook") && cell(rule, "if").contains("failed"), rule.getText());
    row("schedules", "hourly-report");
    int pushes = wecom.received().size();
    find("button[data-action='dry-run']").click();
    WebElement matched = row("dry-run", "ci-failed");
    assertEquals("matched", cell(matched, "matched"));
    assertTrue(cell(matched, "actions").contains("build failed: switchboard (main)"), matched.getText());
    assertEquals("no", cell(row("dry-run", "hourly-report"), "matched"));
    assertEquals(pushes, wecom.received().size(), "a dry run pushes nothing");
    screenshot("rules");
  }

  @Test
  @Order(11)
  @DisplayName("memories: a search within a scope shows the memory as text (its markup is not rendered); Delete removes it")
  void memories() throws Exception {
    WebElement view = open("memories");
    find("input[name='scope']").sendKeys("user:alice");
    find("input[name='q']").sendKeys("green tea");
    find("button[data-action='search']").click();
    WebElement memory = until("the memory", () -> view.findElements(By.cssSelector("table[data-table='memories'] tbody tr[data-id]"))
        .stream().findFirst().orElse(null));
    assertEquals(MEMORY, cell(memory, "content"));
    assertEquals("channel: console-test", cell(memory, "source"));
    assertTrue(memory.findElements(By.tagName("b")).isEmpty(), "the memory's markup became an element");
    screenshot("memories");
    String id = memory.getDomAttribute("data-id");
    WebElement delete = memory.findElement(By.cssSelector("button[data-action='delete']"));
    delete.click();
    assertEquals("Confirm delete", delete.getText());
    delete.click();
    String message = find("section.view[data-view='memories'] .notice.good").getText();
    assertEquals("Memory " + id + " deleted.", message);
    assertTrue(get("/api/v1/memories?scope=user:alice").getJsonArray("data").isEmpty());
  }

  @Test
  @Order(12)
  @DisplayName("usage: per model and per subject, as a table and an SVG bar chart")
  void usage() throws Exception {
    WebElement view = open("usage");
    WebElement model = row("usage", "fake-model");
    assertTrue(Integer.parseInt(cell(model, "total")) > 0, model.getText());
    assertEquals(1, view.findElements(By.cssSelector("svg[data-chart='bars'] g.bar-row[data-label='fake-model']")).size());
    screenshot("usage-model");
    choose("usage", "by", "subject");
    ready("usage");
    WebElement alice = row("usage", "alice");
    assertTrue(Integer.parseInt(cell(alice, "requests")) > 0, alice.getText());
    assertEquals(1, find("section.view[data-view='usage']").findElements(By.cssSelector("svg g.bar-row[data-label='alice']")).size());
    screenshot("usage-subject");
  }

  @Test
  @Order(13)
  @DisplayName("metrics: request rate, error rate, queue depth and provider up, read from /metrics and refreshed")
  void metrics() throws Exception {
    open("metrics");
    // a rate needs two readings: the first shows none; requests made after it count in the next
    assertEquals("—", find("[data-tile='request rate'] .tile-value").getText());
    for (int i = 0; i < 20; i++) {
      web.getAbs(gateway.url("/healthz")).send().await(10, TimeUnit.SECONDS);
    }
    String rate = until("a request rate", () -> {
      String text = find("[data-tile='request rate'] .tile-value").getText();
      return text.endsWith("/s") ? text : null;
    });
    assertTrue(rate.matches("\\d+\\.\\d\\d /s") && !rate.equals("0.00 /s"), rate);
    assertTrue(find("[data-tile='error rate'] .tile-value").getText().endsWith("%"));
    assertTrue(find("[data-tile='queue depth'] .tile-value").getText().matches("\\d+"));
    WebElement up = row("provider-up", "default");
    assertTrue(List.of("up", "down").contains(cell(up, "up")), up.getText());
    screenshot("metrics");
  }

  @Test
  @Order(14)
  @DisplayName("a token whose role may not read the admin API signs in, and each view says 403 and why")
  void forbidden() throws Exception {
    find("#sign-out").click();
    Vertx v = Vertx.vertx();
    String client;
    try {
      client = Tokens.issue(Tokens.auth(v, new JwtSecret(TestGateway.SECRET, "test")), "bob", Duration.ofHours(1),
          TokenClaims.of(List.of("client"), List.of(), List.of()));
    } finally {
      v.close();
    }
    signIn(client);
    find("nav a[data-view='providers']").click();
    String css = "section.view[data-view='providers'][data-state='error'] .notice.bad";
    String message = find(css).getText();
    assertTrue(message.contains("403") && message.contains("GET /api/v1/providers"), message);
    screenshot("forbidden");
  }

  @Test
  @Order(15)
  @DisplayName("a token revoked while signed in: the next call is refused (401), and the console signs out saying so")
  void revokedWhileSignedIn() throws Exception {
    find("#sign-out").click();
    String carol = gateway.token("carol");
    signIn(carol);
    WebElement view = open("providers");
    HttpResponse<Buffer> revoked = web.postAbs(gateway.url("/api/v1/tokens/revoke")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("token", carol)).await(10, TimeUnit.SECONDS);
    assertEquals(200, revoked.statusCode(), revoked.bodyAsString());
    view.findElement(By.xpath(".//button[text()='Refresh']")).click();
    String message = find("#sign-in-message .notice").getText();
    assertTrue(message.contains("401") && message.contains("Sign in again"), message);
    assertNull(storedToken());
    screenshot("revoked");
  }

  @Test
  @Order(16)
  @DisplayName("sign out forgets the token and shows the sign-in again")
  void signsOut() throws Exception {
    signIn(token);
    find("#sign-out").click();
    assertTrue(find("#sign-in-message .notice").getText().startsWith("Signed out"));
    assertNull(storedToken());
    assertTrue(!browser.findElement(By.id("console")).isDisplayed());
    screenshot("signed-out");
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
