package dev.switchboard.observe;

import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

/**
 * {@code logging.format: text} (the default): JUL's one-line {@link SimpleFormatter} as before
 * (its format set in Main), with the request id in brackets after the level when the line belongs
 * to one, and credentials scrubbed ({@link Redaction}).
 */
public final class TextLogFormatter extends SimpleFormatter {

  @Override
  public String format(LogRecord record) {
    String line = Redaction.scrub(super.format(record));
    String id = RequestIds.current();
    if (id == null) {
      return line;
    }
    // after "<time> <LEVEL> ": the format Main sets; any other format gets the id in front
    int first = line.indexOf(' ');
    int second = first < 0 ? -1 : line.indexOf(' ', first + 1);
    return second < 0 ? "[" + id + "] " + line
        : line.substring(0, second + 1) + "[" + id + "] " + line.substring(second + 1);
  }
}
