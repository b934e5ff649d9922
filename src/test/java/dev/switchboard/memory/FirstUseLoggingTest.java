package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The first use of memory loads the local model, its tokenizer and ONNX Runtime, once per
 * process; that must log nothing at WARNING. The process has to be fresh for the first use to be
 * the first, so the gateway runs in a JVM of its own ({@link FirstUse}), which reports every
 * record at WARNING or above logged (through JUL, where SLF4J goes too) while it writes a memory,
 * searches for it and asks for an embedding.
 */
@DisplayName("Memory logging on first use")
class FirstUseLoggingTest {

  static final String BEGIN = "--- records at WARNING or above during the first memory use:";
  static final String END = "--- end of records";

  @Test
  @DisplayName("the first memory write, search and embedding log nothing at WARNING or above")
  void theFirstMemoryUseLogsNoWarning() throws Exception {
    Path log = Files.createTempFile("switchboard-first-use", ".log");
    try {
      Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), FirstUse.class.getName())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!child.waitFor(180, TimeUnit.SECONDS)) {
        child.destroyForcibly();
        fail("the gateway process did not finish within 180 s:\n" + Files.readString(log));
      }
      String output = Files.readString(log, StandardCharsets.UTF_8);
      assertEquals(0, child.exitValue(), output);
      int begin = output.indexOf(BEGIN);
      int end = output.indexOf(END);
      assertTrue(begin >= 0 && end > begin, "no report from the gateway process:\n" + output);
      String records = output.substring(begin + BEGIN.length(), end).strip();
      assertEquals("", records, "logged at WARNING or above during the first memory use");
      // ONNX Runtime logs natively, past JUL, as "[W:onnxruntime:..." and "[E:onnxruntime:..."
      assertTrue(!output.contains("[W:onnxruntime") && !output.contains("[E:onnxruntime"), output);
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** The gateway in a fresh process: one memory write, one search and one embedding, with the records they log. */
  public static final class FirstUse {

    public static void main(String[] args) throws Exception {
      List<LogRecord> records = new ArrayList<>();
      boolean[] watching = {false};
      Handler capture = new Handler() {
        @Override
        public synchronized void publish(LogRecord r) {
          if (watching[0] && r.getLevel().intValue() >= Level.WARNING.intValue()) {
            records.add(r);
          }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
      };
      Logger.getLogger("").addHandler(capture);

      Vertx vertx = Vertx.vertx();
      FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
      TestGateway gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
      WebClient web = WebClient.create(vertx);
      String token = gateway.token("first-use");
      long deadline = System.currentTimeMillis() + 30_000;
      while (web.getAbs(gateway.url("/readyz")).send().await().statusCode() != 200) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("gateway not ready");
        }
        Thread.sleep(100);
      }

      synchronized (capture) {
        watching[0] = true;
      }
      HttpResponse<Buffer> added = web.postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
          .sendJsonObject(new JsonObject().put("content", "项目周会在每周二下午三点").put("scope", "user:first-use")).await();
      HttpResponse<Buffer> found = web.getAbs(gateway.url("/api/v1/memories/search")).bearerTokenAuthentication(token)
          .addQueryParam("q", "周会几点开").addQueryParam("scope", "user:first-use").send().await();
      HttpResponse<Buffer> embedded = web.postAbs(gateway.url("/v1/embeddings")).bearerTokenAuthentication(token)
          .sendJsonObject(new JsonObject().put("model", "bge-small-zh-v1.5").put("input", "你好")).await();
      synchronized (capture) {
        watching[0] = false;
      }
      if (added.statusCode() != 201 || found.statusCode() != 200 || embedded.statusCode() != 200) {
        throw new IllegalStateException("memory did not work: " + added.bodyAsString() + " / " + found.bodyAsString()
            + " / " + embedded.bodyAsString());
      }

      SimpleFormatter format = new SimpleFormatter();
      StringBuilder report = new StringBuilder(BEGIN).append('\n');
      synchronized (capture) {
        records.forEach(r -> report.append(r.getLevel()).append(' ').append(r.getLoggerName()).append(": ")
            .append(format.formatMessage(r)).append('\n'));
      }
      report.append(END);
      System.out.println(report);
      System.out.flush();
      gateway.close();
      vertx.close().await(10, TimeUnit.SECONDS);
      System.exit(0);
    }
  }
}
