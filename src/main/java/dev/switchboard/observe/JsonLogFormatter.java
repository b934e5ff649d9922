package dev.switchboard.observe;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * {@code logging.format: json}: one JSON object per line, {@code ts} (ISO-8601 UTC, ms),
 * {@code level}, {@code logger}, {@code message}, {@code thread}, then {@code request_id} and
 * {@code task_id} of the work that wrote it (when known), an event line's fields
 * ({@link EventLog}) and {@code error} (class, message and stack as one string) when a
 * throwable is attached. A JUL formatter, so Vert.x's and Netty's own lines come out the same way.
 */
public final class JsonLogFormatter extends Formatter {

  private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
      .withZone(ZoneOffset.UTC);

  @Override
  public String format(LogRecord record) {
    JsonObject line = new JsonObject()
        .put("ts", TS.format(Instant.ofEpochMilli(record.getMillis())))
        .put("level", level(record.getLevel()))
        .put("logger", record.getLoggerName());
    Object[] params = record.getParameters();
    EventLog.Fields fields = params != null && params.length == 1 && params[0] instanceof EventLog.Fields f ? f : null;
    line.put("message", fields != null ? fields.event() : Redaction.scrub(formatMessage(record)));
    line.put("thread", Thread.currentThread().getName());
    String request = RequestIds.current();
    if (request != null) {
      line.put("request_id", request);
    }
    String task = RequestIds.currentTask();
    if (task != null) {
      line.put("task_id", task);
    }
    if (fields != null) {
      line.put("event", fields.event());
      fields.values().forEach((k, v) -> line.put(k, v instanceof Number || v instanceof Boolean ? v : String.valueOf(v)));
    }
    if (record.getThrown() != null) {
      StringWriter stack = new StringWriter();
      record.getThrown().printStackTrace(new PrintWriter(stack));
      line.put("error", Redaction.scrub(stack.toString()));
    }
    return line.encode() + System.lineSeparator();
  }

  /** JUL's names, with the two most used read as everyone else names them. */
  private static String level(Level level) {
    if (level == Level.SEVERE) {
      return "ERROR";
    }
    if (level == Level.WARNING) {
      return "WARN";
    }
    return level.getName();
  }
}
