package dev.switchboard.store;

import dev.switchboard.bus.Failure;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque cursor of a newest-first listing: the sequence number of the last item on a page.
 * The next page starts below that number, so an item deleted or purged at a page boundary does
 * not end the listing (a cursor naming an id would). Each listing has its own tag, so a cursor
 * of one is refused by another.
 */
public final class SeqCursor {

  public static final SeqCursor TASKS = new SeqCursor("s1:");
  public static final SeqCursor EVENTS = new SeqCursor("e1:");
  public static final SeqCursor AUDIT = new SeqCursor("a1:");

  private final String tag;

  private SeqCursor(String tag) {
    this.tag = tag;
  }

  public String encode(long seq) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString((tag + seq).getBytes(StandardCharsets.US_ASCII));
  }

  /** The sequence number to continue below; {@link Long#MAX_VALUE} for the first page (null cursor). */
  public long decode(String cursor) {
    if (cursor == null || cursor.isEmpty()) {
      return Long.MAX_VALUE;
    }
    try {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
      if (text.startsWith(tag)) {
        long seq = Long.parseLong(text.substring(tag.length()));
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
