package dev.switchboard.store;

/**
 * {@code storage.redis} ({@code REDIS_URL}) checked once, when the distributed profile starts:
 * the Redis client only parses it at its first connection, and then says "Fail to parse connection
 * string authority" without saying which setting. A refusal shows where the URL points but never
 * its user info ({@link PostgresUrl#redacted}).
 */
public final class RedisUrl {

  static final String EXPECTED = "expected redis://[user:password@]host[:port][/db], rediss:// for TLS, or unix:///path/to/socket";

  private RedisUrl() {
  }

  /** {@code url} when it is one the Redis client can use; else an {@link IllegalArgumentException} saying why. */
  public static String check(String url) {
    String why = problem(url == null ? "" : url.trim());
    if (why != null) {
      throw new IllegalArgumentException("storage.redis (REDIS_URL) is not a Redis URL: " + PostgresUrl.redacted(url)
          + " (" + why + "; " + EXPECTED + ")");
    }
    return url.trim();
  }

  private static String problem(String url) {
    int schemeEnd = url.indexOf("://");
    if (schemeEnd < 0 || !PostgresUrl.isScheme(url.substring(0, schemeEnd))) {
      return "no scheme";
    }
    String scheme = url.substring(0, schemeEnd);
    String rest = url.substring(schemeEnd + 3);
    if (scheme.equals("unix")) {
      return rest.startsWith("/") && rest.length() > 1 ? null : "no socket path";
    }
    if (!scheme.equals("redis") && !scheme.equals("rediss")) {
      return "the scheme is '" + scheme + "'";
    }
    // a password may hold '/', '?' or '@' when it is not percent-encoded: the address follows the last '@'
    String address = rest.substring(rest.lastIndexOf('@') + 1);
    int end = address.length();
    for (char c : new char[] {'/', '?', '#'}) {
      int i = address.indexOf(c);
      if (i >= 0) {
        end = Math.min(end, i);
      }
    }
    String hostPort = address.substring(0, end);
    String host = hostPort;
    String port = null;
    if (hostPort.startsWith("[")) {
      int close = hostPort.indexOf(']');
      if (close < 0) {
        return "an IPv6 address without ']'";
      }
      host = hostPort.substring(0, close + 1);
      String after = hostPort.substring(close + 1);
      if (!after.isEmpty()) {
        if (!after.startsWith(":")) {
          return "something after the IPv6 address";
        }
        port = after.substring(1);
      }
    } else if (hostPort.lastIndexOf(':') >= 0) {
      host = hostPort.substring(0, hostPort.lastIndexOf(':'));
      port = hostPort.substring(hostPort.lastIndexOf(':') + 1);
    }
    if (host.isEmpty() || host.equals("[]")) {
      return "no host";
    }
    if (port != null && !validPort(port)) {
      return "the port is not a number from 1 to 65535";
    }
    if (end < address.length() && address.charAt(end) == '/') {
      String db = address.substring(end + 1);
      int q = db.indexOf('?');
      db = q < 0 ? db : db.substring(0, q);
      if (!db.isEmpty() && !db.chars().allMatch(Character::isDigit)) {
        return "the database is not a number";
      }
    }
    return null;
  }

  private static boolean validPort(String port) {
    if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return false;
    }
    int n = Integer.parseInt(port);
    return n >= 1 && n <= 65535;
  }
}
