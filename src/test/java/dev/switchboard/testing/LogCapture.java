package dev.switchboard.testing;

import dev.switchboard.observe.EventLog;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Every log line of the JVM while it is open, formatted as the gateway's console would write it
 * (on the thread that logs, so the request id of the work that logged is in it), with the event
 * lines on. Installed on the root logger at ALL: nothing any logger writes is missed.
 */
public final class LogCapture extends Handler implements AutoCloseable {

  private final List<String> lines = new ArrayList<>();
  private final Level rootWas;

  private LogCapture(Formatter formatter) {
    setFormatter(formatter);
    setLevel(Level.ALL);
    Logger root = Logger.getLogger("");
    rootWas = root.getLevel();
    root.setLevel(Level.ALL);
    root.addHandler(this);
    EventLog.enable(true);
  }

  public static LogCapture json() {
    return new LogCapture(new dev.switchboard.observe.JsonLogFormatter());
  }

  public static LogCapture text() {
    return new LogCapture(new dev.switchboard.observe.TextLogFormatter());
  }

  @Override
  public void publish(LogRecord record) {
    String line = getFormatter().format(record);
    synchronized (lines) {
      lines.add(line);
    }
  }

  public List<String> lines() {
    synchronized (lines) {
      return new ArrayList<>(lines);
    }
  }

  public String all() {
    return String.join("", lines());
  }

  /** The JSON lines whose {@code event} is this one. */
  public List<JsonObject> events(String event) {
    return lines().stream().map(JsonObject::new).filter(l -> event.equals(l.getString("event"))).toList();
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    Logger root = Logger.getLogger("");
    root.removeHandler(this);
    root.setLevel(rootWas);
    EventLog.enable(false);
  }
}
