package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** MCP servers that cannot be reached do not keep the gateway from starting; they are said once and retried. */
class McpServerDownTest {

  @Test
  void serversThatAreDownDoNotStopStartUpAndAreLoggedOnceWhileRetried() throws Exception {
    Logger log = Logger.getLogger(McpClientConnection.class.getName());
    List<LogRecord> records = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        records.add(record);
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Level level = log.getLevel();
    log.setLevel(Level.FINE);
    log.addHandler(handler);
    Vertx client = Vertx.vertx();
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    try {
      FakeUpstream upstream = FakeUpstream.start(client).await(10, TimeUnit.SECONDS);
      try (TestGateway gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
          .file("switchboard.yaml", "mcp:\n  servers:\n"
              + "    - { name: gone, command: /nonexistent/mcp-server }\n"
              + "    - { name: closed, url: \"http://127.0.0.1:" + closed + "/mcp\" }\n")
          .start()) {
        JsonObject skills = WebClient.create(client).getAbs(gateway.url("/api/v1/skills"))
            .bearerTokenAuthentication(gateway.token("alice")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject();
        assertTrue(skills.getJsonArray("data").stream().map(JsonObject.class::cast)
            .noneMatch(s -> "mcp".equals(s.getString("source"))), skills.encode());

        // the first attempt and two retries (1 s, then 2 s) of each, bounded at 30 s
        long deadline = System.currentTimeMillis() + 30_000;
        while ((retries(records, "gone") < 2 || retries(records, "closed") < 2) && System.currentTimeMillis() < deadline) {
          Thread.sleep(50);
        }
        assertTrue(retries(records, "gone") >= 2 && retries(records, "closed") >= 2, lines(records).toString());
        List<String> warnings = records.stream().filter(r -> r.getLevel() == Level.WARNING).map(LogRecord::getMessage).toList();
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("mcp server gone (command /nonexistent/mcp-server) not connected: "
            + "command /nonexistent/mcp-server is not an executable file; retrying in 1000 ms")), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("mcp server closed (url http://127.0.0.1:" + closed
            + "/mcp) not connected: ")), warnings.toString());
      }
    } finally {
      log.removeHandler(handler);
      log.setLevel(level);
      client.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static long retries(List<LogRecord> records, String server) {
    return lines(records).stream().filter(m -> m.startsWith("mcp server " + server + " still not connected")).count();
  }

  private static List<String> lines(List<LogRecord> records) {
    return records.stream().map(LogRecord::getMessage).toList();
  }
}
