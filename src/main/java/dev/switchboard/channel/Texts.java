package dev.switchboard.channel;

import java.nio.charset.StandardCharsets;

/** Fitting text into platform limits, which are counted in UTF-8 bytes. */
final class Texts {

  private static final String MORE = "…";

  private Texts() {
  }

  /** {@code text} cut to at most {@code maxBytes} UTF-8 bytes, on a character boundary, marked with "…". */
  static String fit(String text, int maxBytes) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= maxBytes) {
      return text;
    }
    int budget = maxBytes - MORE.getBytes(StandardCharsets.UTF_8).length;
    int end = 0;
    int used = 0;
    while (end < text.length()) {
      int cp = text.codePointAt(end);
      int size = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
      if (used + size > budget) {
        break;
      }
      used += size;
      end += Character.charCount(cp);
    }
    return text.substring(0, end) + MORE;
  }

  /**
   * {@code text} as the messages it goes out in, each at most {@code maxBytes} UTF-8 bytes, in
   * order, nothing left out: a part ends at the last blank line, else the last line break, else
   * the last space that leaves it at least half full, else right at the limit, between two
   * characters (whole code points: never inside a surrogate pair, so never inside a UTF-8
   * sequence). The line breaks a part ends on are the boundary between two messages and are not
   * sent. One part when it fits.
   */
  static java.util.List<String> split(String text, int maxBytes) {
    if (maxBytes < 4) {
      throw new IllegalArgumentException("a part must hold at least one character of 4 bytes");
    }
    if (text.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
      return java.util.List.of(text);
    }
    java.util.List<String> parts = new java.util.ArrayList<>();
    int pos = 0;
    while (pos < text.length()) {
      int end = pos;
      int used = 0;
      while (end < text.length()) {
        int cp = text.codePointAt(end);
        int size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (used + size > maxBytes) {
          break;
        }
        used += size;
        end += Character.charCount(cp);
      }
      if (end == text.length()) {
        add(parts, text.substring(pos));
        break;
      }
      int half = pos + (end - pos) / 2;
      int cut = boundary(text, pos, end, half);
      add(parts, text.substring(pos, cut));
      pos = cut;
      // the line breaks at the cut separate the messages
      while (pos < text.length() && (text.charAt(pos) == '\n' || text.charAt(pos) == '\r')) {
        pos++;
      }
    }
    return parts;
  }

  /** Where to end a part that cannot go past {@code end}: after a paragraph, a line, a word, or at {@code end}. */
  private static int boundary(String text, int pos, int end, int half) {
    // a break exactly at end counts: the part is full and ends on it
    int limit = Math.min(text.length(), end + 1);
    String window = text.substring(pos, limit);
    int paragraph = window.lastIndexOf("\n\n");
    if (paragraph > 0 && pos + paragraph >= half) {
      return pos + paragraph;
    }
    int line = window.lastIndexOf('\n');
    if (line > 0 && pos + line >= half) {
      return pos + line;
    }
    for (int i = end - 1; i >= half && i > pos; i--) {
      if (Character.isWhitespace(text.charAt(i))) {
        return i + 1;
      }
    }
    return end;
  }

  private static void add(java.util.List<String> parts, String part) {
    String p = part.stripTrailing();
    if (!p.isEmpty()) {
      parts.add(p);
    }
  }

  /**
   * The parts of a result that each go out in {@code template} (where {@code {result}} is
   * replaced) with {@code extraBytes} of mentions and the like, within {@code maxBytes}.
   */
  static java.util.List<String> parts(String result, String template, int maxBytes, int extraBytes) {
    int around = template.replace("{result}", "").getBytes(StandardCharsets.UTF_8).length + extraBytes;
    return split(result, Math.max(64, maxBytes - around));
  }

  /** A title for a markdown message: the first line without markdown marks, at most 64 characters. */
  static String title(String text, String fallback) {
    for (String line : text.split("\n")) {
      String t = line.replaceAll("^[#>*\\-\\s]+", "").replace("*", "").replace("`", "").trim();
      if (!t.isEmpty()) {
        return t.length() > 64 ? t.substring(0, 64) : t;
      }
    }
    return fallback;
  }

  static String clip(String text, int maxChars) {
    return text == null || text.length() <= maxChars ? text : text.substring(0, maxChars);
  }
}
