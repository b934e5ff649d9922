package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
 * A client that stops reading a stream is normal operation: the upstream call is cancelled and
 * nothing is logged at WARNING (Vert.x logs through java.util.logging here), even though the
 * dispatcher still has events on their way to the stream when the client goes.
 */
@DisplayName("A stream aborted by its client")
class StreamAbortTest {

  static Vertx vertx;
  static HttpServer upstream;
  static TestGateway gateway;

  /** Records at WARNING and above, from any logger. */
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

  /**
   * An upstream that streams fast and for long (a burst of events every millisecond, for up to
   * twenty seconds), so that the dispatcher is sending when the client goes. Its model list (the
   * health probe's {@code GET /v1/models}) is an ordinary small answer: streamed like a chat, the
   * probe would refuse it as too large and log the provider down, which is not what is tested here.
   */
  static HttpServer tricklingUpstream(Vertx vertx) throws Exception {
    return vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      if (request.path().endsWith("/models")) {
        request.response().putHeader("Content-Type", "application/json").end(MODELS);
        return;
      }
      var response = request.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
      int[] sent = {0};
      long timer = vertx.setPeriodic(1, id -> {
        if (response.closed() || response.ended()) {
          vertx.cancelTimer(id);
        } else if (++sent[0] > 20_000) {
          vertx.cancelTimer(id);
          response.end("data: [DONE]\n\n");
        } else if (!response.writeQueueFull()) {
          response.write(BURST);
        }
      });
      response.closeHandler(v -> vertx.cancelTimer(timer));
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  static final String MODELS = "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\",\"owned_by\":\"test\"}]}";

  static final String BURST = ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word \"},\"finish_reason\":null}]}\n\n").repeat(20);

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = tricklingUpstream(vertx);
    gateway = TestGateway.builder().upstream("http://127.0.0.1:" + upstream.actualPort() + "/v1").start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  /** Sends a streamed chat with a long answer, reads it for a while, and drops the connection. */
  private static void abortOne(String body, String token) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(30_000);
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
          + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(bytes);
      InputStream in = socket.getInputStream();
      StringBuilder seen = new StringBuilder();
      byte[] buffer = new byte[16 * 1024];
      long read = 0;
      while (read < 256 * 1024) {
        int n = in.read(buffer);
        assertTrue(n > 0, "the stream ended early: " + seen);
        read += n;
        if (seen.length() < 64) {
          seen.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
        }
      }
      assertTrue(seen.toString().startsWith("HTTP/1.1 200"), seen.toString());
      socket.setSoLinger(true, 0); // gone at once, as a killed client is
    }
  }

  @Test
  @DisplayName("logs nothing at WARNING")
  void noWarning() throws Exception {
    String token = gateway.token("alice");
    String body = new JsonObject().put("model", "fake-model").put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "talk"))).encode();
    // one complete exchange first, so that start-up's own noise is over before listening
    RawHttp.Answer warmUp = RawHttp.exchange(gateway.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10_000);
    assertEquals(200, warmUp.status());

    Warnings warnings = new Warnings();
    Logger root = Logger.getLogger("");
    root.addHandler(warnings);
    try {
      for (int i = 0; i < 30; i++) {
        abortOne(body, token);
      }
      // what the dispatcher had sent arrives within milliseconds; the gateway must still answer after
      Thread.sleep(1000);
      RawHttp.Answer after = RawHttp.exchange(gateway.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10_000);
      assertEquals(200, after.status());
    } finally {
      root.removeHandler(warnings);
    }
    List<String> logged = new ArrayList<>();
    for (LogRecord r : warnings.records) {
      logged.add(r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage());
    }
    assertTrue(logged.isEmpty(), String.join("\n", logged));
  }
}
