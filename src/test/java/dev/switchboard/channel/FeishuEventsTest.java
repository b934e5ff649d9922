package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Feishu events with the reference vectors E1–E5, and a message answered as a reply. */
@ExtendWith(VertxExtension.class)
@DisplayName("Feishu/Lark events")
class FeishuEventsTest {

  static final String E1 = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=";
  static final String E4 = "AAECAwQFBgcICQoLDA0ODw9mLTIAZS9jAmGTQ1wAhHpnBHVL2wRjH9rPunQdQC1vLjsckayA10kZ8cPwtb62F8rC7JprUPR/4S2aZihfR+p8npX7UzWPithZmfKIPZgE";
  static final String E5 = "AAECAwQFBgcICQoLDA0ODzksK1XHDGhxTlKJKwLymcMyd1nZHD+oH9xjSv/KOaKKQZFf++YZbVCHz6X8k9iRN/lcS84lDXmZagj4wxZQwNvUKLQ6++TDoH/28s+ilAbGgzT5bM19IqShFoVv+QiIzOnEo7zZKCDV5ZDayc2uYbnLsnjj+Lketxr8LkFr+W50srvM+/+B4/q6tH+7PglE9BfvDW9YUTwPHNa6LmZ2bBgplqxKLKdBpgQYLDEFmijf1vr9MP/cog4mSPvGjwtKw4jsrPNWd5HUDhXojHP9EWDEL97E29Mix/jRO2b+71lcSAKoh8zgBohPN2loI2IcXq6Vi8b4K/fY+pJzu1Gc1JrpCK+Hbnw4goMxjgXzKK+14QD/KFDAXxsPcU/PQDYn7xgvNjTI5XGyh6bEuTzMD1LkBVvRWw3Xl8UPczyB/s2+X08JQM04Ddt452gGBPVr7KvZd0l6M/aObUuBoPjh4YUZom1jYX2R6z6iV6ImVf55Mz3U1Eq6uj3dwoxs3x4RfkEqhTzo05IFAXGLRFfPX/YSSZvkSAgM53VPTerD3huVyzM/4lmklOZEsNjzsPqzwUeai7t+DvNuSDqxl2uAJkEZjVyQDqA8mcD4oa7GGocej5Ia7ce0zHPaVTqfjMop2IN4WO8wJk3HBTw3FvyqjFIOi7f0LyiU+pYCAy8K1V0xyuvu1EYQJSV7Xy1gPlugMqCRI5seAOOXgO+xV7NXf0Fvnq8vJNqK+FLbHuQSb0t5ZTW/QKpDW+b3WXnNDHyd7iKtq78RsxA7af/9GdIkPZOkDmMQIrorzQ5OWunKM5/MF59+70Lmix74AHs1QP3wjxl7ntYkw65rsFkayjBuiqafe+Bzs/aLIMfZZiq7yiVr5CvO/lSvAHcdG378scN9p6rTKm81vdDeHQL7XSYL/Go8zK+gr9ix7M0P7sTEVKtAZ9mLtDWMmMv5uBJnGTEnt10mlpJkF5iFRSdNm+r898Nkj9DbGS90TE9UscHPHXyOGS0fUkYx4BPmv9F7gtp1UP2A4Nv0qC1VulEyC3ducvixhHFK//LjMexd565TKGZc9qIWu+GzdCnDPwKF/HmHqb+iHFlZGrqBJV2UU6ZSQvhrGHrdYPHW9RyAahlOuUuTogS0Gz8ym5BMMha0aHL+up5xbYiCipcqQNrboTQh/DDghFa/0QMoVEKzLhGCrv4vFAvBFYrNQKsrDcaBjhyzhg==";
  static final String E5_SIGNATURE = "d93ec368162fd6634fd70c72cc0f839e1c97b37cc570a0439510b4cff055bb49";

  record Seen(String path, MultiMap headers, String body) {
  }

  Vertx vertx;
  FakeUpstream upstream;
  HttpServer feishu;
  final List<Seen> seen = new CopyOnWriteArrayList<>();
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    // Feishu's OpenAPI: a tenant token, and replies
    feishu = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      seen.add(new Seen(req.path(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()), b.toString()));
      JsonObject answer = req.path().endsWith("/tenant_access_token/internal")
          ? new JsonObject().put("code", 0).put("msg", "ok").put("tenant_access_token", "t-fake").put("expire", 7200)
          : new JsonObject().put("code", 0).put("msg", "success").put("data", new JsonObject());
      req.response().putHeader("content-type", "application/json").end(answer.encode());
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            feishu:
              - name: "assistant"
                app_id: "cli_9f5343c580712544"
                app_secret: "app-secret"
                verification_token: "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
                encrypt_key: "test key"
                domain: "http://127.0.0.1:%d"
              - name: "e4"
                app_id: "cli_e4"
                app_secret: "s"
                verification_token: "xxxxxx"
                encrypt_key: "test key"
                domain: "http://127.0.0.1:%d"
              - name: "plain"
                app_id: "cli_plain"
                app_secret: "s"
                verification_token: "xxxxxx"
                domain: "http://127.0.0.1:%d"
            """.formatted(feishu.actualPort(), feishu.actualPort(), feishu.actualPort()))
        .start();
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private Future<HttpResponse<Buffer>> post(String bot, String body, String ts, String nonce, String signature) {
    var req = web.postAbs(gateway.url("/webhooks/feishu/" + bot)).putHeader("content-type", "application/json");
    if (ts != null) {
      req.putHeader("X-Lark-Request-Timestamp", ts).putHeader("X-Lark-Request-Nonce", nonce).putHeader("X-Lark-Signature", signature);
    }
    return req.sendBuffer(Buffer.buffer(body));
  }

  @Test
  @DisplayName("E2: the AES key is SHA-256 of the encrypt key")
  void vectorE2() {
    FeishuApp app = new FeishuApp("a", "id", "s", "", "test key", "http://x", null, null, null);
    assertEquals("fa2bdca424f01f01ffb48df93acc35d439c7fd331a1a7fba6ac2fd83aa9ab31a", java.util.HexFormat.of().formatHex(app.aesKey()));
  }

  @Test
  @DisplayName("E1 decrypts to 'hello world'; E3 is the signature of its body")
  void vectorsE1E3() {
    FeishuApp app = new FeishuApp("a", "id", "s", "", "test key", "http://x", null, null, null);
    assertEquals("hello world", app.decrypt(E1));
    String body = "{\"encrypt\":\"" + E1 + "\"}";
    assertEquals("505e9c986c4eb94dfd8ab3ac8b57584f172b7e85e59ea20a156fc65abc513a20",
        app.signature("1700000000", "13859", body.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  @DisplayName("E4: an encrypted url_verification is answered with the plain challenge; a plain one too")
  void challenge(VertxTestContext ctx) {
    post("e4", "{\"encrypt\":\"" + E4 + "\"}", null, null, null)
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals(new JsonObject().put("challenge", "ajls384kdjx98XX"), r.bodyAsJsonObject());
          });
          return post("e4", "{\"challenge\":\"c-1\",\"token\":\"xxxxxx\",\"type\":\"url_verification\"}", null, null, null);
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(new JsonObject().put("challenge", "c-1"), r.bodyAsJsonObject());
          ctx.completeNow();
        })));
  }

  static final FeishuApp TEST_KEY = new FeishuApp("a", "id", "s", "", "test key", "http://x", null, null, null);
  static final String E5_BODY = "{\"encrypt\":\"" + E5 + "\"}";

  static String nowSeconds() {
    return String.valueOf(System.currentTimeMillis() / 1000);
  }

  @Test
  @DisplayName("E5: the X-Lark-Signature of the encrypted message at its own timestamp")
  void vectorE5() {
    assertEquals(E5_SIGNATURE, TEST_KEY.signature("1700000000", "13859", E5_BODY.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  @DisplayName("E5: a signed, encrypted message is answered {\"msg\":\"success\"} and replied to through the OpenAPI with a tenant token")
  void messageAnsweredAsReply(VertxTestContext ctx) {
    // E5 as Feishu would send it today: the same body, signed at the current time
    String ts = nowSeconds();
    post("assistant", E5_BODY, ts, "13859", TEST_KEY.signature(ts, "13859", E5_BODY.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals(new JsonObject().put("msg", "success"), r.bodyAsJsonObject());
          });
          Promise<Void> replied = Promise.promise();
          long deadline = System.currentTimeMillis() + 15_000;
          vertx.setPeriodic(25, id -> {
            if (seen.stream().anyMatch(s -> s.path().endsWith("/reply")) || System.currentTimeMillis() > deadline) {
              vertx.cancelTimer(id);
              replied.complete();
            }
          });
          return replied.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          Seen token = seen.get(0);
          assertEquals("/open-apis/auth/v3/tenant_access_token/internal", token.path());
          assertEquals(new JsonObject().put("app_id", "cli_9f5343c580712544").put("app_secret", "app-secret"), new JsonObject(token.body()));
          Seen reply = seen.get(1);
          assertEquals("/open-apis/im/v1/messages/om_5ce6d572455d361153b7cb51da133945/reply", reply.path());
          assertEquals("Bearer t-fake", reply.headers().get("Authorization"));
          JsonObject body = new JsonObject(reply.body());
          assertEquals("text", body.getString("msg_type"));
          assertEquals(new JsonObject().put("text", "echo: hello"), new JsonObject(body.getString("content")));
          assertTrue(body.getString("uuid").length() <= 50);
          assertEquals("hello", upstream.chatRequests().get(0).getJsonArray("messages").getJsonObject(0).getString("content"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("bodies whose fields have the wrong types are refused at once, not left hanging")
  void malformedFields(VertxTestContext ctx) {
    post("e4", "{\"type\":1,\"challenge\":[]}", null, null, null)
        .compose(r -> {
          ctx.verify(() -> assertEquals(401, r.statusCode(), r.bodyAsString()));
          return post("e4", "{\"type\":\"url_verification\",\"token\":{\"a\":1},\"challenge\":\"c\"}", null, null, null);
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertTrue(r.statusCode() == 400 || r.statusCode() == 401, r.statusCode() + " " + r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an app with neither verification token nor encrypt key stays off: nothing would tell its events from forgeries")
  void unprotectedAppIsOff() {
    FeishuApp app = FeishuApp.from(yaml("name: x\napp_id: cli\napp_secret: s\n"), yaml("{}"));
    assertEquals("verification_token unset", app.offReason());
  }

  @Test
  @DisplayName("an app with a verification token but no encrypt key is off (503): its events would come unsigned and replayable")
  void tokenOnlyAppIsOff(VertxTestContext ctx) {
    post("plain", "{\"challenge\":\"c-1\",\"token\":\"xxxxxx\",\"type\":\"url_verification\"}", null, null, null)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(503, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("encrypt_key unset"), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  /** Where {@link #yaml} writes its file; JUnit deletes it after the tests. */
  @org.junit.jupiter.api.io.TempDir
  static java.nio.file.Path yamlDir;

  private static dev.switchboard.config.ConfigNode yaml(String text) {
    try {
      java.nio.file.Files.writeString(yamlDir.resolve("x.yaml"), text);
      return new dev.switchboard.config.ConfigFiles(yamlDir, k -> null).load("x.yaml", true);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  @DisplayName("E5-bad: a changed signature is refused with 401 and starts nothing")
  void badSignature(VertxTestContext ctx) {
    String ts = nowSeconds();
    String signature = TEST_KEY.signature(ts, "13859", E5_BODY.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    post("assistant", E5_BODY, ts, "13859", "00" + signature.substring(2))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode());
          assertEquals(0, upstream.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("E5 as signed at its own timestamp, years ago, is refused with 401: signed events must be within timestamp_window")
  void staleSignedEventRefused(VertxTestContext ctx) {
    post("assistant", E5_BODY, "1700000000", "13859", E5_SIGNATURE)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("X-Lark-Request-Timestamp"), r.bodyAsString());
          assertEquals(0, upstream.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an encrypted event without a signature is refused with 401; only the challenge comes unsigned")
  void unsignedEventRefused(VertxTestContext ctx) {
    post("assistant", E5_BODY, null, null, null)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode(), r.bodyAsString());
          assertEquals(0, upstream.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a bad signature is refused with 401 before the body is parsed or decrypted")
  void badSignatureBeforeParsing(VertxTestContext ctx) {
    String ts = nowSeconds();
    String wrong = "0".repeat(64);
    // neither body can be read: answered 400 if it were parsed or decrypted before the signature check
    post("assistant", "{not json at all", ts, "13859", wrong)
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(401, r.statusCode(), r.bodyAsString());
            assertTrue(r.bodyAsString().contains("X-Lark-Signature does not match"), r.bodyAsString());
          });
          return post("assistant", "{\"encrypt\":\"AAAA\"}", ts, "13859", wrong);
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("X-Lark-Signature does not match"), r.bodyAsString());
          ctx.completeNow();
        })));
  }
}
