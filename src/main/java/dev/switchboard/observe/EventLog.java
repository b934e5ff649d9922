package dev.switchboard.observe;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The event lines that let an id be followed: one INFO line per HTTP request, model call, task run
 * and push. On by default in json format, off in text format (a terminal stays quiet) unless
 * {@code logging.requests: true}; when off, nothing is built. A line's fields travel as its one
 * parameter, so {@link JsonLogFormatter} writes them as fields and a text formatter as
 * {@code event key=value ...}.
 */
public final class EventLog {

  /** The logger of every event line: {@code switchboard.events}. */
  public static final Logger LOG = Logger.getLogger("switchboard.events");

  private static volatile boolean on;

  private EventLog() {
  }

  public static void enable(boolean enabled) {
    on = enabled;
  }

  /** Whether event lines are written; check before gathering what a line needs. */
  public static boolean on() {
    return on && LOG.isLoggable(Level.INFO);
  }

  /** Takes nothing and writes nothing: what {@link #event} gives while event lines are off. */
  private static final Fields OFF = new Fields(null);

  /** A line's fields: event name first, then its values in order; while lines are off, nothing is built. */
  public static Fields event(String name) {
    return on() ? new Fields(name) : OFF;
  }

  /** The named event and its values; {@link #toString} is the text form. */
  public static final class Fields {
    final String event;
    final Map<String, Object> values = new LinkedHashMap<>();

    private Fields(String event) {
      this.event = event;
    }

    public Fields with(String key, Object value) {
      if (value != null && this != OFF) {
        values.put(key, value);
      }
      return this;
    }

    /** Writes the line (INFO, logger switchboard.events) when event lines are on. */
    public void log() {
      if (this == OFF || !on()) {
        return;
      }
      LogRecord record = new LogRecord(Level.INFO, "{0}");
      record.setLoggerName(LOG.getName());
      record.setParameters(new Object[] {this});
      LOG.log(record);
    }

    public String event() {
      return event;
    }

    public Map<String, Object> values() {
      return values;
    }

    @Override
    public String toString() {
      StringBuilder line = new StringBuilder(event);
      values.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
      return line.toString();
    }
  }
}
