package dev.switchboard.testing;

import dev.switchboard.Gateway;
import dev.switchboard.Settings;
import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import io.vertx.core.Vertx;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The whole gateway, started in-process on a free loopback port with the project's shipped
 * {@code conf/} files (or overrides of them), a throwaway data dir, and an environment given by
 * the test. It runs on its own Vert.x instance, like a separate process would, so a test can stop
 * it and start it again on the same data. {@link #close} deletes the conf and data dirs it made
 * (a JVM exit deletes those of gateways never closed).
 */
public final class TestGateway implements AutoCloseable {

  public static final String SECRET = "test-secret-0123456789abcdef0123456789";

  private final Map<String, String> env;
  private final Path confDir;
  private final Path dataDir;
  private Vertx vertx;
  private int port;
  private Gateway.Started started;
  private String banner;

  private TestGateway(Map<String, String> env, Path confDir, Path dataDir) {
    this.env = env;
    this.confDir = confDir;
    this.dataDir = dataDir;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private final Map<String, String> env = new HashMap<>();
    private final Map<String, String> files = new HashMap<>();
    private final Map<String, Path> copies = new HashMap<>();

    private Builder() {
      env.put("SWITCHBOARD_JWT_SECRET", SECRET);
      env.put("SWITCHBOARD_HTTP_PORT", "0");
      // the fakes listen on loopback; the shipped configuration refuses it, so the harness allows it
      env.put("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1,localhost,::1");
      // on the distributed profile a test's tasks stay its own, whatever earlier tests left in Redis;
      // gateways that should share a queue are given one prefix by their test
      env.put("SWITCHBOARD_QUEUE_PREFIX", "sbtest:" + java.util.UUID.randomUUID().toString().substring(0, 8) + ":q:");
    }

    public Builder env(String name, String value) {
      env.put(name, value);
      return this;
    }

    /** The OpenAI-compatible upstream of the shipped {@code default} provider. */
    public Builder upstream(String baseUrl) {
      return env("MODEL_ENDPOINT", baseUrl).env("MODEL_API_KEY", "upstream-key");
    }

    public Builder dingtalk(String webhook, String secret) {
      return env("DINGTALK_WEBHOOK", webhook).env("DINGTALK_SECRET", secret);
    }

    /** Replaces one shipped file (e.g. {@code model_provider.yaml}) with this text, or adds one ({@code plugins/catalog.yaml}). */
    public Builder file(String name, String yaml) {
      files.put(name, yaml);
      return this;
    }

    /** Puts a copy of {@code source} at {@code name} in the conf dir, e.g. a jar as {@code plugins/x.jar}. */
    public Builder copy(String name, Path source) {
      copies.put(name, source);
      return this;
    }

    public TestGateway start() {
      TestGateway gateway;
      try {
        Path conf = Leftovers.track(Files.createTempDirectory("switchboard-conf"));
        gateway = new TestGateway(env, conf, Leftovers.track(Files.createTempDirectory("switchboard-data")));
        for (String name : new String[] {"switchboard.yaml", "model_provider.yaml", "channels.yaml", "rules.yaml"}) {
          String text = files.containsKey(name) ? files.get(name) : Files.readString(Path.of("conf", name));
          Files.writeString(conf.resolve(name), text);
        }
        for (Map.Entry<String, String> extra : files.entrySet()) {
          Path target = conf.resolve(extra.getKey());
          if (!Files.exists(target)) {
            Files.createDirectories(target.getParent());
            Files.writeString(target, extra.getValue());
          }
        }
        for (Map.Entry<String, Path> copy : copies.entrySet()) {
          Path target = conf.resolve(copy.getKey());
          Files.createDirectories(target.getParent());
          Files.copy(copy.getValue(), target);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      env.put("SWITCHBOARD_DATA_DIR", gateway.dataDir.toString());
      try {
        gateway.boot();
      } catch (RuntimeException e) {
        try {
          gateway.close();
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
        }
        throw e;
      }
      return gateway;
    }
  }

  private void boot() {
    try {
      Settings settings = Settings.load(confDir, env::get);
      JwtSecret secret = JwtSecret.resolve(settings.jwtSecret(), settings.dataDir());
      vertx = Gateway.newVertx(true);
      started = Gateway.deploy(vertx, settings, secret, env::get).await(20, TimeUnit.SECONDS);
      port = started.port();
      banner = started.banner();
    } catch (Exception e) {
      throw new IllegalStateException("gateway did not start: " + e.getMessage(), e);
    }
  }

  /** Stops the gateway as SIGTERM does (data dir kept), then starts it again on the same data. */
  public TestGateway restart() {
    stop();
    boot();
    return this;
  }

  /** Stops the gateway, replaces one configuration file, and starts it again on the same data. */
  public TestGateway restartWith(String file, String yaml) {
    stop();
    try {
      Files.writeString(confDir.resolve(file), yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    boot();
    return this;
  }

  /** Stops the gateway as SIGTERM does (in order, running tasks get their grace); the data dir is kept. */
  public void stop() {
    if (vertx != null) {
      try {
        Gateway.stop(vertx, started).await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      vertx = null;
    }
  }

  /** The gateway's own Vert.x: for a test that watches the event bus, like a plug-in would. */
  public Vertx vertx() {
    return vertx;
  }

  public int port() {
    return port;
  }

  public String banner() {
    return banner;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The gateway's configuration folder: a test may edit a file there while it runs (rules hot reload). */
  public Path confDir() {
    return confDir;
  }

  public String url(String path) {
    return "http://127.0.0.1:" + port + path;
  }

  /** A token signed with the gateway's secret, valid for an hour. */
  public String token(String subject) {
    return token(subject, Duration.ofHours(1));
  }

  public String token(String subject, Duration ttl) {
    Vertx v = Vertx.vertx();
    try {
      JWTAuth auth = Tokens.auth(v, new JwtSecret(SECRET, "test"));
      return Tokens.issue(auth, subject, ttl);
    } finally {
      v.close();
    }
  }

  /** Stops the gateway and deletes its conf and data dirs. */
  @Override
  public void close() {
    try {
      stop();
    } finally {
      Leftovers.delete(confDir);
      Leftovers.delete(dataDir);
    }
  }

  /** The dirs made and not yet deleted: a test that never closes its gateway leaves none at JVM exit. */
  private static final class Leftovers {
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(dir -> {
        try {
          deleteTree(dir);
        } catch (IOException | UncheckedIOException e) {
          // exiting anyway; the dir stays
        }
      }), "test-gateway-leftovers"));
    }

    private Leftovers() {
    }

    static Path track(Path dir) {
      LIVE.add(dir);
      return dir;
    }

    static void delete(Path dir) {
      try {
        deleteTree(dir);
        LIVE.remove(dir);
      } catch (IOException | UncheckedIOException e) {
        throw new IllegalStateException("could not delete " + dir + " (is something still writing to it after the stop?)", e);
      }
    }

    private static void deleteTree(Path dir) throws IOException {
      if (!Files.exists(dir)) {
        return;
      }
      try (Stream<Path> paths = Files.walk(dir)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
