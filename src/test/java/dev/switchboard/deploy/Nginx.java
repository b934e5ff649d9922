package dev.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's nginx ({@code /usr/sbin/nginx}, installed by {@code scripts/test.sh}) running a copy of
 * {@code deploy/nginx.conf} in a folder under {@code target/}. Only the lines an operator adapts to
 * the machine are rewritten: the listening ports (loopback, free ones), the gateway's address, the
 * certificate (a throwaway one made here), and the files nginx writes (pid, logs, temp folders),
 * so that it needs no root and leaves nothing in /run or /var. Everything else is the sample as
 * shipped. Missing nginx fails the test that needs it; it does not skip.
 */
final class Nginx implements AutoCloseable {

  static final Path SAMPLE = Path.of("deploy", "nginx.conf");
  private static final String BINARY = Files.isExecutable(Path.of("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : "nginx";

  final Path dir;
  final Path conf;
  final int httpsPort;
  final int httpPort;
  private Process process;

  private Nginx(Path dir, Path conf, int httpsPort, int httpPort) {
    this.dir = dir;
    this.conf = conf;
    this.httpsPort = httpsPort;
    this.httpPort = httpPort;
  }

  /** The sample, adapted to this machine, in a fresh folder under target/; {@code gatewayPort}: where the upstream is. */
  static Nginx prepare(int gatewayPort) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "nginx-it")), "run").toAbsolutePath();
    int https = freePort();
    int http = freePort();
    certificate(dir);
    String text = Files.readString(SAMPLE);
    // root would hand the workers to www-data, which cannot write the folders under target/
    text = once(text, "(?m)^user www-data;\\n", "");
    text = once(text, "(?m)^pid /run/nginx\\.pid;", "pid " + dir.resolve("nginx.pid") + ";");
    text = once(text, "(?m)^error_log /var/log/nginx/error\\.log warn;", "error_log " + dir.resolve("error.log") + " info;");
    text = once(text, "access_log /var/log/nginx/switchboard\\.access\\.log switchboard;",
        "access_log " + dir.resolve("access.log") + " switchboard;");
    // Debian's build writes request bodies and buffered answers to /var/lib/nginx unless told otherwise
    text = once(text, "(?m)^http \\{\\n", "http {\n" + tempPaths(dir));
    text = once(text, "server 127\\.0\\.0\\.1:18789 ", "server 127.0.0.1:" + gatewayPort + " ");
    // loopback only, IPv4 only: the test machine may have no IPv6
    text = once(text, "(?m)^ *listen \\[::\\]:80;\\n", "");
    text = once(text, "(?m)^ *listen \\[::\\]:443 ssl http2;\\n", "");
    text = once(text, "listen 80;", "listen 127.0.0.1:" + http + ";");
    text = once(text, "listen 443 ssl http2;", "listen 127.0.0.1:" + https + " ssl http2;");
    text = once(text, "/etc/nginx/tls/switchboard\\.crt", dir.resolve("cert.pem").toString());
    text = once(text, "/etc/nginx/tls/switchboard\\.key", dir.resolve("key.pem").toString());
    Path conf = dir.resolve("nginx.conf");
    Files.writeString(conf, text);
    return new Nginx(dir, conf, https, http);
  }

  /** {@code nginx -t} on the adapted copy: exit code and output. */
  Result test() throws IOException, InterruptedException {
    Process p = command("-t").redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("nginx -t did not exit within 30 s");
    }
    return new Result(p.exitValue(), output);
  }

  /** Starts nginx in the foreground (its master is our child, stopped by its PID) and waits until both ports accept. */
  Nginx start() throws IOException, InterruptedException {
    process = command("-g", "daemon off;").redirectErrorStream(true)
        .redirectOutput(dir.resolve("stdout.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!(accepts(httpsPort) && accepts(httpPort))) {
      if (!process.isAlive()) {
        throw new IllegalStateException("nginx exited with " + process.exitValue() + ": " + log());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("nginx did not listen within 20 s: " + log());
      }
      Thread.sleep(50);
    }
    return this;
  }

  /** What nginx wrote to its error log and its own output, for failure messages. */
  String log() {
    StringBuilder all = new StringBuilder();
    for (String name : List.of("stdout.log", "error.log")) {
      try {
        all.append(Files.readString(dir.resolve(name)));
      } catch (IOException e) {
        // not written (yet)
      }
    }
    return all.toString();
  }

  /** Stops the master by its PID (SIGTERM: fast shutdown, the workers with it). */
  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      long pid = process.pid();
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  record Result(int exit, String output) {
  }

  private ProcessBuilder command(String... extra) {
    List<String> command = new ArrayList<>(List.of(BINARY, "-p", dir + "/", "-c", conf.toString(), "-e", dir.resolve("error.log").toString()));
    command.addAll(List.of(extra));
    return new ProcessBuilder(command).directory(dir.toFile());
  }

  private static String tempPaths(Path dir) {
    StringBuilder lines = new StringBuilder();
    for (String kind : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
      lines.append("  ").append(kind).append("_temp_path ").append(dir.resolve("tmp-" + kind)).append(";\n");
    }
    return lines.toString();
  }

  /** Replaces the one match of {@code regex}: a sample whose adaptable line changed fails here, not later. */
  private static String once(String text, String regex, String replacement) {
    Matcher m = Pattern.compile(regex).matcher(text);
    int count = 0;
    while (m.find()) {
      count++;
    }
    assertEquals(1, count, "deploy/nginx.conf should have exactly one match of " + regex);
    return Pattern.compile(regex).matcher(text).replaceFirst(Matcher.quoteReplacement(replacement));
  }

  private static void certificate(Path dir) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString())
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl could not make a throwaway certificate: " + output);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Fails with the reason when Debian's nginx is not installed (scripts/test.sh installs it). */
  static void requireInstalled() throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(BINARY, "-v").redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("nginx is not installed (Debian package 'nginx'; scripts/test.sh installs it): " + e.getMessage(), e);
    }
    p.getInputStream().readAllBytes();
    p.waitFor(30, TimeUnit.SECONDS);
  }
}
