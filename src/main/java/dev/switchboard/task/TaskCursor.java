package dev.switchboard.task;

import dev.switchboard.bus.Failure;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque cursor of {@link TaskQueue#list}: the sequence number of the last task on a page.
 * The next page starts below that number, so a task deleted at a page boundary does not end the
 * listing (a cursor naming a task id would).
 */
final class TaskCursor {

  private static final String VERSION = "s1:";

  private TaskCursor() {
  }

  static String encode(long seq) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString((VERSION + seq).getBytes(StandardCharsets.US_ASCII));
  }

  /** The sequence number to continue below; {@link Long#MAX_VALUE} for the first page (null cursor). */
  static long decode(String cursor) {
    if (cursor == null || cursor.isEmpty()) {
      return Long.MAX_VALUE;
    }
    try {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
      if (text.startsWith(VERSION)) {
        long seq = Long.parseLong(text.substring(VERSION.length()));
        if (seq > 0) {
          return seq;
        }
      }
    } catch (IllegalArgumentException bad) {
      // falls through to the one error below
    }
    throw Failure.badRequest("invalid_cursor", "cursor '" + cursor + "' is not one this server gave out");
  }
}
