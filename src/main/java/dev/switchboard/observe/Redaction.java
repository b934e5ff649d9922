package dev.switchboard.observe;

import java.util.regex.Pattern;

/**
 * The last guard against a credential in a log line: an {@code Authorization}-style value
 * ({@code Bearer ...}, {@code Basic ...}) is replaced by {@code [redacted]}, whoever logged it (our
 * code, Vert.x, Netty, a plug-in). Our own code logs no secrets in the first place; this covers
 * what quotes a header back (an exception message, a debug dump).
 */
final class Redaction {

  private static final Pattern CREDENTIAL = Pattern.compile("(?i)\\b(bearer|basic)\\s+[A-Za-z0-9._~+/=-]+");

  private Redaction() {
  }

  static String scrub(String text) {
    if (text == null) {
      return null;
    }
    // a plain indexOf first: most lines have neither word, and they cost no regex
    if (text.indexOf("earer") < 0 && text.indexOf("EARER") < 0 && text.indexOf("asic") < 0 && text.indexOf("ASIC") < 0) {
      return text;
    }
    return CREDENTIAL.matcher(text).replaceAll("$1 [redacted]");
  }
}
