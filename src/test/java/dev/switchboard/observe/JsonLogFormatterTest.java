package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** logging.format: json: what one line is. */
@DisplayName("JSON log lines")
class JsonLogFormatterTest {

  final JsonLogFormatter formatter = new JsonLogFormatter();
  Vertx vertx;

  @AfterEach
  void close() throws Exception {
    EventLog.enable(false);
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static LogRecord record(Level level, String message, Object... params) {
    LogRecord r = new LogRecord(level, message);
    r.setLoggerName("dev.switchboard.task.TaskRunner");
    r.setParameters(params.length == 0 ? null : params);
    r.setMillis(1_767_225_600_123L);
    return r;
  }

  @Test
  @DisplayName("a line is one JSON object with ts (UTC, ms), level, logger, message and thread, ending in a newline")
  void shape() {
    String line = formatter.format(record(Level.WARNING, "task {0} failed", "t-1"));
    assertTrue(line.endsWith(System.lineSeparator()));
    assertEquals(1, line.strip().lines().count());
    JsonObject json = new JsonObject(line);
    assertEquals("2026-01-01T00:00:00.123Z", json.getString("ts"));
    assertEquals("WARN", json.getString("level"));
    assertEquals("dev.switchboard.task.TaskRunner", json.getString("logger"));
    assertEquals("task t-1 failed", json.getString("message"));
    assertEquals(Thread.currentThread().getName(), json.getString("thread"));
    assertNull(json.getValue("request_id"), "outside any request");
    assertNull(json.getValue("error"));
  }

  @Test
  @DisplayName("an attached throwable is one 'error' string: class, message and stack")
  void error() {
    LogRecord r = record(Level.SEVERE, "boom");
    r.setThrown(new IllegalStateException("the store is gone\nsecond line"));
    JsonObject json = new JsonObject(formatter.format(r));
    assertEquals("ERROR", json.getString("level"));
    String error = json.getString("error");
    assertTrue(error.startsWith("java.lang.IllegalStateException: the store is gone"), error);
    assertTrue(error.contains("at dev.switchboard.observe.JsonLogFormatterTest.error"), error);
  }

  @Test
  @DisplayName("quotes, newlines and control characters in a message stay inside the one line")
  void escaping() {
    String line = formatter.format(record(Level.INFO, "a \"quoted\"\nline\twith\u0001control"));
    assertEquals(1, line.strip().lines().count(), line);
    assertEquals("a \"quoted\"\nline\twith\u0001control", new JsonObject(line).getString("message"));
  }

  @Test
  @DisplayName("an event line's fields are fields of the object, numbers as numbers")
  void eventFields() {
    EventLog.enable(true);
    EventLog.Fields fields = EventLog.event("push").with("channel", "dingtalk").with("status", 200).with("skipped", null);
    JsonObject json = new JsonObject(formatter.format(record(Level.INFO, "{0}", fields)));
    assertEquals("push", json.getString("event"));
    assertEquals("push", json.getString("message"));
    assertEquals("dingtalk", json.getString("channel"));
    assertEquals(200, json.getInteger("status"));
    assertFalse(json.containsKey("skipped"));
    assertEquals("push channel=dingtalk status=200", fields.toString(), "the text form");
  }

  @Test
  @DisplayName("while event lines are off, an event line is neither built nor written")
  void eventsOff() {
    EventLog.enable(false);
    EventLog.Fields fields = EventLog.event("push").with("channel", "dingtalk");
    assertTrue(fields.values().isEmpty());
    assertNull(fields.event());
  }

  @Test
  @DisplayName("a line written inside a piece of work carries its request id and task id")
  void requestAndTask() throws Exception {
    vertx = Vertx.vertx();
    String line = RequestIds.within(vertx, "req-7", "task-9",
        () -> io.vertx.core.Future.succeededFuture(formatter.format(record(Level.INFO, "running")))).await(10, TimeUnit.SECONDS);
    JsonObject json = new JsonObject(line);
    assertEquals("req-7", json.getString("request_id"));
    assertEquals("task-9", json.getString("task_id"));
  }

  @Test
  @DisplayName("a Bearer or Basic credential in a message or a stack is replaced by [redacted]")
  void credentialsScrubbed() {
    LogRecord r = record(Level.INFO, "upstream said: Authorization: Bearer sk-live-abc.def_123 was refused");
    r.setThrown(new RuntimeException("header basic dXNlcjpwYXNz"));
    String line = formatter.format(r);
    assertFalse(line.contains("sk-live-abc.def_123"), line);
    assertFalse(line.contains("dXNlcjpwYXNz"), line);
    assertTrue(line.contains("Bearer [redacted]"), line);
  }

  @Test
  @DisplayName("a credential in a URL (a query parameter, a hook's path, user info) in a message or a stack is replaced too")
  void urlCredentialsScrubbed() {
    // Vert.x's own words for a push whose platform stopped answering: the request's URI, query and all
    LogRecord r = record(Level.WARNING, "redis://:Redis-Pass-77@redis:6379 refused; GET /cgi-bin/gettoken?corpid=wx1&corpsecret=Corp-Secret-58 timed out; WeCom said no to "
        + "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WeCom-Key-31 and https://open.feishu.cn/open-apis/bot/v2/hook/2b7e4d1a-feishu-hook");
    r.setThrown(new RuntimeException("The timeout period of 10000ms has been exceeded while executing "
        + "POST /robot/send?access_token=DingTalk-Token-12&timestamp=1767225600123&sign=DingTalk-Sign-34 for server oapi.dingtalk.com:443"));
    for (String line : List.of(formatter.format(r), new TextLogFormatter().format(r))) {
      for (String secret : List.of("Redis-Pass-77", "Corp-Secret-58", "WeCom-Key-31", "2b7e4d1a-feishu-hook", "DingTalk-Token-12", "DingTalk-Sign-34")) {
        assertFalse(line.contains(secret), secret + " in " + line);
      }
      assertTrue(line.contains("access_token=[redacted]") && line.contains("timestamp=1767225600123"), line);
    }
  }

  @Test
  @DisplayName("the text format names the request id after the level, and scrubs credentials too")
  void textFormat() throws Exception {
    vertx = Vertx.vertx();
    TextLogFormatter text = new TextLogFormatter();
    String line = RequestIds.within(vertx, "req-8", null,
        () -> io.vertx.core.Future.succeededFuture(text.format(record(Level.INFO, "sent with Bearer abc.def")))).await(10, TimeUnit.SECONDS);
    assertTrue(line.contains("[req-8]"), line);
    assertFalse(line.contains("abc.def"), line);
    assertFalse(text.format(record(Level.INFO, "outside")).contains("["), "no id, no brackets");
  }
}
