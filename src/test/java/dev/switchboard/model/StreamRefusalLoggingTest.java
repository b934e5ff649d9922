package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import dev.switchboard.model.spi.ModelProvider;
import dev.switchboard.model.spi.OpenAiCompatible;
import dev.switchboard.testing.TestGateway;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A stream that the gateway gives up on at its start (no decoder, a malformed first event, more
 * than the limit before a token) is cut at once, and the reset that comes back on the upstream
 * response is expected: nothing is logged at WARNING or above. The upstream sends its headers and
 * those first bytes in one write and then keeps the connection open, so that the bytes are already
 * there when the gateway starts reading and the cut is what ends the response.
 */
@DisplayName("A stream refused on its first bytes is cut quietly")
class StreamRefusalLoggingTest {

  static Vertx vertx;
  static HttpServer upstream;
  static TestGateway gateway;
  static WebClient web;
  static String token;
  /** What the upstream streams first, as one write with the headers. */
  static final AtomicReference<String> first = new AtomicReference<>("");

  static final String MODELS = "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\",\"owned_by\":\"test\"}]}";
  static final String TOKEN_EVENT = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n";

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
    upstream = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      if (request.path().endsWith("/models")) {
        request.response().putHeader("Content-Type", "application/json").end(MODELS);
        return;
      }
      // headers and the first bytes together, then silence until the gateway cuts the connection
      request.response().setChunked(true).putHeader("Content-Type", "text/event-stream").write(first.get());
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "http://127.0.0.1:%1$d/v1"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
            timeouts: { connect: 1s, first_token: 5s, total: 10s }
            limits: { max_response_size: 4kb, max_event_size: 4kb }
          - name: "b"
            type: "decoder_fails"
            endpoint: "http://127.0.0.1:%1$d/v1"
            auth: { type: "api_key", key: "key-b" }
            models: ["other-model"]
        retry: { max_attempts: 1, deadline: 20s }
        health_check: { interval: 1h, timeout: 10s }
        """.formatted(upstream.actualPort())).start();
    web = WebClient.create(vertx);
    token = gateway.token("t");
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  /**
   * An OpenAI-compatible type whose stream decoder cannot be made (a plugin's bug, say): the
   * attempt fails as soon as the response's headers are in, before it has read anything.
   * Listed in {@code META-INF/services} of the tests.
   */
  public static final class DecoderFails implements ModelProvider {
    private final OpenAiCompatible base = new OpenAiCompatible();

    @Override
    public String type() {
      return "decoder_fails";
    }

    @Override
    public Request chat(JsonObject openAiBody, String upstreamModel, boolean stream, boolean streamUsage) {
      return base.chat(openAiBody, upstreamModel, stream, streamUsage);
    }

    @Override
    public Completion completion(Buffer body) {
      return base.completion(body);
    }

    @Override
    public StreamDecoder decoder(boolean clientWantsUsage) {
      throw new IllegalStateException("no decoder here");
    }

    @Override
    public Request listModels() {
      return base.listModels();
    }

    @Override
    public JsonArray models(Buffer body) {
      return base.models(body);
    }

    @Override
    public Request probe(String probeKind, String model) {
      return base.probe(probeKind, model);
    }
  }

  private static HttpResponse<Buffer> chat() throws Exception {
    return chat("fake-model");
  }

  private static HttpResponse<Buffer> chat(String model) throws Exception {
    JsonObject body = new JsonObject().put("model", model).put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body)
        .await(30, TimeUnit.SECONDS);
  }

  /** The WARNING-or-worse lines logged while the upstream opens each stream with {@code start}; each call is a 502. */
  private static List<String> loggedWhileRefusing(String start) throws Exception {
    return loggedWhileRefusing(start, "fake-model");
  }

  private static List<String> loggedWhileRefusing(String start, String model) throws Exception {
    first.set(start);
    Warnings warnings = new Warnings();
    Logger root = Logger.getLogger("");
    root.addHandler(warnings);
    try {
      for (int i = 0; i < 3; i++) {
        HttpResponse<Buffer> r = chat(model);
        assertEquals(502, r.statusCode(), r.bodyAsString());
      }
      // whatever the cut connection is going to log is logged within moments
      Thread.sleep(500);
    } finally {
      root.removeHandler(warnings);
    }
    List<String> logged = new ArrayList<>();
    for (LogRecord r : warnings.records) {
      logged.add(r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()
          + (r.getThrown() == null ? "" : " (" + r.getThrown() + ")"));
    }
    return logged;
  }

  @Test
  @DisplayName("a stream whose decoder cannot be made is refused without a logged stream reset")
  void noDecoder() throws Exception {
    List<String> logged = loggedWhileRefusing(TOKEN_EVENT, "other-model");
    assertTrue(logged.isEmpty(), String.join("\n", logged));
  }

  @Test
  @DisplayName("a malformed first event is refused without a logged stream reset")
  void malformedFirstEvent() throws Exception {
    List<String> logged = loggedWhileRefusing("data: {not json\n\n");
    assertTrue(logged.isEmpty(), String.join("\n", logged));
  }

  @Test
  @DisplayName("a first read over the limit before any token is refused without a logged stream reset")
  void overLimitBeforeToken() throws Exception {
    List<String> logged = loggedWhileRefusing(": padding\n\n".repeat(1000));
    assertTrue(logged.isEmpty(), String.join("\n", logged));
  }
}
