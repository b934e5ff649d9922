package dev.switchboard.store;

import io.vertx.pgclient.PgConnectOptions;

/**
 * {@code storage.postgres} ({@code DATABASE_URL}) read once for every store on PostgreSQL. A URL
 * that does not parse is refused with a message that shows where it points but never its user
 * info or query: Vert.x's own message quotes the URL whole, password included, and start-up
 * prints the message.
 */
public final class PostgresUrl {

  private PostgresUrl() {
  }

  public static PgConnectOptions options(String url) {
    try {
      return PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) {
      // the cause is left out on purpose: its message holds the URL as written
      throw new IllegalArgumentException("storage.postgres (DATABASE_URL) is not a PostgreSQL URL: " + redacted(url)
          + " (expected postgresql://user:password@host:port/database)");
    }
  }

  /** A URL scheme as RFC 3986 spells one: anything else before "://" may be part of a password. */
  static boolean isScheme(String s) {
    if (s.isEmpty() || !Character.isLetter(s.charAt(0)) || s.charAt(0) > 127) {
      return false;
    }
    for (int i = 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c > 127 || !(Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')) {
        return false;
      }
    }
    return true;
  }

  /**
   * The URL without user info (everything up to the last '@', as a password may hold '/', '?' or
   * '@' when it is not percent-encoded) and without query or fragment (they may carry
   * {@code password=}). Cuts too much rather than too little.
   */
  public static String redacted(String url) {
    if (url == null) {
      return "";
    }
    String out = url;
    int at = out.lastIndexOf('@');
    if (at >= 0) {
      int scheme = out.indexOf("://");
      boolean kept = scheme >= 0 && scheme < at && isScheme(out.substring(0, scheme));
      out = (kept ? out.substring(0, scheme + 3) : "") + out.substring(at + 1);
    }
    int query = out.indexOf('?');
    int fragment = out.indexOf('#');
    int cut = query < 0 ? fragment : fragment < 0 ? query : Math.min(query, fragment);
    return cut < 0 ? out : out.substring(0, cut);
  }
}
