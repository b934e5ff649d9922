package dev.switchboard.events;

import dev.switchboard.bus.Failure;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque cursor of {@link EventStore#list}: the sequence number of the last event of a page;
 * the next page starts below it, so that an event purged at a page boundary does not end the listing.
 */
final class EventCursor {

  private static final String VERSION = "e1:";

  private EventCursor() {
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
