package dev.switchboard.observe;

import java.util.regex.Pattern;

/**
 * The last guard against a credential in a log line: an {@code Authorization}-style value
 * ({@code Bearer ...}, {@code Basic ...}), a URL's user info ({@code redis://:password@}), a query
 * parameter whose name says credential ({@code access_token=}, {@code key=}, {@code sign=}) and a
 * robot's hook id in a path ({@code /hook/...}) are replaced by {@code [redacted]}, whoever logged
 * it (our code, Vert.x, Netty, a plug-in). Our own code logs no secrets in the first place; this
 * covers what quotes one back (an exception message, Vert.x's timeout naming the request's URI, a debug dump).
 */
public final class Redaction {

  private static final Pattern CREDENTIAL = Pattern.compile("(?i)\\b(bearer|basic)\\s+[A-Za-z0-9._~+/=-]+");
  private static final Pattern USER_INFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*+://)[^/?#@\\s]+@");
  private static final Pattern PARAMETER = Pattern.compile(
      "(?i)([?&;](?:[a-z0-9_.-]*(?:key|token|secret|passw|pwd|auth|credential|signature|session)[a-z0-9_.-]*|sign))=[^&;#\\s\"'\\\\]*");
  private static final Pattern HOOK = Pattern.compile("(/hook/)[A-Za-z0-9_-]{6,}");

  private Redaction() {
  }

  public static String scrub(String text) {
    if (text == null) {
      return null;
    }
    // plain indexOf first: most lines have none of these, and they cost no regex
    String out = text;
    if (out.indexOf("earer") >= 0 || out.indexOf("EARER") >= 0 || out.indexOf("asic") >= 0 || out.indexOf("ASIC") >= 0) {
      out = CREDENTIAL.matcher(out).replaceAll("$1 [redacted]");
    }
    if (out.indexOf('@') >= 0 && out.indexOf("://") >= 0) {
      out = USER_INFO.matcher(out).replaceAll("$1[redacted]@");
    }
    if (out.indexOf('=') >= 0) {
      out = PARAMETER.matcher(out).replaceAll("$1=[redacted]");
    }
    if (out.indexOf("/hook/") >= 0) {
      out = HOOK.matcher(out).replaceAll("$1[redacted]");
    }
    return out;
  }
}
