package dev.switchboard;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar switchboard.jar} runs the gateway; {@code java -jar switchboard.jar token
 * --sub alice --ttl 1h} prints a token signed with the gateway's secret.
 */
public final class Main {

  private Main() {
  }

  public static void main(String[] args) {
    System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL %4$s %3$s - %5$s%6$s%n");
    try {
      if (args.length > 0 && "token".equals(args[0])) {
        token(args);
      } else if (args.length > 0 && ("-h".equals(args[0]) || "--help".equals(args[0]) || "help".equals(args[0]))) {
        usage();
      } else if (args.length > 0) {
        System.err.println("unknown command '" + args[0] + "'");
        usage();
        System.exit(2);
      } else {
        run();
      }
    } catch (ConfigError e) {
      System.err.println("configuration error: " + e.getMessage());
      System.exit(2);
    } catch (Exception e) {
      System.err.println("switchboard: " + e.getMessage());
      System.exit(1);
    }
  }

  private static void usage() {
    System.out.println("""
        usage:
          java -jar switchboard.jar                          run the gateway
          java -jar switchboard.jar token --sub NAME [--ttl 1h]   print a JWT for the API (--ttl 0: no expiry)
        environment: SWITCHBOARD_CONF_DIR, SWITCHBOARD_DATA_DIR, SWITCHBOARD_HTTP_HOST, SWITCHBOARD_HTTP_PORT,
                     SWITCHBOARD_JWT_SECRET, MODEL_ENDPOINT, MODEL_API_KEY, DINGTALK_WEBHOOK, DINGTALK_SECRET""");
  }

  private static void run() throws Exception {
    long started = System.nanoTime();
    Settings settings = Settings.load(System::getenv);
    JwtSecret secret = JwtSecret.resolve(settings.jwtSecret(), settings.dataDir());
    if (secret.generatedNow()) {
      System.out.println("no SWITCHBOARD_JWT_SECRET set: generated one in " + settings.dataDir().resolve(JwtSecret.FILE)
          + " (mode 600); mint API tokens with: java -jar switchboard.jar token --sub <name>");
    }
    Vertx vertx = Gateway.newVertx(settings.metrics(), settings.server().eventLoops());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }, "switchboard-shutdown"));
    CountDownLatch ready = new CountDownLatch(1);
    Gateway.deploy(vertx, settings, secret).onComplete(ar -> {
      if (ar.succeeded()) {
        long ms = (System.nanoTime() - started) / 1_000_000;
        System.out.println(ar.result().banner() + " | ready in " + ms + " ms");
      } else {
        System.err.println("switchboard failed to start: " + ar.cause().getMessage());
        vertx.close();
        Runtime.getRuntime().halt(1);
      }
      ready.countDown();
    });
    ready.await();
  }

  private static void token(String[] args) throws Exception {
    String subject = null;
    Duration ttl = Duration.ofHours(1);
    for (int i = 1; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--sub" -> subject = value;
        case "--ttl" -> ttl = "0".equals(value) ? Duration.ZERO : ConfigNode.parseDuration(value == null ? "" : value)
            .orElseThrow(() -> new IllegalArgumentException("--ttl takes a duration such as 30m, 1h or 7d, or 0"));
        default -> throw new IllegalArgumentException("unknown option '" + args[i] + "' (token --sub NAME [--ttl 1h])");
      }
      i++;
    }
    if (subject == null || subject.isBlank()) {
      throw new IllegalArgumentException("token needs --sub NAME");
    }
    Settings settings = Settings.load(System::getenv);
    JwtSecret secret = JwtSecret.resolve(settings.jwtSecret(), settings.dataDir());
    if (secret.generatedNow()) {
      System.err.println("generated a JWT secret in " + settings.dataDir().resolve(JwtSecret.FILE) + " (mode 600)");
    }
    Vertx vertx = Vertx.vertx();
    try {
      System.out.println(Tokens.issue(Tokens.auth(vertx, secret), subject, ttl));
    } finally {
      vertx.close().await(5, TimeUnit.SECONDS);
    }
  }
}
