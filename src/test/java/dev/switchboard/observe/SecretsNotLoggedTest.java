package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.LogCapture;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A full run with every kind of configured credential, every log line of the JVM captured at ALL
 * levels in both formats (json with the event lines on, and text): none of the credentials, nor
 * the Authorization header of any request, appears in any line.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Secrets are never logged")
class SecretsNotLoggedTest {

  static final String MODEL_KEY = "sk-model-Key-7f3a9c1e5b";
  static final String DINGTALK_SECRET = "SECdingtalk0123456789abcdef0123456789abcdef0123456789abcdef01234";
  static final String FEISHU_APP_SECRET = "feishu-app-Secret-4e1d";
  static final String FEISHU_TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV";
  static final String FEISHU_ENCRYPT_KEY = "feishu-encrypt-Key-93b2";
  static final String FEISHU_TENANT_TOKEN = "t-tenant-Token-5c6d";
  static final String WECOM_TOKEN = "QDG6eK";
  static final String WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
  static final String WECOM_CORP = "wx5823bf96d3bd56c7";
  static final String HOOK_SECRET = "ci-hook-Secret-a81f";
  static final String BAD_BEARER = "not.a-valid.Bearer-Value-e2e9";

  /** Feishu's E5 sample (a text message to the bot), sealed with the key "test key"; re-sealed here with ours. */
  static final String E5 = "AAECAwQFBgcICQoLDA0ODzksK1XHDGhxTlKJKwLymcMyd1nZHD+oH9xjSv/KOaKKQZFf++YZbVCHz6X8k9iRN/lcS84lDXmZagj4wxZQwNvUKLQ6++TDoH/28s+ilAbGgzT5bM19IqShFoVv+QiIzOnEo7zZKCDV5ZDayc2uYbnLsnjj+Lketxr8LkFr+W50srvM+/+B4/q6tH+7PglE9BfvDW9YUTwPHNa6LmZ2bBgplqxKLKdBpgQYLDEFmijf1vr9MP/cog4mSPvGjwtKw4jsrPNWd5HUDhXojHP9EWDEL97E29Mix/jRO2b+71lcSAKoh8zgBohPN2loI2IcXq6Vi8b4K/fY+pJzu1Gc1JrpCK+Hbnw4goMxjgXzKK+14QD/KFDAXxsPcU/PQDYn7xgvNjTI5XGyh6bEuTzMD1LkBVvRWw3Xl8UPczyB/s2+X08JQM04Ddt452gGBPVr7KvZd0l6M/aObUuBoPjh4YUZom1jYX2R6z6iV6ImVf55Mz3U1Eq6uj3dwoxs3x4RfkEqhTzo05IFAXGLRFfPX/YSSZvkSAgM53VPTerD3huVyzM/4lmklOZEsNjzsPqzwUeai7t+DvNuSDqxl2uAJkEZjVyQDqA8mcD4oa7GGocej5Ia7ce0zHPaVTqfjMop2IN4WO8wJk3HBTw3FvyqjFIOi7f0LyiU+pYCAy8K1V0xyuvu1EYQJSV7Xy1gPlugMqCRI5seAOOXgO+xV7NXf0Fvnq8vJNqK+FLbHuQSb0t5ZTW/QKpDW+b3WXnNDHyd7iKtq78RsxA7af/9GdIkPZOkDmMQIrorzQ5OWunKM5/MF59+70Lmix74AHs1QP3wjxl7ntYkw65rsFkayjBuiqafe+Bzs/aLIMfZZiq7yiVr5CvO/lSvAHcdG378scN9p6rTKm81vdDeHQL7XSYL/Go8zK+gr9ix7M0P7sTEVKtAZ9mLtDWMmMv5uBJnGTEnt10mlpJkF5iFRSdNm+r898Nkj9DbGS90TE9UscHPHXyOGS0fUkYx4BPmv9F7gtp1UP2A4Nv0qC1VulEyC3ducvixhHFK//LjMexd565TKGZc9qIWu+GzdCnDPwKF/HmHqb+iHFlZGrqBJV2UU6ZSQvhrGHrdYPHW9RyAahlOuUuTogS0Gz8ym5BMMha0aHL+up5xbYiCipcqQNrboTQh/DDghFa/0QMoVEKzLhGCrv4vFAvBFYrNQKsrDcaBjhyzhg==";
  /** WeCom's W2 sample (a text message), sealed with {@link #WECOM_AES_KEY}. */
  static final String W2_CIPHER = "sKqRbbiSUnDhFHOvPjtUMV+bt+WaVb1OGJSDwd+x0KOoRm9ekd8pZYDl7EXxMAAfJ5YCJ490AxI+dtSolT6sUn7yfYC9PMUXiNvBLUWJYYS5B8r5ZKcV6HcJNqPMceiL9yrb2NALTXpogkwhwGFwD/lpwvYxMyAB4TpZwLhpnt5ywuihnkhL6tSQMyxxixr3/7v3oBnJeHuPxeaGmBo/jA==";

  FakeUpstream upstream;
  FakeDingTalk dingtalk;
  HttpServer feishu;
  final List<String> feishuPaths = new CopyOnWriteArrayList<>();
  TestGateway gateway;
  WebClient web;
  LogCapture json;
  LogCapture text;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, DINGTALK_SECRET).await(10, TimeUnit.SECONDS);
    feishu = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      feishuPaths.add(req.path());
      JsonObject answer = req.path().endsWith("/tenant_access_token/internal")
          ? new JsonObject().put("code", 0).put("msg", "ok").put("tenant_access_token", FEISHU_TENANT_TOKEN).put("expire", 7200)
          : new JsonObject().put("code", 0).put("msg", "success").put("data", new JsonObject());
      req.response().putHeader("content-type", "application/json").end(answer.encode());
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    // captured from before the gateway starts: its start-up lines count too
    json = LogCapture.json();
    text = LogCapture.text();
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_API_KEY", MODEL_KEY)
        .dingtalk(dingtalk.webhook(), DINGTALK_SECRET).env("CI_HOOK_SECRET", HOOK_SECRET)
        .file("switchboard.yaml", "queue: { workers: 1 }\nlogging: { format: json, requests: true }\n")
        .file("channels.yaml", """
            dingtalk:
              - name: "default"
                webhook: "${DINGTALK_WEBHOOK}"
                secret: "${DINGTALK_SECRET}"
            feishu:
              - name: "assistant"
                app_id: "cli_9f5343c580712544"
                app_secret: "%s"
                verification_token: "%s"
                encrypt_key: "%s"
                domain: "http://127.0.0.1:%d"
            wecom:
              - name: "assistant"
                corp_id: "%s"
                token: "%s"
                encoding_aes_key: "%s"
            webhooks:
              - name: "ci"
                secret: "${CI_HOOK_SECRET}"
            """.formatted(FEISHU_APP_SECRET, FEISHU_TOKEN, FEISHU_ENCRYPT_KEY, feishu.actualPort(), WECOM_CORP,
            WECOM_TOKEN, WECOM_AES_KEY))
        .start();
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
    json.close();
    text.close();
  }

  private static void eventually(Supplier<Boolean> found, String what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    while (!found.get()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(what);
      }
      Thread.sleep(25);
    }
  }

  private HttpResponse<Buffer> chat(String token, boolean stream) throws Exception {
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("model", "fake-model").put("stream", stream)
            .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))))
        .await(20, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("chat, stream, a task pushed to signed DingTalk, Feishu and WeCom callbacks, a signed hook, a memory and a 401: no credential in any line")
  void fullRun() throws Exception {
    String token = gateway.token("alice");
    String otherKeyToken = token.substring(0, token.lastIndexOf('.') + 1) + "c2lnbmVkLXdpdGgtYW5vdGhlci1rZXk";

    assertEquals(200, chat(token, false).statusCode());
    assertEquals(200, chat(token, true).statusCode());
    assertEquals(401, chat("Bearer-less " + BAD_BEARER, false).statusCode());
    assertEquals(401, chat(BAD_BEARER, false).statusCode());
    assertEquals(401, chat(otherKeyToken, false).statusCode());

    HttpResponse<Buffer> task = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("input", "日报").put("model", "fake-model")
            .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default"))))
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, task.statusCode(), task.bodyAsString());

    HttpResponse<Buffer> memory = web.postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("content", "周会在每周二下午三点").put("scope", "user:alice"))
        .await(60, TimeUnit.SECONDS);
    assertEquals(201, memory.statusCode(), memory.bodyAsString());

    // Feishu: E5's message, sealed and signed with our encrypt key
    String body = new JsonObject().put("encrypt", feishuSeal(feishuOpen(E5, "test key"), FEISHU_ENCRYPT_KEY)).encode();
    String ts = String.valueOf(System.currentTimeMillis() / 1000);
    String feishuSignature = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest((ts + "13859" + FEISHU_ENCRYPT_KEY + body).getBytes(StandardCharsets.UTF_8)));
    HttpResponse<Buffer> lark = web.postAbs(gateway.url("/webhooks/feishu/assistant")).putHeader("content-type", "application/json")
        .putHeader("X-Lark-Request-Timestamp", ts).putHeader("X-Lark-Request-Nonce", "13859")
        .putHeader("X-Lark-Signature", feishuSignature).sendBuffer(Buffer.buffer(body)).await(10, TimeUnit.SECONDS);
    assertEquals(200, lark.statusCode(), lark.bodyAsString());

    // WeCom: W2, signed with our token
    List<String> parts = new ArrayList<>(List.of(WECOM_TOKEN, ts, "1372623149", W2_CIPHER));
    parts.sort(null);
    String wecomSignature = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
        .digest(String.join("", parts).getBytes(StandardCharsets.UTF_8)));
    String xml = "<xml><ToUserName><![CDATA[" + WECOM_CORP + "]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
        + "<Encrypt><![CDATA[" + W2_CIPHER + "]]></Encrypt></xml>";
    HttpResponse<Buffer> wecom = web.postAbs(gateway.url("/webhooks/wecom/assistant?msg_signature=" + wecomSignature
        + "&timestamp=" + ts + "&nonce=1372623149")).sendBuffer(Buffer.buffer(xml)).await(10, TimeUnit.SECONDS);
    assertEquals(200, wecom.statusCode(), wecom.bodyAsString());

    // the generic hook, HMAC-signed with its secret
    String hookBody = "{\"status\":\"failed\",\"branch\":\"main\"}";
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(HOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String hookSignature = "sha256=" + HexFormat.of().formatHex(mac.doFinal((ts + "." + hookBody).getBytes(StandardCharsets.UTF_8)));
    HttpResponse<Buffer> hook = web.postAbs(gateway.url("/webhooks/hooks/ci")).putHeader("content-type", "application/json")
        .putHeader("x-switchboard-timestamp", ts).putHeader("x-switchboard-signature", hookSignature)
        .sendBuffer(Buffer.buffer(hookBody)).await(10, TimeUnit.SECONDS);
    assertTrue(hook.statusCode() < 300, hook.bodyAsString());

    eventually(() -> !dingtalk.pushes().isEmpty(), "the task's push never reached DingTalk");
    eventually(() -> feishuPaths.stream().anyMatch(p -> p.endsWith("/reply")), "the Feishu message was never answered");
    eventually(() -> json.events("push").size() >= 1 && json.events("task_run").size() >= 1, "no push or task_run line");

    Map<String, String> secrets = Map.ofEntries(
        Map.entry("JWT secret", TestGateway.SECRET),
        Map.entry("API token (Authorization of the good requests)", token),
        Map.entry("a token's signature", token.substring(token.lastIndexOf('.') + 1)),
        Map.entry("a refused bearer value", BAD_BEARER),
        Map.entry("a bearer signed with another key", otherKeyToken.substring(otherKeyToken.lastIndexOf('.') + 1)),
        Map.entry("model API key", MODEL_KEY),
        Map.entry("DingTalk secret", DINGTALK_SECRET),
        Map.entry("DingTalk access token", FakeDingTalk.TOKEN),
        Map.entry("Feishu app secret", FEISHU_APP_SECRET),
        Map.entry("Feishu verification token", FEISHU_TOKEN),
        Map.entry("Feishu encrypt key", FEISHU_ENCRYPT_KEY),
        Map.entry("Feishu tenant token", FEISHU_TENANT_TOKEN),
        Map.entry("WeCom token", WECOM_TOKEN),
        Map.entry("WeCom AES key", WECOM_AES_KEY),
        Map.entry("hook secret", HOOK_SECRET));
    String all = json.all() + text.all();
    assertTrue(json.lines().size() > 50, "the capture saw the run: " + json.lines().size() + " lines");
    List<String> found = new ArrayList<>();
    secrets.forEach((what, value) -> {
      int at = all.indexOf(value);
      if (at >= 0) {
        found.add(what + " in: " + all.substring(Math.max(0, all.lastIndexOf('\n', at) + 1), Math.min(all.length(), at + 200)));
      }
    });
    assertTrue(found.isEmpty(), String.join("\n", found));
    // the capture did see the work: the requests (401s too) and the model calls, each with its id
    assertTrue(json.events("http_request").stream().anyMatch(l -> l.getInteger("status") == 401), "no 401 line");
    assertTrue(json.events("model_call").size() >= 3, "model calls: chat, stream, task, Feishu reply");
    assertTrue(json.events("model_call").stream().allMatch(l -> l.getString("request_id") != null), "a model call without an id");
    for (String line : json.lines()) {
      new JsonObject(line); // every line is one JSON object
    }
  }

  private static byte[] feishuKey(String encryptKey) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(encryptKey.getBytes(StandardCharsets.UTF_8));
  }

  private static String feishuOpen(String sealed, String encryptKey) throws Exception {
    byte[] raw = Base64.getDecoder().decode(sealed);
    Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
    cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(feishuKey(encryptKey), "AES"), new IvParameterSpec(raw, 0, 16));
    return new String(cipher.doFinal(raw, 16, raw.length - 16), StandardCharsets.UTF_8);
  }

  private static String feishuSeal(String plain, String encryptKey) throws Exception {
    byte[] iv = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
    cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(feishuKey(encryptKey), "AES"), new IvParameterSpec(iv));
    byte[] sealed = cipher.doFinal(plain.getBytes(StandardCharsets.UTF_8));
    byte[] out = new byte[16 + sealed.length];
    System.arraycopy(iv, 0, out, 0, 16);
    System.arraycopy(sealed, 0, out, 16, sealed.length);
    return Base64.getEncoder().encodeToString(out);
  }
}
