package dev.switchboard.testing;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A DingTalk custom-robot endpoint on loopback ({@code POST /robot/send}). Like the real one it
 * answers HTTP 200 with an {@code errcode}: it checks {@code access_token}, that {@code timestamp}
 * is in milliseconds and within an hour, and recomputes {@code sign} on its own (not with the
 * gateway's signer), answering {@code 310000 sign not match} when it differs.
 */
public final class FakeDingTalk {

  public static final String TOKEN = "test-access-token";

  /** One accepted or rejected push: the query parameters and the JSON body. */
  public record Push(String timestamp, String sign, JsonObject body, int errcode) {
  }

  private final String secret;
  private final List<Push> pushes = new ArrayList<>();
  private HttpServer server;
  private volatile JsonObject forcedAnswer;
  private final java.util.ArrayDeque<JsonObject> once = new java.util.ArrayDeque<>();

  private FakeDingTalk(String secret) {
    this.secret = secret;
  }

  public static Future<FakeDingTalk> start(Vertx vertx, String secret) {
    FakeDingTalk fake = new FakeDingTalk(secret);
    return vertx.createHttpServer().requestHandler(fake::handle).listen(0, "127.0.0.1").map(s -> {
      fake.server = s;
      return fake;
    });
  }

  public String webhook() {
    return "http://127.0.0.1:" + server.actualPort() + "/robot/send?access_token=" + TOKEN;
  }

  /** Every following push gets this answer (e.g. errcode 310000 "keywords not in content"). */
  public FakeDingTalk answer(int errcode, String errmsg) {
    forcedAnswer = new JsonObject().put("errcode", errcode).put("errmsg", errmsg);
    return this;
  }

  /** The next correctly signed push gets this answer; later ones the usual one again. */
  public synchronized FakeDingTalk answerOnce(int errcode, String errmsg) {
    once.add(new JsonObject().put("errcode", errcode).put("errmsg", errmsg));
    return this;
  }

  private synchronized JsonObject nextOnce() {
    return once.poll();
  }

  public synchronized List<Push> pushes() {
    return List.copyOf(pushes);
  }

  public Future<Void> close() {
    return server.close();
  }

  private void handle(HttpServerRequest request) {
    request.body().onSuccess(buffer -> {
      String ts = request.getParam("timestamp");
      String sign = request.getParam("sign");
      JsonObject answer;
      JsonObject body = null;
      try {
        body = buffer.toJsonObject();
      } catch (RuntimeException e) {
        answer = error(40035, "invalid json");
        record(ts, sign, null, answer);
        reply(request, answer);
        return;
      }
      if (!"POST".equals(request.method().name()) || !"/robot/send".equals(request.path())) {
        answer = error(404, "not found");
      } else if (!TOKEN.equals(request.getParam("access_token"))) {
        answer = error(300001, "token is not exist");
      } else if (ts == null || sign == null || !ts.matches("\\d{13}")
          || Math.abs(System.currentTimeMillis() - Long.parseLong(ts)) > 3_600_000L) {
        answer = error(310000, "invalid timestamp");
      } else if (!expectedSign(Long.parseLong(ts)).equals(sign)) {
        answer = error(310000, "sign not match");
      } else if ((answer = nextOnce()) != null) {
        // a one-off answer, queued by the test
      } else if (forcedAnswer != null) {
        answer = forcedAnswer;
      } else {
        answer = new JsonObject().put("errcode", 0).put("errmsg", "ok");
      }
      record(ts, sign, body, answer);
      reply(request, answer);
    });
  }

  /** HmacSHA256(key = secret, data = timestamp + "\n" + secret), Base64; the query decoder already undid the URL encoding. */
  public String expectedSign(long timestamp) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return Base64.getEncoder().encodeToString(
          mac.doFinal((timestamp + "\n" + secret).getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private synchronized void record(String ts, String sign, JsonObject body, JsonObject answer) {
    pushes.add(new Push(ts, sign, body, answer.getInteger("errcode")));
  }

  private static JsonObject error(int code, String message) {
    return new JsonObject().put("errcode", code).put("errmsg", message);
  }

  private static void reply(HttpServerRequest request, JsonObject answer) {
    request.response().putHeader("content-type", "application/json").end(answer.encode());
  }
}
