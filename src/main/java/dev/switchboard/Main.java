package dev.switchboard;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.observe.JvmDefaults;
import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.SelfCommand;
import dev.switchboard.security.TokenClaims;
import dev.switchboard.security.Tokens;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code java -jar switchboard.jar} runs the gateway; {@code java -jar switchboard.jar token
 * --sub alice --ttl 1h} prints a token signed with the gateway's secret. What it prints names the
 * jar that is actually running ({@link SelfCommand}), so a hint can be pasted as it is.
 */
public final class Main {

  private Main() {
  }

  public static void main(String[] args) {
    System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL %4$s %3$s - %5$s%6$s%n");
    try {
      if (args.length > 0 && "token".equals(args[0])) {
        token(args);
      } else if (args.length > 0 && "audit".equals(args[0])) {
        System.exit(dev.switchboard.audit.AuditCommand.run(args, Settings.load(System::getenv), System.out, System.err));
      } else if (args.length > 0 && "doctor".equals(args[0])) {
        // UTF-8 whatever the locale: the report's marks are ✓ and ✗
        System.exit(dev.switchboard.doctor.Doctor.run(args, System::getenv,
            new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, java.nio.charset.StandardCharsets.UTF_8),
            System.err));
      } else if (args.length > 0 && ("-h".equals(args[0]) || "--help".equals(args[0]) || "help".equals(args[0]))) {
        usage();
      } else if (args.length > 0) {
        System.err.println("unknown command '" + args[0] + "'");
        System.err.println(usageText());
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
    System.out.println(usageText());
  }

  /** The help text, naming the command that runs this very jar (so it can be pasted). */
  static String usageText() {
    String java = SelfCommand.java();
    return "usage:\n"
        + "  " + java + "\n"
        + "      run the gateway\n"
        + "  " + java + " token --sub NAME [--ttl 1h]\n"
        + "      print a JWT for the API (--ttl 0: no expiry)\n"
        + "      [--role admin|operator|client]... [--scope chat|tasks|memories:read|memories:write|deliveries|admin]...\n"
        + "      [--memory-scope user:alice|tenant:acme:*]...\n"
        + "  " + java + " audit verify\n"
        + "      check the audit log's hash chain (exit 0 intact, 1 names the first broken record)\n"
        + "  " + java + " doctor\n"
        + "      check configuration, providers, Redis/PostgreSQL, bots, TLS, ports, data dir (exit 0 ok, 1 broken, 2 bad config)\n"
        + "environment: SWITCHBOARD_CONF_DIR, SWITCHBOARD_DATA_DIR, SWITCHBOARD_HTTP_HOST, SWITCHBOARD_HTTP_PORT,\n"
        + "             SWITCHBOARD_JWT_SECRET, MODEL_ENDPOINT, MODEL_API_KEY, DINGTALK_WEBHOOK, DINGTALK_SECRET\n"
        + "signals: SIGHUP re-reads providers, channels, rules and TLS files (as POST /api/v1/admin/reload)\n"
        + "JVM: -D" + JvmDefaults.PROPERTY + "=false keeps the JVM's own heap and GC settings"
        + " (by default the heap shrinks after a burst and when idle)";
  }

  /** What the first start prints: where the new secret is, and the command that mints tokens with it. */
  static String firstRunLine(Function<String, String> env, Path dataDir) {
    return "no SWITCHBOARD_JWT_SECRET set: generated one in " + dataDir.resolve(JwtSecret.FILE)
        + " (mode 600); mint API tokens with: " + Tokens.mintCommand(env, dataDir);
  }

  private static void run() throws Exception {
    long started = System.nanoTime();
    // before Vert.x and Netty allocate anything: the flags decide how the heap grows and shrinks
    JvmDefaults.apply();
    // at once: the JVM's own answer to SIGHUP is to stop, and a reload may come while start-up is under way
    java.util.concurrent.atomic.AtomicReference<Vertx> reloads = new java.util.concurrent.atomic.AtomicReference<>();
    reloadOnHangup(reloads);
    Settings settings = Settings.load(System::getenv);
    dev.switchboard.observe.LogSettings.load(settings.confDir(), System::getenv).apply();
    JwtSecret secret = JwtSecret.resolve(settings.jwtSecret(), settings.dataDir());
    if (secret.generatedNow()) {
      System.out.println(firstRunLine(System::getenv, settings.dataDir()));
    }
    Vertx vertx = Gateway.newVertx(settings.metrics(), settings.server().eventLoops());
    // a stop (SIGTERM) lets running tasks finish for queue.shutdown_grace, then hands the rest back
    long stopWithin = settings.queue().shutdownGrace().toMillis() + 10_000;
    java.util.concurrent.atomic.AtomicReference<Gateway.Started> running = new java.util.concurrent.atomic.AtomicReference<>();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        Gateway.stop(vertx, running.get()).await(stopWithin, TimeUnit.MILLISECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }, "switchboard-shutdown"));
    CountDownLatch ready = new CountDownLatch(1);
    Gateway.deploy(vertx, settings, secret).onComplete(ar -> {
      if (ar.succeeded()) {
        running.set(ar.result());
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
    reloads.set(vertx);
  }

  /** SIGHUP re-reads providers, channels, rules and TLS files as POST /api/v1/admin/reload does, and says what happened. */
  private static void reloadOnHangup(java.util.concurrent.atomic.AtomicReference<Vertx> started) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
        Vertx vertx = started.get();
        if (vertx == null) {
          System.err.println("SIGHUP: not reloaded: the gateway is still starting; send it again once it is ready");
          return;
        }
        vertx.eventBus()
            .<JsonObject>request(dev.switchboard.bus.Addresses.CONFIG_RELOAD, new JsonObject().put("trigger", "sighup"))
            .onSuccess(m -> System.out.println("SIGHUP: reloaded " + m.body().encode()))
            .onFailure(e -> System.err.println("SIGHUP: not reloaded: "
                + dev.switchboard.bus.Failure.from(e).getMessage()));
      });
    } catch (IllegalArgumentException e) {
      // a platform without SIGHUP (Windows): POST /api/v1/admin/reload still works
      System.err.println("SIGHUP reload not available here: " + e.getMessage());
    }
  }

  /** What the {@code token} command was asked for: subject, lifetime, and the access claims (roles, scope, memory scopes). */
  record TokenArgs(String subject, Duration ttl, JsonObject claims) {
  }

  /** The {@code token} command's flags ({@code args[0]} is "token"); anything unknown is refused with one line. */
  static TokenArgs tokenArgs(String[] args) {
    String subject = null;
    Duration ttl = Duration.ofHours(1);
    List<String> roles = new ArrayList<>();
    List<String> scopes = new ArrayList<>();
    List<String> memoryScopes = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null && List.of("--role", "--scope", "--memory-scope").contains(args[i])) {
        throw new IllegalArgumentException(args[i] + " needs a value");
      }
      switch (args[i]) {
        case "--sub" -> subject = value;
        case "--ttl" -> ttl = "0".equals(value) ? Duration.ZERO : ConfigNode.parseDuration(value == null ? "" : value)
            .orElseThrow(() -> new IllegalArgumentException("--ttl takes a duration such as 30m, 1h or 7d, or 0"));
        case "--role" -> roles.add(value);
        case "--scope" -> scopes.add(value);
        case "--memory-scope" -> memoryScopes.add(value);
        default -> throw new IllegalArgumentException("unknown option '" + args[i]
            + "' (token --sub NAME [--ttl 1h] [--role R]... [--scope S]... [--memory-scope P]...)");
      }
      i++;
    }
    if (subject == null || subject.isBlank()) {
      throw new IllegalArgumentException("token needs --sub NAME");
    }
    return new TokenArgs(subject, ttl, TokenClaims.of(roles, scopes, memoryScopes));
  }

  private static void token(String[] args) throws Exception {
    TokenArgs asked = tokenArgs(args);
    Settings settings = Settings.load(System::getenv);
    JwtSecret secret = JwtSecret.resolve(settings.jwtSecret(), settings.dataDir());
    if (secret.generatedNow()) {
      System.err.println("generated a JWT secret in " + settings.dataDir().resolve(JwtSecret.FILE) + " (mode 600)");
    }
    Vertx vertx = Vertx.vertx();
    try {
      System.out.println(Tokens.issue(Tokens.auth(vertx, secret, settings.tokens()), asked.subject(), asked.ttl(), asked.claims()));
    } finally {
      vertx.close().await(5, TimeUnit.SECONDS);
    }
  }
}
