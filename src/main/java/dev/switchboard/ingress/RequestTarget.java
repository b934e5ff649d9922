package dev.switchboard.ingress;

import dev.switchboard.bus.Failure;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The request target (path and query) as UTF-8. Netty hands the request line over one char per
 * byte, so a client that sends {@code ?q=周会} raw (curl does) would be read as Latin-1; such
 * bytes are re-encoded here as the {@code %XX} escapes every decoder reads as UTF-8. Percent
 * escapes are checked too, so a malformed target is one 400 naming the parameter instead of a
 * failure wherever it is first decoded.
 */
final class RequestTarget {

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private RequestTarget() {
  }

  /**
   * The target with raw non-ASCII bytes percent-encoded; the same string when there are none.
   * Throws a 400 {@link Failure} when the raw bytes or an escape are not UTF-8.
   */
  static String canonical(String uri) {
    String ascii = uri;
    for (int i = 0; i < uri.length(); i++) {
      if (uri.charAt(i) >= 0x80) {
        ascii = escapeRaw(uri);
        break;
      }
    }
    check(ascii);
    return ascii;
  }

  private static String escapeRaw(String uri) {
    byte[] bytes = new byte[uri.length()];
    for (int i = 0; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c > 0xFF) {
        throw path("is not valid UTF-8");
      }
      bytes[i] = (byte) c;
    }
    if (!isUtf8(bytes, 0, bytes.length)) {
      int query = uri.indexOf('?');
      int bad = firstNonAscii(uri);
      throw query >= 0 && bad > query ? parameter(parameterAt(uri, bad), "is not valid UTF-8") : path("is not valid UTF-8");
    }
    StringBuilder out = new StringBuilder(uri.length() * 2);
    for (byte b : bytes) {
      if (b < 0) {
        out.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
      } else {
        out.append((char) b);
      }
    }
    return out.toString();
  }

  /** Every escape is %XX, and what the escapes of one component spell is UTF-8. */
  private static void check(String uri) {
    int hash = uri.indexOf('#');
    String target = hash >= 0 ? uri.substring(0, hash) : uri;
    int q = target.indexOf('?');
    String path = q >= 0 ? target.substring(0, q) : target;
    for (String segment : path.split("/", -1)) {
      if (!decodes(segment)) {
        throw path("is not valid percent-encoded UTF-8");
      }
    }
    if (q < 0) {
      return;
    }
    for (String pair : target.substring(q + 1).split("&", -1)) {
      int eq = pair.indexOf('=');
      String name = eq >= 0 ? pair.substring(0, eq) : pair;
      if (!decodes(name)) {
        throw parameter("", "has a name that is not valid percent-encoded UTF-8");
      }
      if (eq >= 0 && !decodes(pair.substring(eq + 1))) {
        throw parameter(name, "is not valid percent-encoded UTF-8");
      }
    }
  }

  private static boolean decodes(String component) {
    if (component.indexOf('%') < 0) {
      return true;
    }
    byte[] bytes = new byte[component.length()];
    int n = 0;
    for (int i = 0; i < component.length(); i++) {
      char c = component.charAt(i);
      if (c == '%') {
        if (i + 2 >= component.length()) {
          return false;
        }
        int hi = Character.digit(component.charAt(i + 1), 16);
        int lo = Character.digit(component.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          return false;
        }
        bytes[n++] = (byte) (hi << 4 | lo);
        i += 2;
      } else {
        bytes[n++] = (byte) c;
      }
    }
    return isUtf8(bytes, 0, n);
  }

  private static boolean isUtf8(byte[] bytes, int offset, int length) {
    try {
      StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, offset, length));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  private static int firstNonAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return i;
      }
    }
    return -1;
  }

  /** The name of the query parameter whose value holds position {@code at}, or "" when the name itself does. */
  private static String parameterAt(String uri, int at) {
    int start = Math.max(uri.lastIndexOf('&', at), uri.indexOf('?')) + 1;
    int eq = uri.indexOf('=', start);
    return eq >= 0 && eq < at ? uri.substring(start, eq) : "";
  }

  private static Failure path(String problem) {
    return Failure.badRequest("invalid_path", "the request path " + problem);
  }

  /** Named like the other parameter errors ({@code invalid_k}) when the name is a plain word. */
  private static Failure parameter(String name, String problem) {
    boolean plain = name.matches("[A-Za-z0-9_]{1,40}");
    String shown = name.length() > 40 ? name.substring(0, 40) + "..." : name;
    shown = shown.replaceAll("[^\\x20-\\x7e]", "?");
    return Failure.badRequest(plain ? "invalid_" + name : "invalid_query",
        (name.isEmpty() ? "a query parameter " : "query parameter '" + shown + "' ") + problem);
  }
}
