package dev.switchboard.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Inbound paths to the event store and on to the rules, through a real gateway: the normalised
 * event as stored (GET /api/v1/events), the hand-over on rules.event (a consumer registered by the
 * test, which is the rules' side of the contract), retries while nobody takes events, and the
 * hand-over after a restart.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("Inbound events")
class InboundEventsTest {

  static final String APP_SECRET = "ding-app-secret-for-events";
  static final String ALERT_TOKEN = "am-token-0123456789";

  Vertx client;
  WebClient web;
  TestGateway gateway;
  final List<JsonObject> taken = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    client = Vertx.vertx();
    web = WebClient.create(client);
    gateway = TestGateway.builder().file("channels.yaml", """
        dingtalk:
          - name: "assistant"
            app_key: "ding-app-key"
            app_secret: "%s"
            mode: "callback"
            session_webhook_hosts: ["http://127.0.0.1:9"]
          - name: "always"
            app_key: "ding-app-key-2"
            app_secret: "%s"
            mode: "callback"
            reply_in_groups: always
            session_webhook_hosts: ["http://127.0.0.1:9"]
        alertmanager:
          - name: "prod"
            token: "%s"
        """.formatted(APP_SECRET, APP_SECRET, ALERT_TOKEN)).start();
  }

  @AfterEach
  void stop() {
    gateway.close();
    client.close();
  }

  /** What the rules engine does on rules.event: take the event and answer. */
  void rulesTake() {
    gateway.vertx().eventBus().<JsonObject>consumer(Addresses.RULES_EVENT, m -> {
      taken.add(m.body());
      m.reply(new JsonObject().put("fired", new JsonArray()));
    });
  }

  static <T> T await(io.vertx.core.Future<T> f) throws Exception {
    return f.await(20, TimeUnit.SECONDS);
  }

  static void eventually(BooleanSupplier condition, String what) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not within 15 s: " + what);
      }
      Thread.sleep(50);
    }
  }

  private static String sign(long ts) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(APP_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return Base64.getEncoder().encodeToString(mac.doFinal((ts + "\n" + APP_SECRET).getBytes(StandardCharsets.UTF_8)));
  }

  private static JsonObject dingtalk(String msgId, String text, boolean atBot) {
    return new JsonObject()
        .put("conversationId", "cid-1").put("msgId", msgId).put("senderNick", "杨xx").put("senderStaffId", "user123")
        .put("senderId", "$:LWCP_v1:$Ff09GIxxxxx").put("conversationType", "2").put("isInAtList", atBot)
        .put("sessionWebhookExpiredTime", System.currentTimeMillis() + 5_400_000).put("createAt", System.currentTimeMillis())
        .put("sessionWebhook", "http://127.0.0.1:9/robot/sendBySession?session=s-1")
        .put("text", new JsonObject().put("content", " " + text)).put("msgtype", "text");
  }

  private HttpResponse<Buffer> post(String bot, JsonObject body, long ts) throws Exception {
    return await(web.postAbs(gateway.url("/webhooks/dingtalk/" + bot))
        .putHeader("timestamp", String.valueOf(ts)).putHeader("sign", sign(ts)).sendJsonObject(body));
  }

  private JsonObject events(String query) throws Exception {
    HttpResponse<Buffer> r = await(web.getAbs(gateway.url("/api/v1/events" + query))
        .bearerTokenAuthentication(gateway.token("ops")).send());
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  private JsonObject only(String query) throws Exception {
    JsonArray data = events(query).getJsonArray("data");
    assertEquals(1, data.size(), data.encode());
    return data.getJsonObject(0);
  }

  @Test
  @DisplayName("a DingTalk message is stored as the normalised event before the callback is answered")
  void dingtalkStoredNormalised() throws Exception {
    HttpResponse<Buffer> r = post("assistant", dingtalk("m-1", "hello", true), System.currentTimeMillis());
    assertEquals(200, r.statusCode(), r.bodyAsString());
    JsonObject e = only("?type=message&platform=dingtalk");
    assertEquals("dingtalk:assistant:m-1", e.getString("id"));
    assertEquals("message", e.getString("type"));
    assertNotNull(java.time.Instant.parse(e.getString("time")));
    assertEquals("assistant", e.getString("bot"));
    assertEquals(new JsonObject().put("id", "cid-1").put("type", "group"), e.getJsonObject("conversation"));
    assertEquals(new JsonObject().put("id", "user123").put("name", "杨xx"), e.getJsonObject("sender"));
    assertEquals("hello", e.getString("text"));
    assertTrue(e.getBoolean("mentioned"));
    assertEquals("m-1", e.getJsonObject("raw").getString("msgId"));
    JsonObject reply = e.getJsonObject("reply");
    JsonObject target = reply.getJsonObject("target");
    assertEquals("dingtalk", target.getString("type"));
    assertEquals("assistant", target.getString("bot"));
    assertEquals("http://127.0.0.1:9/robot/sendBySession?session=s-1", target.getJsonObject("address").getString("session_webhook"));
    assertEquals(new JsonArray().add("user123"), target.getJsonObject("address").getJsonArray("at_user_ids"));
    assertEquals(new JsonObject().put("key", "dingtalk:assistant:cid-1:user123").put("turns", 10), reply.getJsonObject("conversation"));
    assertEquals(new JsonArray().add("conversation:dingtalk:cid-1"), reply.getJsonArray("memory_scopes"));
  }

  @Test
  @DisplayName("a group message not addressed to the bot is an event with mentioned false; with reply_in_groups always it is addressed")
  void mentionedFollowsPolicy() throws Exception {
    assertEquals(200, post("assistant", dingtalk("m-1", "chatter", false), System.currentTimeMillis()).statusCode());
    assertEquals(200, post("always", dingtalk("m-2", "chatter", false), System.currentTimeMillis()).statusCode());
    assertFalse(only("?platform=dingtalk&limit=1&cursor=").getString("id").isEmpty());
    JsonArray data = events("?platform=dingtalk").getJsonArray("data");
    assertEquals("dingtalk:always:m-2", data.getJsonObject(0).getString("id"));
    assertTrue(data.getJsonObject(0).getBoolean("mentioned"));
    assertEquals("dingtalk:assistant:m-1", data.getJsonObject(1).getString("id"));
    assertFalse(data.getJsonObject(1).getBoolean("mentioned"));
  }

  @Test
  @DisplayName("a re-delivered message is answered as the first one was and stored once")
  void redeliveryStoredOnce() throws Exception {
    long ts = System.currentTimeMillis();
    assertEquals(200, post("assistant", dingtalk("m-1", "hello", true), ts).statusCode());
    // DingTalk's retry is signed afresh
    assertEquals(200, post("assistant", dingtalk("m-1", "hello", true), ts + 1).statusCode());
    assertEquals(1, events("").getJsonArray("data").size());
  }

  @Test
  @DisplayName("a stored event is handed to the rules once and then shown as handled")
  void handedToRules() throws Exception {
    rulesTake();
    post("assistant", dingtalk("m-1", "hello", true), System.currentTimeMillis());
    eventually(() -> taken.size() == 1, "the rules got the event");
    assertEquals("dingtalk:assistant:m-1", taken.get(0).getString("id"));
    eventually(() -> {
      try {
        return only("").getValue("handled_at") != null;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, "the event shows as handled");
    Thread.sleep(1_500);
    assertEquals(1, taken.size(), "handed over again after it was handled");
  }

  @Test
  @DisplayName("while nothing takes rules.event the event stays pending, and it is handed over once the rules are there")
  void pendingUntilRulesThere() throws Exception {
    post("assistant", dingtalk("m-1", "hello", true), System.currentTimeMillis());
    Thread.sleep(1_500);
    assertNull(only("").getValue("handled_at"));
    rulesTake();
    eventually(() -> taken.size() == 1, "the rules got the event once they listened");
    eventually(() -> {
      try {
        return only("").getValue("handled_at") != null;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, "the event shows as handled");
  }

  @Test
  @DisplayName("a hand-over the rules fail is tried again")
  void failedHandOverRetried() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    gateway.vertx().eventBus().<JsonObject>consumer(Addresses.RULES_EVENT, m -> {
      if (calls.incrementAndGet() == 1) {
        m.fail(503, "rules reloading");
      } else {
        taken.add(m.body());
        m.reply(new JsonObject().put("fired", new JsonArray()));
      }
    });
    post("assistant", dingtalk("m-1", "hello", true), System.currentTimeMillis());
    eventually(() -> taken.size() == 1, "the second hand-over");
    assertEquals(2, calls.get());
  }

  @Test
  @DisplayName("an event acknowledged but not handed over before a stop is handed over after the restart")
  void handedOverAfterRestart() throws Exception {
    post("assistant", dingtalk("m-1", "hello", true), System.currentTimeMillis());
    gateway.restart();
    rulesTake();
    eventually(() -> taken.size() == 1, "the rules got the event after the restart");
    assertEquals("dingtalk:assistant:m-1", taken.get(0).getString("id"));
  }

  private HttpResponse<Buffer> alert(String name, String token, String body) throws Exception {
    var request = web.postAbs(gateway.url("/webhooks/alertmanager/" + name)).putHeader("content-type", "application/json");
    if (token != null) {
      request.putHeader("authorization", "Bearer " + token);
    }
    return await(request.sendBuffer(Buffer.buffer(body)));
  }

  static final String ALERT = """
      {"version":"4","groupKey":"{}:{alertname=\\"HighLatency\\"}","status":"firing","receiver":"switchboard",
       "alerts":[{"status":"firing","labels":{"alertname":"HighLatency","severity":"page"},
                  "annotations":{"summary":"p99 over 2s"},"startsAt":"2026-01-01T00:00:00Z"}]}""";

  @Test
  @DisplayName("an Alertmanager notification with its Bearer token is stored as an alert event, its retry as a duplicate")
  void alertStored() throws Exception {
    HttpResponse<Buffer> r = alert("prod", ALERT_TOKEN, ALERT);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("accepted", r.bodyAsJsonObject().getString("status"));
    JsonObject e = only("?type=alert");
    assertEquals(r.bodyAsJsonObject().getString("id"), e.getString("id"));
    assertEquals("prod", e.getString("name"));
    assertEquals("HighLatency", e.getJsonArray("alerts").getJsonObject(0).getJsonObject("labels").getString("alertname"));
    assertEquals("firing", e.getJsonObject("body").getString("status"));
    HttpResponse<Buffer> again = alert("prod", ALERT_TOKEN, ALERT);
    assertEquals(200, again.statusCode(), again.bodyAsString());
    assertEquals("duplicate", again.bodyAsJsonObject().getString("status"));
    assertEquals(1, events("?type=alert").getJsonArray("data").size());
  }

  @Test
  @DisplayName("an Alertmanager notification without the right token is refused and not stored")
  void alertWithoutTokenRefused() throws Exception {
    assertEquals(401, alert("prod", "wrong", ALERT).statusCode());
    assertEquals(401, alert("prod", null, ALERT).statusCode());
    assertEquals(404, alert("staging", ALERT_TOKEN, ALERT).statusCode());
    assertEquals(0, events("").getJsonArray("data").size());
  }

  @Test
  @DisplayName("the events list needs a token and refuses a limit out of range")
  void listGuarded() throws Exception {
    assertEquals(401, await(web.getAbs(gateway.url("/api/v1/events")).send()).statusCode());
    HttpResponse<Buffer> r = await(web.getAbs(gateway.url("/api/v1/events?limit=0")).bearerTokenAuthentication(gateway.token("ops")).send());
    assertEquals(400, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("/readyz has an entry for the event store")
  void readinessHasEvents() throws Exception {
    HttpResponse<Buffer> r = await(web.getAbs(gateway.url("/readyz")).send());
    JsonObject entry = r.bodyAsJsonObject().getJsonObject("components").getJsonObject("events");
    assertEquals("up", entry.getString("status"), r.bodyAsString());
    assertEquals("embedded", entry.getString("store"));
  }
}
