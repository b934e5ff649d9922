package dev.switchboard.ingress;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * HTTP written by hand on a socket, for what HTTP clients will not send (raw UTF-8 targets,
 * conflicting framing, a header trickled byte by byte). Every read has a timeout, so a server
 * that hangs fails the test instead of holding it.
 */
final class RawHttp implements AutoCloseable {

  /** What came back: the bytes as Latin-1 text, and whether the server closed the connection. */
  record Answer(String text, boolean closed) {
    int status() {
      if (!text.startsWith("HTTP/1.")) {
        return -1;
      }
      // skip interim 1xx answers
      String rest = text;
      while (rest.startsWith("HTTP/1.") && rest.charAt(9) == '1') {
        rest = rest.substring(rest.indexOf("\r\n\r\n") + 4);
      }
      return rest.startsWith("HTTP/1.") ? Integer.parseInt(rest.substring(9, 12)) : -1;
    }

    /**
     * The statuses of the final responses in {@link #text}, in order (1xx answers skipped), read
     * one after the other by their Content-Length: how many requests on the connection were answered.
     */
    java.util.List<Integer> statuses() {
      java.util.List<Integer> statuses = new java.util.ArrayList<>();
      String rest = text;
      while (rest.startsWith("HTTP/1.")) {
        int head = rest.indexOf("\r\n\r\n");
        if (head < 0) {
          statuses.add(Integer.parseInt(rest.substring(9, 12)));
          break;
        }
        int status = Integer.parseInt(rest.substring(9, 12));
        int length = status / 100 == 1 ? 0 : Math.max(0, contentLength(rest.substring(0, head)));
        if (status / 100 != 1) {
          statuses.add(status);
        }
        rest = rest.substring(Math.min(rest.length(), head + 4 + length));
      }
      return statuses;
    }

    String body() {
      int at = text.lastIndexOf("\r\n\r\n");
      return at < 0 ? "" : new String(text.substring(at + 4).getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RawHttp(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    in = socket.getInputStream();
    out = socket.getOutputStream();
  }

  static Answer exchange(int port, String request, int timeoutMillis) throws IOException {
    try (RawHttp http = new RawHttp(port)) {
      http.send(request.getBytes(StandardCharsets.UTF_8));
      return http.readUntilClosed(timeoutMillis);
    }
  }

  RawHttp send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  RawHttp send(String text) throws IOException {
    return send(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Everything until the server closes, or until {@code timeoutMillis} pass without it closing. */
  Answer readUntilClosed(int timeoutMillis) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    long deadline = System.currentTimeMillis() + timeoutMillis;
    byte[] buffer = new byte[8192];
    while (true) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        return new Answer(got.toString(StandardCharsets.ISO_8859_1), false);
      }
      socket.setSoTimeout((int) left);
      try {
        int n = in.read(buffer);
        if (n < 0) {
          return new Answer(got.toString(StandardCharsets.ISO_8859_1), true);
        }
        got.write(buffer, 0, n);
      } catch (SocketTimeoutException e) {
        return new Answer(got.toString(StandardCharsets.ISO_8859_1), false);
      } catch (IOException reset) {
        return new Answer(got.toString(StandardCharsets.ISO_8859_1), true);
      }
    }
  }

  /** One complete final response (by Content-Length; 1xx answers before it kept) on a connection that stays open. */
  Answer readResponse(int timeoutMillis) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (!complete(got.toString(StandardCharsets.ISO_8859_1))) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        return new Answer(got.toString(StandardCharsets.ISO_8859_1), false);
      }
      socket.setSoTimeout((int) left);
      try {
        int b = in.read();
        if (b < 0) {
          return new Answer(got.toString(StandardCharsets.ISO_8859_1), true);
        }
        got.write(b);
      } catch (SocketTimeoutException e) {
        return new Answer(got.toString(StandardCharsets.ISO_8859_1), false);
      }
    }
    return new Answer(got.toString(StandardCharsets.ISO_8859_1), false);
  }

  private static boolean complete(String text) {
    String rest = text;
    while (true) {
      int head = rest.indexOf("\r\n\r\n");
      if (head < 0) {
        return false;
      }
      if (rest.startsWith("HTTP/1.1 1") || rest.startsWith("HTTP/1.0 1")) {
        rest = rest.substring(head + 4);
        continue;
      }
      int length = contentLength(rest.substring(0, head));
      return length >= 0 && rest.length() >= head + 4 + length;
    }
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        return Integer.parseInt(line.substring(15).trim());
      }
    }
    return -1;
  }

  /** True when the server closes the connection within {@code timeoutMillis} (reads and drops what it sends). */
  boolean closedWithin(int timeoutMillis) throws IOException {
    return readUntilClosed(timeoutMillis).closed();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
