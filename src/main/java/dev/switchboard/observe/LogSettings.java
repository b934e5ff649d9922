package dev.switchboard.observe;

import dev.switchboard.config.ConfigNode;
import java.util.Locale;
import java.util.function.Function;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code logging} of switchboard.yaml: {@code format} (text | json; env SWITCHBOARD_LOG_FORMAT),
 * {@code level} (error | warn | info | debug | trace, or a JUL name; env SWITCHBOARD_LOG_LEVEL)
 * and {@code requests} (the event lines of {@link EventLog}; default: on in json, off in text).
 */
public record LogSettings(boolean json, Level level, boolean requests) {

  public static final LogSettings DEFAULT = new LogSettings(false, Level.INFO, false);

  public static LogSettings from(ConfigNode logging, Function<String, String> env) {
    logging.allowOnly("format", "level", "requests");
    String format = logging.get("format").string(envOr(env, "SWITCHBOARD_LOG_FORMAT", "text")).toLowerCase(Locale.ROOT);
    if (!format.equals("text") && !format.equals("json")) {
      throw logging.get("format").error("must be text or json, got '" + format + "' (SWITCHBOARD_LOG_FORMAT)");
    }
    String name = logging.get("level").string(envOr(env, "SWITCHBOARD_LOG_LEVEL", "info"));
    Level level = level(name);
    if (level == null) {
      throw logging.get("level").error("must be error, warn, info, debug or trace, got '" + name + "' (SWITCHBOARD_LOG_LEVEL)");
    }
    boolean json = format.equals("json");
    return new LogSettings(json, level, logging.get("requests").bool(json));
  }

  /** The {@code logging} section of the folder's switchboard.yaml (Settings has already refused a bad one). */
  public static LogSettings load(java.nio.file.Path confDir, Function<String, String> env) {
    return from(new dev.switchboard.config.ConfigFiles(confDir, env).load(dev.switchboard.Settings.FILE, false).get("logging"), env);
  }

  private static String envOr(Function<String, String> env, String name, String fallback) {
    String value = env.apply(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  static Level level(String name) {
    return switch (name.trim().toLowerCase(Locale.ROOT)) {
      case "error", "severe" -> Level.SEVERE;
      case "warn", "warning" -> Level.WARNING;
      case "info" -> Level.INFO;
      case "debug", "fine" -> Level.FINE;
      case "trace", "finer", "finest" -> Level.FINEST;
      case "all" -> Level.ALL;
      case "off" -> Level.OFF;
      default -> null;
    };
  }

  /** Sets the root logger's level and the formatter of its console handler (stderr, as JUL's default). */
  public void apply() {
    Logger root = Logger.getLogger("");
    root.setLevel(level);
    Handler console = null;
    for (Handler h : root.getHandlers()) {
      if (h instanceof ConsoleHandler) {
        console = h;
      }
    }
    if (console == null) {
      console = new ConsoleHandler();
      root.addHandler(console);
    }
    console.setLevel(level);
    console.setFormatter(formatter());
    try {
      // JSON is UTF-8 whatever the locale (under LANG=C a platform's Chinese errmsg came out as ??); text keeps the terminal's
      console.setEncoding(json ? java.nio.charset.StandardCharsets.UTF_8.name() : null);
    } catch (java.io.UnsupportedEncodingException e) {
      throw new IllegalStateException(e); // UTF-8 is always there
    }
    EventLog.enable(requests);
  }

  public Formatter formatter() {
    return json ? new JsonLogFormatter() : new TextLogFormatter();
  }
}
