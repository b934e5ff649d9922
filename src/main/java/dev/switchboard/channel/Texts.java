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
