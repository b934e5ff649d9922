package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.FakeUpstream.Fault;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * An upstream answer refused for its size is an ordinary outcome (a 502 for the client, a
 * refusal for the dispatcher): cutting its connection logs nothing at WARNING or above, whether
 * the answer announced its size ({@code Content-Length}) or ran past the limit as it came.
 * The upstream's limit is 1 MB here, so that a 2 MB answer is over it.
 */
@DisplayName("An upstream answer over the size limit is refused quietly")
class OverLimitLoggingTest {

  static Vertx vertx;
  static FakeUpstream upstream;
  static TestGateway gateway;
  static WebClient web;
  static String token;

  /** Records at WARNING and above, from any logger of this JVM. */
  static final class Warnings extends Handler {
    final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
        records.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
            limits: { max_response_size: 1mb }
        retry: { max_attempts: 1, deadline: 20s }
        health_check: { interval: 1h, timeout: 10s }
        """.formatted(upstream.baseUrl())).start();
    web = WebClient.create(vertx);
    token = gateway.token("t");
    // start-up, the first probe and the first call are over before anything is listened to
    assertEquals(200, chat().statusCode());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> chat() throws Exception {
    JsonObject body = new JsonObject().put("model", "fake-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body)
        .await(30, TimeUnit.SECONDS);
  }

  /** The WARNING-or-worse lines logged while {@code fault} answers a few calls, each a 502 naming the limit. */
  private static List<String> loggedWhileRefusing(Fault fault) throws Exception {
    upstream.reset().fault(fault).hugeSize(2L * 1024 * 1024);
    Warnings warnings = new Warnings();
    Logger root = Logger.getLogger("");
    root.addHandler(warnings);
    try {
      for (int i = 0; i < 3; i++) {
        HttpResponse<Buffer> r = chat();
        assertEquals(502, r.statusCode(), r.bodyAsString());
        assertTrue(r.bodyAsString().contains("larger than 1 MB (limits.max_response_size)"), r.bodyAsString());
      }
      // whatever the cut connection is going to log is logged within moments
      Thread.sleep(500);
    } finally {
      root.removeHandler(warnings);
      upstream.reset();
    }
    List<String> logged = new ArrayList<>();
    for (LogRecord r : warnings.records) {
      logged.add(r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()
          + (r.getThrown() == null ? "" : " (" + r.getThrown() + ")"));
    }
    return logged;
  }

  @Test
  @DisplayName("an answer whose Content-Length is over the limit is refused without a logged stream reset")
  void declaredOverLimit() throws Exception {
    List<String> logged = loggedWhileRefusing(Fault.HUGE_BODY);
    assertTrue(logged.isEmpty(), String.join("\n", logged));
  }

  @Test
  @DisplayName("an answer that runs past the limit as it arrives is refused without a logged stream reset")
  void runsOverLimit() throws Exception {
    List<String> logged = loggedWhileRefusing(Fault.ENDLESS_BODY);
    assertTrue(logged.isEmpty(), String.join("\n", logged));
  }
}
