package dev.switchboard.doctor;

import dev.switchboard.Settings;
import dev.switchboard.bridge.BridgeSettings;
import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.channel.TenantTokens;
import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.ingress.ServerSettings;
import dev.switchboard.model.ModelSettings;
import dev.switchboard.model.ProviderSettings;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code java -jar switchboard.jar doctor}: loads the configuration as the gateway does and checks
 * what start-up cannot, because it does not call out: the providers' keys, Redis and PostgreSQL,
 * the bots' credentials, the certificate's dates, the ports and the data folder. One line per check,
 * ✓ fine, ! works but should be fixed, ✗ broken, - not checked; every ! and ✗ ends with the fix.
 *
 * <p>Exit 0: nothing is broken (warnings allowed); 1: something is; 2: the configuration does not
 * load (its ✗ line names the file and key, as start-up would), and nothing else can be checked.
 * Network checks run at once, each bounded by {@link #TIMEOUT_MS}, so the doctor answers within
 * seconds when everything is down. It only reads: it may run beside a running gateway.
 */
public final class Doctor {

  public static final int HEALTHY = 0;
  public static final int BROKEN = 1;
  public static final int CONFIGURATION = 2;

  /** Every network call's bound: a service slower than this to answer a PING is a finding itself. */
  static final long TIMEOUT_MS = 5_000;
  static final String[] FILES = {Settings.FILE, ModelSettings.FILE, ChannelSettings.FILE, "rules.yaml"};

  private Doctor() {
  }

  /** One check to run: {@code subject} names it on its ✗ line should it not finish. */
  record Check(String subject, Callable<List<Finding>> run) {
  }

  public static int run(String[] args, Function<String, String> env, PrintStream out, PrintStream err) {
    if (args.length != 1) {
      err.println("usage: doctor (it takes no options; SWITCHBOARD_CONF_DIR says where the configuration is)");
      return CONFIGURATION;
    }
    Settings settings;
    try {
      settings = Settings.load(env);
    } catch (ConfigError e) {
      out.println(Finding.fail("configuration", e.getMessage(),
          "correct " + (e.key().isEmpty() ? "" : e.key() + " in ") + e.file() + ", then run doctor again").line());
      return CONFIGURATION;
    } catch (RuntimeException e) {
      out.println(Finding.fail("configuration", "cannot be loaded: " + message(e),
          "correct the files in " + Settings.confDir(env) + ", then run doctor again").line());
      return CONFIGURATION;
    }
    ConfigFiles files = new ConfigFiles(settings.confDir(), env);
    List<String> names = new ArrayList<>();
    for (String name : FILES) {
      names.add(files.loadRaw(name).file());
    }
    List<Finding> findings = new ArrayList<>();
    findings.add(Finding.ok("configuration", String.join(", ", names) + " parse and validate (storage.profile "
        + settings.storageProfile() + ")"));
    Vertx vertx = Vertx.vertx();
    ExecutorService pool = Executors.newFixedThreadPool(8, r -> {
      Thread t = new Thread(r, "doctor");
      t.setDaemon(true);
      return t;
    });
    try {
      HttpClient http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) TIMEOUT_MS).setVerifyHost(true));
      // our own /healthz, whatever certificate it shows: only whether it answers as a switchboard counts
      HttpClient own = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) TIMEOUT_MS).setTrustAll(true)
          .setVerifyHost(false));
      List<Check> checks = checks(settings, files, vertx, http, own);
      List<Future<List<Finding>>> running = new ArrayList<>();
      for (Check check : checks) {
        running.add(pool.submit(check.run()));
      }
      for (int i = 0; i < checks.size(); i++) {
        try {
          findings.addAll(running.get(i).get(4 * TIMEOUT_MS, TimeUnit.MILLISECONDS));
        } catch (java.util.concurrent.TimeoutException e) {
          running.get(i).cancel(true);
          findings.add(Finding.fail(checks.get(i).subject(), "did not finish within " + 4 * TIMEOUT_MS / 1000 + " s",
              "find out why it answers so slowly (each call has " + TIMEOUT_MS / 1000 + " s), then run doctor again"));
        } catch (Exception e) {
          findings.add(Finding.fail(checks.get(i).subject(), "the check itself failed: " + message(e),
              "run doctor again; if it persists, report it"));
        }
      }
    } finally {
      pool.shutdownNow();
      try {
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }
    findings.forEach(f -> out.println(f.line()));
    long failed = findings.stream().filter(f -> f.mark() == Finding.Mark.FAIL).count();
    long warned = findings.stream().filter(f -> f.mark() == Finding.Mark.WARN).count();
    long checked = findings.stream().filter(f -> f.mark() != Finding.Mark.SKIP).count();
    out.println(failed == 0 ? "all " + checked + " checks passed" + (warned == 0 ? "" : ", " + warned + " with a warning")
        : failed + " of " + checked + " checks failed" + (warned == 0 ? "" : ", " + warned + " warned"));
    return failed == 0 ? HEALTHY : BROKEN;
  }

  /** In the order they are printed. */
  private static List<Check> checks(Settings settings, ConfigFiles files, Vertx vertx, HttpClient http, HttpClient own) {
    List<Check> checks = new ArrayList<>();
    io.vertx.core.Context loop = vertx.getOrCreateContext();
    ProviderCheck providers = new ProviderCheck(http, loop, settings.models(), files.loadRaw(ModelSettings.FILE), TIMEOUT_MS);
    for (ProviderSettings p : settings.models().providers()) {
      checks.add(new Check("provider " + p.name(), () -> List.of(providers.check(p))));
    }
    ConfigNode storage = files.loadRaw(Settings.FILE).get("storage");
    if ("distributed".equals(settings.storageProfile())) {
      checks.add(new Check("redis", () -> List.of(RedisCheck.check(vertx, settings.storage().redisUrl(),
          where(storage.get("redis"), "REDIS_URL"), TIMEOUT_MS))));
      checks.add(new Check("postgresql", () -> PostgresCheck.check(vertx, settings.storage().postgresUrl(),
          where(storage.get("postgres"), "DATABASE_URL"), TIMEOUT_MS)));
    }
    checks.addAll(new BotCheck(settings.channels(), files.loadRaw(ChannelSettings.FILE), settings.outbound(), new TenantTokens(http),
        loop, TIMEOUT_MS).checks());
    ServerSettings server = settings.server();
    if (server.tls().enabled()) {
      checks.add(new Check("tls", () -> List.of(TlsCheck.check(server.tls(), server.tls().file(), Instant.now()))));
    }
    String file = server.tls().file();
    checks.add(new Check("http port", () -> {
      List<Finding> out = new ArrayList<>();
      PortCheck.Outcome main = PortCheck.check("http port", server.host(), server.port(), own, loop, server.tls().enabled(),
          "SWITCHBOARD_HTTP_HOST (server.host in " + file + ")", "SWITCHBOARD_HTTP_PORT (server.port in " + file + ")", TIMEOUT_MS);
      out.add(main.finding());
      BridgeSettings bridge = settings.bridge();
      if (bridge.tcpEnabled()) {
        PortCheck.Outcome tcp = PortCheck.check("bridge port", bridge.tcpHost(), bridge.tcpPort(), null, loop, false,
            "bridge.tcp.host in " + file, "bridge.tcp.port in " + file, TIMEOUT_MS);
        // a raw TCP port cannot say whose it is; taken while the gateway's HTTP port is a switchboard, it is that one's
        out.add(tcp.state() == PortCheck.State.TAKEN && main.state() == PortCheck.State.SWITCHBOARD
            ? Finding.ok("bridge port", bridge.tcpHost() + ":" + bridge.tcpPort() + " in use, by the running switchboard")
            : tcp.finding());
      }
      return out;
    }));
    checks.add(new Check("data dir " + settings.dataDir().toAbsolutePath().normalize(),
        () -> List.of(DataDirCheck.check(settings.dataDir(), "SWITCHBOARD_DATA_DIR (storage.data_dir in " + file + ")"))));
    return checks;
  }

  /** The variables and key a storage URL comes from; a file without the key reads {@code env} directly. */
  private static String where(ConfigNode raw, String env) {
    return raw.isMissing() ? env + " (" + raw.path() + " in " + raw.file() + ")" : Where.of(raw);
  }

  /**
   * Runs {@code call} on the doctor's one Vert.x context and waits for it there. The checks run on
   * threads of their own, and a future chain built on such a thread runs its next step right there
   * when the step before is already done: a response's handlers were then set off its loop while
   * the loop delivered it (a CI run's DoctorTest.robotOff saw 'GET …/v1/models: IllegalStateException').
   */
  static <T> T onContext(io.vertx.core.Context context, java.util.concurrent.Callable<io.vertx.core.Future<T>> call,
                         long timeoutMs) throws Exception {
    io.vertx.core.Promise<T> done = io.vertx.core.Promise.promise();
    context.runOnContext(v -> {
      try {
        call.call().onComplete(done);
      } catch (Exception e) {
        done.fail(e);
      }
    });
    return done.future().await(timeoutMs, TimeUnit.MILLISECONDS);
  }

  static String message(Throwable e) {
    Throwable t = e;
    while ((t instanceof java.util.concurrent.ExecutionException || t instanceof java.util.concurrent.CompletionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m.replace('\n', ' ');
  }

  static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }
}
